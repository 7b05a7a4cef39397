"""What a server process sets in the Python interpreter itself, once it has started.

Process-wide, so it is set only where a process is a server (`python -m www`, a gunicorn
worker: www/worker.py), never by create_app (the tests build many apps in one process).
Both were measured under benchmarks/' mixed load (256 connections, 10% writes):

- The GIL's switch interval: how long a thread may keep the GIL when another asks for it
  (Python's default: 5 ms). The database's threads (SQLite's readers and writer,
  PostgreSQL's bodies: www/db/pgbodies.py) need it for every answer they hand back, and a
  busy event loop rarely lets go of it by itself: at 5 ms a page's ten round trips waited
  up to 50 ms for it, and PostgreSQL's read p99 went from 0.4 s to 0.8 s.
- The cyclic garbage collector. Everything made at start-up (modules, templates, the
  app) is frozen out of its scans (gc.freeze), and its youngest generation is collected
  after `gc_threshold` new objects instead of 700: with the page cache full, a full
  collection scanned every cached object and stopped every request for up to 125 ms,
  about once every 4 s, and collections took 9% of the event loop's time.
"""

import gc
import sys

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
    """Apply `server.switch_interval_ms` and `server.gc_threshold`, and freeze what
    exists now: once the app has started, before serving."""
    sys.setswitchinterval(server.switch_interval_ms / 1000)
    gc.collect()  # what start-up left as garbage goes now, not frozen forever
    gc.freeze()
    gc.set_threshold(server.gc_threshold, *gc.get_threshold()[1:])
