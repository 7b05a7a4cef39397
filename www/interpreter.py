"""What a server process sets in the Python interpreter itself, once it has started.

Process-wide, so it is set only where a process is a server (`python -m www`, a gunicorn
worker: www/worker.py), never by create_app (the tests build many apps in one process).

The cyclic garbage collector: everything made at start-up (modules, templates, the app)
is frozen out of its scans (gc.freeze), and its youngest generation is collected after
`server.gc_threshold` new objects instead of 700. Measured under benchmarks/' mixed load
on PostgreSQL (256 connections, 10% writes, the page cache full) with Python's defaults:
a full collection scanned every cached object and stopped every request for up to
125 ms, about once every 4 s, and collections took 9% of the event loop's time. With
this, there was no full collection in the run, and read p99 went from 409 to 339 ms
(one run each, both with the switch interval below at 1 ms).

(The GIL's switch interval was tried too: 1 ms instead of 5 cost the pages that read
SQLite on every request 5 to 8% more CPU, for nothing measurable under the mixed load.)
"""

import gc

from aiohttp import web

from .keys import CONFIG
from .settings_schema import ServerSettings


def tune_on_startup(app: web.Application) -> None:
    """Have the app's start-up end with tune(), its settings' (a server process's own
    start-up: call it on the app it serves, never in create_app)."""

    async def tune_now(app: web.Application) -> None:
        tune(app[CONFIG].server)

    app.on_startup.append(tune_now)


def tune(server: ServerSettings) -> None:
    """Apply `server.gc_threshold`, and freeze what exists now: once the app has started,
    before serving."""
    gc.collect()  # what start-up left as garbage goes now, not frozen forever
    gc.freeze()
    gc.set_threshold(server.gc_threshold, *gc.get_threshold()[1:])
