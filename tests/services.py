"""Real services for tests, run by the tests themselves: a Redis server of our own.

The tests that need Redis start `redis-server` (Debian's package) on 127.0.0.1 and a free
port, with nothing saved to disk, and stop it by its PID: no system daemon is used or
touched, so a developer's own Redis is never flushed and CI needs no service set-up.

When redis-server is missing, those tests skip with a one-line reason, or fail with
CI=true, where a skipped test would pass for a green one (as tests/databases.py does for
PostgreSQL).
"""

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import IN_CI
from tests.serving import free_port, stop_process

REDIS_SERVER = shutil.which("redis-server") or shutil.which(
    "redis-server", path="/usr/bin:/usr/sbin:/usr/local/bin"
)
START_TIMEOUT = 10.0  # seconds for redis-server to answer PING
STOP_TIMEOUT = 10.0  # seconds for it to exit after SIGTERM, before SIGKILL


def redis_or_skip() -> str:
    """The path of redis-server; else skip the test (fail it with CI=true)."""
    if REDIS_SERVER:
        return REDIS_SERVER
    reason = "redis-server is not installed (apt-get install redis-server)"
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true needs it")
    pytest.skip(reason)


def ping(port: int, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING on 127.0.0.1:`port` (raw RESP: no client
    library, so this checks the server, not redis-py)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """redis-server on 127.0.0.1:`port`, its files and log in `directory`.

    `start()`, `stop()` (by PID: SIGTERM, then SIGKILL if it lingers) and `restart()` on
    the same port, so clients that know `url` can reconnect to the new server.
    """

    def __init__(self, directory: Path, executable: str, port: int | None = None) -> None:
        self.directory, self.executable = directory, executable
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = directory / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The PID of the running server (a new one after each restart)."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self) -> None:
        if self.pid is not None:
            raise RuntimeError(f"redis-server is already running (PID {self.pid})")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        args += ["--dir", str(self.directory), "--logfile", str(self.log)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.port):
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise AssertionError(f"redis-server exited with {code}{self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server did not answer PING in {START_TIMEOUT}s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server by its PID (nothing to do if it is not running)."""
        proc, self.proc = self.proc, None
        stop_process(proc, STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop, then start again on the same port (a new PID, no data kept)."""
        self.stop()
        self.start()

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return ":\n" + "\n".join(self.log.read_text().splitlines()[-10:])
        return ""


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A started RedisServer, always stopped afterwards (skips if there is none)."""
    server = RedisServer(directory, redis_or_skip())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A Redis server of this test's own, on a free port: `.url`, `.stop()`, `.restart()`."""
    with running_redis(tmp_path / "redis") as server:
        yield server
