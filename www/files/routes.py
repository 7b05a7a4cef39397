"""The URLs of files, each with a name: url("files.download", id=3).

Public images are named by the file's unguessable `public_id` (new_public_id(), or 32 hex
digits for files uploaded before it existed), never by the sequential row id.
"""

from aiohttp import web

from ..routing import ID
from . import api, pages

PUBLIC_ID = r"{public_id:[A-Za-z0-9_-]{1,64}}"  # an old numeric id is a 404

PAGES = [
    web.get("/files", pages.files_page, name="files.list"),
    web.post("/files", pages.upload, name="files.list"),
    web.get(f"/files/{ID}", pages.download, name="files.download"),
    web.get(f"/files/{PUBLIC_ID}/image", pages.image, name="files.image"),
    web.post(f"/files/{ID}/delete", pages.delete_file, name="files.delete"),
]

API = [  # under /api/ (www/api.py)
    web.get("/files", api.list_files, name="api.files.list"),
    web.post("/files", api.upload_file, name="api.files.list"),
    web.get(f"/files/{ID}", api.get_file, name="api.files.detail"),
    web.delete(f"/files/{ID}", api.delete_file, name="api.files.detail"),
    web.get(f"/files/{ID}/content", api.download_file, name="api.files.content"),
]
