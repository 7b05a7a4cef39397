"""The users table."""

from ..orm import BooleanField, DateTimeField, IntegerField, Model, TextField, utcnow


def normalize_email(email: str) -> str:
    return email.strip().lower()


class User(Model):
    # Unique in any letter case: "Alice" and "alice" are the same name (ASCII letters).
    name = TextField(max_length=50, unique=True, nocase=True, normalize=str.strip)
    # Stored lower-case; NOCASE also makes lookups by an upper-case address match.
    email = TextField(max_length=254, unique=True, nocase=True, normalize=normalize_email)
    password_hash = TextField()
    is_admin = BooleanField(default=False)
    # Bumped on logout and password change: sessions carrying an older epoch are void.
    session_epoch = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
