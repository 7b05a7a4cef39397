"""Several server processes of the app, as deployments run them, for the multi-process tests
(tests/test_workers.py, tests/test_scale_out.py): gunicorn's workers behind one port, or
separate `python -m www` processes on a port each, all on one database.

Which process holds a connection is read from /proc (Linux): the server's end of a TCP
connection is a socket that exactly one process has open. So every reply says which
process answered, and a test can ask one process in particular.
"""

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp

from tests.helpers import COOKIE
from tests.serving import ROOT, free_port, wait_until_serving
from www.accounts.models import User
from www.db import Database
from www.passwords import hash_password_sync
from www.posts.models import Post
from www.settings import PROJECT_ROOT, Settings

PASSWORD = "correct horse"
TIMEOUT = aiohttp.ClientTimeout(total=10)  # any one request or handshake
START_TIMEOUT = 30.0  # seconds for every process to answer
STOP_TIMEOUT = 20.0  # seconds for a process to exit after SIGTERM, before SIGKILL


# --- which process holds a connection -----------------------------------------------------
def children(master: int) -> set[int]:
    """The processes whose parent is `master`."""
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:  # state, then parent
                pids.add(int(name))
    return pids


def tcp_sockets() -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of every TCP socket of this machine."""
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            sockets.append((int(local, 16), int(remote, 16), fields[9]))
    return sockets


def owners(pids: set[int], inodes: set[str]) -> dict[str, int]:
    """Which of `pids` has each of the socket `inodes` open (those that one of them has)."""
    found = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):  # the process is gone
            for fd in os.listdir(fds):
                with contextlib.suppress(OSError):  # closed meanwhile
                    link = os.readlink(fds / fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        found[link[8:-1]] = pid
    return found


def holder(pids: set[int], local_port: int, remote_port: int) -> int | None:
    """Which of `pids` holds the connection between these ports (its end at `local_port`)."""
    inodes = {i for loc, rem, i in tcp_sockets() if (loc, rem) == (local_port, remote_port)}
    return next(iter(owners(pids, inodes).values()), None)


def connected_to(pids: set[int], port: int) -> set[int]:
    """Which of `pids` hold a connection to `port` (a Redis or PostgreSQL server's)."""
    inodes = {inode for _, remote, inode in tcp_sockets() if remote == port}
    return set(owners(pids, inodes).values())


# --- requests that know which process answered --------------------------------------------
class Reply(NamedTuple):
    worker: int  # the pid of the process that answered
    status: int
    body: Any  # JSON, or text
    cookie: str | None  # the session cookie it set
    at: float  # time.monotonic() when its headers arrived


class Cluster:
    """Server processes of one app. `ports` maps each listening port to the processes
    behind it: gunicorn's workers share one, separate processes have one each."""

    def __init__(self, ports: dict[int, set[int]]) -> None:
        self.ports = ports
        self.workers = set().union(*ports.values())

    def holder(self, port: int, client_port: int) -> int:
        pid = holder(self.ports[port], port, client_port)
        assert pid is not None, f"no process on port {port} holds a connection from {client_port}"
        return pid

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    async def request(
        self, method: str, path: str, cookie: str | None = None, via: int | None = None, **kwargs
    ) -> Reply:
        """One request to the port `via` (by default, a random one) over a new connection,
        from a port chosen here so that the process that answers can be looked up."""
        port = via or random.choice(list(self.ports))
        local = free_port()
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.1", local))
        cookies = {COOKIE: cookie} if cookie else None
        async with (
            aiohttp.ClientSession(
                self.url(port), connector=connector, cookies=cookies, timeout=TIMEOUT
            ) as session,
            session.request(method, path, allow_redirects=False, **kwargs) as resp,
        ):
            at = time.monotonic()
            json = resp.content_type == "application/json"
            body = await resp.json() if json else await resp.text()
            set_cookie = resp.cookies[COOKIE].value if COOKIE in resp.cookies else None
            return Reply(self.holder(port, local), resp.status, body, set_cookie, at)

    async def request_on(self, worker: int, method: str, path: str, **kwargs) -> Reply:
        """request() again until `worker` answers (a safe method only)."""
        assert method in ("GET", "HEAD")
        (port,) = (port for port, pids in self.ports.items() if worker in pids)
        # The kernel hands each new connection to whichever worker accepts first, so a
        # busy machine can favour some workers for a while: bounded in count and time.
        deadline = time.monotonic() + 30
        for _ in range(1000):
            reply = await self.request(method, path, via=port, **kwargs)
            if reply.worker == worker or time.monotonic() > deadline:
                break
        if reply.worker != worker:
            raise AssertionError(f"process {worker} never answered {method} {path}")
        return reply

    async def log_in(self) -> tuple[Reply, str]:
        """The reply to logging in as alice (its process, cookie and CSRF token)."""
        start = await self.request("GET", "/api/session")
        login = {"email": "alice@example.com", "password": PASSWORD}
        headers = {"X-CSRF-Token": start.body["csrf_token"]}
        reply = await self.request(
            "POST", "/api/session", start.cookie, json=login, headers=headers
        )
        assert reply.status == 200, reply.body
        assert reply.body["user"]["name"] == "alice"
        return reply, reply.cookie or start.cookie


# --- starting them ------------------------------------------------------------------------
async def seed(settings: Settings) -> int:
    """alice (password PASSWORD) and a post of hers, in the (created) tables: its id."""
    async with Database.from_url(settings.db.url, PROJECT_ROOT) as db:
        password_hash = hash_password_sync(settings.passwords, PASSWORD)
        alice = await User.create(
            db, name="alice", email="alice@example.com", password_hash=password_hash
        )
        post = await Post.create(db, user_id=alice.id, title="Before", content="Body")
    return post.id


def tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return ""


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each (by PID), wait, and SIGKILL any that lingers."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def running(commands: list[tuple[list[str], int]], env: dict, logs: Path) -> Iterator[list]:
    """Start each (args, port) at once, wait until each answers /healthz on its port, yield
    the processes, and always stop them. Their output goes to `logs`/server-N.log."""
    logs.mkdir(parents=True, exist_ok=True)
    procs, files = [], []
    try:
        for n, (args, _) in enumerate(commands):
            files.append(logs / f"server-{n}.log")
            with files[-1].open("w") as out:
                procs.append(
                    subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        for proc, (_, port), log in zip(procs, commands, files, strict=True):
            try:
                wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz", START_TIMEOUT)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; {log}:\n{tail(log)}") from None
        yield procs
    finally:
        stop(procs)


async def every_worker_answers(cluster: Cluster) -> None:
    """Wait until each worker has answered (it accepts connections once its app started)."""
    answered: set[int] = set()
    deadline = time.monotonic() + START_TIMEOUT
    for _ in range(200):
        answered.add((await cluster.request("GET", "/healthz")).worker)
        if answered == cluster.workers:
            return
        assert time.monotonic() < deadline, f"only {answered} of {cluster.workers} answer"
    raise AssertionError(f"only {answered} of {cluster.workers} answered 200 requests")


async def gunicorn(
    stack: contextlib.ExitStack, config: Path, workers: int, env: dict, logs: Path
) -> Cluster:
    """gunicorn with `workers` aiohttp workers on a free port, stopped with `stack`."""
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "www.app:create_app()"]
    args += ["--worker-class", "aiohttp.GunicornWebWorker"]
    args += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    env = {**env, "WWW_CONFIG": str(config)}
    (master,) = stack.enter_context(running([(args, port)], env, logs))
    deadline = time.monotonic() + START_TIMEOUT
    while len(children(master.pid)) < workers:  # forked one after the other
        assert time.monotonic() < deadline, "gunicorn did not start every worker"
        await asyncio.sleep(0.05)
    cluster = Cluster({port: children(master.pid)})
    await every_worker_answers(cluster)
    return cluster


def processes(
    stack: contextlib.ExitStack, config: Path, count: int, env: dict, logs: Path
) -> Cluster:
    """`count` separate `python -m www` processes, each on a free port of its own."""
    ports = [free_port() for _ in range(count)]
    commands = [
        ([sys.executable, "-m", "www", "--config", str(config), "--port", str(port)], port)
        for port in ports
    ]
    procs = stack.enter_context(running(commands, env, logs))
    return Cluster({port: {proc.pid} for port, proc in zip(ports, procs, strict=True)})


# --- what every process shares ------------------------------------------------------------
async def sessions_and_edits(cluster: Cluster, post_id: int) -> None:
    """A session made by one process works on the others, and a post edited through one
    process shows the change on the next page from any other (each cached it before)."""
    for pid in cluster.workers:  # each process caches the post's page data
        reply = await cluster.request_on(pid, "GET", f"/posts/{post_id}")
        assert reply.status == 200 and "Before" in reply.body

    login, cookie = await cluster.log_in()
    for pid in cluster.workers - {login.worker}:
        reply = await cluster.request_on(pid, "GET", "/api/session", cookie=cookie)
        assert reply.status == 200 and reply.body["user"]["name"] == "alice", pid

    edit = await cluster.request(
        "PATCH",
        f"/api/posts/{post_id}",
        cookie,
        json={"title": "After"},
        headers={"X-CSRF-Token": login.body["csrf_token"]},
    )
    assert edit.status == 200 and edit.body["title"] == "After", edit.body
    for pid in cluster.workers - {edit.worker}:
        reply = await cluster.request_on(pid, "GET", f"/posts/{post_id}")
        assert reply.status == 200 and "After" in reply.body and "Before" not in reply.body, pid
