"""Everything that lives on the application or a request, under typed keys.

aiohttp warns about plain string keys (NotAppKeyWarning); typed keys also let a type
checker know that `app[DB]` is a database. Views read them through
`request.config_dict[KEY]`, which also works in the API sub-application.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp_session import Session
from multidict import MultiDictProxy

from .accounts.models import ApiToken, User
from .cache import QueryCache
from .db import BaseDatabase
from .executors import BoundedExecutor
from .limiter import RateLimits
from .mail import Mailer
from .markdown import MarkdownRenderer
from .pubsub import PubSub
from .ratelog import RateLimitedLog
from .responses import ResponseCache
from .settings import Settings
from .uploads import InProgress

# On the application
CONFIG = web.AppKey("config", Settings)
DB = web.AppKey("db", BaseDatabase)  # SQLite or PostgreSQL (www/db/)
QUERIES = web.AppKey("queries", QueryCache)  # results shared by every visitor (www/cache.py)
# Whole responses to anonymous GETs (www/responses.py).
RESPONSES = web.AppKey("responses", ResponseCache)
URLS = web.AppKey("urls", Callable[..., str])  # route name -> path (www/routing.py)
STATIC_URLS = web.AppKey("static_urls", dict[str, str])
PUBSUB = web.AppKey("pubsub", PubSub)  # the broker of live comments (www/pubsub.py)
MARKDOWN = web.AppKey("markdown", MarkdownRenderer)  # renders off the loop (www/markdown.py)
# Open WebSockets, closed with 1001 (going away) when the server shuts down.
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
# How errors are answered for the routes of an application: HTML pages, or JSON (the API).
ERRORS = web.AppKey("errors", Callable[..., web.Response])
API = web.AppKey("api", web.Application)  # the JSON API, mounted at /api (www/api.py)
OPENAPI = web.AppKey("openapi", bytes)  # the API's OpenAPI document, as served
MIGRATIONS = web.AppKey("migrations", list)  # migrations/, loaded at start (www/migrate/)
# Thread pools, made at start-up (www/executors.py): argon2 hashing, bounded; file I/O.
HASHING = web.AppKey("hashing", BoundedExecutor)
FILE_IO = web.AppKey("file_io", ThreadPoolExecutor)
# Log lines for limits being reached (connections, sockets, queues), one a minute per kind.
LIMITS_LOG = web.AppKey("limits_log", RateLimitedLog)
# How often each thing may be tried (rate_limits), counted in memory or Redis (www/limiter.py).
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
# The uploads being received, ended at once (503) when the server shuts down.
UPLOADS = web.AppKey("uploads", InProgress)
# Mails, queued and sent in the background (www/mail.py).
MAILER = web.AppKey("mailer", Mailer)

# On each request
SESSION = web.RequestKey("session", Session)
USER = web.RequestKey("user", User | None)
# The API token that authenticated the request (Authorization: Bearer, under /api/ only);
# such a request has no session and skips the CSRF check (www/auth.py, www/csrf.py).
API_TOKEN = web.RequestKey("api_token", ApiToken)
# The submitted form, once read (by the CSRF check, then the view): www/bodies.py.
FORM = web.RequestKey("form", MultiDictProxy)
# The multipart body, when the CSRF check already read its first part (the token).
MULTIPART = web.RequestKey("multipart", MultipartReader | BodyPartReader)
# On the request aiohttp made: its clone with the client's address, scheme and host, as a
# trusted proxy described them (www/proxy.py), for the access log and response hooks.
FORWARDED = web.RequestKey("forwarded", web.BaseRequest)
