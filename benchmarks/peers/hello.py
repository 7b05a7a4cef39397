"""The framework's limit: raw aiohttp answering "Hello, world!" on one route.

    python benchmarks/peers/hello.py --port 8002

No templates, no database, no middleware; uvloop as in the scaffold's `python -m www`.
"""

import argparse
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from www.__main__ import new_event_loop


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world!")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/", hello)
    loop = new_event_loop()  # uvloop when installed, as `python -m www` does
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
