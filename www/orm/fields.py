"""Fields: what a column holds, how its values are checked on the way in and converted on
the way out, and the errors a model raises. A field knows nothing of SQL but its kind;
the dialect (www/db/dialects.py) maps that to a column type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .model import Model


class ValidationError(ValueError):
    """A value does not fit its field. Raised before any SQL is sent."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class FieldError(ValueError):
    """A name that is not a declared field of the model (or not a known lookup)."""


class DoesNotExist(LookupError):
    """The row to update is not in the database (any more)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Field:
    """A column: its options, and how its values are checked and converted."""

    kind: ClassVar[str]  # the column kind the dialect maps to a type
    python: Callable[[Any], Any] | None = None  # database value -> Python, if not as is
    # The type python() takes (SQLite's form of the value): a value of any other type
    # (None, or what asyncpg already made) is kept as it is; None: python() takes all
    # but None. One type check a value, on every row loaded (_compile_from_rows).
    converts: type | None = None
    references: tuple[str, str] | None = None  # (table, column) of a foreign key
    on_delete: str | None = None
    nocase = auto_now = False
    name = "?"  # set by the model

    def __init__(
        self,
        *,
        primary_key: bool = False,
        null: bool = False,
        default: Any = None,
        unique: bool = False,
        index: bool = False,
        secret: bool = False,
    ):
        # A new row's primary key is None until the database assigns it.
        self.primary_key, self.null, self.default = primary_key, null or primary_key, default
        self.unique, self.index = unique, index
        # ``secret``: never shown outside the code that uses it (a password or token hash):
        # the admin's pages, CSV and audit log leave it out. The SQL is the same.
        self.secret = secret

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def to_db(self, value: Any) -> Any:
        """Type-check a non-None value and return its database form (writes and lookups)."""
        raise NotImplementedError

    def db_value(self, value: Any) -> Any:
        """Validate a value for writing (null, type, limits); return its database form."""
        if value is not None:
            return self.to_db(value)
        if self.null:
            return None
        raise ValidationError(self.name, "is required")

    def db_values(self, values: list, dialect: Any = None) -> list:
        """db_value() of each value of a column (insert_many), as parameters for
        ``dialect``'s driver; fields skip the calls when C-speed checks show that every
        value is already in its database form."""
        return [self.db_value(value) for value in values]


class IntegerField(Field):
    kind = "integer"

    def to_db(self, value: Any) -> int:
        if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValidationError(self.name, "must be an integer")

    def db_values(self, values: list, dialect: Any = None) -> list:
        return values if set(map(type, values)) == {int} else super().db_values(values)


class FloatField(Field):
    kind = "float"

    def to_db(self, value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        raise ValidationError(self.name, "must be a number (not NaN)")


class BooleanField(Field):
    kind, python, converts = "boolean", bool, int  # SQLite's 0 and 1; asyncpg's bools

    def to_db(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ValidationError(self.name, "must be True or False")


class TextField(Field):
    """Text. ``nocase``: comparisons and uniqueness ignore case (ASCII letters only).
    ``normalize`` (e.g. ``str.strip``) is applied on writes and lookups."""

    kind = "text"

    def __init__(self, *, max_length=None, nocase=False, normalize=None, **options: Any):
        super().__init__(**options)
        self.max_length, self.nocase, self.normalize = max_length, nocase, normalize

    def to_db(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.name, "must be a string")
        return self.normalize(value) if self.normalize else value

    def db_value(self, value: Any) -> Any:
        value = super().db_value(value)
        if self.max_length is not None and value is not None and len(value) > self.max_length:
            raise ValidationError(self.name, f"must be at most {self.max_length} characters")
        return value

    def db_values(self, values: list, dialect: Any = None) -> list:
        if self.normalize or set(map(type, values)) != {str}:
            return super().db_values(values)
        if self.max_length is not None and max(map(len, values)) > self.max_length:
            return super().db_values(values)  # to name the value
        return values


class DateTimeField(Field):
    """A timezone-aware datetime (a naive one is usually local time by accident), stored as
    UTC ISO 8601 text; such text is accepted wherever a datetime is. It sorts in time order
    even when ``isoformat()`` leaves out ".000000": "12:00:00+00:00" < "12:00:00.000001+00:00".
    (PostgreSQL stores a timestamptz: its driver takes that text, and reads back an aware
    UTC datetime, which loads as it is.) ``auto_now``: set on each update."""

    kind, python, converts = "datetime", datetime.fromisoformat, str  # asyncpg: datetimes

    def __init__(self, *, auto_now: bool = False, **options: Any):
        super().__init__(**options)
        self.auto_now = auto_now

    def to_db(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(self.name, f"not an ISO 8601 datetime: {value!r}") from None
        if not isinstance(value, datetime):
            raise ValidationError(self.name, "must be a datetime")
        if value.utcoffset() is None:
            raise ValidationError(self.name, "must be timezone-aware (naive datetime given)")
        return value.astimezone(UTC).isoformat()

    def db_values(self, values: list, dialect: Any = None) -> list:
        """UTC datetimes go as they are to a driver that binds them to the same instant as
        their text (``dialect.binds_datetimes``: PostgreSQL), else as the text."""
        if set(map(type, values)) == {datetime} and {v.tzinfo for v in values} == {UTC}:
            if getattr(dialect, "binds_datetimes", False):
                return values
            return list(map(datetime.isoformat, values))
        return super().db_values(values)


class ForeignKey(IntegerField):
    """The id of a row of ``model``; the column is named as declared (``user_id``). Indexed
    by default: SQLite does not index foreign keys, and cascades scan for them."""

    ON_DELETE = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION")

    def __init__(self, model: type[Model], *, on_delete="CASCADE", index=True, **options: Any):
        super().__init__(index=index, **options)
        if on_delete not in self.ON_DELETE:
            raise ValueError(f"on_delete must be one of {self.ON_DELETE}, not {on_delete!r}")
        if on_delete == "SET NULL" and not self.null:
            raise ValueError('on_delete="SET NULL" needs null=True')
        self.model, self.on_delete = model, on_delete
        self.references = (model._meta.table, model._meta.pk.name)


def _default(field: Field, called: dict[Callable, Any]) -> Any:
    """The field's default; a callable one (utcnow) is called once per ``called`` dict, so a
    new row's created_at and updated_at are equal."""
    if not callable(field.default):
        return field.default
    if field.default not in called:
        called[field.default] = field.default()
    return called[field.default]
