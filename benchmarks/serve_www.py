"""`python -m www` as the mixed load runs it: the same server, plus one log line at
shutdown with its page cache's hits and misses, which mixed.py reads back.

    .venv/bin/python benchmarks/serve_www.py --config bench.yaml --port 8080

The counts live in the server process (www/cache.py's QueryCache); the app logs them
when it is told to, through QueryCache.log_summary as an on_cleanup handler. The app
does not register that handler itself, so this script adds it to the app that
`python -m www` builds, and changes nothing else: same arguments, same event loop, same
shutdown (SIGTERM runs the cleanup, hence the line). The line is logged at INFO by the
``www.cache`` logger alone, so the bench's log level (WARNING) stays as it is.
"""

import logging
import sys

import www.__main__ as cli  # www is installed in .venv (pip install -e .)
from www.app import create_app
from www.keys import QUERIES


def create_app_reporting(*args, **kwargs):
    app = create_app(*args, **kwargs)
    app.on_cleanup.append(app[QUERIES].log_summary)
    return app


if __name__ == "__main__":
    logging.getLogger("www.cache").setLevel(logging.INFO)
    cli.create_app = create_app_reporting  # the one name main() looks up to build the app
    sys.exit(cli.main())
