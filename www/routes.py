"""The application's URLs: every resource's pages (www/resources.py), the admin, /healthz and static
files. The API's routes are mounted under /api/ by www/api.py. `python -m www routes`
lists them all."""

from aiohttp import web

from . import apidocs, health, resources
from .admin import routes as admin_routes
from .templating import STATIC_DIR


def setup_routes(app: web.Application) -> None:
    for module in resources.modules("routes"):
        app.add_routes(module.PAGES)
    app.add_routes(admin_routes.PAGES)  # /admin/: every resource's models (www/admin/)
    app.add_routes([web.get("/healthz", health.healthz, name="health")])
    app.add_routes(apidocs.ROUTES)  # /api/docs: the API's reference page (HTML, not the API)
    app.router.add_static("/static/", STATIC_DIR, name="static")
