"""`python -m www` as the mixed load runs it: the same server, plus log lines at shutdown
that mixed.py reads back: the page cache's hits and misses, and the SQLite writer's lock
wait when the database can tell it.

    .venv/bin/python benchmarks/serve_www.py --config bench.yaml --port 8080

The counts live in the server process: www/cache.py's QueryCache, and the database's
`writer_summary()` (one line such as "Writer: 1,234 transactions, lock wait p50 0.4 ms,
p99 3.1 ms"; only a database that measures its writer has the method, so it is looked up
with getattr and its absence is no error). The app logs neither by itself, so this script
adds on_cleanup handlers to the app that `python -m www` builds, and changes nothing
else: same arguments, same event loop, same shutdown (SIGTERM runs the cleanup, hence the
lines). They are logged at INFO by the ``www.cache`` logger alone, so the bench's log
level (WARNING) stays as it is.
"""

import logging
import sys

import www.__main__ as cli  # www is installed in .venv (pip install -e .)
from www.app import create_app
from www.keys import DB, QUERIES

log = logging.getLogger("www.cache")


def create_app_reporting(*args, **kwargs):
    app = create_app(*args, **kwargs)
    app.on_cleanup.append(app[QUERIES].log_summary)
    writer_summary = getattr(app[DB], "writer_summary", None)
    if writer_summary is not None:

        async def log_writer(_app) -> None:
            log.info(writer_summary())

        app.on_cleanup.append(log_writer)
    return app


if __name__ == "__main__":
    log.setLevel(logging.INFO)
    cli.create_app = create_app_reporting  # the one name main() looks up to build the app
    sys.exit(cli.main())
