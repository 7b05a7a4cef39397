"""The mailer (www/mail.py), through the password reset form: the outbox folder when no
SMTP server is set; with one, a real SMTP server in the test process (aiosmtpd) that is
down, slow or answering 451 at first. The user's answer never waits on any of it."""

import asyncio
import email
import logging
from email.policy import default

import pytest

from tests.conftest import Auth, GuardedTestServer, overrides_for, with_tables
from tests.serving import free_port
from tests.smtp import WAIT, Inbox, serve_smtp
from www.app import create_app
from www.keys import CONFIG, FILE_IO, LIMITS_LOG
from www.mail import Mailer
from www.settings import load_settings

LINK = "http://127.0.0.1:8080/password/reset/"  # site.base_url's default


@pytest.fixture
def make_auth(aiohttp_client, tmp_path, db_url):
    """A client (as an Auth) of an app whose mail settings are the defaults but `mail`."""

    async def make(**mail) -> Auth:
        overrides = overrides_for(tmp_path, db_url)
        overrides["mail"] |= mail
        app = with_tables(create_app(load_settings(overrides=overrides, environ={})))
        return Auth(await aiohttp_client(GuardedTestServer(app)), app)

    return make


@pytest.fixture
def mail_log(caplog):
    caplog.set_level(logging.INFO, logger="www.mail")
    return caplog


async def logged(caplog, text: str) -> logging.LogRecord:
    """The first record of www.mail whose message has `text`, once it was logged."""
    async with asyncio.timeout(WAIT):
        while True:
            for record in caplog.records:
                if record.name == "www.mail" and text in record.getMessage():
                    return record
            await asyncio.sleep(0.01)


async def ask_quickly(auth: Auth, email: str = "alice@example.com") -> None:
    """Ask for a reset link: the usual answer, whatever the mail server does (that it
    never waits for the mail is test_the_answer_never_waits_for_the_mail's)."""
    resp = await auth.post("/password/forgot", {"email": email})
    assert resp.status == 303
    assert resp.headers["Location"] == "/login"


async def test_the_answer_never_waits_for_the_mail(auth, app, mail_log, monkeypatch):
    """Delivery held until the answer has come: an answer that waited for it would never
    come (the bound is a hang detector, not a speed target)."""
    answered = asyncio.Event()
    deliver = Mailer._deliver

    async def held(self, message):
        await answered.wait()
        await deliver(self, message)

    monkeypatch.setattr(Mailer, "_deliver", held)
    await auth.create_user("alice")
    async with asyncio.timeout(WAIT):
        await ask_quickly(auth)
    answered.set()
    await logged(mail_log, "written to")


async def test_without_smtp_each_mail_is_an_eml_file_in_the_outbox(auth, app, mail_log):
    await auth.create_user("émile", email="émile@example.com")
    await ask_quickly(auth, "émile@example.com")
    record = await logged(mail_log, "written to")
    outbox = app[CONFIG].resolve(app[CONFIG].mail.outbox)
    [path] = outbox.glob("*.eml")
    assert str(path) in record.getMessage()
    assert record.levelno == logging.INFO
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert message["To"] == "émile@example.com"
    assert message["Subject"] == "Reset your password"
    assert message["Message-ID"].endswith("@127.0.0.1>")
    assert LINK in message.get_body(("plain",)).get_content()
    assert LINK in message.get_body(("html",)).get_content()
    assert LINK not in record.getMessage()  # the log never holds the link


async def test_a_mail_queued_at_shutdown_is_still_written(auth, app):
    await auth.create_user("alice")
    await ask_quickly(auth)
    await auth.client.close()  # the app's cleanup drains the queue
    outbox = app[CONFIG].resolve(app[CONFIG].mail.outbox)
    assert len(list(outbox.glob("*.eml"))) == 1


async def test_smtp_down_then_back(make_auth, mail_log):
    port = free_port()  # nobody listens there yet
    auth = await make_auth(smtp_url=f"smtp://127.0.0.1:{port}", retry_delay=0.1, attempts=5)
    await auth.create_user("alice")
    await ask_quickly(auth)
    record = await logged(mail_log, "not sent (attempt 1 of 5)")
    assert record.levelno == logging.WARNING
    inbox = Inbox()
    server = await serve_smtp(inbox, port)  # the server recovers
    try:
        [message] = await inbox.wait(1)
        assert message["To"] == "alice@example.com"
        await logged(mail_log, "sent")
    finally:
        server.close()
        await server.wait_closed()


async def test_smtp_failing_at_first_is_tried_again_with_back_off(make_auth, smtp_server, mail_log):
    smtp_server.refuse = 2  # 451 twice, then accepted
    auth = await make_auth(smtp_url=smtp_server.url, retry_delay=0.05, attempts=4)
    await auth.create_user("alice")
    await ask_quickly(auth)
    [message] = await smtp_server.wait(1)
    assert message["To"] == "alice@example.com"
    first, second, third = smtp_server.attempts
    assert second - first >= 0.05 * 0.9  # retry_delay, then twice as long
    assert third - second >= 0.1 * 0.9
    failures = [r for r in mail_log.records if "not sent" in r.getMessage()]
    assert len(failures) == 2
    assert "451" in failures[0].getMessage()


async def test_a_mail_is_dropped_after_its_attempts(make_auth, smtp_server, mail_log):
    smtp_server.refuse = 100
    auth = await make_auth(smtp_url=smtp_server.url, retry_delay=0.02, attempts=3)
    await auth.create_user("alice")
    await ask_quickly(auth)
    record = await logged(mail_log, "dropped after 3 attempts")
    assert record.levelno == logging.ERROR
    assert len(smtp_server.attempts) == 3
    assert smtp_server.messages == []


async def test_a_server_that_never_answers_does_not_hold_the_request(make_auth, mail_log):
    connections = []

    async def silent(reader, writer):
        connections.append(writer)  # accepted, never answered

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        auth = await make_auth(smtp_url=f"smtp://127.0.0.1:{port}", timeout=0.3, attempts=2)
        await auth.create_user("alice")
        await ask_quickly(auth)
        await logged(mail_log, "not sent (attempt 1 of 2)")
        await auth.client.close()  # while the retry waits: dropped, and said so
        await logged(mail_log, "1 mail(s) not sent at shutdown: dropped")
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_beyond_the_queue_a_mail_is_dropped_and_logged(app, caplog):
    config = load_settings(overrides={"mail": {"queue": 2}}, environ={})
    mailer = Mailer(config.mail, config.site, app[FILE_IO], app[LIMITS_LOG])
    message = mailer.compose("a@example.com", "Hi", "password_reset", name="a", link="x", minutes=1)
    assert mailer.submit(message) and mailer.submit(message)
    assert not mailer.submit(message)  # not started: the two first still wait
    assert "Mail queue full (mail.queue = 2)" in caplog.text
