"""Several server processes of the app, as deployments run them, for the multi-process tests
(tests/test_workers.py, tests/test_scale_out.py): gunicorn's workers behind one port, or
separate `python -m www` processes on a port each, all on one database.

Every reply says which process answered (found through /proc: tests/procfs.py), so a test
can also ask one process in particular.
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
from tests.procfs import children, holder, started
from tests.serving import ROOT, free_port, wait_until_serving
from www.accounts.models import User
from www.db import Database
from www.passwords import hash_password_sync
from www.posts.models import Post
from www.settings import PROJECT_ROOT, Settings

PASSWORD = "correct horse"
TIMEOUT = aiohttp.ClientTimeout(total=10)  # any one request or handshake
START_TIMEOUT = 30.0  # seconds for every process to answer
STOP_TIMEOUT = 15.0  # seconds for a process to exit after SIGTERM, before SIGKILL


# --- requests that know which process answered --------------------------------------------
class Reply(NamedTuple):
    worker: int  # the pid of the process that answered
    status: int
    body: Any  # JSON, or text
    cookie: str | None  # the session cookie it set
    at: float  # time.monotonic() when its headers arrived
    etag: str | None = None  # the ETag of a kept anonymous page (www/responses.py)


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
            etag = resp.headers.get("ETag")
            return Reply(self.holder(port, local), resp.status, body, set_cookie, at, etag)

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


def stop(procs: list[subprocess.Popen], also: dict[int, str]) -> list[str]:
    """SIGTERM each of `procs` (by PID) and wait. Those still running after STOP_TIMEOUT
    are SIGKILLed, with the processes of `also` ({pid: started()}: gunicorn's workers,
    which a killed master would leave behind). Returns what had to be killed."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    hung = []
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            hung.append(proc)
    if hung:
        for pid, start in also.items():
            if started(pid) == start:
                os.kill(pid, signal.SIGKILL)
        for proc in hung:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    return [f"PID {proc.pid} ({' '.join(proc.args[1:4])})" for proc in hung]


@contextlib.contextmanager
def running(
    commands: list[tuple[list[str], int]], env: dict, logs: Path, also: dict | None = None
) -> Iterator[list]:
    """Start each (args, port) at once, wait until each answers /healthz on its port, yield
    the processes, and always stop them. Their output goes to `logs`/server-N.log. One
    that does not stop within STOP_TIMEOUT of SIGTERM is killed, and an error once the
    test has passed: a deployment's restart would hang on it too."""
    logs.mkdir(parents=True, exist_ok=True)
    procs, files, passed = [], [], False
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
        passed = True
    finally:
        hung = stop(procs, also or {})
    if hung and passed:
        raise AssertionError(
            f"not stopped {STOP_TIMEOUT:.0f} s after SIGTERM, so killed: {', '.join(hung)};"
            f" logs in {logs}"
        )


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
    args += ["--worker-class", "www.worker.GunicornWebWorker"]  # www/worker.py
    args += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    env = {**env, "WWW_CONFIG": str(config)}
    forked: dict[int, str] = {}  # the workers, killed with the master if it hangs
    (master,) = stack.enter_context(running([(args, port)], env, logs, forked))
    deadline = time.monotonic() + START_TIMEOUT
    while len(children(master.pid)) < workers:  # forked one after the other
        assert time.monotonic() < deadline, "gunicorn did not start every worker"
        await asyncio.sleep(0.05)
    cluster = Cluster({port: children(master.pid)})
    forked.update({pid: started(pid) for pid in cluster.workers})
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
    process shows the change on the next page from any other (each kept the page before,
    whole, for anonymous visitors: the next one is answered from memory, if current)."""
    kept = {}
    for pid in cluster.workers:  # each process keeps the post's page
        for _ in range(2):
            reply = await cluster.request_on(pid, "GET", f"/posts/{post_id}")
            assert reply.status == 200 and "Before" in reply.body and reply.etag
            assert kept.setdefault(pid, reply.etag) == reply.etag

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
        assert reply.etag != kept[pid]
