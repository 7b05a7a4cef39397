"""The files table: one row per upload, the bytes on disk under a random name."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


class File(Model):
    """An upload, kept on disk under ``stored_name`` (random) in the uploads folder."""

    user_id = ForeignKey(User)
    original_name = TextField(max_length=255)
    stored_name = TextField(max_length=255, unique=True)
    content_type = TextField(max_length=255)
    size = IntegerField()
    sha256 = TextField(max_length=64)
    created_at = DateTimeField(default=utcnow)
