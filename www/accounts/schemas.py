"""What the account forms and the session API accept, and how a user is shown."""

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from ..schemas import Schema, limit, text
from .models import User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD = {"min_length": 8, "max_length": 128, "strip": False}  # a new password's rules
ANY_PASSWORD = {"min_length": 1, "max_length": 1024, "strip": False}  # one being checked


def _email(value: str) -> str:
    if not EMAIL.match(value):
        raise PydanticCustomError("email", "Enter a valid email address.")
    return value.lower()


Email = Annotated[str, AfterValidator(_email)]


class Registration(Schema):
    name: str = text("Name", min_length=1, max_length=limit(User, "name"))
    email: Email = text("Email", min_length=1, max_length=limit(User, "email"))
    password: str = text("Password", **PASSWORD)


class Login(Schema):
    email: str = text("Email", min_length=1, max_length=limit(User, "email"))
    password: str = text("Password", **ANY_PASSWORD)


class PasswordChange(Schema):
    current_password: str = text("Current password", **ANY_PASSWORD)
    new_password: str = text("New password", **PASSWORD)


class UserOut(Schema):
    """A user as others see them: never an email, never a password hash."""

    id: int
    name: str


class SessionOut(Schema):
    """The current user (null when anonymous) and the session's CSRF token."""

    user: UserOut | None
    csrf_token: str
