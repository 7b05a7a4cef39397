"""Everything that lives on the application or a request, under typed keys.

aiohttp warns about plain string keys (NotAppKeyWarning); typed keys also let a type
checker know that `app[DB]` is a Database.
"""

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp_session import Session

from .cache import QueryCache
from .db import Database
from .models import User
from .pubsub import InProcessPubSub
from .settings import Settings

# On the application
CONFIG = web.AppKey("config", Settings)
DB = web.AppKey("db", Database)
QUERIES = web.AppKey("queries", QueryCache)  # results shared by every visitor (www/cache.py)
STATIC_URLS = web.AppKey("static_urls", dict[str, str])
PUBSUB = web.AppKey("pubsub", InProcessPubSub)
# Open WebSockets, closed with 1001 (going away) when the server shuts down.
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])

# On each request
SESSION = web.RequestKey("session", Session)
USER = web.RequestKey("user", User | None)
# The multipart body, when the CSRF check already read its first part (the token).
MULTIPART = web.RequestKey("multipart", MultipartReader | BodyPartReader)
