"""A real server for the client's tests: `python -m www` on 127.0.0.1 and a free port, its
database (SQLite, or a schema on PostgreSQL under make test-pg), uploads and log under a
temporary folder; started, stopped by its PID and started again on the same port and
database (`restart`), as the client would meet it in production.

Users and their API tokens are made through the accounts' own actions
(www/accounts/tokens.py), on the server's database, as /account/tokens makes them.
"""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import databases
from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from tests.serving import (
    ROOT,
    clean_env,
    free_port,
    init_db,
    stop_process,
    wait_until_serving,
    write_config,
)
from www.accounts import tokens
from www.accounts.models import User
from www.accounts.schemas import TokenIn
from www.keys import CONFIG, DB
from www.passwords import hash_password_sync
from www.settings import Settings, load_settings

START_TIMEOUT = 30.0  # seconds for the server to answer /healthz on a busy machine
STOP_TIMEOUT = 20.0  # seconds for it to exit after SIGTERM, before SIGKILL
MAX_UPLOAD = 1100 * 1024 * 1024  # uploads.max_size: the largest upload (1 GiB, -m slow) fits


class Server:
    """`python -m www` on 127.0.0.1:`port` with the config at `folder`/config.yaml."""

    def __init__(self, folder: Path, db_url: str, **overrides: dict) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = overrides_for(folder, db_url)
        settings["uploads"].update(max_size=MAX_UPLOAD, quota_per_user=4 * MAX_UPLOAD)
        settings["rate_limits"] = GENEROUS_LIMITS
        settings["site"] = {"base_url": self.url}
        for section, values in overrides.items():
            settings.setdefault(section, {}).update(values)
        self.config = write_config(folder, settings)
        self.settings: Settings = load_settings(self.config, environ={})
        self.log = folder / "server.log"
        self.proc: subprocess.Popen | None = None
        init_db(self.config)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self) -> None:
        args = [sys.executable, "-m", "www", "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log, "ab") as log:  # a file, not a pipe: it can never fill and block
            self.proc = subprocess.Popen(
                [*args, "--config", str(self.config)],
                cwd=ROOT,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_serving(self.proc, f"{self.url}/healthz", timeout=START_TIMEOUT)
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.tail()}") from None

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        stop_process(proc, STOP_TIMEOUT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    @contextlib.asynccontextmanager
    async def database(self):
        async with databases.open_database(self.settings.db.url) as db:
            yield db

    async def user(self, name: str, *, is_admin: bool = False) -> tuple[User, str]:
        """A new user and an API token of theirs (made by the accounts' actions)."""
        password_hash = hash_password_sync(self.settings.passwords, "correct horse")
        async with self.database() as db:
            user = await User.create(
                db,
                name=name,
                email=f"{name}@example.com",
                password_hash=password_hash,
                is_admin=is_admin,
            )
            _, token = await tokens.make({CONFIG: self.settings, DB: db}, user, TokenIn(name="cli"))
        return user, token


@contextlib.contextmanager
def running_server(folder: Path, **overrides: dict) -> Iterator[Server]:
    """A started Server on a fresh database; always stopped (and the database dropped)."""
    folder.mkdir(parents=True, exist_ok=True)
    with databases.fresh_database_url(folder) as db_url:
        server = Server(folder, db_url, **overrides)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="package")
def server(tmp_path_factory) -> Iterator[Server]:
    """A server shared by the client's tests (each test makes its own users): starting
    one takes seconds on a busy machine."""
    with running_server(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture
def own_server(tmp_path) -> Iterator[Server]:
    """A server of the test's own, which it may stop and start again."""
    with running_server(tmp_path / "server") as server:
        yield server


def unique(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns() % 10**12}{os.getpid() % 1000}"


@pytest.fixture
async def alice(server) -> tuple[User, str]:
    """A new user of the module's server and their token (a fresh name each test)."""
    return await server.user(unique("alice"))
