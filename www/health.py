"""The health check used by load balancers and the test suite.

`GET /healthz`: 200 {"status": "ok"} when every check passes; else 503
{"status": "unavailable", "failed": {check: reason}}. The checks: the database answers
and has had every migration; the uploads folder is writable, with at least
`uploads.min_free_bytes` free on its file system (uploads would fail with 507 otherwise).
"""

import logging
import os
from pathlib import Path

from aiohttp import web

from . import fileinfo, uploads
from .files.actions import uploads_dir
from .keys import CONFIG, DB, FILE_IO, MIGRATIONS
from .migrate.check import schema_problem
from .models import MODELS

log = logging.getLogger(__name__)


def disk_problem(directory: Path, min_free_bytes: int) -> str | None:
    """Why uploads to `directory` would fail, or None. Blocking: access() and statvfs()
    are cheap, but wait as long as the file system does (a hung network mount), so this
    runs in an executor thread, never on the event loop."""
    if not os.access(directory, os.W_OK | os.X_OK):
        log.warning("Health check: the uploads folder %s is missing or not writable", directory)
        return "the uploads folder is not writable"
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize  # what an unprivileged process may still use
    if free < min_free_bytes:
        log.warning(
            "Health check: %s has %s free, under uploads.min_free_bytes (%s)",
            directory,
            fileinfo.human_size(free),
            fileinfo.human_size(min_free_bytes),
        )
        return "the uploads folder's disk is nearly full"
    return None


async def healthz(request: web.Request) -> web.Response:
    """200 {"status": "ok"} when every check passes, else 503 naming those that failed: a
    server on an unready schema answers 500 to every page, one with a full disk 507 to
    every upload. The reasons are short and generic (this URL is public); the log says more.
    """
    app = request.config_dict
    db, migrations = app[DB], app[MIGRATIONS]
    failed = {}
    if not await db.ping() or await schema_problem(db, migrations, MODELS, thorough=False):
        failed["database"] = "the database is unreachable or its schema is not ready"
    directory = uploads_dir(app)
    try:
        problem = await uploads.in_thread(
            app[FILE_IO], disk_problem, directory, app[CONFIG].uploads.min_free_bytes
        )
    except OSError as exc:
        log.warning("Health check: cannot examine %s: %s", directory, exc)
        problem = "the uploads folder cannot be examined"
    if problem:
        failed["uploads"] = problem
    # Never kept, here (www/responses.py) or by a proxy: it reports the moment, not data.
    headers = {"Cache-Control": "no-store"}
    if failed:
        body = {"status": "unavailable", "failed": failed}
        return web.json_response(body, status=503, headers=headers)
    return web.json_response({"status": "ok"}, headers=headers)
