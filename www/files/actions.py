"""Recording and deleting uploads: the row in the database and the bytes on disk."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import uploads
from ..accounts.models import User
from ..keys import CONFIG, DB, FILE_IO
from ..settings import Settings
from .models import File

App = Mapping[Any, Any]  # an Application, or a request's config_dict


def uploads_dir(app: App) -> Path:
    return Settings.resolve(app[CONFIG].uploads.directory)


async def record_upload(app: App, owner: User, name: str, received: uploads.Received) -> File:
    """Insert the row for a stored file, or remove the file if that fails."""
    try:
        return await File.create(
            app[DB],
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
