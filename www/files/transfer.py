"""Files in and out over HTTP, for the /files pages and the API alike: receiving the
`file` part of a streamed multipart body (stored within the size limit and the user's
quota), and serving stored bytes (never as a page: nosniff, a sandboxing CSP)."""

import logging

from aiohttp import BodyPartReader, hdrs, web

from .. import bodies, fileinfo, uploads
from ..keys import CONFIG, DB, FILE_IO, MULTIPART, UPLOADS, USER
from . import actions
from .models import File

log = logging.getLogger(__name__)

FIELD = "file"
MAX_SKIPPED_PARTS = 10  # other fields tolerated before the file part
# Extra safety should a browser ever open a served file as a document.
FILE_CSP = "default-src 'none'; sandbox"


def _names(part: BodyPartReader) -> tuple[str | None, str | None]:
    """The part's field name and file name. A `filename*=` whose bytes are not in the
    charset it names, which aiohttp drops (with a BadContentDispositionParam warning), is
    decoded with replacement characters, and the name cleaned later like any other."""
    name, filename = part.name, part.filename
    if filename is None:
        filename = fileinfo.undecoded_filename(part.headers.get(hdrs.CONTENT_DISPOSITION, ""))
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


async def receive_file(request: web.Request) -> tuple[str, uploads.Received] | None:
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
    return fileinfo.clean_filename(filename), received


async def serve_file(
    request: web.Request, file: File, disposition: str, content_type: str | None = None
) -> web.FileResponse:
    """The file's bytes (404 if they are missing from disk), `attachment` or `inline`, as
    its sniffed type unless `content_type` says otherwise."""
    path = actions.uploads_dir(request.config_dict) / file.stored_name
    if not await uploads.in_thread(request.config_dict[FILE_IO], path.is_file):
        log.warning("File %s is in the database but not on disk: %s", file.id, path)
        raise web.HTTPNotFound()
    headers = {
        "Content-Type": content_type or file.content_type,
        "Content-Disposition": fileinfo.content_disposition(disposition, file.original_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }
    return web.FileResponse(path, headers=headers)
