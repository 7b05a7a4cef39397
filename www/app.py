"""The application factory: `create_app(config)` wires everything in a fixed order."""

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import templating
from .accesslog import AccessLog
from .api import mount_api
from .auth import user_middleware
from .brokers import broker_for
from .cache import QueryCache
from .csrf import csrf_middleware
from .db import Database
from .executors import thread_pools
from .files.actions import end_uploads, uploads_ctx
from .keys import (
    API,
    CONFIG,
    DB,
    ERRORS,
    FILE_IO,
    HASHING,
    LIMITS_LOG,
    MAILER,
    MARKDOWN,
    MIGRATIONS,
    PUBSUB,
    QUERIES,
    RATE_LIMITS,
    RESPONSES,
    SOCKETS,
    UPLOADS,
    URLS,
)
from .mail import Mailer
from .markdown import markdown_renderer
from .middlewares import caches, error_middleware, error_page, security_headers
from .migrate import check, runner
from .models import MODELS, TABLES
from .posts.live import close_sockets
from .proxy import behind_proxies
from .ratelimits import RateLimits, rate_limits_ctx
from .ratelog import RateLimitedLog
from .responses import ResponseCache
from .routes import setup_routes
from .routing import Urls
from .session_cookie import sessions
from .settings import PROJECT_ROOT, Settings, load_settings
from .uploads import InProgress


def create_app(config: Settings | None = None) -> web.Application:
    """Build the application; `config` defaults to load_settings() (files and WWW_* vars)."""
    config = config or load_settings()
    configure_logging(config)
    middlewares = [  # outermost first: each sees what the ones after it raise
        # First, so that all the rest (error pages, cookies, the CSRF Origin check,
        # redirects) sees the client's address, scheme and host that a proxy in
        # server.trusted_proxies sent in X-Forwarded-*. None when that list is empty.
        *behind_proxies(config.server.trusted_proxies),
        error_middleware,  # every error becomes a page (or JSON in the API)
        # A GET checks the caches' counters once; an anonymous one whose page is kept and
        # current is answered here, from memory: no session, no handler, no other query.
        caches,
        sessions(config),  # the encrypted session cookie
        # request[USER]: the logged-in user, or None; under /api/, a bearer token's user
        # instead (no session), or 401 for a bad token.
        user_middleware,
        csrf_middleware,  # 403 for an unsafe request without the session's token (not a bearer's)
    ]
    app = web.Application(
        middlewares=middlewares,
        # Forms are small; uploads are streamed and limited by uploads.max_size instead.
        client_max_size=2 * 1024 * 1024,
        handler_args={
            # Idle connections go after this, however the app is served (it overrides
            # run_app's 75 s and gunicorn's --keep-alive). www/connections.py adds the
            # header and body timeouts and the connection cap (python -m www, gunicorn).
            "keepalive_timeout": config.server.keepalive_timeout,
            # aiohttp logs the request it made: this class logs the client's address a
            # trusted proxy gave, and hides the secret of a reset link's path.
            "access_log_class": AccessLog,
        },
    )
    app[CONFIG] = config
    app[LIMITS_LOG] = RateLimitedLog(logging.getLogger("www.limits"))
    # The thread pools of hashing (bounded), file I/O and Markdown (bounded): their
    # threads start with their first job, and cleanup waits for the last (www/executors.py).
    app[HASHING], app[FILE_IO] = thread_pools(config, app[LIMITS_LOG])
    app[MARKDOWN] = markdown_renderer(config, app[LIMITS_LOG])  # posts' HTML, when saved
    app.cleanup_ctx.append(executors_ctx)
    # SQLite or PostgreSQL, as db.url says; opened at start-up, closed at cleanup.
    app[DB] = Database.from_url(
        config.db.url, PROJECT_ROOT, **config.db.model_dump(exclude={"url"})
    )
    app.cleanup_ctx.append(database_ctx)
    app[MIGRATIONS] = runner.load()  # and the schema they build must be the database's:
    app.cleanup_ctx.append(schema_ctx)  # no serving on a schema the models do not match
    # Page data shared by every visitor, each entry kept while the tables it read are
    # unchanged (www/cache.py, www/db/versions.py).
    app[QUERIES] = QueryCache(
        app[DB], config.cache.max_entries, config.cache.max_bytes, config.cache.data, TABLES
    )
    app[RESPONSES] = ResponseCache(
        app[QUERIES],
        config.session.cookie_name,
        config.cache.responses_max_bytes,
        enabled=config.cache.responses,
    )
    # New comments to the live sockets of every process: through Redis if redis.url is
    # set, else through the database (www/brokers/).
    app[PUBSUB] = broker_for(app[DB], config)
    app.cleanup_ctx.append(pubsub_ctx)  # after the database's: started once it is open
    app[MAILER] = Mailer(config.mail, config.site, app[FILE_IO], app[LIMITS_LOG])
    app.cleanup_ctx.append(app[MAILER].running)  # sends in the background, while the db is open
    app[SOCKETS] = set()
    app.on_shutdown.append(close_sockets)
    app[UPLOADS] = InProgress()  # the uploads being received: ended (503) at shutdown
    app.on_shutdown.append(end_uploads)
    app.cleanup_ctx.append(uploads_ctx)  # sweeps the partial files a crash left behind
    app[RATE_LIMITS] = RateLimits(config, app[LIMITS_LOG])  # in memory, or Redis if redis.url
    app.cleanup_ctx.append(rate_limits_ctx)  # last: it never fails start-up, Redis down or not
    app[ERRORS] = error_page
    setup_routes(app)  # the resources' pages, and static files
    app[API] = mount_api(app, config)  # the JSON API at /api/, with JSON errors
    app[URLS] = Urls(app)  # route name -> path, for views and templates
    templating.setup(app, auto_reload=config.templates.auto_reload)
    # On every response, errors included; HSTS over HTTPS (a trusted proxy's, if any).
    app.on_response_prepare.append(security_headers(bool(config.server.trusted_proxies)))
    return app


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[DB].open()
    yield
    await app[DB].close()


async def executors_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    # After the last request: let the running jobs end, off the loop.
    await asyncio.to_thread(app[HASHING].shutdown)
    await asyncio.to_thread(app[MARKDOWN].executor.shutdown)
    await asyncio.to_thread(app[FILE_IO].shutdown, wait=True, cancel_futures=True)


async def schema_ctx(app: web.Application) -> AsyncIterator[None]:
    try:
        await check.require_ready(app[DB], app[MIGRATIONS], MODELS)
    except BaseException:
        await app[DB].close()  # as in pubsub_ctx
        raise
    yield


async def pubsub_ctx(app: web.Application) -> AsyncIterator[None]:
    try:
        await app[PUBSUB].start()  # fails without init_db.py's table, or Redis
    except BaseException:
        # When start-up fails, aiohttp's run_app() skips the cleanup: close the database
        # here, or its connections' threads would keep the process from exiting.
        await app[DB].close()
        raise
    yield
    await app[PUBSUB].stop()


def configure_logging(config: Settings) -> None:
    """Log to stderr at the configured level; leaves a host's own set-up alone (pytest...)."""
    logging.basicConfig(
        level=config.logging.level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


async def init_func(argv: list[str] | None = None) -> web.Application:
    """Entry point for `python -m aiohttp.web -H 127.0.0.1 -P 8080 www.app:init_func`."""
    return create_app()
