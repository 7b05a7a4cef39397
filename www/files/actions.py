"""Recording and deleting uploads: the row in the database and the bytes on disk; the
per-user quota; the uploads folder at start-up and shutdown."""

import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import fileinfo, uploads
from ..accounts.models import User
from ..keys import CONFIG, DB, FILE_IO, UPLOADS
from ..settings import Settings
from .models import File

App = Mapping[Any, Any]  # an Application, or a request's config_dict
log = logging.getLogger(__name__)


def uploads_dir(app: App) -> Path:
    return Settings.resolve(app[CONFIG].uploads.directory)


SPACE_USED = {  # by dialect: the ORM has no aggregates
    "sqlite": "SELECT COALESCE(SUM(size), 0) FROM files WHERE user_id = ?",
    "postgresql": "SELECT COALESCE(SUM(size), 0) FROM files WHERE user_id = $1",
}
LOCK_USER = "SELECT 1 FROM users WHERE id = $1 FOR UPDATE"  # PostgreSQL


async def space_used(db: Any, owner: User) -> int:
    """The bytes `owner`'s files add up to."""
    row = await db.fetchone(SPACE_USED[db.dialect.name], [owner.id])
    return int(row[0])


def over_quota(app: App) -> web.HTTPRequestEntityTooLarge:
    """The 413 of an upload that would take its owner past `uploads.quota_per_user`."""
    quota = app[CONFIG].uploads.quota_per_user
    return web.HTTPRequestEntityTooLarge(
        max_size=quota,
        actual_size=quota + 1,
        text=(
            f"Your files would exceed your {fileinfo.human_size(quota)} quota: delete some first."
        ),
    )


async def _lock_owner(tx: Any, owner: User) -> None:
    """PostgreSQL: hold the owner's row until the transaction ends, so that the owner's
    concurrent uploads are checked against the quota one after the other. (SQLite's
    writes are serialised already: BEGIN IMMEDIATE, one writer.)"""
    if tx.dialect.name == "postgresql":
        await tx.execute(LOCK_USER, [owner.id])


async def record_upload(app: App, owner: User, name: str, received: uploads.Received) -> File:
    """Insert the row for a stored file, or remove the file if that fails.

    Raises 413 (and removes the file) when it would take the owner past their quota: the
    check is made again here, in the transaction that inserts, since uploads running side
    by side each passed the check made before they began."""
    try:
        async with app[DB].transaction() as tx:
            await _lock_owner(tx, owner)
            used = await space_used(tx, owner)
            if used + received.size > app[CONFIG].uploads.quota_per_user:
                raise over_quota(app)
            return await File.create(
                tx,
                user_id=owner.id,
                original_name=name,
                stored_name=received.path.name,
                content_type=received.content_type,
                size=received.size,
                sha256=received.sha256,
            )
    except BaseException:
        await uploads.remove(received.path, executor=app[FILE_IO])
        raise


async def delete_file(app: App, file: File) -> None:
    """Delete the row, then the bytes on disk."""
    await file.delete(app[DB])
    await uploads.remove(uploads_dir(app) / file.stored_name, executor=app[FILE_IO])


async def uploads_ctx(app: web.Application) -> AsyncIterator[None]:
    """At start-up: the uploads folder made, and the partial files that a crash (kill -9)
    or a killed worker left in it swept away, if older than `uploads.read_timeout` (a
    younger one may be an upload another worker is receiving)."""
    directory, settings = uploads_dir(app), app[CONFIG].uploads
    try:
        io = app[FILE_IO]
        await uploads.in_thread(io, lambda: directory.mkdir(parents=True, exist_ok=True))
        swept = await uploads.in_thread(
            io, uploads.sweep_partial_files, directory, settings.read_timeout
        )
    except OSError as exc:  # the app can serve without; /healthz reports the folder
        log.error("Could not prepare the uploads folder %s: %s", directory, exc)
    else:
        if swept:
            log.warning(
                "Removed %d partial upload(s) left by an interrupted server in %s",
                len(swept),
                directory,
            )
    yield


async def end_uploads(app: web.Application) -> None:
    """on_shutdown: aiohttp reads no more request bodies from here on, so every upload
    still arriving ends now, with 503 and its partial file removed, rather than after
    `server.shutdown_timeout` seconds of waiting for bytes that cannot come."""
    app[UPLOADS].end_all()
