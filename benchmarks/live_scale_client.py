"""The client side of live comments at scale (live_scale.py runs it, pinned to the load
core): many WebSockets on one post, then comments posted one at a time, each timed from
its 201 to its arrival on the LAST socket.

    taskset -c 1 .venv/bin/python benchmarks/live_scale_client.py --url http://127.0.0.1:PORT \
        --workers PID[,PID] --sockets 1000 --comments 20

A process of its own (not live_scale.py's), so that the sockets' work runs on its own core
and the server's measure is the server's. It talks to live_scale.py over stdin/stdout, one
line each way, so that the server's memory is read at the right moments:

    client: "WARM <limit>"       logged in, one comment through a few sockets: the code
                                 paths are loaded; its open-file limit. live_scale.py
                                 reads the server's RSS
    parent: "go"
    client: "OPEN <spread JSON>" every socket open and subscribed (answered a ping); RSS
    parent: "go"                 again, then the comments
    client: "RESULT <JSON>"      the measures (see measure_comments), then it exits

Each comment is posted over a new connection (the kernel hands it to either worker) and
waited for on every socket (DEADLINE) before the next, so each one is measured alone. The
client's CPU time during each delivery is recorded too: if it were near 100% of the
wall-clock time, the client, not the server, would be what the numbers measure.
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

import aiohttp
from live_latency import log_in

TIMEOUT = aiohttp.ClientTimeout(total=30)  # any one request or handshake
DEADLINE = 5.0  # seconds for a comment to reach every socket
MAX_FAILURES = 3  # comments that miss sockets before the run stops (it is bounded anyway)
BATCH = 50  # sockets opened at once
FD_MARGIN = 100  # files beyond the sockets: the poster's connection, the loop, stdio
REBALANCE_ROUNDS = 10  # at most, to spread the sockets over the workers


def raise_open_files(needed: int) -> str:
    """RLIMIT_NOFILE's soft limit up to the hard one when below `needed`; what it is now.
    Exits (status 1, the reason on stderr) when even the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    said = f"open-file limit {soft}"
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        said, soft = f"open-file limit raised from {soft} to {hard}", hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"open-file limit {soft} (hard) < {needed} needed: raise `ulimit -Hn`")
    return said


def holders(workers: set[int], port: int, sockets: list) -> list[int]:
    """The worker pid holding each socket's server end, read once from /proc (Linux): the
    connection's inode in /proc/net/tcp*, and which worker has that inode open."""
    inodes = {}  # client port -> inode of the server's end
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == port:
                inodes[int(remote, 16)] = fields[9]
    owner = {}
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        for fd in os.listdir(fds):
            with contextlib.suppress(OSError):  # closed meanwhile
                owner[os.readlink(fds / fd)] = pid
    return [
        owner.get(f"socket:[{inodes.get(ws.get_extra_info('sockname')[1])}]", 0) for ws in sockets
    ]


async def open_batch(session, url: str, count: int) -> list:
    async def one():
        ws = await session.ws_connect(url, autoping=False, max_msg_size=0)
        await ws.ping(b"subscribed?")  # the handler reads it only once it has subscribed
        message = await ws.receive(timeout=30)
        if (message.type, message.data) != (aiohttp.WSMsgType.PONG, b"subscribed?"):
            raise RuntimeError(f"a socket answered {message.type} instead of a pong")
        return ws

    sockets = []
    for start in range(0, count, BATCH):
        sockets += await asyncio.gather(*(one() for _ in range(min(BATCH, count - start))))
    return sockets


async def open_spread(session, url: str, port: int, workers: set[int], n: int) -> list:
    """`n` subscribed sockets; with several workers, replaced until each worker holds at
    least 40% of its fair share (or REBALANCE_ROUNDS rounds are done)."""
    sockets = await open_batch(session, url, n)
    for _ in range(REBALANCE_ROUNDS if len(workers) > 1 else 0):
        held = holders(workers, port, sockets)
        counts = {pid: held.count(pid) for pid in workers}
        if min(counts.values()) >= 0.4 * n / len(workers):
            break
        biggest = max(counts, key=counts.get)
        extra = counts[biggest] - n // len(workers)
        leaving = [ws for ws, pid in zip(sockets, held, strict=True) if pid == biggest][:extra]
        for ws in leaving:
            await ws.close()
        kept = set(map(id, leaving))
        sockets = [ws for ws in sockets if id(ws) not in kept]
        sockets += await open_batch(session, url, len(leaving))
    return sockets


class Round:
    """The arrivals of the comment being measured: (time, text) per socket."""

    def __init__(self, sockets: int) -> None:
        self.sockets = sockets
        self.arrivals: list[tuple[float, str]] = []
        self.complete = asyncio.Event()

    def note(self, text: str) -> None:
        self.arrivals.append((time.monotonic(), text))
        if len(self.arrivals) >= self.sockets:
            self.complete.set()


async def listen(ws, rounds: list[Round]) -> None:
    """Note each message on the current round (rounds[-1]) until the socket closes."""
    while True:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            rounds[-1].note(message.data)  # parsed afterwards: no JSON on the clock
        elif message.type == aiohttp.WSMsgType.PING:
            await ws.pong(message.data)
        elif message.type != aiohttp.WSMsgType.PONG:
            return


async def post_comment(poster, post_id: int, token: str, text: str) -> tuple[int, float]:
    """(comment id, monotonic time of its 201)."""
    body, headers = {"content": text}, {"X-CSRF-Token": token}
    async with poster.post(f"/api/posts/{post_id}/comments", json=body, headers=headers) as resp:
        at = time.monotonic()
        if resp.status != 201:
            raise RuntimeError(f"posting a comment: {resp.status} {await resp.text()}")
        return (await resp.json())["id"], at


async def measure_comments(poster, sockets, post_id, token, count, label) -> dict:
    """Post `count` comments one at a time; per comment, from its 201 to its arrival on
    the last socket (and the first), and the client's CPU share meanwhile."""
    rounds = [Round(len(sockets))]
    listeners = [asyncio.create_task(listen(ws, rounds)) for ws in sockets]
    last, first, busy, failures = [], [], [], []
    try:
        for n in range(count):
            rounds.append(Round(len(sockets)))
            cpu, wall = time.process_time(), time.monotonic()
            comment_id, at = await post_comment(poster, post_id, token, f"{label} {n:04}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rounds[-1].complete.wait(), DEADLINE)
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            await asyncio.sleep(0.05)  # a duplicate, or a stray late message, shows here
            got = [json.loads(text)["comment"]["id"] for _, text in rounds[-1].arrivals]
            if got != [comment_id] * len(sockets):
                wrong = sum(x != comment_id for x in got)
                failures.append(
                    f"comment {n}: {got.count(comment_id)} of {len(sockets)} sockets got it "
                    f"within {DEADLINE:.0f} s, {wrong} other messages"
                )
                if len(failures) >= MAX_FAILURES:
                    break
                continue
            times = [t for t, _ in rounds[-1].arrivals]
            last.append(max(0.0, max(times) - at))
            first.append(max(0.0, min(times) - at))
            busy.append(cpu / wall if wall else 0.0)
    finally:
        for ws in sockets:
            await ws.close()
        async with asyncio.timeout(30):
            await asyncio.gather(*listeners, return_exceptions=True)
    return {"last": last, "first": first, "client_busy": busy, "failures": failures}


def tell(line: str) -> None:
    print(line, flush=True)


def wait_for_go() -> None:
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("live_scale.py did not say go")


async def main(args: argparse.Namespace) -> None:
    url, workers = args.url, {int(pid) for pid in args.workers.split(",")}
    port = int(url.rsplit(":", 1)[1])
    ws_url = f"{url}/ws/posts/{args.post_id}"
    jar = aiohttp.CookieJar(unsafe=True)  # keeps the cookies of 127.0.0.1 (an IP address)
    unlimited = aiohttp.TCPConnector(limit=0)  # a socket holds its connection while open
    async with aiohttp.ClientSession(
        url, connector=unlimited, cookie_jar=jar, timeout=TIMEOUT
    ) as session:
        token = await log_in(session)
        fresh = aiohttp.TCPConnector(force_close=True)  # a new connection per comment
        async with aiohttp.ClientSession(
            url, connector=fresh, cookie_jar=jar, timeout=TIMEOUT
        ) as poster:
            warm = await open_batch(session, ws_url, 5)  # the code paths, loaded once
            warmed = await measure_comments(poster, warm, args.post_id, token, 2, "warm-up")
            if warmed["failures"]:
                raise RuntimeError(f"warm-up: {warmed['failures'][0]}")
            tell(f"WARM {args.open_files}")
            wait_for_go()
            sockets = await open_spread(session, ws_url, port, workers, args.sockets)
            held = holders(workers, port, sockets)
            tell("OPEN " + json.dumps({str(pid): held.count(pid) for pid in sorted(workers)}))
            wait_for_go()
            measured = await measure_comments(
                poster, sockets, args.post_id, token, args.comments, "live at scale"
            )
    tell("RESULT " + json.dumps(measured))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    p.add_argument("--workers", required=True, help="the server processes' pids, a,b")
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--comments", type=int, default=20)
    p.add_argument("--post-id", type=int, default=1)
    arguments = p.parse_args()
    arguments.open_files = raise_open_files(arguments.sockets + FD_MARGIN)
    try:
        import uvloop  # the app's own pin: a faster client loop, so it keeps up
    except ImportError:
        asyncio.run(main(arguments))
    else:
        uvloop.run(main(arguments))
