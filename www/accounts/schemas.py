"""What the account forms and the session API accept, and how a user is shown.

Names are kept as typed (NFC), email addresses lower-case; both are unique by their
canonical keys (www/text.py, computed by the User model). These rules refuse what no one
can read, and check the lengths on the normalised text (lower-casing "İ" doubles it).
"""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .. import text as texts
from ..schemas import Schema, limit, text
from .models import ApiToken, User, normalize_email

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD = {"min_length": 8, "max_length": 128, "strip": False}  # a new password's rules
ANY_PASSWORD = {"min_length": 1, "max_length": 1024, "strip": False}  # one being checked
EMAIL_LIMIT = limit(User, "email")  # 254 (RFC 5321), for the address as sent


def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _name(value: str) -> str:
    if texts.forbidden(value):
        raise PydanticCustomError(
            "forbidden", "Name must not contain control, formatting or invisible characters."
        )
    if not texts.canonical(value):
        raise PydanticCustomError("missing", "required")  # only invisible characters
    if len(texts.scripts(value)) > 1:
        raise PydanticCustomError("scripts", "Name must not mix Latin, Cyrillic and Greek letters.")
    return value


def _email(value: str) -> str:
    if not EMAIL.match(value) or texts.forbidden(value):
        raise PydanticCustomError("email", "Enter a valid email address.")
    try:
        key = texts.email_key(value)
    except texts.BadAddress:
        raise PydanticCustomError("email", "Enter a valid email address.") from None
    if len(key) > EMAIL_LIMIT:  # the limit holds for the address once normalised
        raise PydanticCustomError("too_long", "too long", {"max_length": EMAIL_LIMIT})
    return value


Name = Annotated[str, AfterValidator(_name)]
Email = Annotated[str, AfterValidator(_email)]


class Registration(Schema):
    name: Name = text("Name", min_length=1, max_length=limit(User, "name"), normalize=nfc)
    # As stored (lower-case): the length limit holds for that, and for its key.
    email: Email = text("Email", min_length=1, max_length=EMAIL_LIMIT, normalize=normalize_email)
    password: str = text("Password", **PASSWORD)


class Login(Schema):
    email: str = text("Email", min_length=1, max_length=EMAIL_LIMIT)
    password: str = text("Password", **ANY_PASSWORD)


class PasswordChange(Schema):
    current_password: str = text("Current password", **ANY_PASSWORD)
    new_password: str = text("New password", **PASSWORD)


class ForgotPassword(Schema):
    """Asking for a password reset link (/password/forgot)."""

    email: Email = text("Email", min_length=1, max_length=EMAIL_LIMIT, normalize=normalize_email)


class PasswordResetIn(Schema):
    """The new password, sent with a reset link's token (/password/reset/<token>)."""

    password: str = text("New password", **PASSWORD)


class TokenIn(Schema):
    """A new API token (/account/tokens): a name to tell it apart, and its lifetime."""

    name: str = text("Name", min_length=1, max_length=limit(ApiToken, "name"))
    expires_days: int = Field(90, title="Days before it expires", ge=1, le=365)


class UserOut(Schema):
    """A user as others see them: never an email, never a password hash."""

    id: int
    name: str


class SessionOut(Schema):
    """The current user (null when anonymous) and the session's CSRF token."""

    user: UserOut | None
    csrf_token: str
