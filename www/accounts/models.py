"""The users table, the password reset links sent to them, and their API tokens."""

import unicodedata
from typing import Any

from ..orm import (
    BooleanField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    ValidationError,
    utcnow,
)
from ..text import BadAddress, canonical, email_key


def normalize_text(value: str) -> str:
    """As typed, without spaces around, in NFC (one way to write each accented letter)."""
    return unicodedata.normalize("NFC", value.strip())


def normalize_email(email: str) -> str:
    """Stored lower-case, in NFC (lower-casing can grow it: "İ" is "i" and a dot above)."""
    return unicodedata.normalize("NFC", normalize_text(email).lower())


class User(Model):
    # Shown as typed (NFC). Unique in ASCII letter case by the column itself, and by
    # name_key in every script: "Émile", "émile" and "ÉMILE" are one name.
    name = TextField(max_length=50, unique=True, nocase=True, normalize=normalize_text)
    # Stored lower-case; unique by email_key too, by which logging in finds it.
    email = TextField(max_length=254, unique=True, nocase=True, normalize=normalize_email)
    password_hash = TextField(secret=True)  # never shown (www/orm/fields.py Field)
    is_admin = BooleanField(default=False)
    # Bumped on logout and password change: sessions carrying an older epoch are void.
    session_epoch = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    # The canonical keys (www/text.py), set from name and email when they are saved
    # (lengths are checked on the form: a key the migration made for a twin may be longer).
    name_key = TextField(unique=True)
    email_key = TextField(unique=True)

    async def save(self, db: Any) -> "User":
        """Save, with new keys for a new row or a changed name or email (only then: a key
        the migration made unique for an older twin stays as it is)."""
        changed = self.changed_fields if self._saved is not None else {"name", "email"}
        if "name" in changed:
            self.name_key = name_key_of(self.name)
        if "email" in changed:
            self.email_key = email_key_of(self.email)
        return await super().save(db)

    @classmethod
    async def insert_many(cls, db: Any, rows: Any) -> int:
        return await super().insert_many(db, [_with_keys(row) for row in rows])


def name_key_of(name: Any) -> str | None:
    """The key of a name; None for a value the ORM refuses anyway (not text)."""
    return canonical(name) if isinstance(name, str) else None


def email_key_of(email: Any) -> str | None:
    """The key of an email address; None for a value the ORM refuses anyway (not text).
    Raises ValidationError for an address whose domain is not a domain name."""
    try:
        return email_key(email) if isinstance(email, str) else None
    except BadAddress:
        raise ValidationError("email", "is not a valid email address") from None


def _with_keys(row: Any) -> Any:
    if isinstance(row, User):
        row.name_key, row.email_key = name_key_of(row.name), email_key_of(row.email)
        return row
    name, email = row.get("name"), row.get("email")
    return {**row, "name_key": name_key_of(name), "email_key": email_key_of(email)}


class PasswordReset(Model):
    """A password reset link that was mailed (www/accounts/resets.py). Only the SHA-256 of
    its token is stored: whoever reads the table cannot use a link. One row per user at
    most (a newer link replaces it); a used link, and every link of a user whose password
    changes, is deleted; deleting the user deletes them."""

    user_id = ForeignKey(User)
    token_hash = TextField(max_length=64, unique=True, secret=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()


class ApiToken(Model):
    """A personal API token (/account/tokens): `Authorization: Bearer www_...` acts as its
    user under /api/. Only the SHA-256 of the token is kept, so a copy of the database
    cannot be replayed (the token is 256 random bits: no salt or slow hash needed)."""

    user_id = ForeignKey(User)
    name = TextField(max_length=50)
    # hex SHA-256; looked up on each request
    token_hash = TextField(max_length=64, unique=True, secret=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    last_used_at = DateTimeField(null=True)  # written at most once per interval (tokens.py)
