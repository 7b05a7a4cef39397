"""The health check used by load balancers and the test suite."""

from aiohttp import web

from .keys import DB


async def healthz(request: web.Request) -> web.Response:
    """200 {"status": "ok"} when the database answers, else 503 {"status": "unavailable"}."""
    if await request.config_dict[DB].ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable"}, status=503)
