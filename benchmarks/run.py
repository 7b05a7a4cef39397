"""The benchmark suite: the scaffold's pages against Flask, a render-only ceiling and a
hello-world, a mixed read/write load, then the ORM and upload-memory benchmarks.

    .venv/bin/python benchmarks/run.py            # the full suite (about 5 minutes)
    .venv/bin/python benchmarks/run.py --quick    # short runs, to check that it all works

Every server is its own process on 127.0.0.1, pinned to core 0 (taskset -c 0); wrk runs
pinned to core 1, with one thread. Each page is warmed up, then measured `--rounds` times
(the rounds interleave the servers, so a burst of noise hits them all alike); the better
measurement (higher requests/s) is reported. Servers are stopped by process group in a
finally block, also on Ctrl-C. The results are printed and written as Markdown to
benchmarks/RESULTS.md (benchmarks/RESULTS-quick.md with --quick). See benchmarks/README.md.

Exit status: 0 when every check passed, 1 when a check failed (a server did not answer,
the pages differ, the mixed load saw errors or lost comments, a sub-benchmark crashed),
2 for a usage or set-up problem (no wrk, fewer than 2 cores), 3 with --strict when a
throughput target was missed (here or in benchmarks/orm.py).
"""

import argparse
import contextlib
import html
import http.client
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER_CPU = "0"
LOAD_CPU = "1"
SESSION_COOKIE = "www_session"
PASSWORD = "bench-password-1234"  # noqa: S105 -- must match seed.py's default
TITLE = re.compile(r'<h2><a href="/posts/(\d+)">(.*?)</a></h2>')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
BENCH_JSON = re.compile(r"^BENCH_JSON (\{.*\})\s*$", re.MULTILINE)

TARGETS = (  # (key, server, page label, path; None = the post page)
    ("scaffold-home", "scaffold", "home /", "/"),
    ("scaffold-post", "scaffold", "post", None),
    ("flask-home", "flask", "home /", "/"),
    ("flask-post", "flask", "post", None),
    ("render-home", "render-only", "home / (no db)", "/"),
    ("hello", "hello", "hello /", "/"),
)
SERVER_LABELS = {
    "scaffold": "scaffold (python -m www)",
    "flask": "Flask + sqlite3 (gunicorn -w 1 -k sync)",
    "render-only": "render-only ceiling (plain aiohttp)",
    "hello": 'raw aiohttp "hello"',
}
RATIOS = (  # (label, numerator, denominator, target)
    ("home ÷ Flask home", "scaffold-home", "flask-home", 2.0),
    ("post ÷ Flask post", "scaffold-post", "flask-post", 2.0),
    ("home ÷ render-only ceiling", "scaffold-home", "render-home", 0.8),
)


class SetupError(Exception):
    """Something the suite needs is missing (exit status 2)."""


class CheckFailed(Exception):
    """A server misbehaved or a result is wrong (exit status 1)."""


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the developer's WWW_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WWW_")}
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Servers:
    """Starts servers in their own process groups and always stops them (SIGTERM, SIGKILL)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.running: dict[str, Server] = {}

    def start(self, name: str, args: list[str], port: int, env: dict[str, str]) -> Server:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg gets its children too
            )
        server = self.running[name] = Server(name, port, proc, log)
        return server

    def wait_ready(self, server: Server, path: str = "/", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise CheckFailed(
                    f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, _ = fetch(server.port, "GET", path, timeout=2)
                if status < 500:
                    return
            time.sleep(0.1)
        raise CheckFailed(f"{server.name} did not answer within {timeout:.0f}s")

    def stop_all(self) -> None:
        for server in self.running.values():
            stop_group(server.proc)
        self.running.clear()

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()


def stop_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group of `proc` (started with start_new_session), then SIGKILL."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # stragglers (gunicorn's worker...) too
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def fetch(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, http.client.HTTPMessage, str]:
    """One request, redirects not followed: (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def run_bounded(args: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a time limit; the child is killed on timeout or Ctrl-C."""
    return subprocess.run(args, timeout=timeout, check=False, text=True, **kwargs)


# --- set-up --------------------------------------------------------------------------------


def ensure_two_cores() -> None:
    cpus = os.sched_getaffinity(0)
    if not {int(SERVER_CPU), int(LOAD_CPU)} <= cpus:
        raise SetupError(
            f"the suite pins servers to CPU {SERVER_CPU} and wrk to CPU {LOAD_CPU}, "
            f"but this process may only use CPUs {sorted(cpus)}"
        )
    if not shutil.which("taskset"):
        raise SetupError("taskset is missing: install util-linux (apt-get install util-linux)")


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SetupError(
            "wrk is missing: install it (Debian/Ubuntu: sudo apt-get install -y wrk), run again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    print("wrk is missing: apt-get install -y wrk", flush=True)
    if run_bounded(install, 600, env=env).returncode != 0:
        print("install failed: apt-get update, then try again", flush=True)
        run_bounded(["apt-get", "update", "-q"], 600, env=env)
        run_bounded(install, 600, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SetupError("could not install wrk: install it (apt-get install -y wrk) and rerun")
    return found


def write_config(workdir: Path, db_path: Path, per_page: int) -> Path:
    config = {
        "blog": {"per_page": per_page},
        "db": {"url": f"sqlite:///{db_path}"},  # db_path is absolute: sqlite:////abs/path
        "logging": {"level": "WARNING", "access_log": False},
        "session": {"secret": secrets.token_urlsafe(30), "secret_file": None},  # 40 chars
        "uploads": {"directory": str(workdir / "uploads")},
    }
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def seed_database(db_path: Path, config: Path, args: argparse.Namespace) -> str:
    command = [PYTHON, str(BENCH / "seed.py"), "--db", str(db_path), "--config", str(config)]
    command += ["--posts", str(args.posts), "--comments", str(args.comments)]
    command += ["--users", str(args.users), "--password", PASSWORD]
    result = run_bounded(command, 300, cwd=ROOT, env=clean_env(), capture_output=True)
    if result.returncode != 0:
        raise CheckFailed(f"seeding failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def start_servers(
    servers: Servers, db_path: Path, config: Path, per_page: int
) -> dict[str, Server]:
    ports = {name: free_port() for name in SERVER_LABELS}
    peers = BENCH / "peers"
    flask = ["-b", f"127.0.0.1:{ports['flask']}", "--chdir", str(peers), "flask_app:app"]
    render = ["--port", str(ports["render-only"]), "--per-page", str(per_page)]
    commands = {
        "scaffold": ["-m", "www", "--config", str(config), "--port", str(ports["scaffold"])],
        "flask": ["-m", "gunicorn", "-w", "1", "-k", "sync", "--log-level", "warning", *flask],
        "render-only": [str(peers / "render_only.py"), "--db", str(db_path), *render],
        "hello": [str(peers / "hello.py"), "--port", str(ports["hello"])],
    }
    env = clean_env()
    flask_env = clean_env(BENCH_DB=str(db_path), BENCH_PER_PAGE=str(per_page))
    started = {
        name: servers.start(
            name, [PYTHON, *command], ports[name], flask_env if name == "flask" else env
        )
        for name, command in commands.items()
    }
    for server in started.values():
        servers.wait_ready(server)
    return started


# --- sanity checks -------------------------------------------------------------------------


def first_difference(a: str, b: str) -> str:
    for number, (line_a, line_b) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), 1):
        if line_a != line_b:
            return f"line {number}: {line_a.strip()[:80]!r} vs {line_b.strip()[:80]!r}"
    return f"lengths {len(a)} vs {len(b)}"


def sanity_checks(servers: dict[str, Server], post_path: str, per_page: int) -> list[str]:
    """Every page answers 200; Flask's and the scaffold's home pages list the same posts.

    Returns notes for the report; raises CheckFailed when a check fails.
    """
    pages = {}
    for key, server_name, _, path in TARGETS:
        server = servers[server_name]
        path = path or post_path
        status, _, body = fetch(server.port, "GET", path)
        if status != 200:
            raise CheckFailed(f"{server_name} answered {status} to GET {path}")
        pages[key] = body
    titles = {key: TITLE.findall(pages[key]) for key in ("scaffold-home", "flask-home")}
    if len(titles["scaffold-home"]) != per_page:
        raise CheckFailed(f"the scaffold's home page lists {len(titles['scaffold-home'])} posts")
    if titles["scaffold-home"] != titles["flask-home"]:
        raise CheckFailed("the Flask and scaffold home pages do not list the same posts")
    notes = [
        "every server answered 200 on every measured page",
        f"the scaffold's and Flask's home pages list the same {per_page} post titles",
    ]
    for a, b in (
        ("scaffold-home", "flask-home"),
        ("scaffold-home", "render-home"),
        ("scaffold-post", "flask-post"),
    ):
        same = pages[a] == pages[b]
        detail = "" if same else f" (first difference: {first_difference(pages[a], pages[b])})"
        notes.append(f"HTML of {a} and {b}: {'identical' if same else 'DIFFERENT'}{detail}")
    return notes


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))


def run_wrk(
    wrk: str,
    url: str,
    seconds: int,
    connections: int,
    timeout: int,
    script: Path,
    script_args: list[str] = (),
) -> Measurement:
    command = ["taskset", "-c", LOAD_CPU, wrk, "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += [f"--timeout={timeout}s", "-s", str(script), url]
    if script_args:
        command += ["--", *script_args]
    result = run_bounded(command, seconds + timeout + 30, capture_output=True)
    match = BENCH_JSON.search(result.stdout)
    if result.returncode != 0 or not match:
        raise CheckFailed(f"wrk failed on {url} ({result.returncode}):\n{result.stderr}")
    data = json.loads(match.group(1))
    return Measurement(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        latency_us=data["latency_us"],
        counts=data.get("counts", {}),
    )


def measure_pages(
    wrk: str, servers: dict[str, Server], post_path: str, args: argparse.Namespace
) -> dict[str, list[Measurement]]:
    urls = {key: servers[name].base + (path or post_path) for key, name, _, path in TARGETS}
    report = BENCH / "report.lua"
    for key, url in urls.items():
        print(f"  warm-up {key:<14} {args.warmup}s  {url}", flush=True)
        run_wrk(wrk, url, args.warmup, args.connections, args.timeout, report)
    results: dict[str, list[Measurement]] = {key: [] for key in urls}
    for round_number in range(1, args.rounds + 1):
        for key, url in urls.items():
            m = run_wrk(wrk, url, args.duration, args.connections, args.timeout, report)
            results[key].append(m)
            print(
                f"  round {round_number} {key:<14} {m.rps:9.0f} req/s  "
                f"p50 {m.latency_us['p50'] / 1000:7.2f} ms  "
                f"p99 {m.latency_us['p99'] / 1000:7.2f} ms  errors {sum(m.errors.values())}",
                flush=True,
            )
    return results


def best(measurements: list[Measurement]) -> Measurement:
    return max(measurements, key=lambda m: m.rps)


# --- mixed load ----------------------------------------------------------------------------


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


# --- the other engineers' benchmarks -------------------------------------------------------


@dataclass
class SubResult:
    title: str
    script: str
    status: str  # "ok", "missing", "targets missed (exit 1)", "failed (...)"
    output: str


def run_sub_benchmark(title: str, name: str, extra: list[str], timeout: int) -> SubResult:
    script = BENCH / name
    if not script.exists():
        print(f"  {name}: not run (missing)", flush=True)
        return SubResult(title, name, "missing", "not run (missing)")
    print(f"  {name} {' '.join(extra)}".rstrip(), flush=True)
    command = ["taskset", "-c", SERVER_CPU, PYTHON, str(script), *extra]
    try:
        result = run_bounded(command, timeout, cwd=ROOT, env=clean_env(), capture_output=True)
    except subprocess.TimeoutExpired:
        return SubResult(title, name, f"failed (no result within {timeout}s)", "")
    output = result.stdout.rstrip()
    if result.returncode == 0:
        return SubResult(title, name, "ok", output)
    if result.returncode == 1 and output and "Traceback" not in result.stderr:
        return SubResult(title, name, "targets missed (exit 1)", output)  # its own verdict
    tail = "\n".join(result.stderr.splitlines()[-15:])
    return SubResult(title, name, f"failed (exit {result.returncode})", f"{output}\n{tail}")


def orm_args(quick: bool) -> list[str]:
    if not quick:
        return []
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        usage = run_bounded(
            [PYTHON, str(BENCH / "orm.py"), "--help"], 30, cwd=ROOT, capture_output=True
        ).stdout
        if "--repeat" in usage:
            return ["--repeat", "1"]
    return []


# --- the report ----------------------------------------------------------------------------


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def wrk_version(wrk: str) -> str:
    result = run_bounded([wrk, "-v"], 10, capture_output=True)
    match = re.search(r"wrk (\S+)", result.stdout + result.stderr)
    return match.group(1) if match else "?"


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} logical cores, Linux {platform.release()}"


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def render_report(r: dict) -> str:
    args = r["args"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run.py`{' --quick' if args.quick else ''} on "
        f"{r['date']}. How to run and how to read it: [README.md](README.md).",
        "",
        f"- **Machine**: {r['machine']}. Servers pinned to CPU {SERVER_CPU}, wrk to CPU "
        f"{LOAD_CPU}. Load average {r['load_before']} before, {r['load_after']} after "
        "(other work on the machine makes the numbers noisy).",
        f"- **Versions**: Python {platform.python_version()}, aiohttp {version('aiohttp')}, "
        f"Flask {version('flask')}, gunicorn {version('gunicorn')}, wrk {r['wrk_version']}; "
        f"Jinja2 {version('jinja2')}, uvloop {version('uvloop')}, "
        f"markdown-it-py {version('markdown-it-py')}.",
        f"- **Data**: {r['seeded']}; per_page {args.per_page}; post page "
        f"`{r['post_path']}` (its {args.comments} comments shown).",
        f"- **Load**: `wrk -t1 -c{args.connections} -d{args.duration}s`, "
        f"{args.rounds} measurements per row after a {args.warmup} s warm-up, the rounds "
        "interleaving the servers. **req/s is the better of the measurements** (noise only "
        "ever slows a run down); its p50/p99 come from that same measurement.",
    ]
    if args.quick:
        lines += ["", "> **Quick mode**: short runs to check the suite, not representative."]
    lines += [
        "",
        "## Pages",
        "",
        "| server | page | req/s | req/s each run | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for key, server, page, _ in TARGETS:
        runs = r["pages"][key]
        b = best(runs)
        each = " / ".join(f"{m.rps:.0f}" for m in runs)
        errors = sum(sum(m.errors.values()) for m in runs)
        lines.append(
            f"| {SERVER_LABELS[server]} | {page} | **{b.rps:.0f}** | {each} | "
            f"{ms(b.latency_us['p50'])} | {ms(b.latency_us['p99'])} | {errors} |"
        )
    lines += [
        "",
        "## Ratios (same run, better measurements)",
        "",
        "| ratio | value | target | result |",
        "| --- | ---: | ---: | --- |",
    ]
    for label, value, target, ok in r["ratios"]:
        lines.append(f"| {label} | {value:.2f} | ≥ {target:.1f} | {'PASS' if ok else 'MISS'} |")
    lines += ["", "## Sanity checks", ""] + [f"- {note}" for note in r["notes"]]
    lines += ["", "## Mixed load", ""]
    mixed: MixedResult | None = r["mixed"]
    if mixed is None:
        lines.append("not run (--skip-mixed)")
    else:
        m, c = mixed.measurement, mixed.measurement.counts
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k.isdigit())
        lines += [
            f"`wrk -t1 -c{args.mixed_connections}` on the scaffold for {args.mixed_duration} s, "
            f"then a {mixed.drain} s drain (no new requests; those in flight finish and are "
            f"counted). {mixed.sessions} users logged in over HTTP first; every request "
            f"carries one of their session cookies. {args.write_share:.0%} are comment posts "
            "(`POST /posts/<id>/comments`, form body with the session's CSRF token), the "
            "rest `GET /` or `GET /posts/<random id>` (half each).",
            "",
            "| req/s | p50 ms | p99 ms | GETs sent | comments sent | answers by status | "
            "socket errors | 5xx | new comments in db | result |",
            "| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
            f"| {mixed.rps:.0f} | {ms(m.latency_us['p50'])} | {ms(m.latency_us['p99'])} | "
            f"{c.get('GET sent', 0)} | {c.get('POST sent', 0)} | {statuses} | "
            f"{m.socket_errors} | {sum(v for k, v in c.items() if k.startswith('5'))} | "
            f"{mixed.new_comments} | {'PASS' if not mixed.failures else 'FAIL'} |",
            "",
            "req/s counts the answers during the load (not the drain). Checked: zero socket "
            "errors, zero 5xx, new comments in the database = 303 answers = comments sent. "
            f"wrk's timeout is {mixed.drain + 5} s: a slower answer counts as a socket error "
            f"(timeout) and is left out of the percentiles. Slowest answer: "
            f"{m.latency_us['max'] / 1e6:.1f} s.",
        ]
        lines += [f"- **FAIL**: {failure}" for failure in mixed.failures]
    for sub in r["subs"]:
        lines += ["", f"## {sub.title} (`benchmarks/{sub.script}`)", ""]
        if sub.status == "missing":
            lines.append("not run (missing)")
            continue
        if sub.status != "ok":
            lines += [f"**{sub.status}**", ""]
        lines += ["```text", sub.output, "```"]
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="short runs (2 s each), to try it out")
    p.add_argument("--duration", type=int, help="seconds per measurement (default 10)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up per page (default 3)")
    p.add_argument("--rounds", type=int, default=2, help="measurements per page (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--timeout", type=int, help="wrk's request timeout, seconds (default 10)")
    p.add_argument("--mixed-duration", type=int, help="seconds of mixed load (default 30)")
    p.add_argument("--mixed-connections", type=int, default=256, help="(default 256)")
    p.add_argument("--mixed-drain", type=int, help="seconds to let requests finish (10)")
    p.add_argument("--write-share", type=float, default=0.10, help="comment posts (0.10)")
    p.add_argument("--sessions", type=int, default=20, help="users logged in for the mix")
    p.add_argument("--users", type=int, default=20, help="seeded users")
    p.add_argument("--posts", type=int, default=1000, help="seeded posts")
    p.add_argument("--comments", type=int, default=10, help="seeded comments per post")
    p.add_argument("--per-page", type=int, default=20, help="posts on the home page")
    p.add_argument("--post-id", type=int, help="the measured post page (default: the middle)")
    p.add_argument("--output", type=Path, help="Markdown report (default benchmarks/RESULTS.md)")
    p.add_argument("--skip-mixed", action="store_true", help="no mixed-load run")
    p.add_argument("--skip-sub", action="store_true", help="no ORM or upload-memory benchmark")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, db)")
    args = p.parse_args(argv)
    quick = args.quick
    args.duration = args.duration or (2 if quick else 10)
    args.warmup = args.warmup or (1 if quick else 3)
    args.mixed_duration = args.mixed_duration or (5 if quick else 30)
    args.timeout = args.timeout or 10
    args.mixed_drain = args.mixed_drain or (5 if quick else 10)
    args.output = args.output or BENCH / ("RESULTS-quick.md" if quick else "RESULTS.md")
    args.post_id = args.post_id or max(1, args.posts // 2)
    if min(args.duration, args.warmup, args.rounds, args.mixed_duration, args.mixed_drain) < 1:
        p.error("durations and --rounds must be at least 1")
    if not 0 <= args.write_share <= 1 or not 1 <= args.sessions <= args.users:
        p.error("--write-share must be in 0..1 and --sessions in 1..--users")
    if not 1 <= args.post_id <= args.posts:
        p.error("--post-id must be one of the seeded posts (1..--posts)")
    return args


def load_str() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run_suite(args: argparse.Namespace, workdir: Path) -> int:
    ensure_two_cores()
    wrk = ensure_wrk()
    r: dict = {"args": args, "machine": machine(), "wrk_version": wrk_version(wrk)}
    r["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    r["load_before"] = load_str()
    r["post_path"] = post_path = f"/posts/{args.post_id}"

    db_path = workdir / "bench.db"
    config = write_config(workdir, db_path, args.per_page)
    print(f"seeding {db_path}", flush=True)
    seeded = seed_database(db_path, config, args)
    print(f"  {seeded}", flush=True)
    r["seeded"] = (
        f"{args.users} users, {args.posts} posts of ~2 KB Markdown, "
        f"{args.comments} comments each (benchmarks/seed.py)"
    )
    failed = []
    with Servers(workdir) as servers:
        print("starting servers (CPU 0)", flush=True)
        running = start_servers(servers, db_path, config, args.per_page)
        for name, server in running.items():
            print(f"  {name:<12} {server.base}  pid {server.proc.pid}", flush=True)
        r["notes"] = sanity_checks(running, post_path, args.per_page)
        for note in r["notes"]:
            print(f"  check: {note}", flush=True)
        print("measuring pages (wrk on CPU 1)", flush=True)
        r["pages"] = measure_pages(wrk, running, post_path, args)
        r["mixed"] = None
        if not args.skip_mixed:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            try:
                post_ids = [row[0] for row in conn.execute("SELECT id FROM posts ORDER BY id")]
                emails = [row[0] for row in conn.execute("SELECT email FROM users ORDER BY id")]
            finally:
                conn.close()
            mixed = mixed_load(
                wrk, running["scaffold"], db_path, post_ids, emails[: args.sessions], workdir,
                args,
            )  # fmt: skip
            r["mixed"] = mixed
            failed += [f"mixed load: {failure}" for failure in mixed.failures]
        for name, server in running.items():
            if server.proc.poll() is not None:
                failed.append(f"{name} exited during the run:\n{server.log_tail()}")
    r["load_after"] = load_str()

    r["subs"] = []
    if not args.skip_sub:
        print("sub-benchmarks (CPU 0)", flush=True)
        for title, name, extra in (
            ("ORM overhead", "orm.py", orm_args(args.quick)),
            ("Upload memory", "upload_memory.py", []),
        ):
            sub = run_sub_benchmark(title, name, extra, timeout=900)
            r["subs"].append(sub)
            if sub.status.startswith("failed"):
                failed.append(f"{name}: {sub.status}")

    rps = {key: best(runs).rps for key, runs in r["pages"].items()}
    r["ratios"] = [
        (label, rps[a] / rps[b], target, rps[a] / rps[b] >= target)
        for label, a, b, target in RATIOS
    ]
    report = render_report(r)
    args.output.write_text(report, encoding="utf-8")
    print("\n" + report)
    print(f"written to {args.output}")
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failed:
        return 1
    missed = not all(ok for *_, ok in r["ratios"]) or any(
        sub.status.startswith("targets missed") for sub in r["subs"]
    )
    if args.strict and missed:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, interrupted)  # `kill` or make's own stop: finally blocks run
    signal.signal(signal.SIGHUP, interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="www-bench-"))
    try:
        return run_suite(args, workdir)
    except SetupError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except CheckFailed as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
