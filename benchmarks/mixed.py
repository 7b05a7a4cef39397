"""The mixed load: logged-in users reading pages and posting comments under wrk
(mixed_load.lua), checked for errors and lost comments, on SQLite and on PostgreSQL, with
the latencies of reads and of writes (comment posts) apart, against their targets.

Each run gets a server of its own (serve_www.py: `python -m www` that logs its page
cache's hits and misses, and the SQLite writer's lock wait, at shutdown), so what it
logs is the mixed load's alone, not mixed with the fixed pages measured before. wrk runs
one thread per connection, so that its script can tell which request each answer belongs
to (see mixed_load.lua). See benchmarks/README.md ("What runs").
"""

import argparse
import html
import http.client
import json
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import (
    BENCH,
    BENCH_JSON,
    LOAD_CPU,
    PYTHON,
    CheckFailed,
    Measurement,
    Server,
    Servers,
    clean_env,
    fetch,
    free_port,
    run_bounded,
)
from mixed_report import mixed_rows, render_mixed  # noqa: F401 -- report.py, run.py use them

SESSION_COOKIE = "www_session"
PASSWORD = "bench-password-1234"  # noqa: S105 -- must match seed.py's default
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CACHE_LINE = re.compile(r"Page cache: ([\d,]+) hits, ([\d,]+) misses")
WRITER_LINE = re.compile(r"Writer: [^\n]*")  # the database's writer_summary(), if it has one


def session_cookie(headers: http.client.HTTPMessage) -> str | None:
    for value in headers.get_all("Set-Cookie") or ():
        name_value = value.split(";", 1)[0].strip()
        if name_value.startswith(SESSION_COOKIE + "="):
            return name_value
    return None


def log_in(port: int, email: str) -> dict[str, str]:
    """Log in over HTTP as a browser would; returns the session cookie and its CSRF token."""
    status, headers, body = fetch(port, "GET", "/login")
    cookie, token = session_cookie(headers), CSRF_FIELD.search(body)
    if status != 200 or not cookie or not token:
        raise CheckFailed(f"GET /login: {status}, cookie {bool(cookie)}, token {bool(token)}")
    form = {"email": email, "password": PASSWORD, "csrf_token": html.unescape(token.group(1))}
    status, headers, _ = fetch(
        port,
        "POST",
        "/login",
        body=urllib.parse.urlencode(form),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    cookie = session_cookie(headers)
    if status != 303 or not cookie:
        raise CheckFailed(f"POST /login as {email}: {status} (expected 303 and a new cookie)")
    status, _, body = fetch(port, "GET", "/", headers={"Cookie": cookie})
    token = CSRF_META.search(body)
    if status != 200 or not token:
        raise CheckFailed(f"GET / as {email} after logging in: {status}, no CSRF token")
    return {"cookie": cookie, "token": html.unescape(token.group(1))}


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def sqlite_comments(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    finally:
        conn.close()


@dataclass
class MixedResult:
    measurement: Measurement
    rps: float  # answers during the load itself, per second (the drain left out)
    sessions: int
    new_comments: int
    drain: int
    failures: list[str]
    by_kind: dict[str, dict[str, float]]  # "read"/"write" -> count, p50, p99, max (µs)
    lost: int  # comment posts answered 303 that are not in the database
    errors: int  # socket errors, 5xx and unexpected statuses
    database: str = ""  # SQLite, PostgreSQL
    cache: tuple[int, int] | None = None  # the page cache's (hits, misses), if it said
    writer: str | None = None  # the writer's summary line, if the database logged one

    def writer_ms(self, what: str = "lock wait") -> tuple[float, float] | None:
        """(p50, p99) of `what` ("lock wait", "held") from the writer's summary line, as
        "lock wait p50 0.4 ms, p99 3.1 ms"; None when the line does not say."""
        pattern = re.escape(what) + r" p50 ([\d.,]+) ms, p99 ([\d.,]+) ms"
        found = re.search(pattern, self.writer or "")
        if not found:
            return None
        return tuple(float(x.replace(",", "")) for x in found.groups())


def cache_counts(log_text: str) -> tuple[int, int] | None:
    """The page cache's (hits, misses) from a server's log: the sum of every process's
    line (one per gunicorn worker), None when no process logged one."""
    found = CACHE_LINE.findall(log_text)
    if not found:
        return None
    return tuple(
        sum(int(count.replace(",", "")) for count in column) for column in zip(*found, strict=True)
    )


def run_mixed(
    wrk: str,
    servers: Servers,
    database: str,
    config: Path,
    count: Callable[[], int],
    post_ids: list[int],
    emails: list[str],
    workdir: Path,
    args: argparse.Namespace,
) -> MixedResult:
    """The mixed load on a server of its own for `database`, stopped after it so that it
    logs its page cache's counts (the drain has let every request finish by then)."""
    name, port, began = f"mixed-{database.lower()}", free_port(), time.monotonic()
    command = [PYTHON, str(BENCH / "serve_www.py"), "--config", str(config), "--port", str(port)]
    server = servers.start(name, command, port, clean_env())
    servers.wait_ready(server)
    print(f"mixed load on {database} ({name}, pid {server.proc.pid})", flush=True)
    result = mixed_load(wrk, server, count, post_ids, emails, workdir, args)
    servers.stop(name)
    log_text = server.log_tail(lines=1000)
    result.database, result.cache = database, cache_counts(log_text)
    writer = WRITER_LINE.findall(log_text)
    result.writer = "; ".join(writer) or None  # one per process; python -m www is one
    if result.writer:
        print(f"  {result.writer}", flush=True)
    if result.cache is None:
        result.failures.append(f"{name} logged no page cache counts:\n{server.log_tail()}")
    else:
        hits, misses = result.cache
        print(f"  page cache: {hits} hits, {misses} misses", flush=True)
    print(f"  mixed load on {database}: {time.monotonic() - began:.0f} s in all", flush=True)
    return result


def run_wrk_per_connection(
    wrk: str, url: str, seconds: int, connections: int, timeout: int, data: Path
) -> tuple[Measurement, dict]:
    """wrk with mixed_load.lua, one thread per connection (on the load core): the
    measurement and the latencies by kind of request ("read", "write")."""
    command = ["taskset", "-c", LOAD_CPU, wrk, f"-t{connections}", f"-c{connections}"]
    command += [f"-d{seconds}s", f"--timeout={timeout}s", "-s", str(BENCH / "mixed_load.lua")]
    command += [url, "--", str(data)]
    result = run_bounded(command, seconds + timeout + 30, capture_output=True)
    match = BENCH_JSON.search(result.stdout)
    if result.returncode != 0 or not match:
        raise CheckFailed(f"wrk failed on {url} ({result.returncode}):\n{result.stderr}")
    found = json.loads(match.group(1))
    measurement = Measurement(
        requests=found["requests"],
        seconds=found["duration_us"] / 1e6,
        errors=found["errors"],
        latency_us=found["latency_us"],
        counts=found["counts"],
    )
    return measurement, found["by_kind_us"]


def mixed_load(
    wrk: str,
    server: Server,
    count_comments: Callable[[], int],
    post_ids: list[int],
    emails: list[str],
    workdir: Path,
    args: argparse.Namespace,
) -> MixedResult:
    print(f"  logging in {len(emails)} users over HTTP", flush=True)
    sessions = [log_in(server.port, email) for email in emails]
    # After the load, a drain: wrk holds its connections back (mixed_load.lua's delay())
    # until it stops, so every request in flight is answered and counted. wrk's timeout
    # must exceed the drain: wrk counts a connection idle for longer than the timeout as a
    # timeout error, pending request or not.
    drain = args.mixed_drain
    timeout = drain + 5

    def load(seconds: int, name: str, seed: int) -> tuple[Measurement, dict]:
        """`seconds` of the load, then the drain: every request sent is answered."""
        data = workdir / f"mixed_{name}.lua"
        entries = ",\n".join(
            f"  {{cookie = {lua_string(s['cookie'])}, token = {lua_string(s['token'])}}}"
            for s in sessions
        )
        data.write_text(
            f"return {{\nsessions = {{\n{entries}\n}},\n"
            f"post_ids = {{{', '.join(map(str, post_ids))}}},\n"
            f"write_share = {args.write_share!r},\nload_seconds = {seconds},\n"
            f"seed = {seed},\n}}\n",
            encoding="utf-8",
        )
        connections = args.mixed_connections
        return run_wrk_per_connection(wrk, server.base, seconds + drain, connections, timeout, data)

    # The warm-up: the same load, not measured, so that the measurement is of a server
    # that has been serving (its caches filled, its connections open), as the page rows
    # are measured after theirs. Its comments are checked like the measured ones; its
    # random choices are others (another seed): the load does not replay them.
    failures = []
    if args.mixed_warmup:
        print(f"  warm-up: the same load for {args.mixed_warmup}s (+{drain}s drain)", flush=True)
        before = count_comments()
        warm, _ = load(args.mixed_warmup, "warmup", seed=5)
        time.sleep(1)
        saved, answered = count_comments() - before, warm.counts.get("303", 0)
        if warm.socket_errors or saved != answered:
            failures.append(
                f"warm-up: {warm.socket_errors} socket errors, {answered} comments "
                f"answered 303, {saved} new in the database"
            )
    before = count_comments()
    print(
        f"  mixed load: {args.mixed_connections} connections, {args.mixed_duration}s "
        f"(+{drain}s drain), {args.write_share:.0%} comment posts",
        flush=True,
    )
    m, by_kind = load(args.mixed_duration, "load", seed=6)
    time.sleep(1)  # let any request still running finish, so a stray write would show
    new_comments = count_comments() - before
    c = m.counts
    sent, answered = c.get("POST sent", 0), c.get("303", 0)
    if m.socket_errors:
        failures.append(f"{m.socket_errors} socket errors {m.errors}")
    server_errors = sum(v for k, v in c.items() if k.startswith("5"))
    if server_errors:
        failures.append(f"{server_errors} answers with a 5xx status")
    if new_comments != answered:
        why = ""
        if answered < new_comments <= sent:
            why = (
                f": {new_comments - answered} comment posts were saved but still unanswered "
                f"after the {drain} s drain (none was lost)"
            )
        elif new_comments < answered:
            why = f": {answered - new_comments} comments answered 303 are NOT in the database"
        failures.append(f"{new_comments} new comments in the database, {answered} 303s{why}")
    elif answered != sent:
        failures.append(f"{sent} comment posts sent, {answered} answered 303")
    unexpected = {k: v for k, v in c.items() if k.isdigit() and k not in ("200", "303")}
    if unexpected:
        failures.append(f"unexpected statuses {unexpected}")
    rps = c.get("answered in load", 0) / args.mixed_duration
    return MixedResult(
        measurement=m,
        rps=rps,
        sessions=len(sessions),
        new_comments=new_comments,
        drain=drain,
        failures=failures,
        by_kind=by_kind,
        lost=max(0, answered - new_comments),
        errors=m.socket_errors + sum(unexpected.values()),  # 5xx are unexpected too
    )
