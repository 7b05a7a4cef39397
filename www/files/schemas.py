"""The JSON shapes of files in the API (uploads are multipart, so there is no input schema)."""

from typing import Self

from ..schemas import Schema, Time
from .models import File


class FileOut(Schema):
    """An uploaded file: its name as uploaded, its size in bytes, the type sniffed from its
    first bytes and its SHA-256 (hex), to check a download against."""

    id: int
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: Time

    @classmethod
    def of(cls, file: File) -> Self:
        return cls(
            id=file.id,
            name=file.original_name,
            size=file.size,
            content_type=file.content_type,
            sha256=file.sha256,
            created_at=file.created_at,
        )


class FilePage(Schema):
    """A page of the user's files, newest first; a page past the end has no items."""

    items: list[FileOut]
    page: int
    per_page: int
    total: int
