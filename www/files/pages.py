"""File uploads: the /files page, streamed uploads, downloads, inline images, deletion.

Files live in `uploads.directory` under random names and are only ever served by these
views (never as static files), with a sniffed content type from a short allow-list and
`X-Content-Type-Options: nosniff`, so an uploaded .html or .svg can never run as a page.
Checks run in the contract's order: CSRF (middleware), login, 404, 403, 400.

An upload's limits, each a setting of `uploads`: its size (`max_size`), its owner's quota
(`quota_per_user`), a client that stalls (`read_timeout`); a full or failing disk is a
507. Public images are named by an unguessable id and revalidated after `image_max_age`.
"""

import asyncio
import functools
import logging

from aiohttp import web

from .. import fileinfo
from ..auth import check_owner, flash, login_required, may_edit
from ..csrf import streams_multipart
from ..keys import CONFIG, DB, USER
from ..ratelimits import hit
from ..routing import get_or_404, page_number, see_other, url_for
from ..templating import render
from . import actions
from .models import File
from .transfer import receive_file, serve_file

log = logging.getLogger(__name__)

PER_PAGE = 50
# Kept `image_max_age` seconds, then asked again (a 304 when unchanged): a deleted image
# stops being served from caches that soon.
IMAGE_CACHE = "public, max-age={}, must-revalidate"


def image_markdown(request: web.Request, file: File) -> str:
    """The Markdown that shows this image in a post: ![name](/files/<public_id>/image)."""
    alt = "".join(ch for ch in file.original_name if ch not in "[]\\")
    return f"![{alt}]({url_for(request, 'files.image', public_id=file.public_id)})"


async def _render_page(request: web.Request, error: str | None = None) -> web.Response:
    number = page_number(request)
    db, settings = request.config_dict[DB], request.config_dict[CONFIG].uploads
    query = File.select(db).where(user_id=request[USER].id)
    page = await query.order_by("-created_at", "-id").paginate(number, PER_PAGE)
    if number > 1 and not page.items:
        raise web.HTTPNotFound(text="There is no such page.")
    context = {
        "page": page,
        "files": page.items,
        "errors": {"file": error} if error else {},
        "max_size": fileinfo.human_size(settings.max_size),
        "quota": fileinfo.human_size(settings.quota_per_user),
        "used": fileinfo.human_size(await actions.space_used(db, request[USER])),
        "human_size": fileinfo.human_size,
        "image_types": fileinfo.IMAGE_TYPES,
        "image_markdown": functools.partial(image_markdown, request),
    }
    return render(request, "files/list.html", context, status=400 if error else 200)


@login_required
async def files_page(request: web.Request) -> web.Response:
    """The user's files, newest first, and the upload form. 404 for a bad `page`."""
    return await _render_page(request)


@login_required
@streams_multipart
async def upload(request: web.Request) -> web.Response:
    """Store the `file` part of a multipart form and 303 to /files.

    The CSRF middleware has read the first part (the token). Raises 413 over
    `uploads.max_size` or the user's quota, 400 for a malformed body, 408 when the client
    stalls, 503 when the server shuts down, 507 when the disk fails: each leaves no file
    and no row. Answers 400 with the page again when there is no file. An empty file is
    accepted. 429 past the user's rate_limits.upload_user, before a byte is stored.
    """
    await hit(request, "upload_user", str(request[USER].id))
    stored = await receive_file(request)
    if stored is None:
        return await _render_page(request, error="Choose a file to upload.")
    name, received = stored
    # Shielded: once the bytes are on disk, a cancellation (shutdown) must not split the
    # file from its row; record_upload finishes, or removes the file.
    await asyncio.shield(actions.record_upload(request.config_dict, request[USER], name, received))
    flash(request, "File uploaded.", "success")
    return see_other(url_for(request, "files.list"))


@login_required
async def download(request: web.Request) -> web.FileResponse:
    """The file's bytes as an attachment. 404 if missing, 403 unless the owner or an admin."""
    file = await get_or_404(File, request)
    if not may_edit(request[USER], file.user_id):
        raise web.HTTPForbidden(text="Only the owner of this file can download it.")
    return await serve_file(request, file, "attachment")


async def image(request: web.Request) -> web.FileResponse:
    """An uploaded image, inline and public, for posts: ![alt](/files/<public_id>/image).

    404 if the file is missing or is not a PNG, JPEG, GIF or WebP image. Caches keep it
    `uploads.image_max_age` seconds, then revalidate it (ETag and Last-Modified, from
    aiohttp's FileResponse): 304 while it exists, 404 once deleted.
    """
    public_id = request.match_info["public_id"]
    file = await File.select(request.config_dict[DB]).where(public_id=public_id).first()
    if file is None or file.content_type not in fileinfo.IMAGE_TYPES:
        raise web.HTTPNotFound()
    response = await serve_file(request, file, "inline")
    max_age = request.config_dict[CONFIG].uploads.image_max_age
    response.headers["Cache-Control"] = IMAGE_CACHE.format(max_age)
    return response


@login_required
async def delete_file(request: web.Request) -> web.Response:
    """Delete the row, then the file on disk, and 303 to /files. 404 if missing, 403
    unless the owner or an admin."""
    file = await get_or_404(File, request)
    check_owner(request, file.user_id)
    await actions.delete_file(request.config_dict, file)
    flash(request, "The file was deleted.", "success")
    return see_other(url_for(request, "files.list"))
