"""Live comments at scale: 1,000 WebSockets open on one post, one comment at a time, timed
from its 201 to its arrival on the last socket; in one process (`python -m www`) and
across 2 (gunicorn with 2 workers, as the README deploys it); and the server's memory per
idle socket.

    .venv/bin/python benchmarks/live_scale.py [--quick]   # alone, on a small database
    run.py calls run_all() (see --scale-sockets, --scale-comments, --skip-scale)

The server runs on CPU 0 as in the rest of the suite; the client (live_scale_client.py)
is a process of its own pinned to CPU 1, so the sockets' work never shares the server's
core. Memory per idle socket: the server's resident memory (VmRSS from /proc, summed over
its workers) with every socket open and subscribed, minus the same just before they were
opened (after a warm-up comment), divided by the sockets. Both the server and the client
may need more open files than a default soft limit (often 1,024): this process raises its
soft RLIMIT_NOFILE to the hard one (the servers it starts inherit it), the client does the
same for itself, and the report says what the limit was, or why the run could not be made.
"""

import argparse
import json
import resource
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from common import BENCH, LOAD_CPU, PYTHON, CheckFailed, Servers, clean_env, free_port, stop_group
from procinfo import wait_for_workers
from rows import Row, percentile, render_rows

TARGET_P99_MS = {1: 100.0, 2: 250.0}  # issue #17: last delivery, by server processes
FD_MARGIN = 200  # open files beyond the sockets: database, logs, listener, the client's
DEADLINE = 5.0  # the client's per-comment wait (live_scale_client.DEADLINE)


@dataclass
class ScaleResult:
    label: str
    processes: int
    sockets: dict[str, int] = field(default_factory=dict)  # worker pid -> sockets it holds
    last_ms: list[float] = field(default_factory=list)  # per comment: 201 -> last socket
    first_ms: list[float] = field(default_factory=list)  # per comment: 201 -> first socket
    client_busy: list[float] = field(default_factory=list)  # client CPU ÷ wall, per comment
    rss_idle: int = 0  # bytes, the server processes before the sockets opened
    rss_open: int = 0  # bytes, with every socket open and subscribed
    failures: list[str] = field(default_factory=list)
    client_files: str = ""  # the client's open-file limit, as it said

    @property
    def per_socket_kib(self) -> float | None:
        opened = sum(self.sockets.values())
        if not opened or not self.rss_open:
            return None
        return (self.rss_open - self.rss_idle) / opened / 1024


def raise_open_files(needed: int) -> str:
    """The soft RLIMIT_NOFILE up to the hard one when below `needed`; what it is now.
    Raises CheckFailed when even the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        raised = f"open-file limit raised from {soft} to {hard} (the hard limit)"
        soft = hard
    else:
        raised = f"open-file limit {soft} (enough; not raised)"
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise CheckFailed(f"the hard open-file limit {hard} is below the {needed} needed")
    return raised


def rss(pids: set[int]) -> int:
    """The resident memory of `pids` together, in bytes (VmRSS, /proc/<pid>/status)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def overlay(config: Path, workdir: Path, sockets: int) -> Path:
    """`config` with room for the sockets: server.max_websockets and max_connections
    (each socket is a connection too) above them."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    server = settings.setdefault("server", {})
    server["max_websockets"] = sockets + 100
    server["max_connections"] = sockets + 150
    path = workdir / f"scale-{config.stem}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


class Client:
    """live_scale_client.py on the load core, spoken to one line at a time."""

    def __init__(self, url: str, workers: set[int], args, log: Path) -> None:
        command = ["taskset", "-c", LOAD_CPU, PYTHON, str(BENCH / "live_scale_client.py")]
        command += ["--url", url, "--workers", ",".join(map(str, sorted(workers)))]
        command += ["--sockets", str(args.scale_sockets), "--comments", str(args.scale_comments)]
        self.log = log
        with log.open("wb") as errors:
            self.proc = subprocess.Popen(
                command,
                cwd=BENCH,
                env=clean_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
            )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def expect(self, word: str, timeout: float) -> str:
        """The rest of the client's next line, which must start with `word`."""
        if not self.selector.select(timeout):
            raise CheckFailed(f"the client said nothing for {timeout:.0f} s (waiting: {word})")
        line = self.proc.stdout.readline()
        if not line.startswith(word):
            tail = self.log.read_text(errors="replace")[-1500:]
            raise CheckFailed(f"the client said {line.strip()!r} (waiting: {word})\n{tail}")
        return line[len(word) :].strip()

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.selector.close()
        stop_group(self.proc, grace=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()


def run_variant(servers: Servers, label: str, processes: int, config: Path, args, workdir):
    """One server (one process, or gunicorn with `processes` workers), measured."""
    result, began = ScaleResult(label, processes), time.monotonic()
    port = free_port()
    name = f"scale-{processes}-{port}"
    if processes == 1:
        command = [PYTHON, "-m", "www", "--config", str(config), "--port", str(port)]
        env = clean_env()
    else:
        command = [PYTHON, "-m", "gunicorn", "www.app:create_app()", "--workers", str(processes)]
        command += ["--worker-class", "www.worker.GunicornWebWorker", "--log-level", "warning"]
        command += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
        env = clean_env(WWW_CONFIG=str(config))
    client = None
    try:
        server = servers.start(name, command, port, env)
        servers.wait_ready(server, "/healthz")
        if processes == 1:
            workers = {server.proc.pid}  # taskset exec'd python
        else:
            workers = wait_for_workers(server.proc.pid, processes, port)
        print(
            f"  {label}: {args.scale_sockets} sockets, {args.scale_comments} comments "
            f"(server pids {sorted(workers)})",
            flush=True,
        )
        client = Client(server.base, workers, args, workdir / f"{name}-client.log")
        result.client_files = client.expect("WARM", 60)
        result.rss_idle = rss(workers)
        client.go()
        result.sockets = json.loads(client.expect("OPEN", 180))
        time.sleep(1)  # the handlers' start-up garbage, collected
        result.rss_open = rss(workers)
        client.go()
        measured = json.loads(client.expect("RESULT", args.scale_comments * (DEADLINE + 2) + 60))
        result.last_ms = [1000 * x for x in measured["last"]]
        result.first_ms = [1000 * x for x in measured["first"]]
        result.client_busy = measured["client_busy"]
        result.failures += measured["failures"]
        if server.proc.poll() is not None:
            result.failures.append(f"the server exited:\n{server.log_tail()}")
    except (CheckFailed, OSError, ValueError) as exc:
        result.failures.append(f"{type(exc).__name__}: {exc}")  # the other variant still runs
    finally:
        if client:
            client.stop()
        servers.stop(name)
    print(f"  {label}: {time.monotonic() - began:.0f} s in all", flush=True)
    return result


def run_all(servers: Servers, sqlite_config: Path, workdir: Path, args) -> list[ScaleResult]:
    """Both variants on the SQLite bench database; [] when --skip-scale."""
    if args.skip_scale:
        return []
    variants = (("one process (python -m www)", 1), ("2 processes (gunicorn -w 2)", 2))
    try:
        args.scale_limit = raise_open_files(2 * args.scale_sockets + FD_MARGIN)  # both ends
    except CheckFailed as exc:  # reported as the reason, the rest of the suite still runs
        print(f"  live at scale not run: {exc}", flush=True)
        return [ScaleResult(label, n, failures=[f"not run: {exc}"]) for label, n in variants]
    print(f"  {args.scale_limit}", flush=True)
    config = overlay(sqlite_config, workdir, args.scale_sockets)
    return [run_variant(servers, label, n, config, args, workdir) for label, n in variants]


def scale_rows(results: list[ScaleResult]) -> list[Row]:
    """Last delivery p50 (reported) and p99 (judged), and memory per idle socket."""
    rows = []
    for r in results:
        note = f"{len(r.last_ms)} comments x {sum(r.sockets.values()):,} sockets"
        if not r.last_ms:  # why not
            note = r.failures[0].splitlines()[0] if r.failures else "no comment measured"
        name = f"live at scale, {r.label}"
        for q, target in ((50, None), (99, TARGET_P99_MS[r.processes])):
            value = percentile(r.last_ms, q) if r.last_ms else None
            rows.append(Row(f"{name}: last delivery p{q}", value, "ms", target, note))
        rows.append(Row(f"{name}: memory per idle socket", r.per_socket_kib, "KiB", None, "RSS"))
    return rows


def render(results: list[ScaleResult], args) -> list[str]:
    if not results:
        return ["not run (--skip-scale)"]
    lines = [
        f"{args.scale_sockets:,} WebSockets on one post (`/ws/posts/1`), opened by "
        "`benchmarks/live_scale_client.py` (aiohttp, its own process on CPU "
        f"{LOAD_CPU}); then {args.scale_comments} comments posted through the JSON API "
        "one at a time, each over a new connection, each waited for on every socket. Last "
        "delivery: from the comment's 201 reaching the poster to its arrival on the last "
        "socket (first: on the first socket). Percentiles are nearest-rank over the "
        f"comments (with {args.scale_comments}, p99 is the slowest). Memory per idle socket: "
        "the server's RSS (all its workers) with the sockets open minus before, ÷ sockets. "
        f"Open files: the suite's {getattr(args, 'scale_limit', '?')} (the servers inherit "
        f"it); the client's: {'; '.join(r.client_files or '?' for r in results)}. The "
        "client's CPU busy share during each delivery shows whether it kept up (near 100% "
        "would mean it did not).",
        "",
        "| server | sockets per process | last p50 / p99 / max ms | first p50 ms | RSS idle → "
        "open MiB | client CPU p50 / max | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        spread = " / ".join(str(n) for n in r.sockets.values()) or "-"
        last = " / ".join(
            f"{percentile(r.last_ms, q):.1f}" if r.last_ms else "-" for q in (50, 99, 100)
        )
        first = f"{percentile(r.first_ms, 50):.1f}" if r.first_ms else "-"
        memory = f"{r.rss_idle / 2**20:.1f} → {r.rss_open / 2**20:.1f}" if r.rss_open else "-"
        busy = (
            f"{percentile(r.client_busy, 50):.0%} / {max(r.client_busy):.0%}"
            if r.client_busy
            else "-"
        )
        verdict = "FAIL" if r.failures else "PASS"
        lines.append(f"| {r.label} | {spread} | {last} | {first} | {memory} | {busy} | {verdict} |")
    lines += ["", *render_rows(scale_rows(results))]
    for r in results:
        lines += [f"- **FAIL** ({r.label}): {failure}" for failure in r.failures]
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip-scale", action="store_true", help="no live comments at scale")
    p.add_argument("--scale-sockets", type=int, help="sockets at scale (1000)")
    p.add_argument("--scale-comments", type=int, help="comments at scale (30; quick 10)")


def fill_defaults(args: argparse.Namespace, quick: bool) -> None:
    args.scale_sockets = args.scale_sockets or 1000
    args.scale_comments = args.scale_comments or (10 if quick else 30)
    if min(args.scale_sockets, args.scale_comments) < 1:
        raise SystemExit("--scale-sockets and --scale-comments must be at least 1")


def main(argv: list[str] | None = None) -> int:
    """Standalone: a small SQLite database, both variants, the report's lines printed."""
    from run import seed_database, write_config

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(p)
    p.add_argument("--quick", action="store_true", help="fewer comments")
    args = p.parse_args(argv)
    fill_defaults(args, args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="www-scale-"))
    try:
        config = write_config(workdir, "scale", f"sqlite:///{workdir / 'scale.db'}", 20)
        seed = argparse.Namespace(users=2, posts=2, comments=0)
        print(seed_database(str(workdir / "scale.db"), config, seed), flush=True)
        with Servers(workdir) as servers:
            results = run_all(servers, config, workdir, args)
        print("\n".join(render(results, args)))
        return 1 if any(r.failures for r in results) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
