"""The URLs of files, each with a name: url("files.download", id=3)."""

from aiohttp import web

from ..routing import ID
from . import pages

PAGES = [
    web.get("/files", pages.files_page, name="files.list"),
    web.post("/files", pages.upload, name="files.list"),
    web.get(f"/files/{ID}", pages.download, name="files.download"),
    web.get(f"/files/{ID}/image", pages.image, name="files.image"),
    web.post(f"/files/{ID}/delete", pages.delete_file, name="files.delete"),
]
