"""Live comments across processes: how long after a comment's 201 it reaches every socket
open on the post, with the app under gunicorn and 2 workers as the README deploys it.

    .venv/bin/python benchmarks/live_latency.py [--live-sockets 20] [--live-comments 100]

One run per broker the settings can pick (www/brokers/): SQLite alone (its table of
messages, polled), PostgreSQL alone (LISTEN/NOTIFY), and each of them with Redis (pub/sub,
WWW_REDIS__URL); a variant whose server is missing is skipped with the reason.

`--live-sockets` WebSockets are opened on one post, until every worker holds some (which
worker holds a connection is read from /proc: the server's end of it is a socket that
exactly one worker has open); then `--live-comments` comments are posted through the API one
after the other, each over a new connection, so the kernel hands them to either worker.
For every (socket, comment): the time from the comment's 201 reaching the poster to the
comment reaching that socket, both read on the client's clock. A comment that reaches a
socket before the poster has its 201 counts 0 ms. Every socket must get every comment
once and in order (PASS), within DEADLINE of the last post.

The servers (gunicorn, Redis, a throwaway PostgreSQL) run on CPU 0, the client on CPU 1,
as in the rest of the suite; the loops are bounded in count and time.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from common import LOAD_CPU, PYTHON, CheckFailed, Servers, clean_env, free_port
from procinfo import holder, wait_for_workers

TIMEOUT = aiohttp.ClientTimeout(total=10)  # any one request or handshake
DEADLINE = 5.0  # seconds after the last 201 for every socket to have every comment
PASSWORD = "bench-password-1234"  # noqa: S105 -- seed.py's default
EMAIL = "user01@bench.example"  # seed.py's first user
LIVE_SCHEMA = "www_bench_live"  # on PostgreSQL, when run alone


@dataclass
class Variant:
    label: str  # "SQLite", "PostgreSQL + Redis"...
    config: Path  # the app's config overlay (its db.url)
    redis: bool = False


@dataclass
class LiveResult:
    label: str
    sockets: dict[int, int] = field(default_factory=dict)  # worker pid -> sockets it holds
    comments: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, one per delivery
    expected: int = 0  # sockets x comments
    early: int = 0  # deliveries before the poster's 201
    failures: list[str] = field(default_factory=list)
    skipped: str = ""  # why it did not run

    def cut(self, q: int) -> float:
        """The q-th percentile of the latencies, in ms."""
        if len(self.latencies) < 2:
            return 1000 * (self.latencies[0] if self.latencies else 0)
        return 1000 * statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


# --- the client ---------------------------------------------------------------------------


async def log_in(session: aiohttp.ClientSession) -> str:
    """Log in as seed.py's first user through the API; the session's CSRF token."""
    async with session.get("/api/session") as resp:
        token = (await resp.json())["csrf_token"]
    login = {"email": EMAIL, "password": PASSWORD}
    async with session.post("/api/session", json=login, headers={"X-CSRF-Token": token}) as resp:
        if resp.status != 200:
            raise CheckFailed(f"logging in through the API: {resp.status} {await resp.text()}")
        return (await resp.json())["csrf_token"]


async def open_sockets(session, url: str, post_id: int, port: int, workers: set[int], n: int):
    """`n` subscribed sockets on the post, more (up to 3n) until every worker holds one."""
    sockets, per_worker = [], dict.fromkeys(workers, 0)
    deadline = time.monotonic() + 30
    while len(sockets) < n or min(per_worker.values()) == 0:
        if len(sockets) >= 3 * n or time.monotonic() > deadline:
            raise CheckFailed(f"the sockets landed on {per_worker}, not on every worker")
        ws = await session.ws_connect(f"{url}/ws/posts/{post_id}", autoping=False)
        per_worker[holder(workers, port, ws.get_extra_info("sockname")[1])] += 1
        sockets.append(ws)
    for ws in sockets:  # the handler reads a ping only once it has subscribed
        await ws.ping(b"subscribed?")
        message = await ws.receive(timeout=5)
        if (message.type, message.data) != (aiohttp.WSMsgType.PONG, b"subscribed?"):
            raise CheckFailed(f"a socket answered {message.type} instead of a pong")
    return sockets, per_worker


class Arrivals:
    """(arrival time, comment id) per socket; `complete` is set once every socket has
    `expected` messages."""

    def __init__(self, sockets: int, expected: int) -> None:
        self.logs: list[list] = [[] for _ in range(sockets)]
        self.missing = sockets * expected
        self.complete = asyncio.Event()

    def note(self, socket_number: int, comment_id: int) -> None:
        self.logs[socket_number].append((time.monotonic(), comment_id))
        self.missing -= 1
        if self.missing <= 0:
            self.complete.set()


async def listen(ws, number: int, arrivals: Arrivals) -> None:
    """Note each message of socket `number` as it arrives, until the socket closes."""
    while True:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            arrivals.note(number, message.json()["comment"]["id"])
        elif message.type == aiohttp.WSMsgType.PING:
            await ws.pong(message.data)
        elif message.type != aiohttp.WSMsgType.PONG:
            return


async def measure(url: str, port: int, workers: set[int], args, result: LiveResult) -> None:
    post_id = 1
    jar = aiohttp.CookieJar(unsafe=True)  # keeps the cookies of 127.0.0.1 (an IP address)
    async with aiohttp.ClientSession(url, cookie_jar=jar, timeout=TIMEOUT) as session:
        token = await log_in(session)
        sockets, result.sockets = await open_sockets(
            session, url, post_id, port, workers, args.live_sockets
        )
        arrivals = Arrivals(len(sockets), args.live_comments)
        listeners = [asyncio.create_task(listen(ws, n, arrivals)) for n, ws in enumerate(sockets)]
        posted = []  # (comment id, when its 201 arrived)
        headers = {"X-CSRF-Token": token}
        fresh = aiohttp.TCPConnector(force_close=True)  # a new connection per comment
        async with aiohttp.ClientSession(
            url, connector=fresh, cookie_jar=jar, timeout=TIMEOUT
        ) as poster:
            for n in range(args.live_comments):
                body = {"content": f"live latency {n:04}"}
                async with poster.post(
                    f"/api/posts/{post_id}/comments", json=body, headers=headers
                ) as resp:
                    at = time.monotonic()
                    if resp.status != 201:
                        raise CheckFailed(f"comment {n}: {resp.status} {await resp.text()}")
                    posted.append(((await resp.json())["id"], at))
        with contextlib.suppress(TimeoutError):  # what is missing then is reported
            await asyncio.wait_for(arrivals.complete.wait(), DEADLINE)
        await asyncio.sleep(0.2)  # for any duplicate to show
        for ws in sockets:
            await ws.close()
        async with asyncio.timeout(10):
            await asyncio.gather(*listeners)
    tally(result, posted, arrivals.logs)


def tally(result: LiveResult, posted: list, arrivals: list[list]) -> None:
    ids = [comment_id for comment_id, _ in posted]
    result.comments, result.expected = len(posted), len(posted) * len(arrivals)
    lost = wrong = 0
    for log in arrivals:
        got = [comment_id for _, comment_id in log]
        if got != ids:
            wrong += 1
            lost += len(set(ids) - set(got))
        when = {comment_id: at for at, comment_id in reversed(log)}  # the first arrival
        for comment_id, at in posted:
            if comment_id in when:
                delay = when[comment_id] - at
                result.early += delay < 0
                result.latencies.append(max(0.0, delay))
    if wrong:
        result.failures.append(
            f"{wrong} of {len(arrivals)} sockets did not get every comment once and in order "
            f"({lost} deliveries missing within {DEADLINE:.0f} s)"
        )


# --- the servers --------------------------------------------------------------------------


def wait_for_redis(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return
        time.sleep(0.1)
    raise CheckFailed(f"redis-server did not answer on port {port} within {timeout:.0f}s")


def run_variant(servers: Servers, variant: Variant, args) -> LiveResult:
    """gunicorn with 2 workers (and a Redis of its own when asked) for one measurement."""
    result = LiveResult(variant.label)
    env = clean_env(WWW_CONFIG=str(variant.config))
    names = []
    try:
        if variant.redis:
            redis_port = free_port()
            redis = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
            redis += ["--save", "", "--appendonly", "no"]
            names.append(f"redis-{redis_port}")
            servers.start(names[-1], redis, redis_port, clean_env())
            wait_for_redis(redis_port)
            env["WWW_REDIS__URL"] = f"redis://127.0.0.1:{redis_port}/0"
        port = free_port()
        command = [PYTHON, "-m", "gunicorn", "www.app:create_app()", "--workers", "2"]
        command += ["--worker-class", "www.worker.GunicornWebWorker", "--log-level", "warning"]
        command += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
        names.append(f"gunicorn-{port}")
        server = servers.start(names[-1], command, port, env)
        servers.wait_ready(server, "/healthz")
        workers = wait_for_workers(server.proc.pid, 2, port)  # taskset exec'd gunicorn
        print(
            f"  live comments, {variant.label}: {args.live_sockets} sockets, "
            f"{args.live_comments} comments (gunicorn workers {sorted(workers)})",
            flush=True,
        )
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {int(LOAD_CPU)})  # the client on the load core
        try:
            asyncio.run(measure(server.base, port, workers, args, result))
        finally:
            os.sched_setaffinity(0, affinity)
    except (CheckFailed, aiohttp.ClientError, OSError, TimeoutError) as exc:
        result.failures.append(f"{type(exc).__name__}: {exc}")  # the other variants still run
    finally:
        for name in reversed(names):
            servers.stop(name)
    return result


def variants(sqlite_config: Path, pg: Path | str) -> list[Variant | str]:
    """The variants to run, or why one cannot (a string). `pg`: the PostgreSQL config, or
    why there is none."""
    on_pg = isinstance(pg, Path)
    found = [Variant("SQLite", sqlite_config)]
    found.append(Variant("PostgreSQL", pg) if on_pg else f"PostgreSQL: {pg}")
    if not shutil.which("redis-server"):
        return [*found, "with Redis: redis-server is missing (apt-get install redis-server)"]
    found.append(Variant("SQLite + Redis", sqlite_config, redis=True))
    if on_pg:
        found.append(Variant("PostgreSQL + Redis", pg, redis=True))
    return found


def run_all(servers: Servers, sqlite_config: Path, pg: Path | str, args) -> list:
    """Every variant in turn (see variants()); `pg` the PostgreSQL config, or why none."""
    results = []
    for variant in variants(sqlite_config, pg):
        if isinstance(variant, str):
            print(f"  live comments skipped: {variant}", flush=True)
            results.append(LiveResult(variant.partition(":")[0], skipped=variant))
            continue
        results.append(run_variant(servers, variant, args))
    return results


# --- the report ---------------------------------------------------------------------------


def render(results: list[LiveResult], args) -> list[str]:
    lines = [
        f"gunicorn with 2 aiohttp workers (the README's deploy command), {args.live_sockets} "
        "WebSockets on one post, spread over both workers; "
        f"{args.live_comments} comments posted through the API one after another, each over a new "
        "connection. Latency: from a comment's 201 reaching its poster to its arrival on a "
        "socket, for every socket and comment (0 when it arrived first). See "
        "`benchmarks/live_latency.py`.",
        "",
        "| broker | sockets per worker | deliveries | p50 ms | p99 ms | max ms | "
        "before the 201 | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.label} | skipped: {r.skipped.partition(': ')[2]} | | | | | | |")
            continue
        spread = " / ".join(str(n) for n in r.sockets.values()) or "-"
        verdict = "FAIL" if r.failures else "PASS"
        lines.append(
            f"| {r.label} | {spread} | {len(r.latencies)} of {r.expected} | {r.cut(50):.1f} | "
            f"{r.cut(99):.1f} | {1000 * max(r.latencies, default=0):.1f} | {r.early} | "
            f"{verdict} |"
        )
    for r in results:
        lines += [f"- **FAIL** ({r.label}): {failure}" for failure in r.failures]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Standalone: a small SQLite database (and PostgreSQL, as run.py finds one)."""
    import postgres
    from run import seed_database, write_config

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(p)
    p.add_argument("--skip-pg", action="store_true", help="no PostgreSQL variants")
    p.add_argument("--quick", action="store_true", help="fewer sockets and comments")
    args = p.parse_args(argv)
    fill_defaults(args, args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="www-live-"))
    seed = argparse.Namespace(users=2, posts=2, comments=0)
    try:
        with contextlib.ExitStack() as stack:
            pg = "--skip-pg" if args.skip_pg else stack.enter_context(postgres.provide())
            pg_config = pg
            db_path = workdir / "live.db"
            config = write_config(workdir, "live", f"sqlite:///{db_path}", 20)
            print(seed_database(str(db_path), config, seed), flush=True)
            if isinstance(pg, postgres.Postgres):  # a schema apart from run.py's
                pg.fresh_schema(LIVE_SCHEMA)
                stack.callback(pg.drop_schema, LIVE_SCHEMA)
                pg_config = write_config(workdir, "live-pg", pg.app_url(LIVE_SCHEMA), 20)
                print(seed_database(pg.app_url(LIVE_SCHEMA), pg_config, seed), flush=True)
            servers = stack.enter_context(Servers(workdir))
            results = run_all(servers, config, pg_config, args)
        print("\n".join(render(results, args)))
        return 1 if any(r.failures for r in results) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options run.py shares (its --comments is the seed's comments per post)."""
    p.add_argument("--live-sockets", type=int, help="WebSockets on the post (20; quick 10)")
    p.add_argument("--live-comments", type=int, help="comments posted (100; quick 30)")


def fill_defaults(args: argparse.Namespace, quick: bool) -> None:
    args.live_sockets = args.live_sockets or (10 if quick else 20)
    args.live_comments = args.live_comments or (30 if quick else 100)
    if min(args.live_sockets, args.live_comments) < 2:
        raise SystemExit("--live-sockets and --live-comments must be at least 2")


if __name__ == "__main__":
    sys.exit(main())
