"""The API reference, /api/docs: Swagger UI 5 over /api/openapi.json, where a developer
reads every operation and tries it out with an API token ("Authorize", bearerAuth).

Swagger UI's script and stylesheet are the files of the `swagger-ui-py` package, pinned in
requirements.txt and installed by `make install`: no CDN at run time, and no megabytes of
vendored JavaScript in the repository. Only the two files the page needs are served
(`ASSETS`), not the package's other pages. The page itself is a template with no inline
script: static/js/api-docs.js starts Swagger UI, so the app's Content-Security-Policy
(www/middlewares.py) applies unchanged.

The page lives in the main application, not in the /api sub-application: it is HTML (its
errors are pages), it is not an operation of the API (so not in the OpenAPI document), and
a bearer token never opens a page.
"""

from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from aiohttp import web

from .routing import url_for
from .templating import render

PACKAGE = "swagger-ui-py"


def _package_folder() -> Path:
    """The folder of Swagger UI's built files in the package, found without importing it
    (its __init__ loads adapters for other frameworks)."""
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{PACKAGE} is not installed: run make install (requirements.txt)")
    return Path(spec.origin).parent / "static"


SWAGGER_UI = _package_folder()
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
# The URLs change with the package's version, so browsers may keep the files for a year.
VERSION = version(PACKAGE)
IMMUTABLE = "public, max-age=31536000, immutable"


async def page(request: web.Request) -> web.Response:
    """The API reference page."""
    assets = {
        file.rsplit(".", 1)[1]: url_for(request, "api.docs.asset", {"v": VERSION}, file=file)
        for file in ASSETS
    }
    context = {"assets": assets, "document": url_for(request, "api.openapi")}
    return render(request, "api/docs.html", context)


async def asset(request: web.Request) -> web.FileResponse:
    """One of Swagger UI's files (ASSETS), from the installed package; 404 for any other."""
    file = request.match_info["file"]
    if file not in ASSETS:
        raise web.HTTPNotFound()
    response = web.FileResponse(SWAGGER_UI / file, headers={"Cache-Control": IMMUTABLE})
    response.content_type = ASSETS[file]
    return response


ROUTES = [
    web.get("/api/docs", page, name="api.docs"),
    web.get("/static/swagger-ui/{file}", asset, name="api.docs.asset"),
]
