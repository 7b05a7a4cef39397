"""The Markdown report that run.py prints and writes to RESULTS.md (or RESULTS-quick.md).

Split out of run.py, which gathers the results; this module only formats them.
"""

import contextlib
import importlib.metadata
import os
import platform
import re
import sqlite3
from pathlib import Path

from common import LOAD_CPU, SERVER_CPU, best, cpu_per_answer, ms, run_bounded
from mixed import render_mixed
from postgres import SCHEMA


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


def versions(pg_version: str | None) -> str:
    """Python, the frameworks, the drivers and the databases, on one line."""
    packages = (
        ("aiohttp", "aiohttp"), ("Flask", "flask"), ("gunicorn", "gunicorn"),
        ("FastAPI", "fastapi"), ("Starlette", "starlette"), ("uvicorn", "uvicorn"),
        ("httptools", "httptools"), ("SQLAlchemy", "sqlalchemy"), ("aiosqlite", "aiosqlite"),
        ("asyncpg", "asyncpg"), ("pydantic", "pydantic"), ("Jinja2", "jinja2"),
        ("uvloop", "uvloop"), ("markdown-it-py", "markdown-it-py"),
    )  # fmt: skip
    names = ", ".join(f"{label} {version(package)}" for label, package in packages)
    databases = f"SQLite {sqlite3.sqlite_version}"
    databases += f", PostgreSQL {pg_version}" if pg_version else ", PostgreSQL not run"
    return f"Python {platform.python_version()}, {names}; {databases}"


def pg_line(pg) -> str:
    if isinstance(pg, str):
        return f"rows skipped: {pg}."
    return (
        f"{pg.origin}, at `{pg.location}`, schema `{SCHEMA}`; the scaffold and the FastAPI "
        "peer both on asyncpg (the peer through SQLAlchemy, its default pool)."
    )


def ratio_lines(ratios: list) -> list[str]:
    """The targets table: each ratio with the two req/s it divides, PASS or FAIL; and the
    same ratio from the servers' CPU time per answer (see the notes under the table)."""
    lines = [
        "| ratio | scaffold req/s | other req/s | value | by server CPU | target | result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, scaffold, other, value, by_cpu, target, ok in ratios:
        verdict = "PASS" if ok else "**FAIL**"
        lines.append(
            f"| {label} | {scaffold:.0f} | {other:.0f} | {value:.2f} | {by_cpu:.2f} "
            f"| ≥ {target:.1f} | {verdict} |"
        )
    lines += [
        "",
        "The verdict is on req/s. **By server CPU** divides the other server's CPU time per "
        "answer by the scaffold's, over all the row's measurements (user + system time of "
        "every process of the server, from /proc): the req/s ratio each would get with a core "
        "to itself, which other work on a shared machine cannot skew. Where the two columns "
        "disagree, the machine's noise decided the req/s. On PostgreSQL it leaves out the "
        "database server's CPU, which the peer uses far more (it queries on every request).",
    ]
    return lines


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
        f"- **Versions**: {r['versions']}; wrk {r['wrk_version']}.",
        f"- **Data**: {r['seeded']}; per_page {args.per_page}; post page "
        f"`{r['post_path']}` (its {args.comments} comments shown); logged-in rows as "
        f"`{r['login_email']}` (a session cookie from logging in over HTTP, on the scaffold "
        "and on Flask alike).",
        f"- **Load**: `wrk -t1 -c{args.connections} -d{args.duration}s`, "
        f"{args.rounds} measurements per row after a {args.warmup} s warm-up, the rounds "
        "interleaving the servers. **req/s is the better of the measurements** (noise only "
        "ever slows a run down); its p50/p99 come from that same measurement.",
        f"- **PostgreSQL**: {pg_line(r['pg'])}",
    ]
    if args.quick:
        lines += ["", "> **Quick mode**: short runs to check the suite, not representative."]
    lines += ["", "## Targets (same run, better measurements)", "", *ratio_lines(r["ratios"])]
    lines += ["", "What bounds a row that misses, measured: [BOUNDS.md](BOUNDS.md)."]
    lines += [
        "",
        "## Pages",
        "",
        "| server | page | req/s | req/s each run | p50 ms | p99 ms | CPU µs/answer | errors |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for key, server, page, *_ in r["targets"]:
        runs = r["pages"][key]
        b = best(runs)
        each = " / ".join(f"{m.rps:.0f}" for m in runs)
        errors = sum(sum(m.errors.values()) for m in runs)
        lines.append(
            f"| {r['labels'][server]} | {page} | **{b.rps:.0f}** | {each} | "
            f"{ms(b.latency_us['p50'])} | {ms(b.latency_us['p99'])} | "
            f"{cpu_per_answer(runs):.0f} | {errors} |"
        )
    lines += ["", "## Sanity checks", ""] + [f"- {note}" for note in r["notes"]]
    lines += ["", "## Mixed load", "", *render_mixed(r["mixed"], args)]
    for section in r.get("sections", ()):  # (title, lines) from other modules
        lines += ["", f"## {section[0]}", "", *section[1]]
    for sub in r["subs"]:
        lines += ["", f"## {sub.title} (`benchmarks/{sub.script}`)", ""]
        if sub.status == "missing":
            lines.append("not run (missing)")
            continue
        if sub.status != "ok":
            lines += [f"**{sub.status}**", ""]
        lines += ["```text", sub.output, "```"]
    return "\n".join(lines) + "\n"
