"""The health check used by load balancers and the test suite."""

from aiohttp import web

from .keys import DB, MIGRATIONS
from .migrate.check import schema_problem
from .models import MODELS


async def healthz(request: web.Request) -> web.Response:
    """200 {"status": "ok"} when the database answers and has had every migration, else 503
    {"status": "unavailable"}: a server on an unready schema answers 500 to every page."""
    db = request.config_dict[DB]
    migrations = request.config_dict[MIGRATIONS]
    if await db.ping() and not await schema_problem(db, migrations, MODELS, thorough=False):
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable"}, status=503)
