"""Shared fixtures: a fresh app, with its own empty database and folders, per test.

The database is a SQLite file, or a schema of its own on PostgreSQL under `make test-pg`
(tests/databases.py). Tests marked `sqlite_only` (PRAGMAs, files, SQLite's own SQL) run
on SQLite only; tests marked `postgres_only` run under `make test-pg` only.
"""

import re

import pytest
from aiohttp.test_utils import TestServer

from tests import databases
from tests.helpers import FakeClock, make_post
from tests.services import redis_server  # noqa: F401 (a fixture, for every test module)
from tests.smtp import smtp_server  # noqa: F401 (a fixture: a real SMTP server)
from www import CONFIG, DB
from www.accounts.models import User
from www.app import create_app, database_ctx
from www.connections import GuardedRunner
from www.keys import MIGRATIONS, RATE_LIMITS
from www.migrate.runner import up
from www.models import MODELS
from www.passwords import hash_password_sync
from www.settings import load_settings


def pytest_report_header(config):
    if not databases.ON_POSTGRES:
        return "database: SQLite (make test-pg runs the suite on PostgreSQL)"
    problem = databases.postgres_problem()
    where = databases.open_database(databases.URL).location
    if problem:  # the one line that says why the tests needing it skip (or fail, in CI)
        return f"database: {problem}: its tests {'fail' if databases.IN_CI else 'skip'}"
    return f"database: PostgreSQL at {where}, a schema per test"


ENGINE_ONLY = {  # marker -> why it skips on the other engine
    "sqlite_only": "SQLite only (its PRAGMAs, files or SQL)",
    "postgres_only": "PostgreSQL only: make test-pg",
}


def pytest_runtest_setup(item):
    """Skipped from here, the tests skipped for one reason make one line of the summary."""
    other = "sqlite_only" if databases.ON_POSTGRES else "postgres_only"
    if item.get_closest_marker(other):
        pytest.skip(ENGINE_ONLY[other])
    if databases.ON_POSTGRES and "db_url" in item.fixturenames:
        databases.require_postgres()  # skips, or fails with CI=true, if it is unreachable


@pytest.fixture
def db_url(tmp_path):
    """The URL of an empty database for this test (SQLite file or PostgreSQL schema)."""
    with databases.fresh_database_url(tmp_path) as url:
        yield url


def overrides_for(tmp_path, db_url=None) -> dict:
    """Settings for tests: everything under tmp_path (the database at ``db_url``, by
    default a SQLite file there), cheap password hashing."""
    return {
        "db": {"url": db_url or f"sqlite:///{tmp_path / 'test.db'}", "pool_size": 4},
        "session": {"secret": "test-secret-" + "x" * 32, "secret_file": None},
        "passwords": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "uploads": {"directory": str(tmp_path / "uploads")},
        "mail": {"outbox": str(tmp_path / "outbox")},
        "logging": {"level": "WARNING"},
    }


@pytest.fixture
def settings(tmp_path, db_url):
    # environ={}: the developer's own WWW_* variables must not leak into tests.
    return load_settings(overrides=overrides_for(tmp_path, db_url), environ={})


def with_tables(app):
    """`app`, migrating its database at start-up, as init_db.py does: once the database
    is open, before the schema is checked and the broker looks for its newest message
    (www/app.py's cleanup contexts, in order)."""

    async def tables(app):
        await up(app[DB], app[MIGRATIONS])
        yield

    app.cleanup_ctx.insert(app.cleanup_ctx.index(database_ctx) + 1, tables)
    return app


@pytest.fixture
def app(settings):
    return with_tables(create_app(settings))


class GuardedTestServer(TestServer):
    """pytest-aiohttp's test server, serving through the app's own GuardedRunner as
    `python -m www` and the gunicorn worker do (its timeouts, its connection cap, its
    answers to unparsable requests)."""

    async def _make_runner(self, **kwargs) -> GuardedRunner:
        return GuardedRunner(self.app, **kwargs)


@pytest.fixture
def clock(app) -> FakeClock:
    """The clock of the app's in-memory rate limits, moved by the test: clock.advance(301)."""
    fake = FakeClock()
    app[RATE_LIMITS].storage.clock = fake
    return fake


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(GuardedTestServer(app))


@pytest.fixture
async def db(db_url):
    database = databases.open_database(db_url)
    await database.open()
    await database.create_all(MODELS)
    yield database
    await database.close()


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Auth:
    """Acts as a browser user: makes accounts, logs in, and sends forms with the token."""

    def __init__(self, client, app):
        self.client, self.app = client, app

    async def create_user(
        self, name="alice", email=None, password="correct horse", is_admin=False
    ) -> User:
        password_hash = hash_password_sync(self.app[CONFIG].passwords, password)
        return await User.create(
            self.app[DB],
            name=name,
            email=email or f"{name.lower()}@example.com",
            password_hash=password_hash,
            is_admin=is_admin,
        )

    async def token(self) -> str:
        """The CSRF token of the client's current session (starting one if needed)."""
        resp = await self.client.get("/login")
        return TOKEN.search(await resp.text()).group(1)

    async def post(self, path, data=None, **kwargs):
        """POST a form with this session's CSRF token; redirects are not followed."""
        data = dict(data or {})
        data.setdefault("csrf_token", await self.token())
        return await self.client.post(path, data=data, allow_redirects=False, **kwargs)

    async def login(self, email="alice@example.com", password="correct horse", next=None):
        path = "/login" if next is None else f"/login?next={next}"
        return await self.post(path, {"email": email, "password": password})

    async def logout(self):
        return await self.post("/logout")

    async def login_as(self, name="alice", **kwargs) -> User:
        """Create a user and log the client in as them."""
        user = await self.create_user(name, **kwargs)
        resp = await self.login(user.email, kwargs.get("password", "correct horse"))
        assert resp.status == 303, await resp.text()
        return user


@pytest.fixture
def auth(client, app):
    return Auth(client, app)


@pytest.fixture
async def post(auth, app):
    """A post by "author" (another user than the one tests log in as)."""
    return await make_post(app, await auth.create_user("author"))


def pytest_terminal_summary(terminalreporter):
    """Figures that tests measured (record_property("figure", text)), after the results."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, ())]
    figures = [(r.nodeid, v) for r in reports for k, v in r.user_properties if k == "figure"]
    if figures:
        terminalreporter.section("figures")
        for nodeid, figure in figures:
            terminalreporter.write_line(f"{nodeid}: {figure}")
