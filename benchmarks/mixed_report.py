"""The mixed load's part of the report: its table, and its judged rows (errors, lost
writes, read and write latencies, the writer's lock wait) against issue #17's targets.

Split out of mixed.py, which runs the load; mixed.py re-exports both functions, which
report.py and run.py import from there.
"""

import argparse
from typing import TYPE_CHECKING

from common import ms
from rows import Row, render_rows

if TYPE_CHECKING:
    from mixed import MixedResult

READ_P99_MS = 250.0  # issue #17's targets for the mixed load
WRITE_P99_MS = 500.0


def mixed_rows(results: "list[MixedResult]") -> list[Row]:
    """The judged rows of each run: errors, lost writes, read and write p50/p99 (the
    targets are issue #17's), and the writer's lock wait (reported) where measured."""
    rows = []
    for mixed in results:
        name = f"mixed load ({mixed.database})"
        rows += [
            Row(f"{name}: errors", mixed.errors, "", 0, "socket errors, 5xx, other statuses"),
            Row(f"{name}: lost writes", mixed.lost, "", 0, "303s not in the database"),
        ]
        for kind, target in (("read", READ_P99_MS), ("write", WRITE_P99_MS)):
            cut = mixed.by_kind[kind]
            count = f"{cut['count']:,} answers"
            rows.append(Row(f"{name}: {kind} p50", cut["p50"] / 1000, "ms", None, count))
            rows.append(Row(f"{name}: {kind} p99", cut["p99"] / 1000, "ms", target, count))
        why = mixed.writer or "the database has no writer_summary()"
        for what in ("lock wait", "held"):  # held: only when the line says
            cuts = mixed.writer_ms(what)
            if cuts is None and what != "lock wait":
                continue
            for label, value in zip(("p50", "p99"), cuts or (None, None), strict=True):
                rows.append(Row(f"{name}: writer {what} {label}", value, "ms", None, why))
    return rows


def little(mixed: "MixedResult", args: argparse.Namespace, own: bool) -> float:
    """The latencies' sum over (connections x seconds of the run), from the script's
    records (`own`) or from wrk's mean latency times its answers: at most 1."""
    if own:
        total_us = sum(cut["mean"] * cut["count"] for cut in mixed.by_kind.values())
    else:
        total_us = mixed.measurement.latency_us["mean"] * mixed.measurement.requests
    seconds = mixed.measurement.seconds or args.mixed_duration + mixed.drain
    return total_us / 1e6 / (args.mixed_connections * seconds)


def bound_lines(results: "list[MixedResult]", args: argparse.Namespace) -> list[str]:
    """What the read target asks of the server's throughput (Little's law), beside what
    this run got: with every connection waiting, mean latency = connections / req/s."""
    needed = args.mixed_connections / (READ_P99_MS / 1000)
    got = ", ".join(f"{m.database} {m.rps:,.0f} req/s (mean wait {ms(mean_us(m))} ms)"
                    for m in results)  # fmt: skip
    return [
        f"What bounds the latencies: {args.mixed_connections} connections, each sending its "
        "next request as soon as it has an answer, keep the server's queue full. Then the "
        "mean latency is connections ÷ req/s (Little's law), whatever the server does "
        f"inside: a read p99 of {READ_P99_MS:.0f} ms needs at least "
        f"{args.mixed_connections} ÷ {READ_P99_MS / 1000:g} s = {needed:,.0f} answers a "
        f"second of this mix, from one process on one core; this run: {got}. Raising it "
        "means making each logged-in page cheaper (a profile: [BOUNDS.md](BOUNDS.md)), or "
        "serving with more cores.",
    ]


def mean_us(mixed: "MixedResult") -> float:
    """The mean latency of every recorded answer, in microseconds."""
    cuts = mixed.by_kind.values()
    return sum(c["mean"] * c["count"] for c in cuts) / max(1, sum(c["count"] for c in cuts))


def render_mixed(results: "list[MixedResult]", args: argparse.Namespace) -> list[str]:
    """The report's Markdown for the mixed-load runs (one row per database)."""
    if not results:
        return ["not run (--skip-mixed)"]
    drain = results[0].drain
    lines = [
        f"`wrk -t{args.mixed_connections} -c{args.mixed_connections}` (one thread per "
        "connection, so that each answer's latency is known by kind: see "
        f"`benchmarks/mixed_load.lua`) on a fresh scaffold server (`benchmarks/serve_www.py`) "
        f"for {args.mixed_duration} s, then a {drain} s drain (no "
        f"new requests; those in flight finish and are counted), after a warm-up of "
        f"{args.mixed_warmup} s of the same load, not measured (its comments are checked "
        f"all the same). {results[0].sessions} users "
        "logged in over HTTP first; every request carries one of their session cookies. "
        f"{args.write_share:.0%} are comment posts (`POST /posts/<id>/comments`, form body "
        "with the session's CSRF token), the rest `GET /` or `GET /posts/<random id>` (half "
        "each).",
        "",
        "| database | req/s | read p50 / p99 ms | write p50 / p99 ms | GETs sent "
        "| comments sent | answers by status | socket errors | 5xx | new comments in db "
        "| page cache hits | writer | result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for mixed in results:
        m, c = mixed.measurement, mixed.measurement.counts
        read, write = mixed.by_kind["read"], mixed.by_kind["write"]
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k.isdigit())
        if mixed.cache:
            hits, misses = mixed.cache
            cache = f"{hits / max(1, hits + misses):.1%} ({hits:,} hits, {misses:,} misses)"
        else:
            cache = "not logged"
        lines.append(
            f"| {mixed.database} | {mixed.rps:.0f} | {ms(read['p50'])} / {ms(read['p99'])} | "
            f"{ms(write['p50'])} / {ms(write['p99'])} | {c.get('GET sent', 0)} | "
            f"{c.get('POST sent', 0)} | {statuses} | {m.socket_errors} | "
            f"{sum(v for k, v in c.items() if k.startswith('5'))} | {mixed.new_comments} | "
            f"{cache} | {mixed.writer or 'not measured'} | "
            f"{'PASS' if not mixed.failures else 'FAIL'} |"
        )
    slowest = ", ".join(
        f"{m.database} {m.measurement.latency_us['max'] / 1e6:.1f} s" for m in results
    )
    busy = ", ".join(f"{m.database} {little(m, args, own=True):.2f}" for m in results)
    wrk_busy = ", ".join(f"{m.database} {little(m, args, own=False):.2f}" for m in results)
    lines += [
        "",
        "req/s counts the answers during the load (not the drain). result: zero socket "
        "errors, zero 5xx, new comments in the database = 303 answers = comments sent. "
        "Latencies: of every answer, reads (GET) and writes (comment posts) apart, from the "
        "request being sent to its answer (nearest-rank percentiles, drain included). "
        f"wrk's timeout is {drain + 5} s: a slower answer counts as a socket error "
        f"(timeout) and is left out of the percentiles. Slowest answer: {slowest}.",
        "",
        "Check (Little's law): the recorded latencies' sum divided by connections x the "
        "run's length is the share of the run the connections spent waiting for answers: it "
        f"cannot exceed 1: {busy}. The same from wrk's own mean latency: {wrk_busy} (wrk's "
        "own histogram mixes reads and writes, and on sub-millisecond answers wrk 4.1's was "
        "seen to overstate them, cf. wg/wrk#438: only the script's records are used).",
        "",
        *bound_lines(results, args),
        "",
        "Page cache hits: of the server's lookups in its page cache (www/cache.py: the home "
        "page's and each post page's data), the share answered from memory, as the server "
        "logged them at shutdown (QueryCache.log_summary). writer: the database's "
        "`writer_summary()` line at shutdown (the SQLite writer's transactions and lock "
        "wait); not measured when the database has no such method.",
        "",
        *render_rows(mixed_rows(results)),
    ]
    for mixed in results:
        lines += [f"- **FAIL** ({mixed.database}): {failure}" for failure in mixed.failures]
    return lines
