"""The mixed load: logged-in users reading pages and posting comments under wrk
(mixed_load.lua), checked for errors and lost comments.

Split out of run.py; see benchmarks/README.md ("What runs", step 5).
"""

import argparse
import html
import http.client
import re
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from common import BENCH, CheckFailed, Measurement, Server, fetch, run_wrk

SESSION_COOKIE = "www_session"
PASSWORD = "bench-password-1234"  # noqa: S105 -- must match seed.py's default
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


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


def count_comments(db_path: Path) -> int:
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


def mixed_load(
    wrk: str,
    server: Server,
    db_path: Path,
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
    data = workdir / "mixed_data.lua"
    entries = ",\n".join(
        f"  {{cookie = {lua_string(s['cookie'])}, token = {lua_string(s['token'])}}}"
        for s in sessions
    )
    data.write_text(
        f"return {{\nsessions = {{\n{entries}\n}},\n"
        f"post_ids = {{{', '.join(map(str, post_ids))}}},\n"
        f"write_share = {args.write_share!r},\nload_seconds = {args.mixed_duration},\n"
        "seed = 6,\n}\n",
        encoding="utf-8",
    )
    before = count_comments(db_path)
    print(
        f"  mixed load: {args.mixed_connections} connections, {args.mixed_duration}s "
        f"(+{drain}s drain), {args.write_share:.0%} comment posts",
        flush=True,
    )
    m = run_wrk(
        wrk,
        server.base,
        args.mixed_duration + drain,
        args.mixed_connections,
        timeout,
        BENCH / "mixed_load.lua",
        [str(data)],
    )
    time.sleep(1)  # let any request still running finish, so a stray write would show
    new_comments = count_comments(db_path) - before
    c = m.counts
    sent, answered = c.get("POST sent", 0), c.get("303", 0)
    failures = []
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
    return MixedResult(m, rps, len(sessions), new_comments, drain, failures)
