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

from aiohttp import BodyPartReader, hdrs, web

from .. import bodies, uploads
from ..auth import check_owner, flash, login_required, may_edit
from ..csrf import streams_multipart
from ..keys import CONFIG, DB, FILE_IO, MULTIPART, UPLOADS, USER
from ..ratelimits import hit
from ..routing import get_or_404, page_number, url_for
from ..templating import render
from . import actions
from .models import File

log = logging.getLogger(__name__)

PER_PAGE = 50
FIELD = "file"
MAX_SKIPPED_PARTS = 10  # other fields tolerated before the file part
# Kept `image_max_age` seconds, then asked again (a 304 when unchanged): a deleted image
# stops being served from caches that soon.
IMAGE_CACHE = "public, max-age={}, must-revalidate"
# Extra safety should a browser ever open a served file as a document.
FILE_CSP = "default-src 'none'; sandbox"


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
        "max_size": uploads.human_size(settings.max_size),
        "quota": uploads.human_size(settings.quota_per_user),
        "used": uploads.human_size(await actions.space_used(db, request[USER])),
        "human_size": uploads.human_size,
        "image_types": uploads.IMAGE_TYPES,
        "image_markdown": functools.partial(image_markdown, request),
    }
    return render(request, "files/list.html", context, status=400 if error else 200)


@login_required
async def files_page(request: web.Request) -> web.Response:
    """The user's files, newest first, and the upload form. 404 for a bad `page`."""
    return await _render_page(request)


def _names(part: BodyPartReader) -> tuple[str | None, str | None]:
    """The part's field name and file name. A `filename*=` whose bytes are not in the
    charset it names, which aiohttp drops (with a BadContentDispositionParam warning), is
    decoded with replacement characters, and the name cleaned later like any other."""
    name, filename = part.name, part.filename
    if filename is None:
        filename = uploads.undecoded_filename(part.headers.get(hdrs.CONTENT_DISPOSITION, ""))
    return name, filename


async def _file_part(request: web.Request) -> tuple[BodyPartReader, str] | None:
    """The `file` part of the multipart body and its file name, or None when there is
    none (or no file in it: a browser sends an empty file name when none was chosen).
    Raises 400 for a body that is not multipart, 408 if the client stalls."""
    reader = request.get(MULTIPART)
    if reader is None:  # the token came in the X-CSRF-Token header
        if request.content_type != "multipart/form-data":
            raise web.HTTPBadRequest(text="Send the file as multipart/form-data.")
        reader = await request.multipart()
    timeout = request.config_dict[CONFIG].uploads.read_timeout
    in_progress = request.config_dict[UPLOADS]
    for _ in range(MAX_SKIPPED_PARTS):
        part = await uploads.read_or_give_up(reader.next, timeout, in_progress)
        if part is None:
            return None
        if isinstance(part, BodyPartReader):
            name, filename = _names(part)
            if name == FIELD:
                return (part, filename) if filename else None
        # Another field: read past it without keeping it.
        await uploads.read_or_give_up(part.release, timeout, in_progress)
    return None


async def _receive_file(request: web.Request) -> tuple[str, uploads.Received] | None:
    """The cleaned name and the stored bytes of the `file` part; None if there is none.

    Raises 413 over `uploads.max_size` or past the user's quota (nothing is kept), 400 for
    a malformed body, 408 when the client stalls, 507 when the disk fails.
    """
    app, settings = request.config_dict, request.config_dict[CONFIG].uploads
    # Checked before and while the bytes arrive (to stop early), and again when the row
    # is recorded (actions.record_upload), since uploads may run side by side.
    room = settings.quota_per_user - await actions.space_used(app[DB], request[USER])
    limit = min(settings.max_size, max(room, 0))
    try:
        # What aiohttp raises for a broken body, its framing or a part: a 400 (bodies.py).
        with bodies.reading(request):
            found = await _file_part(request)
            if found is None:
                return None
            part, filename = found
            directory = actions.uploads_dir(app)
            received = await uploads.receive(
                part, directory, limit, settings.read_timeout, app[UPLOADS], executor=app[FILE_IO]
            )
    except web.HTTPRequestEntityTooLarge:
        if limit < settings.max_size:
            raise actions.over_quota(app) from None
        raise
    return uploads.clean_filename(filename), received


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
    stored = await _receive_file(request)
    if stored is None:
        return await _render_page(request, error="Choose a file to upload.")
    name, received = stored
    # Shielded: once the bytes are on disk, a cancellation (shutdown) must not split the
    # file from its row; record_upload finishes, or removes the file.
    await asyncio.shield(actions.record_upload(request.config_dict, request[USER], name, received))
    flash(request, "File uploaded.", "success")
    raise web.HTTPSeeOther(url_for(request, "files.list"))


async def _serve(request: web.Request, file: File, disposition: str) -> web.FileResponse:
    path = actions.uploads_dir(request.config_dict) / file.stored_name
    if not await uploads.in_thread(request.config_dict[FILE_IO], path.is_file):
        log.warning("File %s is in the database but not on disk: %s", file.id, path)
        raise web.HTTPNotFound()
    headers = {
        "Content-Type": file.content_type,
        "Content-Disposition": uploads.content_disposition(disposition, file.original_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }
    return web.FileResponse(path, headers=headers)


@login_required
async def download(request: web.Request) -> web.FileResponse:
    """The file's bytes as an attachment. 404 if missing, 403 unless the owner or an admin."""
    file = await get_or_404(File, request)
    if not may_edit(request[USER], file.user_id):
        raise web.HTTPForbidden(text="Only the owner of this file can download it.")
    return await _serve(request, file, "attachment")


async def image(request: web.Request) -> web.FileResponse:
    """An uploaded image, inline and public, for posts: ![alt](/files/<public_id>/image).

    404 if the file is missing or is not a PNG, JPEG, GIF or WebP image. Caches keep it
    `uploads.image_max_age` seconds, then revalidate it (ETag and Last-Modified, from
    aiohttp's FileResponse): 304 while it exists, 404 once deleted.
    """
    public_id = request.match_info["public_id"]
    file = await File.select(request.config_dict[DB]).where(public_id=public_id).first()
    if file is None or file.content_type not in uploads.IMAGE_TYPES:
        raise web.HTTPNotFound()
    response = await _serve(request, file, "inline")
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
    raise web.HTTPSeeOther(url_for(request, "files.list"))
