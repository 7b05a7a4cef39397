"""The benchmark suite: the scaffold's pages (anonymous with the response cache, logged in,
with the data cache only, with every cache off) against Flask, FastAPI, a render-only
ceiling and a hello-world, on SQLite and on PostgreSQL (page_rows.py, postgres.py); a
mixed read/write load with the page cache's hit rate (mixed.py); live comments across
gunicorn workers (live_latency.py); then the ORM and upload-memory benchmarks.

    .venv/bin/python benchmarks/run.py            # the full suite (about 10 minutes)
    .venv/bin/python benchmarks/run.py --quick    # short runs, to check that it all works
    .venv/bin/python benchmarks/run.py --quick --skip-live --skip-sub --skip-mixed  # pages

Every server is its own process on 127.0.0.1, pinned to core 0 (taskset -c 0); wrk runs
pinned to core 1, with one thread. Each page is warmed up, then measured `--rounds` times
(the rounds interleave the servers, so a burst of noise hits them all alike); the better
measurement (higher requests/s) is reported. Servers are stopped by process group in a
finally block, also on Ctrl-C. The results are printed and written as Markdown to
benchmarks/RESULTS.md (benchmarks/RESULTS-quick.md with --quick). See benchmarks/README.md.

Exit status: 0 when every check passed, 1 when a check failed (a server did not answer,
a peer's HTML or JSON differs from the scaffold's, the mixed load saw errors or lost
comments, a live comment did not reach a socket, a sub-benchmark crashed), 2 for a usage
or set-up problem (no wrk, fewer than 2 cores, the peers' packages missing), 3 with
--strict when a throughput target was missed (here or in benchmarks/orm.py).
"""

import argparse
import contextlib
import functools
import importlib.util
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import live_latency
import live_scale
import postgres
import yaml
from common import (
    BENCH,
    LOAD_CPU,
    PYTHON,
    ROOT,
    SERVER_CPU,
    CheckFailed,
    Server,
    Servers,
    SetupError,
    best,
    clean_env,
    cpu_per_answer,
    free_port,
    run_bounded,
)
from mixed import PASSWORD, mixed_rows, run_mixed, sqlite_comments
from page_rows import (
    RATIOS,
    SAME,
    SCAFFOLD_CACHES,
    SERVER_LABELS,
    TARGETS,
    log_in_all,
    measure_pages,
    sanity_checks,
)
from report import machine, render_report, versions, wrk_version

PEERS = ("flask", "fastapi", "sqlalchemy", "uvicorn", "httptools", "greenlet")


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


def ensure_peers() -> None:
    """The peers' packages (benchmarks/requirements.txt), which the app does not need."""
    missing = [name for name in PEERS if importlib.util.find_spec(name) is None]
    if missing:
        raise SetupError(
            f"{', '.join(missing)} missing: pip install -r benchmarks/requirements.txt "
            "(make bench does it)"
        )


def rate_limit_names() -> list[str]:
    """The rates of config/default.yaml's rate_limits (every key but max_keys)."""
    defaults = yaml.safe_load((ROOT / "config" / "default.yaml").read_text(encoding="utf-8"))
    return [name for name in defaults["rate_limits"] if name != "max_keys"]


def write_config(
    workdir: Path, name: str, db_url: str, per_page: int, cache: dict | None = None
) -> Path:
    """The scaffold's config overlay for the database at `db_url` (sqlite:////abs/path),
    with `cache` settings (page_rows.SCAFFOLD_CACHES) over the defaults."""
    config = {
        "blog": {"per_page": per_page},
        "db": {"url": db_url},
        "logging": {"level": "WARNING", "access_log": False},
        # A stopped server's cleanup (the page cache's counts) comes before stop_group's
        # SIGKILL; nothing is in flight by then.
        "server": {"shutdown_timeout": 5},
        "session": {"secret": secrets.token_urlsafe(30), "secret_file": None},  # 40 chars
        "uploads": {"directory": str(workdir / "uploads")},
        # The load's users comment hundreds of times a minute (mixed load, live latency):
        # the rate limits stay on, counted as usual, with room for that.
        "rate_limits": {name: "1000000 per minute" for name in rate_limit_names()},
    }
    if cache:
        config["cache"] = cache
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def seed_database(db: str, config: Path, args: argparse.Namespace) -> str:
    """benchmarks/seed.py into `db`: a SQLite file, or a PostgreSQL URL (an empty schema)."""
    command = [PYTHON, str(BENCH / "seed.py"), "--db", db, "--config", str(config)]
    command += ["--posts", str(args.posts), "--comments", str(args.comments)]
    command += ["--users", str(args.users), "--password", PASSWORD]
    result = run_bounded(command, 300, cwd=ROOT, env=clean_env(), capture_output=True)
    if result.returncode != 0:
        raise CheckFailed(f"seeding failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def scaffold_command(config: Path, port: int) -> list[str]:
    return ["-m", "www", "--config", str(config), "--port", str(port)]


def flask_command(port: int) -> list[str]:
    peer = ["-b", f"127.0.0.1:{port}", "--chdir", str(BENCH / "peers"), "flask_app:app"]
    return ["-m", "gunicorn", "-w", "1", "-k", "sync", "--log-level", "warning", *peer]


def fastapi_command(port: int) -> list[str]:
    """uvicorn as its documentation runs it (one worker; uvloop and httptools, found
    installed), without the access log, which the scaffold does not write either."""
    peer = ["--app-dir", str(BENCH / "peers"), "fastapi_app:app", "--host", "127.0.0.1"]
    quiet = ["--log-level", "warning", "--no-access-log"]
    return ["-m", "uvicorn", *peer, "--port", str(port), *quiet]


def sqlite_servers(db_path: Path, configs: dict[str, Path], per_page: int) -> dict[str, tuple]:
    """{name: (arguments after python, environment, port)} of the SQLite contenders;
    `configs`: each scaffold variant's config overlay."""
    ports = {name: free_port() for name in SERVER_LABELS}
    peers = BENCH / "peers"
    render = ["--port", str(ports["render-only"]), "--per-page", str(per_page)]
    commands = {name: scaffold_command(configs[name], ports[name]) for name in SCAFFOLD_CACHES}
    commands |= {
        "flask": flask_command(ports["flask"]),
        "fastapi": fastapi_command(ports["fastapi"]),
        "render-only": [str(peers / "render_only.py"), "--db", str(db_path), *render],
        "hello": [str(peers / "hello.py"), "--port", str(ports["hello"])],
    }
    peer_env = clean_env(BENCH_DB=str(db_path), BENCH_PER_PAGE=str(per_page))
    return {
        name: (command, peer_env if name in ("flask", "fastapi") else clean_env(), ports[name])
        for name, command in commands.items()
    }


def pg_servers(pg: postgres.Postgres, config: Path, per_page: int) -> dict[str, tuple]:
    """The scaffold (data cache, `config`) and the FastAPI peer on PostgreSQL."""
    ports = {name: free_port() for name in postgres.LABELS}
    scaffold, fastapi = ports["scaffold-pg"], ports["fastapi-pg"]
    peer_env = clean_env(BENCH_PER_PAGE=str(per_page), **pg.peer_env())
    return {
        "scaffold-pg": (scaffold_command(config, scaffold), clean_env(), scaffold),
        "fastapi-pg": (fastapi_command(fastapi), peer_env, fastapi),
    }


def start_servers(servers: Servers, commands: dict[str, tuple]) -> dict[str, Server]:
    started = {
        name: servers.start(name, [PYTHON, *command], port, env)
        for name, (command, env, port) in commands.items()
    }
    for server in started.values():
        servers.wait_ready(server)
    return started


# --- the other engineers' benchmarks -------------------------------------------------------


@dataclass
class SubResult:
    title: str
    script: str
    status: str  # "ok", "missing", "targets missed (exit 1)", "failed (...)"
    output: str


def run_sub_benchmark(
    title: str, name: str, extra: list[str], timeout: int, env: dict[str, str] | None = None
) -> SubResult:
    script = BENCH / name
    if not script.exists():
        print(f"  {name}: not run (missing)", flush=True)
        return SubResult(title, name, "missing", "not run (missing)")
    print(f"  {name} {' '.join(extra)}".rstrip(), flush=True)
    command = ["taskset", "-c", SERVER_CPU, PYTHON, str(script), *extra]
    try:
        result = run_bounded(
            command, timeout, cwd=ROOT, env=clean_env(**(env or {})), capture_output=True
        )
    except subprocess.TimeoutExpired:
        return SubResult(title, name, f"failed (no result within {timeout}s)", "")
    output = result.stdout.rstrip()
    if result.returncode == 0:
        return SubResult(title, name, "ok", output)
    if result.returncode == 1 and output and "Traceback" not in result.stderr:
        return SubResult(title, name, "targets missed (exit 1)", output)  # its own verdict
    tail = "\n".join(result.stderr.splitlines()[-15:])
    return SubResult(title, name, f"failed (exit {result.returncode})", f"{output}\n{tail}")


def orm_args(quick: bool, skip_pg: bool) -> list[str]:
    """orm.py's options: one round with --quick, no PostgreSQL rows with --skip-pg (it
    finds its PostgreSQL as this suite does, see orm_env), for the options it has."""
    if not (quick or skip_pg):
        return []
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        usage = run_bounded(
            [PYTHON, str(BENCH / "orm.py"), "--help"], 30, cwd=ROOT, capture_output=True
        ).stdout
        repeat = ["--repeat", "1"] if quick and "--repeat" in usage else []
        return repeat + (["--skip-pg"] if skip_pg and "--skip-pg" in usage else [])
    return []


def orm_env() -> dict[str, str]:
    """The PostgreSQL given to the suite (WWW_BENCH_PG_URL), which clean_env() would drop:
    orm.py's PostgreSQL rows run on it too (else on a throwaway server of their own)."""
    given = os.environ.get("WWW_BENCH_PG_URL", "")
    return {"WWW_BENCH_PG_URL": given} if given else {}


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="short runs (2 s, 1 round), to try it")
    p.add_argument("--duration", type=int, help="seconds per measurement (default 5)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up per page (default 2)")
    p.add_argument("--rounds", type=int, help="measurements per page (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--timeout", type=int, help="wrk's request timeout, seconds (default 10)")
    p.add_argument("--mixed-duration", type=int, help="seconds of mixed load (default 30)")
    p.add_argument("--mixed-connections", type=int, default=256, help="(default 256)")
    p.add_argument("--mixed-drain", type=int, help="seconds to let requests finish (10)")
    p.add_argument(
        "--mixed-warmup", type=int, help="seconds of the same load first, not measured (5)"
    )
    p.add_argument("--write-share", type=float, default=0.10, help="comment posts (0.10)")
    p.add_argument("--sessions", type=int, default=20, help="users logged in for the mix")
    p.add_argument("--users", type=int, default=20, help="seeded users")
    p.add_argument("--posts", type=int, default=1000, help="seeded posts")
    p.add_argument("--comments", type=int, default=10, help="seeded comments per post")
    p.add_argument("--per-page", type=int, default=20, help="posts on the home page")
    p.add_argument("--post-id", type=int, help="the measured post page (default: the middle)")
    p.add_argument("--output", type=Path, help="Markdown report (default benchmarks/RESULTS.md)")
    p.add_argument("--skip-mixed", action="store_true", help="no mixed-load run")
    p.add_argument("--skip-pg", action="store_true", help="no PostgreSQL rows")
    p.add_argument("--skip-live", action="store_true", help="no live-comment latency")
    live_latency.add_arguments(p)
    live_scale.add_arguments(p)
    p.add_argument("--skip-sub", action="store_true", help="no ORM or upload-memory benchmark")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, db)")
    args = p.parse_args(argv)
    quick = args.quick
    # 25 page rows (19 without PostgreSQL): 2 s warm-up + 2 rounds of 5 s is about 5
    # minutes, which leaves the mixed load, live comments and sub-benchmarks the rest of
    # the ~10 minutes.
    args.duration = args.duration or (2 if quick else 5)
    args.warmup = args.warmup or (1 if quick else 2)
    args.rounds = args.rounds or (1 if quick else 2)
    args.mixed_duration = args.mixed_duration or (5 if quick else 30)
    args.timeout = args.timeout or 10
    args.mixed_drain = args.mixed_drain or (5 if quick else 10)
    args.mixed_warmup = args.mixed_warmup if args.mixed_warmup is not None else (1 if quick else 5)
    args.output = args.output or BENCH / ("RESULTS-quick.md" if quick else "RESULTS.md")
    args.post_id = args.post_id or max(1, args.posts // 2)
    live_latency.fill_defaults(args, quick)
    live_scale.fill_defaults(args, quick)
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
    ensure_peers()
    wrk = ensure_wrk()
    r: dict = {"args": args, "machine": machine(), "wrk_version": wrk_version(wrk)}
    r["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    r["load_before"] = load_str()
    r["post_path"] = post_path = f"/posts/{args.post_id}"
    r["seeded"] = (
        f"{args.users} users, {args.posts} posts of ~2 KB Markdown, "
        f"{args.comments} comments each (benchmarks/seed.py)"
    )
    failed = []
    with contextlib.ExitStack() as stack:  # stopped in reverse: servers, then PostgreSQL
        pg = "not run (--skip-pg)" if args.skip_pg else stack.enter_context(postgres.provide())
        r["pg"] = pg
        if isinstance(pg, str):
            print(f"PostgreSQL rows skipped: {pg}", flush=True)

        db_path = workdir / "bench.db"
        configs = {  # each scaffold variant's overlay; "scaffold" (the defaults) as `config`
            name: write_config(workdir, name, f"sqlite:///{db_path}", args.per_page, cache)
            for name, cache in SCAFFOLD_CACHES.items()
        }
        config = configs["scaffold"]
        print(f"seeding {db_path}", flush=True)
        print(f"  {seed_database(str(db_path), config, args)}", flush=True)
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            post_ids = [row[0] for row in conn.execute("SELECT id FROM posts ORDER BY id")]
            emails = [row[0] for row in conn.execute("SELECT email FROM users ORDER BY id")]
        finally:
            conn.close()
        commands = sqlite_servers(db_path, configs, args.per_page)
        targets, labels, same = TARGETS, dict(SERVER_LABELS), SAME
        if isinstance(pg, postgres.Postgres):
            print(f"seeding schema {postgres.SCHEMA} of {pg.location}", flush=True)
            pg.fresh_schema()
            stack.callback(pg.drop_schema)
            pg_config = write_config(workdir, "bench-pg", pg.app_url(), args.per_page)
            print(f"  {seed_database(pg.app_url(), pg_config, args)}", flush=True)
            data_only = SCAFFOLD_CACHES["scaffold-data"]
            pg_data = write_config(workdir, "scaffold-pg", pg.app_url(), args.per_page, data_only)
            commands |= pg_servers(pg, pg_data, args.per_page)
            targets, labels = targets + postgres.TARGETS, labels | postgres.LABELS
            same += postgres.SAME
            r["pg_version"] = pg.server_version()
        r["targets"], r["labels"] = targets, labels

        servers = stack.enter_context(Servers(workdir))
        print("starting servers (CPU 0)", flush=True)
        running = start_servers(servers, commands)
        for name, server in running.items():
            print(f"  {name:<12} {server.base}  pid {server.proc.pid}", flush=True)
        r["login_email"] = emails[0]  # the logged-in rows' user, on the scaffold and Flask
        cookies = log_in_all(targets, running, emails[0])
        r["notes"], differ = sanity_checks(
            targets, same, running, cookies, post_path, args.per_page
        )
        for note in r["notes"]:
            print(f"  check: {note}", flush=True)
        failed += differ
        print("measuring pages (wrk on CPU 1)", flush=True)
        r["pages"] = measure_pages(wrk, targets, running, cookies, post_path, args)
        for name, server in running.items():
            if server.proc.poll() is not None:
                failed.append(f"{name} exited during the run:\n{server.log_tail()}")

        r["mixed"] = []
        if not args.skip_mixed:
            runs = [("SQLite", config, functools.partial(sqlite_comments, db_path))]
            if isinstance(pg, postgres.Postgres):  # seeded alike: same ids and users
                runs.append(("PostgreSQL", pg_config, pg.count_comments))
            for database, database_config, count in runs:
                mixed = run_mixed(
                    wrk, servers, database, database_config, count, post_ids,
                    emails[: args.sessions], workdir, args,
                )  # fmt: skip
                r["mixed"].append(mixed)
                failed += [f"mixed load ({database}): {failure}" for failure in mixed.failures]

        r["sections"] = []
        if not args.skip_live:
            print("live comments across processes (gunicorn on CPU 0, client on CPU 1)", flush=True)
            has_pg = isinstance(pg, postgres.Postgres)
            live = live_latency.run_all(servers, config, pg_config if has_pg else pg, args)
            r["sections"].append(
                ("Live comments across processes", live_latency.render(live, args))
            )
            failed += [f"live comments ({x.label}): {f}" for x in live for f in x.failures]

        if not args.skip_scale:
            print("live comments at scale (server on CPU 0, client on CPU 1)", flush=True)
        scale = live_scale.run_all(servers, config, workdir, args)
        r["sections"].append(("Live comments at scale", live_scale.render(scale, args)))
        failed += [f"live at scale ({x.label}): {f}" for x in scale for f in x.failures]
        r["rows"] = mixed_rows(r["mixed"]) + live_scale.scale_rows(scale)  # judged rows
    r["load_after"] = load_str()

    r["subs"] = []
    if not args.skip_sub:
        print("sub-benchmarks (CPU 0)", flush=True)
        for title, name, extra, env in (
            ("ORM overhead", "orm.py", orm_args(args.quick, args.skip_pg), orm_env()),
            ("Upload memory", "upload_memory.py", [], {}),
        ):
            sub = run_sub_benchmark(title, name, extra, timeout=900, env=env)
            r["subs"].append(sub)
            if sub.status.startswith("failed"):
                failed.append(f"{name}: {sub.status}")

    rps = {key: best(runs).rps for key, runs in r["pages"].items()}
    cpu = {key: cpu_per_answer(runs) for key, runs in r["pages"].items()}
    ratios = RATIOS + (postgres.RATIOS if "pg-home" in rps else ())
    by_cpu = {a + b: cpu[b] / cpu[a] if cpu[a] else 0.0 for _, a, b, _ in ratios}
    r["ratios"] = [  # (label, scaffold req/s, peer req/s, ratio, by CPU, target, passed)
        (label, rps[a], rps[b], rps[a] / rps[b], by_cpu[a + b], target, rps[a] / rps[b] >= target)
        for label, a, b, target in ratios
    ]
    r["versions"] = versions(r.get("pg_version"))
    report = render_report(r)
    args.output.write_text(report, encoding="utf-8")
    print("\n" + report)
    print(f"written to {args.output}")
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failed:
        return 1
    missed = any(ok is False for *_, ok in r["ratios"]) or any(
        sub.status.startswith("targets missed") for sub in r["subs"]
    )
    missed = missed or any(row.ok is False for row in r["rows"])
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
