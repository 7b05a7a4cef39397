"""The page rows of the suite: which server serves which page to whom, the ratios judged
against the targets of issue #17, the sanity checks that make them mean something (the
same HTML, the same JSON), and the wrk rounds that measure them.

Split out of run.py, which starts the servers and writes the report. postgres.py adds
the PostgreSQL rows in the same form.

Each scaffold variant is its own server (its own config overlay): "scaffold" runs with
every cache on (the defaults), "scaffold-data" with the page-data cache only
(cache.responses false), "scaffold-nocache" with neither (cache.data false too). A
logged-in row sends a session cookie of one seeded user, logged in over HTTP before the
measurements, on the scaffold and on Flask alike.
"""

import argparse
import json
import re
import urllib.parse
from typing import NamedTuple

from common import BENCH, CheckFailed, Measurement, Server, fetch, group_cpu_seconds, run_wrk
from mixed import CSRF_META, PASSWORD, log_in


class Row(NamedTuple):
    key: str
    server: str  # a key of the labels
    page: str  # what the report calls it
    path: str | None  # None: the measured post page
    login: bool = False  # sent with the server's session cookie for the seeded user


SERVER_LABELS = {
    "scaffold": "scaffold, every cache on (python -m www)",
    "scaffold-data": "scaffold, data cache on, response cache off",
    "scaffold-nocache": "scaffold, every cache off",
    "flask": "Flask + sqlite3 (gunicorn -w 1 -k sync)",
    "fastapi": "FastAPI + SQLAlchemy 2 async + aiosqlite (uvicorn)",
    "render-only": "render-only ceiling (plain aiohttp)",
    "hello": 'raw aiohttp "hello"',
}
# The cache settings of each scaffold variant (its config overlay's `cache` section).
SCAFFOLD_CACHES = {
    "scaffold": {},
    "scaffold-data": {"responses": False},
    "scaffold-nocache": {"data": False, "responses": False},
}
API = "/api/posts"
TARGETS = (
    Row("anon-home", "scaffold", "home / (anonymous)", "/"),
    Row("anon-post", "scaffold", "post (anonymous)", None),
    Row("anon-api", "scaffold", f"{API} (anonymous)", API),
    Row("login-home", "scaffold", "home / (logged in)", "/", login=True),
    Row("login-post", "scaffold", "post (logged in)", None, login=True),
    Row("flask-login-home", "flask", "home / (logged in)", "/", login=True),
    Row("flask-login-post", "flask", "post (logged in)", None, login=True),
    Row("data-home", "scaffold-data", "home /", "/"),
    Row("data-post", "scaffold-data", "post", None),
    Row("data-api", "scaffold-data", API, API),
    Row("fastapi-home", "fastapi", "home /", "/"),
    Row("fastapi-post", "fastapi", "post", None),
    Row("fastapi-api", "fastapi", API, API),
    Row("nocache-home", "scaffold-nocache", "home /", "/"),
    Row("nocache-post", "scaffold-nocache", "post", None),
    Row("flask-home", "flask", "home /", "/"),
    Row("flask-post", "flask", "post", None),
    Row("render-home", "render-only", "home / (no db)", "/"),
    Row("hello", "hello", "hello /", "/"),
)
# (label, numerator, denominator, target): issue #17's targets.
RATIOS = (
    ("anonymous home (response cache) ÷ hello", "anon-home", "hello", 0.5),
    ("anonymous post (response cache) ÷ hello", "anon-post", "hello", 0.5),
    (f"anonymous {API} (response cache) ÷ hello", "anon-api", "hello", 0.5),
    ("logged-in home ÷ Flask logged-in home", "login-home", "flask-login-home", 2.5),
    ("logged-in post ÷ Flask logged-in post", "login-post", "flask-login-post", 2.5),
    ("home (data cache) ÷ FastAPI home", "data-home", "fastapi-home", 5.0),
    ("post (data cache) ÷ FastAPI post", "data-post", "fastapi-post", 5.0),
    (f"{API} (data cache) ÷ FastAPI {API}", "data-api", "fastapi-api", 5.0),
    ("home, every cache off ÷ Flask home", "nocache-home", "flask-home", 1.5),
    ("post, every cache off ÷ Flask post", "nocache-post", "flask-post", 1.5),
    ("home, every cache off ÷ FastAPI home", "nocache-home", "fastapi-home", 3.0),
    ("post, every cache off ÷ FastAPI post", "nocache-post", "fastapi-post", 3.0),
    ("home (data cache) ÷ render-only ceiling", "data-home", "render-home", 0.9),
)
# (a, b): pages that must be the same, byte for byte (JSON: equal once parsed; logged
# in: with the per-session CSRF token masked).
SAME = (
    ("data-home", "flask-home"),
    ("data-home", "fastapi-home"),
    ("data-home", "render-home"),
    ("anon-home", "data-home"),
    ("nocache-home", "data-home"),
    ("data-post", "flask-post"),
    ("data-post", "fastapi-post"),
    ("anon-post", "data-post"),
    ("nocache-post", "data-post"),
    ("data-api", "fastapi-api"),
    ("anon-api", "data-api"),
    ("login-home", "flask-login-home"),
    ("login-post", "flask-login-post"),
)
TITLE = re.compile(r'<h2><a href="/posts/(\d+)">(.*?)</a></h2>')
CSRF_VALUES = re.compile(r'(name="csrf_token" value=|name="csrf-token" content=)"[^"]*"')


# --- logging in ----------------------------------------------------------------------------


def flask_log_in(port: int, email: str) -> str:
    """Log in on the Flask peer (POST /login); its session cookie, as `name=value`."""
    form = urllib.parse.urlencode({"email": email, "password": PASSWORD})
    content_type = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = fetch(port, "POST", "/login", body=form, headers=content_type)
    cookie = (headers.get("Set-Cookie") or "").split(";", 1)[0]
    if status != 303 or not cookie:
        raise CheckFailed(f"Flask's POST /login as {email}: {status} (expected 303, a cookie)")
    return cookie


def log_in_all(rows: tuple, servers: dict[str, Server], email: str) -> dict[str, str]:
    """{server name: its session cookie for `email`} for the servers of logged-in rows."""
    cookies = {}
    for name in dict.fromkeys(row.server for row in rows if row.login):
        port = servers[name].port
        cookies[name] = (
            flask_log_in(port, email) if name == "flask" else log_in(port, email)["cookie"]
        )
    return cookies


def headers_for(row: Row, cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": cookies[row.server]} if row.login else {}


# --- sanity checks -------------------------------------------------------------------------


def first_difference(a: str, b: str) -> str:
    for number, (line_a, line_b) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), 1):
        if line_a != line_b:
            return f"line {number}: {line_a.strip()[:80]!r} vs {line_b.strip()[:80]!r}"
    return f"lengths {len(a)} vs {len(b)}"


def compare(a: str, b: str, pages: dict[str, str], logged_in: bool) -> str | None:
    """None when pages `a` and `b` are the same (see SAME), else how they differ."""
    first, second = pages[a], pages[b]
    if a.endswith("-api"):
        if json.loads(first) == json.loads(second):
            return None
        return "the JSON differs once parsed"
    if logged_in:
        first, second = (CSRF_VALUES.sub(r'\1"(token)"', text) for text in (first, second))
    return None if first == second else f"first difference: {first_difference(first, second)}"


def sanity_checks(
    rows: tuple,
    same: tuple,
    servers: dict[str, Server],
    cookies: dict[str, str],
    post_path: str,
    per_page: int,
) -> tuple[list[str], list[str]]:
    """Every page answers 200; the home pages list the same posts; a logged-in page is
    one (its CSRF meta tag); the pairs of `same` are the same page.

    Returns (notes for the report, failures). Raises CheckFailed when a page cannot be
    measured at all (not 200, not the posts, not logged in)."""
    pages, etags = {}, {}
    for row in rows:
        path = row.path or post_path
        status, answer, body = fetch(
            servers[row.server].port, "GET", path, headers=headers_for(row, cookies)
        )
        if status != 200:
            raise CheckFailed(f"{row.server} answered {status} to GET {path}")
        if row.login and not CSRF_META.search(body):
            raise CheckFailed(f"{row.key}: GET {path} with the session cookie is not logged in")
        pages[row.key] = body
        etags[row.key] = answer.get("ETag")
    homes = [row.key for row in rows if row.key.endswith("home")]
    titles = {key: TITLE.findall(pages[key]) for key in homes}
    reference = titles[homes[0]]
    if len(reference) != per_page:
        raise CheckFailed(f"{homes[0]} lists {len(reference)} posts, not {per_page}")
    for key in homes:
        if titles[key] != reference:
            raise CheckFailed(f"{key} and {homes[0]} do not list the same posts")
    notes = [
        "every server answered 200 on every measured page; logged-in rows were logged in",
        f"the home pages ({', '.join(homes)}) list the same {per_page} post titles",
    ]
    cached = [row.key for row in rows if row.server == "scaffold" and not row.login]
    with_etag = [key for key in cached if etags[key]]
    notes.append(
        f"response cache: {', '.join(with_etag)} answered with an ETag"
        if with_etag
        else f"response cache: no ETag on {', '.join(cached)}: not in this build (www/responses.py)"
    )
    failures = []
    logged_in = {row.key for row in rows if row.login}
    for a, b in same:
        difference = compare(a, b, pages, a in logged_in)
        what = "JSON" if a.endswith("-api") else "HTML"
        masked = " (CSRF token masked)" if a in logged_in else ""
        if difference is None:
            notes.append(f"{what} of {a} and {b}: identical{masked}")
        else:
            notes.append(f"{what} of {a} and {b}: DIFFERENT{masked} ({difference})")
            failures.append(f"{what} of {a} and {b} differ: {difference}")
    return notes, failures


# --- wrk -----------------------------------------------------------------------------------


def measure_pages(
    wrk: str,
    rows: tuple,
    servers: dict[str, Server],
    cookies: dict[str, str],
    post_path: str,
    args: argparse.Namespace,
) -> dict[str, list[Measurement]]:
    """A warm-up of each row, then `args.rounds` rounds, each measuring every row in turn
    (a burst of noise hits every server alike)."""
    report = BENCH / "report.lua"
    urls = {row.key: servers[row.server].base + (row.path or post_path) for row in rows}
    for row in rows:
        print(f"  warm-up {row.key:<17} {args.warmup}s  {urls[row.key]}", flush=True)
        run_wrk(wrk, urls[row.key], args.warmup, args.connections, args.timeout, report,
                headers=headers_for(row, cookies))  # fmt: skip
    results: dict[str, list[Measurement]] = {row.key: [] for row in rows}
    for round_number in range(1, args.rounds + 1):
        for row in rows:
            group = servers[row.server].proc.pid  # started in a session: its process group
            cpu = group_cpu_seconds(group)
            m = run_wrk(wrk, urls[row.key], args.duration, args.connections, args.timeout,
                        report, headers=headers_for(row, cookies))  # fmt: skip
            m.cpu_seconds = group_cpu_seconds(group) - cpu
            results[row.key].append(m)
            print(
                f"  round {round_number} {row.key:<17} {m.rps:9.0f} req/s  "
                f"p50 {m.latency_us['p50'] / 1000:7.2f} ms  "
                f"p99 {m.latency_us['p99'] / 1000:7.2f} ms  errors {sum(m.errors.values())}  "
                f"CPU {m.cpu_us or 0:7.0f} µs/answer",
                flush=True,
            )
    return results
