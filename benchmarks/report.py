"""The Markdown report that run.py prints and writes to RESULTS.md (or RESULTS-quick.md).

Split out of run.py, which gathers the results; this module only formats them.
"""

import contextlib
import importlib.metadata
import os
import platform
import re
from pathlib import Path

from common import LOAD_CPU, SERVER_CPU, best, ms, run_bounded
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


def pg_line(pg) -> str:
    if isinstance(pg, str):
        return f"rows skipped: {pg}."
    return (
        f"{pg.origin}, at `{pg.location}`, schema `{SCHEMA}`; version "
        f"{version('asyncpg')} of asyncpg (the scaffold), {version('psycopg')} of psycopg "
        "(the Flask peer, one connection per worker)."
    )


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
        f"- **PostgreSQL**: {pg_line(r['pg'])}",
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
    for key, server, page, _ in r["targets"]:
        runs = r["pages"][key]
        b = best(runs)
        each = " / ".join(f"{m.rps:.0f}" for m in runs)
        errors = sum(sum(m.errors.values()) for m in runs)
        lines.append(
            f"| {r['labels'][server]} | {page} | **{b.rps:.0f}** | {each} | "
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
        if target is None:
            lines.append(f"| {label} | {value:.2f} | none yet | reported |")
        else:
            verdict = "PASS" if ok else "MISS"
            lines.append(f"| {label} | {value:.2f} | ≥ {target:.1f} | {verdict} |")
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
