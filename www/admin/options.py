"""How the admin shows and changes one model: `ModelAdmin`, declared in a resource's
admin.py (`ADMIN = [ModelAdmin(Post, schema=PostIn, search_fields=("title",))]`), in the
spirit of Django's ModelAdmin. Every option has a default derived from the model's fields,
so a model no admin.py names is still listed (registry.py).

Names are checked when the ModelAdmin is made: a typo in admin.py fails at import, and a
secret field (password and token hashes, `secret=True` in www/orm/fields.py) cannot be shown.
"""

from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from functools import cached_property
from typing import Any

from ..accounts.models import User
from ..orm import BooleanField, DateTimeField, Field, ForeignKey, Model, TextField
from ..schemas import Schema

# Text longer than this (a post's content) is left out of the default list columns.
LONG_TEXT = 500
# The field that names a row, wherever a row is shown or linked to (a foreign key's target).
LABEL_FIELDS = ("name", "title", "original_name", "label")

Hook = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ModelAdmin:
    """`schema`: the resource's input schema (the one its forms and API use) for create and
    edit, so that the admin refuses what they refuse, with the same messages; without one
    the model is read-only here (list, view, delete). Empty tuples take the defaults.
    `create`, `update`, `delete`: the resource's own actions, `(app, user, values)`,
    `(app, row, changes)` and `(app, row)` (posts' publish_post...), used instead of
    plain ORM writes where the app does more than write the row (render HTML, remove a
    file's bytes). A schema field that is no column (a post's `tags`) needs them, and
    `load`, `(app, rows)`, which sets it on rows the admin read (for the edit form)."""

    model: type[Model]
    _: KW_ONLY
    schema: type[Schema] | None = None
    list_display: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ()
    list_filter: tuple[str, ...] = ()
    readonly_fields: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ()
    per_page: int = 50
    enabled: bool = True
    create: Hook | None = None
    update: Hook | None = None
    delete: Hook | None = None
    load: Hook | None = None

    def __post_init__(self) -> None:
        named = [*self.list_display, *self.search_fields, *self.list_filter]
        named += [*self.readonly_fields, *(name.removeprefix("-") for name in self.ordering)]
        named += (
            [n for n in self.schema.model_fields if n not in self.extra_fields]
            if self.schema
            else []
        )
        if self.extra_fields and None in (self.create, self.update, self.load):
            raise ValueError(
                f"{self.model.__name__}: {', '.join(self.extra_fields)} (not columns) need"
                " the create, update and load hooks"
            )
        for name in named:
            field = self.model._meta.field(name)  # FieldError for a typo
            if field.secret:
                raise ValueError(
                    f"{self.model.__name__}.{name} is secret: the admin never shows it"
                )
        for name in self.search_fields:
            if not isinstance(self.model._meta.field(name), TextField):
                raise ValueError(f"{self.model.__name__}.{name}: only text fields are searched")
        if type(self.per_page) is not int or not 1 <= self.per_page <= 500:
            raise ValueError(f"{self.model.__name__}: per_page must be from 1 to 500")

    @property
    def table(self) -> str:
        return self.model._meta.table

    @property
    def title(self) -> str:
        return self.table.replace("_", " ").capitalize()

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """Every field the admin may show: all but the secret ones."""
        return tuple(field for field in self.model._meta.fields if not field.secret)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The list's columns (also what it may be sorted by, and what the CSV holds)."""
        if self.list_display:
            return (self.model._meta.pk.name, *(n for n in self.list_display if n != "id"))
        return tuple(field.name for field in self.fields if not _long(field))

    @cached_property
    def searched(self) -> tuple[str, ...]:
        """The text fields ?q= looks in."""
        if self.search_fields:
            return self.search_fields
        by_name = self.model._meta.by_name
        return tuple(
            name
            for name in self.columns
            if isinstance(by_name[name], TextField) and not by_name[name].nocase
        ) or tuple(n for n in self.columns if isinstance(by_name[n], TextField))

    @cached_property
    def filters(self) -> tuple[str, ...]:
        """The fields the list can be filtered by (?name=value)."""
        if self.list_filter:
            return self.list_filter
        kinds = (BooleanField, ForeignKey, DateTimeField)
        return tuple(field.name for field in self.fields if isinstance(field, kinds))

    @property
    def order(self) -> tuple[str, ...]:
        return self.ordering or ("-" + self.model._meta.pk.name,)

    @cached_property
    def extra_fields(self) -> tuple[str, ...]:
        """The schema's fields that are no column of the model: its hooks handle them. A
        name is one of them only if the schema gives it a default, so that a typo in a
        required field still fails here."""
        if self.schema is None:
            return ()
        by_name = self.model._meta.by_name
        return tuple(
            name
            for name, info in self.schema.model_fields.items()
            if name not in by_name and not info.is_required()
        )

    @cached_property
    def editable(self) -> tuple[str, ...]:
        """The schema's fields that the edit form changes."""
        if self.schema is None:
            return ()
        return tuple(n for n in self.schema.model_fields if n not in self.readonly_fields)

    @cached_property
    def owner_field(self) -> str | None:
        """A foreign key to the users that a new row gets the administrator's id in, when
        the schema leaves it out (a post's user_id)."""
        names = self.schema.model_fields if self.schema else {}
        for field in self.fields:
            if isinstance(field, ForeignKey) and field.model is User and field.name not in names:
                return field.name
        return None

    @cached_property
    def creatable(self) -> bool:
        """Whether the schema (and the owner field) fill every field that needs a value."""
        if self.schema is None:
            return False
        given = {*self.schema.model_fields, self.owner_field, self.model._meta.pk.name}
        return all(
            field.null or field.default is not None or field.name in given
            for field in self.model._meta.fields
        )


def _long(field: Field) -> bool:
    if not isinstance(field, TextField):
        return False
    return field.max_length is None or field.max_length > LONG_TEXT


def label_of(row: Model) -> str:
    """What names a row: its name or title, else "#id"."""
    for name in LABEL_FIELDS:
        value = getattr(row, name, None) if name in row._meta.by_name else None
        if isinstance(value, str) and value:
            return value
    return f"#{getattr(row, row._meta.pk.name)}"
