"""The files table: one row per upload, the bytes on disk under a random name."""

import secrets

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


def new_public_id() -> str:
    """128 random bits, URL-safe (22 characters): an image's public URL cannot be guessed
    from another's, unlike the sequential row id."""
    return secrets.token_urlsafe(16)


class File(Model):
    """An upload, kept on disk under ``stored_name`` (random) in the uploads folder.

    ``public_id`` names it in its public URL, /files/<public_id>/image (an image only);
    its owner's pages use the row id. Its default is called once a row on create(), but
    once for a whole batch in insert_many(): give each row its own there.
    """

    user_id = ForeignKey(User)
    original_name = TextField(max_length=255)
    stored_name = TextField(max_length=255, unique=True)
    public_id = TextField(max_length=64, unique=True, default=new_public_id)
    content_type = TextField(max_length=255)
    size = IntegerField()
    sha256 = TextField(max_length=64)
    created_at = DateTimeField(default=utcnow)
