"""Input rules for accounts, posts and comments, shared by the pages and the JSON API.

Each `clean_*` function takes the submitted values (strings from a form, or anything from
JSON) and returns (clean values, errors by field name). The messages are shown as they are.
"""

import re
from collections.abc import Mapping
from typing import Any

Errors = dict[str, str]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
POST_LIMITS = {"title": (1, 200), "summary": (0, 500), "content": (0, 100_000)}


def text(
    data: Mapping[str, Any],
    errors: Errors,
    name: str,
    label: str,
    low: int,
    high: int,
    *,
    strip: bool = True,
) -> str:
    """Fetch field `name` as text of `low`..`high` characters, noting any problem in errors."""
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = f"{label} must be text."
        return ""
    if strip:
        value = value.strip()
    if "\x00" in value:
        errors[name] = f"{label} must not contain NUL characters."
    elif not is_utf8(value):  # lone surrogates, e.g. "\ud800" from JSON
        errors[name] = f"{label} must be valid Unicode text."
    elif low and not value:
        errors[name] = f"{label} is required."
    elif len(value) < low:
        errors[name] = f"{label} must be at least {low} characters."
    elif len(value) > high:
        errors[name] = f"{label} must be at most {high} characters."
    return value


def is_utf8(value: str) -> bool:
    """False for text that cannot be stored: lone surrogates, as JSON's "\\ud800"."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_registration(data: Mapping[str, Any]) -> tuple[dict[str, str], Errors]:
    errors: Errors = {}
    name = text(data, errors, "name", "Name", 1, 50)
    email = text(data, errors, "email", "Email", 1, 254).lower()
    if "email" not in errors and not EMAIL.match(email):
        errors["email"] = "Enter a valid email address."
    password = text(data, errors, "password", "Password", 8, 128, strip=False)
    return {"name": name, "email": email, "password": password}, errors


def clean_password_change(data: Mapping[str, Any]) -> tuple[dict[str, str], Errors]:
    errors: Errors = {}
    current = text(data, errors, "current_password", "Current password", 1, 1024, strip=False)
    new = text(data, errors, "new_password", "New password", 8, 128, strip=False)
    return {"current_password": current, "new_password": new}, errors


def clean_login(data: Mapping[str, Any]) -> tuple[dict[str, str], Errors]:
    errors: Errors = {}
    email = text(data, errors, "email", "Email", 1, 254).lower()
    password = text(data, errors, "password", "Password", 1, 1024, strip=False)
    return {"email": email, "password": password}, errors


def clean_post(data: Mapping[str, Any], *, partial: bool = False) -> tuple[dict[str, str], Errors]:
    """Title, summary and content; with `partial` (PATCH) only the fields present."""
    errors: Errors = {}
    values = {}
    for name, (low, high) in POST_LIMITS.items():
        if partial and name not in data:
            continue
        # Leading spaces are meaningful in Markdown (indented code), so keep content as is.
        values[name] = text(
            data, errors, name, name.capitalize(), low, high, strip=name != "content"
        )
    return values, errors


def clean_comment(data: Mapping[str, Any]) -> tuple[dict[str, str], Errors]:
    errors: Errors = {}
    content = text(data, errors, "content", "Comment", 1, 5000)
    return {"content": content}, errors
