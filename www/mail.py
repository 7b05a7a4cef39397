"""Mail: composed from templates, queued, and sent by a background task.

A request never waits on a mail server: it hands the Mailer a message, or a job that
makes one (the password reset looks the user up there, so that known and unknown
addresses answer alike), and goes on. One task sends them in turn:

- through SMTP (aiosmtplib) when `mail.smtp_url` is set; a failure (refused, timed out,
  a 4xx or 5xx answer) is logged and tried again after `mail.retry_delay` seconds, then
  twice as long each time, `mail.attempts` times in all; then the mail is dropped and
  logged;
- else written to `mail.outbox`, one .eml file a mail (off the loop), and logged, so
  that development needs no mail server.

At most `mail.queue` mails wait (queued or waiting to be tried again): beyond it a new
one is dropped and logged, so that a flood of requests cannot fill the memory.
"""

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import jinja2

from .ratelog import RateLimitedLog
from .settings import PROJECT_ROOT, Settings
from .settings_schema import MailSettings, SiteSettings

log = logging.getLogger("www.mail")

# A job makes its message when its turn comes, or None when there is nothing to send.
Job = Callable[[], Awaitable[EmailMessage | None]]

# The mails' templates: NAME.txt (plain text, not escaped) and NAME.html (autoescaped).
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates" / "mail"),
    autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


class Mailer:
    def __init__(
        self, mail: MailSettings, site: SiteSettings, file_io: Executor, limits: RateLimitedLog
    ) -> None:
        self.settings, self.base_url = mail, site.base_url
        self.outbox = Settings.resolve(mail.outbox)
        self._file_io, self._limits = file_io, limits
        self._queue: asyncio.Queue[tuple[EmailMessage | Job, int]] = asyncio.Queue()
        self._pending = 0  # queued, being sent, or waiting to be tried again
        self._waiting: set[asyncio.Task] = set()  # the retries, sleeping until their turn
        self._worker: asyncio.Task | None = None

    def compose(self, to: str, subject: str, template: str, **context: Any) -> EmailMessage:
        """A message to `to` with a text and an HTML part, from templates/mail/`template`.
        Templates see `base_url` (site.base_url): links never come from a request."""
        context = {"base_url": self.base_url, "subject": subject, **context}
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        # With a domain: without one, make_msgid() asks the DNS for this host's name.
        message["Message-ID"] = make_msgid(domain=urlsplit(self.base_url).hostname)
        message.set_content(TEMPLATES.get_template(f"{template}.txt").render(context))
        html = TEMPLATES.get_template(f"{template}.html").render(context)
        message.add_alternative(html, subtype="html")
        return message

    def submit(self, mail: EmailMessage | Job) -> bool:
        """Queue a message, or a job that makes one; False (and a log line) if the queue
        is full. Returns at once: the mail is sent by the background task."""
        if self._pending >= self.settings.queue:
            self._limits.warning(
                "mail queue", "Mail queue full (mail.queue = %d): a mail was dropped",
                self.settings.queue,
            )  # fmt: skip
            return False
        self._pending += 1
        self._queue.put_nowait((mail, 1))
        return True

    async def running(self, app: Any) -> AsyncIterator[None]:
        """A cleanup context: sends while the app runs. At cleanup the queued mails get
        up to `mail.timeout` seconds to go; what is still waiting then is dropped, and
        logged."""
        if not self.settings.smtp_url:  # say it once: in production this is a mistake
            log.info("mail.smtp_url is empty: mails are written to %s, not sent", self.outbox)
        self._worker = asyncio.create_task(self._run(), name="mailer")
        yield
        try:
            async with asyncio.timeout(self.settings.timeout):
                await self._queue.join()
        except TimeoutError:
            pass
        tasks = [self._worker, *self._waiting]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pending:
            log.warning("%d mail(s) not sent at shutdown: dropped", self._pending)

    async def _run(self) -> None:
        while True:
            mail, attempt = await self._queue.get()
            try:
                await self._handle(mail, attempt)
            finally:
                self._queue.task_done()

    async def _handle(self, mail: EmailMessage | Job, attempt: int) -> None:
        try:
            message = mail if isinstance(mail, EmailMessage) else await mail()
        except Exception:  # a bug or the database: never the end of the task
            log.exception("A mail could not be made: dropped")
            self._pending -= 1
            return
        if message is None:
            self._pending -= 1
            return
        try:
            await self._deliver(message)
        except Exception as exc:  # refused, timed out, 4xx or 5xx, a full disk...
            self._failed(message, attempt, exc)
        else:
            self._pending -= 1

    async def _deliver(self, message: EmailMessage) -> None:
        if not self.settings.smtp_url:
            loop = asyncio.get_running_loop()
            path = await loop.run_in_executor(self._file_io, write_eml, self.outbox, message)
            log.info("Mail %s written to %s", describe(message), path)
            return
        url = urlsplit(self.settings.smtp_url)
        await aiosmtplib.send(
            message,
            hostname=url.hostname,
            port=url.port,
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",  # TLS from the start
            start_tls=None if url.scheme == "smtp" else False,  # None: if the server offers it
            timeout=self.settings.timeout,
        )
        log.info("Mail %s sent", describe(message))

    def _failed(self, message: EmailMessage, attempt: int, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if attempt >= self.settings.attempts:
            log.error("Mail %s dropped after %d attempts: %s", describe(message), attempt, error)
            self._pending -= 1
            return
        delay = self.settings.retry_delay * 2 ** (attempt - 1)
        log.warning(
            "Mail %s not sent (attempt %d of %d): %s; trying again in %g s",
            describe(message), attempt, self.settings.attempts, error, delay,
        )  # fmt: skip
        task = asyncio.create_task(self._again(message, attempt + 1, delay))
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    async def _again(self, message: EmailMessage, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait((message, attempt))


def describe(message: EmailMessage) -> str:
    """How the log names a mail: its subject and recipient (never its body: links)."""
    return f"{message['Subject']!r} to {message['To']}"


def write_eml(folder: Path, message: EmailMessage) -> Path:
    """Write `message` as a new .eml file in `folder` (made if needed); its path. The
    file appears whole (written under another name, then renamed): a reader watching
    the folder never opens half a mail."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.eml"
    partial = path.with_suffix(".part")
    with partial.open("xb") as file:  # a new file, never another mail's
        file.write(message.as_bytes(policy=SMTPUTF8))
    partial.rename(path)
    return path
