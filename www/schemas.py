"""Input rules and output shapes, declared once per resource with pydantic.

A resource's schemas.py says what its forms and API accept and what its JSON looks like:

    class PostIn(Schema):
        title: str = text("Title", min_length=1, max_length=limit(Post, "title"))

From that one declaration come the form checks (pages: 400 with the messages below), the
API's 422 `fields`, the OpenAPI components (www/openapi.py) and the forms' `maxlength` and
`required` attributes (`form_attrs()`, used by the templates). Length limits come from the
model's column, so the database and the forms can never disagree.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Self, get_origin

from markupsafe import Markup
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticError
from pydantic_core import PydanticCustomError, PydanticUndefined

from .text import visible

Errors = dict[str, str]

# The user's messages, by pydantic error type; {label} is the field's title.
MESSAGES = {
    "missing": "{label} is required.",
    "string_type": "{label} must be text.",
    "too_short": "{label} must be at least {min_length} characters.",
    "too_long": "{label} must be at most {max_length} characters.",
    "int_type": "{label} must be a whole number.",
    "int_parsing": "{label} must be a whole number.",
    "greater_than_equal": "{label} must be at least {ge}.",
    "less_than_equal": "{label} must be at most {le}.",
    "float_type": "{label} must be a number.",
    "float_parsing": "{label} must be a number.",
    "finite_number": "{label} must be a finite number.",
    "bool_type": "{label} must be true or false.",
    "bool_parsing": "{label} must be true or false.",
    "datetime_type": "{label} must be a date and time.",
    "datetime_parsing": "{label} must be a date and time.",
    "datetime_from_date_parsing": "{label} must be a date and time.",
    "datetime_range": "{label} is out of range.",
    "int_from_float": "{label} must be a whole number.",
    "extra_forbidden": "Unknown field.",
    "list_type": "{label} must be a list.",
    "nul": "{label} must not contain NUL characters.",
    "surrogate": "{label} must be valid Unicode text.",
}
MESSAGES["string_too_short"] = MESSAGES["too_short"]
MESSAGES["string_too_long"] = MESSAGES["too_long"]
# A 422 names the unknown keys a body sent, so that a typo is found: at most this many,
# each name cut to MAX_ECHOED_NAME characters, so that a body of a hundred thousand
# invented (or enormous) keys is not echoed back whole. The schema's own fields are
# few: their messages are all given.
MAX_UNKNOWN_FIELDS = 10
MAX_ECHOED_NAME = 64

# Times as the contract shows them: ISO 8601 with the UTC offset ("+00:00").
Time = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class Invalid(Exception):
    """Input that breaks a rule: a message for each field, by name. Pages show the form
    again with 400; the API answers 422 with `fields` (www/api.py)."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(errors)
        self.errors = errors


class Schema(BaseModel):
    """Base of every schema: unknown keys are refused (a typo must not look like success),
    and an output schema reads ORM objects by attribute."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, frozen=True)

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, form: bool = False) -> Self:
        """Validate `data` (a parsed JSON object, or a submitted form with `form=True`,
        whose other fields such as csrf_token are ignored). Raises Invalid."""
        if form:
            data = {
                name: _form_value(field, data[name])
                for name, field in cls.model_fields.items()
                if name in data
            }
        try:
            return cls.model_validate(data)
        except PydanticError as exc:
            raise Invalid(cls.messages(exc)) from None

    @classmethod
    def messages(cls, exc: PydanticError) -> Errors:
        """The first error of each field, in words a user understands; unknown keys
        are named up to MAX_UNKNOWN_FIELDS, cut to MAX_ECHOED_NAME characters."""
        errors: Errors = {}
        unknown = 0
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "body"
            if error["type"] == "extra_forbidden":
                if unknown >= MAX_UNKNOWN_FIELDS:
                    continue
                if len(name) > MAX_ECHOED_NAME:
                    name = name[: MAX_ECHOED_NAME - 1] + "…"
            if name in errors:
                continue
            unknown += error["type"] == "extra_forbidden"
            field = cls.model_fields.get(name)
            label = (field.title if field else None) or name.replace("_", " ").capitalize()
            context = {"label": label, **error.get("ctx", {})}
            given = error["input"]
            blank = given is None or (isinstance(given, str) and not visible(given))
            if error["type"] in ("too_short", "string_too_short") and blank:
                error = {**error, "type": "missing"}  # nothing visible: required
            template = MESSAGES.get(error["type"])
            if template:
                errors[name] = template.format(**context)
            else:  # our own validators' messages are sentences; pydantic's are not
                message = error["msg"]
                errors[name] = message if message.endswith(".") else f"{label}: {message}."
        return errors


def _form_value(field: Any, value: Any) -> Any:
    """A form sends a list as comma-separated text ("python, aiohttp"): its items, blank
    ones left out, for the schema to judge."""
    if isinstance(value, str) and get_origin(field.annotation) is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _check_text(value: Any) -> Any:
    """Rules for every text field, before the length checks: no NUL (SQLite and PostgreSQL
    cut or refuse it) and no lone surrogate (JSON's "\\ud800", which cannot be stored)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul", "contains NUL")
        if not is_utf8(value):
            raise PydanticCustomError("surrogate", "not valid Unicode")
    return value


def is_utf8(value: str) -> bool:
    """False for text that cannot be encoded: lone surrogates, as JSON's "\\ud800"."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(
    label: str,
    *,
    min_length: int = 0,
    max_length: int | None = None,
    strip: bool = True,
    default: str = "",
    normalize: Callable[[str], str] | None = None,
) -> Any:
    """A text field: required when `min_length` > 0 (then empty, blank or null is "is
    required"), else optional with `default`. `strip` removes spaces around the value, and
    then a required value that shows nothing (only zero-width, format or other invisible
    characters) counts as empty. `normalize` (e.g. to NFC) runs before the length checks,
    so that the limits hold for what is stored."""
    info = Field(
        PydanticUndefined if min_length else default,
        title=label,
        min_length=min_length or None,
        max_length=max_length,
    )
    # These run before the type and length checks, the last inserted last.
    info.metadata[:0] = [BeforeValidator(_check_text)]
    if strip:
        info.metadata[:0] = [BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]
    info.metadata[:0] = [BeforeValidator(lambda v: default if v is None else v)]
    if strip and min_length:
        info.metadata[:0] = [BeforeValidator(_blank_if_invisible)]
    if normalize:
        info.metadata[:0] = [BeforeValidator(lambda v: normalize(v) if isinstance(v, str) else v)]
    return info


def _blank_if_invisible(value: Any) -> Any:
    """Text that shows nothing becomes empty, so that a required field says "is required"."""
    return "" if isinstance(value, str) and not visible(value) else value


def blank_is_none(value: Any) -> Any:
    """An optional number or date left empty in a form is no value, not a mistake:
    `rating: Annotated[int | None, BeforeValidator(blank_is_none)] = Field(None, ...)`."""
    return None if isinstance(value, str) and not value.strip() else value


def in_utc(value: datetime | None) -> datetime | None:
    """A datetime in UTC, as the ORM stores it: `Annotated[datetime, AfterValidator(in_utc)]`.
    A form's datetime-local value has no offset: it is read as UTC, as the form says; an
    instant UTC cannot show (year 1 at +14:00) is refused rather than failing when saved."""
    if value is None or value.utcoffset() is None:
        return value and value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "out of range") from None


def limit(model: Any, name: str) -> int | None:
    """The `max_length` of a model's text column: the one place a length limit is declared."""
    return model._meta.field(name).max_length


@cache
def form_attrs(schema: type[Schema]) -> dict[str, Markup]:
    """HTML attributes for each field of `schema`: `maxlength="200" required` (and
    `minlength` above 1; `min` and `max` for a number's bounds). Templates
    write `<input name="title" {{ attrs.title }}>`, so the browser checks what we check."""
    attrs = {}
    for name, field in schema.model_fields.items():
        parts = []
        for rule in field.metadata:
            if getattr(rule, "min_length", 0) > 1:
                parts.append(f'minlength="{int(rule.min_length)}"')
            if getattr(rule, "max_length", None) is not None:
                parts.append(f'maxlength="{int(rule.max_length)}"')
            if getattr(rule, "ge", None) is not None:  # numbers: min="1" max="365"
                parts.append(f'min="{int(rule.ge)}"')
            if getattr(rule, "le", None) is not None:
                parts.append(f'max="{int(rule.le)}"')
        if field.is_required():
            parts.append("required")
        attrs[name] = Markup(" ".join(parts))  # noqa: S704 (numbers and a keyword)
    return attrs
