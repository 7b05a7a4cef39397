"""A real SMTP server in the test process (aiosmtpd, on the test's own loop), to receive
the app's mails: `smtp_server.url` for mail.smtp_url, `await smtp_server.wait(n)` for
the first n mails. It can answer 451 (try again later) to the first mails."""

import asyncio
import email
import time
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.smtp import SMTP

WAIT = 5.0  # seconds a test waits for a mail at most


class Inbox:
    """The handler: keeps each mail it accepts, answers 451 `refuse` times first."""

    def __init__(self, refuse: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = refuse
        self.attempts: list[float] = []  # when each DATA came (monotonic), refused or not
        self.url = ""

    async def handle_DATA(self, server, session, envelope) -> str:
        self.attempts.append(time.monotonic())
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.original_content, policy=default)
        self.messages.append(message)
        return "250 OK"

    async def wait(self, count: int = 1) -> list[EmailMessage]:
        """The first `count` mails, once they came (fails after WAIT seconds)."""
        async with asyncio.timeout(WAIT):
            while len(self.messages) < count:
                await asyncio.sleep(0.01)
        return self.messages[:count]


async def serve_smtp(inbox: Inbox, port: int = 0) -> asyncio.Server:
    """Listen on 127.0.0.1 (`port`, or a free one) for `inbox`; sets inbox.url."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="smtp.test", enable_SMTPUTF8=True, loop=loop),
        "127.0.0.1",
        port,
    )
    inbox.url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    return server


@pytest.fixture
async def smtp_server():
    inbox = Inbox()
    server = await serve_smtp(inbox)
    yield inbox
    server.close()
    await server.wait_closed()
