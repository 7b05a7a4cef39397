"""Accounts in the admin: a user's name, email and administrator flag are edited with the
registration's own rules (never the password: its hash is secret, www/orm/fields.py); reset links
and API tokens are listed and revoked (deleted), never shown."""

from pydantic import Field

from ..admin.options import ModelAdmin
from ..schemas import Schema
from .models import ApiToken, PasswordReset, User
from .schemas import Email, Name, Registration


class UserAdminIn(Schema):
    """A user as an administrator edits it: the name and email rules of registration."""

    name: Name = Registration.model_fields["name"]
    email: Email = Registration.model_fields["email"]
    is_admin: bool = Field(False, title="Administrator")


ADMIN = [
    ModelAdmin(
        User,
        schema=UserAdminIn,
        list_display=("name", "email", "is_admin", "created_at"),
        search_fields=("name", "email"),
        list_filter=("is_admin", "created_at"),
        ordering=("name",),
    ),
    ModelAdmin(PasswordReset, list_display=("user_id", "created_at", "expires_at")),
    ModelAdmin(
        ApiToken,
        list_display=("name", "user_id", "created_at", "expires_at", "last_used_at"),
        search_fields=("name",),
    ),
]
