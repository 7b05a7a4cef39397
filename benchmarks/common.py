"""What the benchmark scripts share: servers in their own process groups, bounded
subprocesses, one-off HTTP requests, and wrk runs read back as JSON (report.lua).

Split out of run.py so that the PostgreSQL and live-comment parts (postgres.py,
live_latency.py) start and stop their servers the same way, and run.py stays readable.
"""

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
SERVER_CPU = "0"
LOAD_CPU = "1"
BENCH_JSON = re.compile(r"^BENCH_JSON (\{.*\})\s*$", re.MULTILINE)


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

    def stop(self, name: str) -> None:
        """Stop one server (SIGTERM: it shuts down as in production, cleanup included)."""
        stop_group(self.running.pop(name).proc)

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


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float | None = None  # the server's, over the run (group_cpu_seconds)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float | None:
        """The server's CPU time per answer, in µs: what a core of its own would give it,
        whatever other work on the machine took from its core meanwhile."""
        if self.cpu_seconds is None or not self.requests:
            return None
        return self.cpu_seconds / self.requests * 1e6

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of process group `pgid`
    (a server started with start_new_session: gunicorn's master and workers, and their
    threads, SQLite's included), from /proc (Linux)."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == pgid:  # after ")": state, ppid, pgrp, ..., utime, stime
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(
    wrk: str,
    url: str,
    seconds: int,
    connections: int,
    timeout: int,
    script: Path,
    script_args: list[str] = (),
    headers: dict[str, str] | None = None,
) -> Measurement:
    """wrk on `url` for `seconds`, every request with `headers` (a session's cookie)."""
    command = ["taskset", "-c", LOAD_CPU, wrk, "-t1", f"-c{connections}", f"-d{seconds}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
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


def best(measurements: list[Measurement]) -> Measurement:
    return max(measurements, key=lambda m: m.rps)


def cpu_per_answer(measurements: list[Measurement]) -> float:
    """The server's CPU µs per answer over all the measurements of a row."""
    answers = sum(m.requests for m in measurements)
    return sum(m.cpu_seconds or 0.0 for m in measurements) / answers * 1e6 if answers else 0.0


def ms(us: float) -> str:
    return f"{us / 1000:.2f}"
