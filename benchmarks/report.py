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
from mixed import MixedResult


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
