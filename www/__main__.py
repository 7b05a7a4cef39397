"""`python -m www [--host H] [--port P] [--config PATH]`: serve the application.
`python -m www routes [--markdown]`: list every route (name, methods, path, handler).

Stops gracefully on SIGINT/SIGTERM: in-flight requests get `server.shutdown_timeout`
seconds to finish, then cleanup closes the database. A configuration mistake exits with
status 2 and one line on stderr naming the file and the key; so does a database whose
schema does not match the models (a pending migration: `python -m www.migrate up`).
"""

import argparse
import asyncio
import contextlib
import sys

from aiohttp import web

from . import interpreter
from .app import create_app
from .connections import GuardedRunner
from .migrate.check import SchemaNotReady
from .migrate.operations import MigrationError
from .routing import route_table
from .settings import ConfigError, Settings, load_settings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m www", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command",
        nargs="?",
        choices=("serve", "routes"),
        default="serve",
        help="serve the app (the default), or list its routes",
    )
    parser.add_argument("--markdown", action="store_true", help="routes: as a Markdown table")
    parser.add_argument("--host", help="address to listen on (default: server.host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    parser.add_argument("--config", help="YAML file merged over config/default.yaml")
    return parser.parse_args(argv)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (it is, on Linux and macOS), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def format_routes(rows: list[tuple[str, str, str, str]], *, markdown: bool) -> str:
    """(name, methods, path, handler) rows as aligned columns, or a Markdown table."""
    header = ("Name", "Methods", "Path", "Handler")
    if markdown:
        lines = [header, ("---",) * 4, *((f"`{c}`" for c in row) for row in rows)]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)).rstrip()
        for row in (header, *rows)
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)
        app = create_app(settings)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except MigrationError as exc:  # a migration file that cannot be read
        print(f"migration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "routes":
        print(format_routes(route_table(app), markdown=args.markdown))
        return 0
    try:
        serve(app, settings, args)
    except SchemaNotReady as exc:
        print(f"database not ready: {exc}", file=sys.stderr)
        return 2
    return 0


def serve(app: web.Application, settings: Settings, args: argparse.Namespace) -> None:
    """web.run_app(), with the runner that limits connections (www/connections.py):
    run_app cannot be given another runner. Returns once SIGINT/SIGTERM stopped it."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, settings, args))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):  # the runner's signal handlers
        pass
    finally:
        if not main.done():  # stopped by a signal: its cleanup runs now
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve(app: web.Application, settings: Settings, args: argparse.Namespace) -> None:
    runner = GuardedRunner(
        app,
        handle_signals=True,  # SIGINT/SIGTERM raise GracefulExit, as under run_app
        access_log=web.access_logger if settings.logging.access_log else None,
        shutdown_timeout=settings.server.shutdown_timeout,
    )
    interpreter.tune_on_startup(app)  # this process serves: www/interpreter.py
    await runner.setup()  # the app's start-up: SchemaNotReady comes from here
    try:
        host = args.host or settings.server.host
        port = settings.server.port if args.port is None else args.port
        site = web.TCPSite(runner, host, port, backlog=settings.server.backlog)
        await site.start()
        print(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)", flush=True)
        await asyncio.Future()  # until a signal
    finally:
        await runner.cleanup()  # in-flight requests get server.shutdown_timeout seconds


if __name__ == "__main__":
    sys.exit(main())
