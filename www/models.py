"""The blog's tables: users, their posts (blogs), comments and uploaded files."""

from .orm import (
    BooleanField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    utcnow,
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


class User(Model):
    # Unique in any letter case: "Alice" and "alice" are the same name (ASCII letters).
    name = TextField(max_length=50, unique=True, nocase=True, normalize=str.strip)
    # Stored lower-case; NOCASE also makes lookups by an upper-case address match.
    email = TextField(max_length=254, unique=True, nocase=True, normalize=normalize_email)
    password_hash = TextField(hidden=True)
    is_admin = BooleanField(default=False)
    # Bumped on logout and password change: sessions carrying an older epoch are void.
    session_epoch = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class Blog(Model):
    """A post."""

    user_id = ForeignKey(User)
    title = TextField(max_length=200)
    summary = TextField(max_length=500, default="")
    content = TextField(max_length=100_000, default="")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow, auto_now=True)


class Comment(Model):
    blog_id = ForeignKey(Blog)
    user_id = ForeignKey(User)
    content = TextField(max_length=5000)
    created_at = DateTimeField(default=utcnow)


class File(Model):
    """An upload, kept on disk under ``stored_name`` (random) in the uploads folder."""

    user_id = ForeignKey(User)
    original_name = TextField(max_length=255)
    stored_name = TextField(max_length=255, unique=True)
    content_type = TextField(max_length=255)
    size = IntegerField()
    sha256 = TextField(max_length=64)
    created_at = DateTimeField(default=utcnow)


# In dependency order: create_all() goes forwards, drop_all() backwards.
MODELS = [User, Blog, Comment, File]
