"""Files in the JSON API (mounted at /api/, see www/api.py): streamed uploads, their
metadata, downloads and deletion, for their owner (or an admin), as the /files pages.

An upload is multipart/form-data with the file in its `file` part, streamed to disk as
the page's (www/files/receiving.py): never held whole in memory, `uploads.max_size` and
the user's quota enforced while the bytes arrive.
"""

import asyncio

from aiohttp import web
from pydantic import Field

from ..api import operation, read_query, reply
from ..auth import check_owner, login_required, may_edit
from ..csrf import streams_multipart
from ..keys import DB, MULTIPART, USER
from ..ratelimits import hit
from ..routing import MAX_PAGE, get_or_404, url_for
from ..schemas import Invalid, Schema
from . import actions
from .models import File
from .schemas import FileOut, FilePage
from .transfer import FIELD, receive_file, serve_file

MULTIPART_TYPE = "multipart/form-data"


class FilesQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, title="Page", description="The page, from 1.")
    per_page: int = Field(50, ge=1, le=100, title="Per page", description="Files a page.")


async def _own_file(request: web.Request) -> File:
    """The file of the {id}: 404 if missing, 403 unless the owner or an admin."""
    file = await get_or_404(File, request)
    if not may_edit(request[USER], file.user_id):
        raise web.HTTPForbidden(text="Only the owner of this file can see it.")
    return file


@operation(query=FilesQuery, response=FilePage)
@login_required
async def list_files(request: web.Request) -> web.Response:
    """A page of the user's files, newest first."""
    query = read_query(request, FilesQuery)
    files = File.select(request.config_dict[DB]).where(user_id=request[USER].id)
    page = await files.order_by("-created_at", "-id").paginate(query.page, query.per_page)
    items = [FileOut.of(file) for file in page.items]
    return reply(FilePage(items=items, page=query.page, per_page=query.per_page, total=page.total))


@operation(upload=FIELD, response=FileOut, status=201, errors=(400, 408, 413, 415, 422, 507))
@login_required
@streams_multipart
async def upload_file(request: web.Request) -> web.Response:
    """Upload a file: multipart/form-data, the file in its `file` part (any other part
    before it is skipped). 415 for another body, 413 over uploads.max_size or the user's
    quota, 422 without a file, 408 when the client stalls, 507 when the disk fails: none
    leaves anything behind. 429 (with Retry-After) past rate_limits.upload_user."""
    if MULTIPART not in request and request.content_type != MULTIPART_TYPE:
        raise web.HTTPUnsupportedMediaType(text="Send the file as multipart/form-data.")
    await hit(request, "upload_user", str(request[USER].id))
    stored = await receive_file(request)
    if stored is None:
        raise Invalid({FIELD: "Choose a file to upload."})
    name, received = stored
    # Shielded as the page's upload: the bytes on disk and the row stay together.
    file = await asyncio.shield(
        actions.record_upload(request.config_dict, request[USER], name, received)
    )
    location = url_for(request, "api.files.detail", id=file.id)
    return reply(FileOut.of(file), status=201, headers={"Location": location})


@operation(response=FileOut)
@login_required
async def get_file(request: web.Request) -> web.Response:
    """A file's name, size, type and SHA-256 (its owner or an admin)."""
    return reply(FileOut.of(await _own_file(request)))


@operation(download=True)
@login_required
async def download_file(request: web.Request) -> web.StreamResponse:
    """A file's bytes, as uploaded (its owner or an admin), as application/octet-stream:
    its sniffed type is in its metadata. Ranges are answered (206) for resuming."""
    file = await _own_file(request)
    return await serve_file(request, file, "attachment", "application/octet-stream")


@operation()
@login_required
async def delete_file(request: web.Request) -> web.Response:
    """Delete a file (its owner or an admin)."""
    file = await get_or_404(File, request)
    check_owner(request, file.user_id)
    await actions.delete_file(request.config_dict, file)
    return reply(None)
