"""The application factory: `create_app(config)` wires everything in a fixed order."""

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import auth, templating
from .cache import QueryCache
from .csrf import csrf_middleware
from .db import Database
from .keys import CONFIG, DB, PUBSUB, QUERIES, SOCKETS
from .middlewares import error_middleware, security_headers
from .pubsub import InProcessPubSub
from .routes import setup_routes
from .settings import PROJECT_ROOT, Settings, load_settings
from .views import live


def create_app(config: Settings | None = None) -> web.Application:
    """Build the application; `config` defaults to load_settings() (files and WWW_* vars)."""
    config = config or load_settings()
    configure_logging(config)
    # Forms are small; uploads are streamed and limited by uploads.max_size instead.
    app = web.Application(middlewares=[error_middleware], client_max_size=2 * 1024 * 1024)
    app[CONFIG] = config  # 1. settings
    app[DB] = Database.from_url(  # 2. database, opened at start-up, closed at cleanup
        config.db.url,
        PROJECT_ROOT,
        readers=config.db.readers,
        busy_timeout_ms=config.db.busy_timeout_ms,
    )
    app.cleanup_ctx.append(database_ctx)
    app[QUERIES] = QueryCache(app[DB])
    app[PUBSUB] = InProcessPubSub()  # 3. comment fan-out, and the sockets listening to it
    app[SOCKETS] = set()
    app.on_shutdown.append(live.close_sockets)
    templating.setup(app, auto_reload=config.templates.auto_reload)  # 4. templates
    auth.setup(app, config)  # 5. sessions, then the current user on each request
    app.middlewares.append(csrf_middleware)  # 6. CSRF check of unsafe requests
    setup_routes(app)  # 7. routes and static files
    app.on_response_prepare.append(security_headers)  # 8. headers on every response
    return app


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[DB].open()
    yield
    await app[DB].close()


def configure_logging(config: Settings) -> None:
    """Log to stderr at the configured level; leaves a host's own set-up alone (pytest...)."""
    logging.basicConfig(
        level=config.logging.level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # aiosqlite logs every statement with its parameters (password hashes...) at DEBUG.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)


async def init_func(argv: list[str] | None = None) -> web.Application:
    """Entry point for `python -m aiohttp.web -H 127.0.0.1 -P 8080 www.app:init_func`."""
    return create_app()
