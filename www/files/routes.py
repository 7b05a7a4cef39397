"""The URLs of files, each with a name: url("files.download", id=3).

Public images are named by the file's unguessable `public_id` (new_public_id(), or 32 hex
digits for files uploaded before it existed), never by the sequential row id.
"""

from aiohttp import web

from ..routing import ID
from . import pages

PUBLIC_ID = r"{public_id:[A-Za-z0-9_-]{1,64}}"  # an old numeric id is a 404

PAGES = [
    web.get("/files", pages.files_page, name="files.list"),
    web.post("/files", pages.upload, name="files.list"),
    web.get(f"/files/{ID}", pages.download, name="files.download"),
    web.get(f"/files/{PUBLIC_ID}/image", pages.image, name="files.image"),
    web.post(f"/files/{ID}/delete", pages.delete_file, name="files.delete"),
]
