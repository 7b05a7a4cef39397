"""Several gunicorn workers, served as the README deploys them: live comments reach the
sockets of every worker, a session made by one worker works on the others, and a post
edited through one worker shows the change on the next page from another.

Which worker holds a connection is read from /proc (Linux): the server's end of the TCP
connection is a socket that exactly one worker process has open.
"""

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import WSMsgType

from tests.conftest import overrides_for
from tests.helpers import COOKIE
from tests.serving import clean_env, free_port, init_db, serving, write_config
from www.accounts.models import User
from www.db import Database
from www.passwords import hash_password_sync
from www.posts.models import Post
from www.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="tells workers apart through /proc"
)

PASSWORD = "correct horse"
COMMENTS = 100
SOCKETS_PER_WORKER = 3  # on average; every worker holds one at least
MAX_SOCKETS = 100  # opened at most, waiting for every worker to hold one
DEADLINE = 1.0  # seconds from a comment's 201 to its arrival on every socket
TIMEOUT = aiohttp.ClientTimeout(total=10)  # any one request or handshake


# --- which worker holds a connection ------------------------------------------------------
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


def server_end(server_port: int, client_port: int) -> str | None:
    """The socket inode of the server's end of the connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if (int(local, 16), int(remote, 16)) == (server_port, client_port):
                return fields[9]
    return None


def holder(workers: set[int], server_port: int, client_port: int) -> int:
    """Which of `workers` holds the connection from `client_port` (open right now)."""
    inode = server_end(server_port, client_port)
    assert inode is not None, f"no connection from port {client_port}"
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        for fd in os.listdir(fds):
            with contextlib.suppress(OSError):  # closed meanwhile
                if os.readlink(fds / fd) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


# --- the served application ---------------------------------------------------------------
class Reply(NamedTuple):
    worker: int  # the pid of the worker that answered
    status: int
    body: Any  # JSON, or text
    cookie: str | None  # the session cookie it set
    at: float  # time.monotonic() when its headers arrived


class Cluster:
    """gunicorn's master and workers, and requests that know which worker answered."""

    def __init__(self, port: int, workers: set[int]) -> None:
        self.port, self.workers = port, workers
        self.url = f"http://127.0.0.1:{port}"

    def holder(self, client_port: int) -> int:
        return holder(self.workers, self.port, client_port)

    async def request(self, method: str, path: str, cookie: str | None = None, **kwargs) -> Reply:
        """One request over a new connection, from a port chosen here so that its worker
        can be looked up (while the connection is kept alive)."""
        port = free_port()
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.1", port))
        cookies = {COOKIE: cookie} if cookie else None
        async with (
            aiohttp.ClientSession(
                self.url, connector=connector, cookies=cookies, timeout=TIMEOUT
            ) as session,
            session.request(method, path, allow_redirects=False, **kwargs) as resp,
        ):
            at = time.monotonic()
            json = resp.content_type == "application/json"
            body = await resp.json() if json else await resp.text()
            set_cookie = resp.cookies[COOKIE].value if COOKIE in resp.cookies else None
            return Reply(self.holder(port), resp.status, body, set_cookie, at)

    async def request_on(self, worker: int, method: str, path: str, **kwargs) -> Reply:
        """request() again until `worker` answers (a safe method only)."""
        assert method in ("GET", "HEAD")
        # The kernel hands each new connection to whichever worker accepts first, so a
        # busy machine can favour some workers for a while: bounded in count and time.
        deadline = time.monotonic() + 30
        for _ in range(1000):
            reply = await self.request(method, path, **kwargs)
            if reply.worker == worker or time.monotonic() > deadline:
                break
        if reply.worker != worker:
            raise AssertionError(f"worker {worker} never answered {method} {path}")
        return reply

    async def log_in(self) -> tuple[Reply, str]:
        """The reply to logging in as alice (its worker, cookie and CSRF token)."""
        start = await self.request("GET", "/api/session")
        login = {"email": "alice@example.com", "password": PASSWORD}
        headers = {"X-CSRF-Token": start.body["csrf_token"]}
        reply = await self.request(
            "POST", "/api/session", start.cookie, json=login, headers=headers
        )
        assert reply.status == 200, reply.body
        assert reply.body["user"]["name"] == "alice"
        return reply, reply.cookie or start.cookie


@pytest.fixture
async def served(tmp_path):
    """start(N): gunicorn with N workers, on a database holding alice and one post; returns
    (Cluster, the post's id). Stopped after the test."""
    config = write_config(tmp_path, overrides_for(tmp_path))
    init_db(config)
    settings = load_settings(config, environ={})
    async with Database.from_url(settings.db.url, PROJECT_ROOT) as db:
        password_hash = hash_password_sync(settings.passwords, PASSWORD)
        alice = await User.create(
            db, name="alice", email="alice@example.com", password_hash=password_hash
        )
        post = await Post.create(db, user_id=alice.id, title="Before", content="Body")

    async def start(workers: int) -> tuple[Cluster, int]:
        port = free_port()
        args = [sys.executable, "-m", "gunicorn", "www.app:create_app()"]
        args += ["--worker-class", "aiohttp.GunicornWebWorker"]
        args += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        env = clean_env(WWW_CONFIG=str(config))
        proc = servers.enter_context(serving(args, f"http://127.0.0.1:{port}/healthz", env))
        deadline = time.monotonic() + 30
        while len(children(proc.pid)) < workers:  # forked one after the other
            assert time.monotonic() < deadline, "gunicorn did not start every worker"
            await asyncio.sleep(0.05)
        cluster = Cluster(port, children(proc.pid))
        answered = set()  # a worker accepts connections once its app has started
        for _ in range(200):
            answered.add((await cluster.request("GET", "/healthz")).worker)
            if answered == cluster.workers:
                return cluster, post.id
            assert time.monotonic() < deadline, f"only {answered} of {cluster.workers} answer"
        raise AssertionError(f"only {answered} of {cluster.workers} answered 200 requests")

    with contextlib.ExitStack() as servers:
        yield start


# --- live comments ------------------------------------------------------------------------
async def open_sockets(cluster: Cluster, session: aiohttp.ClientSession, post_id: int):
    """WebSockets on the post, opened until every worker holds one and there are
    SOCKETS_PER_WORKER times as many as workers (the kernel picks the worker of each):
    [(worker, socket)], each subscribed (it answered a ping, which its handler only reads
    once subscribed)."""
    sockets, per_worker = [], Counter()
    deadline = time.monotonic() + 30
    enough = SOCKETS_PER_WORKER * len(cluster.workers)
    while len(per_worker) < len(cluster.workers) or len(sockets) < enough:
        assert len(sockets) < MAX_SOCKETS and time.monotonic() < deadline, (
            f"the sockets landed on {dict(per_worker)}, not on every one of {cluster.workers}"
        )
        ws = await session.ws_connect(f"/ws/posts/{post_id}", autoping=False)
        worker = cluster.holder(ws.get_extra_info("sockname")[1])
        per_worker[worker] += 1
        sockets.append((worker, ws))
    for _, ws in sockets:
        await ws.ping(b"subscribed?")
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (WSMsgType.PONG, b"subscribed?")
    return sockets


async def listen(ws, arrivals: list) -> None:
    """Note (arrival time, comment) for each message, until the socket closes."""
    while True:
        message = await ws.receive()
        if message.type == WSMsgType.PING:
            await ws.pong(message.data)
        elif message.type == WSMsgType.TEXT:
            arrivals.append((time.monotonic(), message.json()["comment"]))
        elif message.type != WSMsgType.PONG:
            return  # closed


@pytest.mark.parametrize("workers", [2, 4])
async def test_live_comments_reach_the_sockets_of_every_worker(served, workers, record_property):
    cluster, post_id = await served(workers)
    _, cookie = await cluster.log_in()
    token = (await cluster.request("GET", "/api/session", cookie)).body["csrf_token"]
    async with aiohttp.ClientSession(cluster.url, timeout=TIMEOUT) as session:
        sockets = await open_sockets(cluster, session, post_id)
        arrivals = [[] for _ in sockets]
        listeners = [
            asyncio.create_task(listen(ws, log))
            for (_, ws), log in zip(sockets, arrivals, strict=True)
        ]
        created = []  # replies, in the order the comments were saved
        for n in range(COMMENTS):  # each over a new connection: saved by one worker or another
            content = f"comment {n:03} " + "x" * 4988 if n % 10 == 0 else f"comment {n:03}"
            reply = await cluster.request(
                "POST",
                f"/api/posts/{post_id}/comments",
                cookie,
                json={"content": content},
                headers={"X-CSRF-Token": token},
            )
            assert reply.status == 201, reply.body
            created.append(reply)
        deadline = time.monotonic() + DEADLINE + 5
        while min(map(len, arrivals)) < COMMENTS and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # for any duplicate to show
        for _, ws in sockets:
            await ws.close()
        async with asyncio.timeout(10):
            await asyncio.gather(*listeners)

    savers = Counter(reply.worker for reply in created)
    assert len(savers) >= 2, savers  # the comments crossed from worker to worker
    assert len(created[0].body["content"]) == 5000
    latencies = []
    for (worker, _), log in zip(sockets, arrivals, strict=True):
        received = [comment for _, comment in log]
        assert received == [reply.body for reply in created], f"{len(log)} on worker {worker}"
        latencies += [arrived - reply.at for (arrived, _), reply in zip(log, created, strict=True)]
    assert max(latencies) <= DEADLINE
    p50, p99 = (1000 * cut for cut in statistics.quantiles(latencies, n=100)[49::49])
    record_property(
        "figure",
        f"{workers} workers, {len(sockets)} sockets, {COMMENTS} comments saved by"
        f" {len(savers)} workers; from a comment's 201 to a socket: p50 {p50:.0f} ms,"
        f" p99 {p99:.0f} ms, max {max(latencies) * 1000:.0f} ms",
    )


# --- sessions and page data ---------------------------------------------------------------
async def test_sessions_and_edits_are_seen_by_every_worker(served):
    cluster, post_id = await served(4)
    for pid in cluster.workers:  # each worker caches the post's page data
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
