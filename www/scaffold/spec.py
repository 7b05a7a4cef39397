"""What `generate Bookmark title:str:80 notes:text? owner:user` asks for: a resource and its
fields, checked before anything is written, so that a bad name is one clear message and
never a half-written package.

Each field type maps to the ORM field, the schema field and the form input the posts use
for the same kind of value; `?` makes it optional (NULL, or "" for text).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..orm import Model, table_name


class SpecError(ValueError):
    """A name or a field spec that cannot be generated; the message says why and what to do."""


TYPES = ("str", "text", "int", "float", "bool", "datetime", "ref", "user")
STR_LENGTH = 200  # `str` without a length: as long as a post's title
TEXT_LENGTH = 10_000  # `text`: a long form field, far below what a page can show
MAX_STR_LENGTH = 100_000  # `str:N` above this is a typo (a post's content is 100,000)

CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Names the generated modules use for their own variables, imports and modules: a row
# or a table of the same name would shadow them.
_CODE_WORDS = """
    actions admin api app bodies changes context current form location models name number
    page pages per_page query render request routes schemas user value values web
"""
CODE_NAMES = frozenset(_CODE_WORDS.split())
# Names a field may not take: the columns every generated table has, the form's own
# fields, and what a model instance already has (save, delete...).
RESERVED_FIELDS = frozenset({"id", "created_at", "updated_at", "csrf_token", "page", "per_page"})

# Reserved in PostgreSQL (and the SQL standard), or a statement's own word in SQLite: the
# ORM quotes every name, but a table or column named so needs quoting in every query
# written by hand and in every tool.
_SQL_WORDS = """
    all alter analyse analyze and any array as asc asymmetric between both case cast check
    collate column constraint create cross current_catalog current_date current_role
    current_time current_timestamp current_user default deferrable delete desc distinct do
    drop else end escape except exists false fetch for foreign from full grant group having
    in index initially inner insert intersect into is isnull join lateral leading left like
    limit localtime localtimestamp natural not notnull null offset on only or order outer
    placing primary references returning right select session_user set some symmetric
    table then to trailing true union unique update user using values variadic when where
    window with
"""
SQL_RESERVED = frozenset(_SQL_WORDS.split())


@dataclass(frozen=True)
class FieldSpec:
    """One `name:type[:arg][?]` of the command line."""

    name: str  # as written: "owner", "rating"
    type: str  # one of TYPES
    optional: bool = False
    max_length: int | None = None  # str and text
    target: str | None = None  # ref: the model's class name

    @property
    def column(self) -> str:
        """The column's name: refs and the owner store an id (`owner_id`)."""
        return f"{self.name}_id" if self.type in ("ref", "user") else self.name

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @property
    def is_input(self) -> bool:
        """In the form and the API's body: all but the owner, who is the logged-in user."""
        return self.type != "user"


@dataclass(frozen=True)
class Resource:
    """The resource to write: `Bookmark` -> table and package `bookmarks`, /bookmarks."""

    model: str  # Bookmark
    fields: tuple[FieldSpec, ...]
    targets: tuple[tuple[str, str], ...] = ()  # (class name, module) of each ref's model

    @property
    def package(self) -> str:  # bookmarks: the table, the package, the route names
        return table_name(self.model)

    @property
    def slug(self) -> str:  # /blog-posts
        return self.package.replace("_", "-")

    @property
    def singular(self) -> str:  # blog_post: variables and functions
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self.model).lower()

    @property
    def title(self) -> str:  # Bookmarks, Blog posts: headings and the navigation
        return self.package.replace("_", " ").capitalize()

    @property
    def words(self) -> str:  # bookmark, blog post: sentences
        return self.singular.replace("_", " ")

    @property
    def owner(self) -> FieldSpec | None:
        return next((f for f in self.fields if f.type == "user"), None)

    @property
    def inputs(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_input)

    @property
    def heading(self) -> FieldSpec | None:
        """The field that names a row in lists and titles: the first `str`, if any."""
        return next((f for f in self.fields if f.type == "str"), None)

    def types(self) -> set[str]:
        return {f.type for f in self.fields}


def parse_field(text: str) -> FieldSpec:
    """`title:str:80`, `notes:text?`, `post:ref:Post`, `owner:user` -> a FieldSpec."""
    optional = text.endswith("?")
    name, _, rest = text.removesuffix("?").partition(":")
    kind, _, arg = rest.partition(":")
    check_field_name(name)
    if kind not in TYPES:
        known = ", ".join(TYPES)
        raise SpecError(f"{text!r}: unknown type {kind!r} (the types are {known}: name:type)")
    if kind in ("ref", "user") and name.endswith("_id"):
        raise SpecError(f"{text!r}: name it {name[:-3]}; its column is {name}")
    if kind == "ref":
        if not CLASS_NAME.fullmatch(arg):
            raise SpecError(f"{text!r}: a foreign key names a model: {name}:ref:Post")
        return FieldSpec(name, kind, optional, target=arg)
    if kind == "user" and optional:
        raise SpecError(f"{text!r}: the owner is always the user who made the row, never empty")
    if kind == "str" and arg:
        if not (arg.isascii() and arg.isdigit() and 1 <= int(arg) <= MAX_STR_LENGTH):
            raise SpecError(f"{text!r}: the length is a number from 1 to {MAX_STR_LENGTH}")
        return FieldSpec(name, kind, optional, max_length=int(arg))
    if arg:
        raise SpecError(f"{text!r}: {kind} takes no argument")
    length = {"str": STR_LENGTH, "text": TEXT_LENGTH}.get(kind)
    return FieldSpec(name, kind, optional, max_length=length)


def _checked(spec: FieldSpec) -> FieldSpec:
    if spec.column in SQL_RESERVED:
        raise SpecError(
            f"{spec.name!r}: {spec.column} is a reserved word in SQL: choose another name"
        )
    return spec


def check_field_name(name: str) -> None:
    if not FIELD_NAME.fullmatch(name):
        raise SpecError(
            f"{name!r}: a field's name is lower case letters, digits and _, starting with a letter"
        )
    if keyword.iskeyword(name):
        raise SpecError(f"{name!r} is a Python keyword: choose another field name")
    if name in RESERVED_FIELDS or hasattr(Model, name):
        raise SpecError(f"{name!r} is taken: every generated resource has it already")


def check_model_name(name: str) -> None:
    """A class name whose table and package name are free of Python and SQL words."""
    if keyword.iskeyword(name) or keyword.iskeyword(name.lower()):
        raise SpecError(f"{name!r} is a Python keyword: choose another name")
    if not CLASS_NAME.fullmatch(name) or not name.isascii():
        raise SpecError(
            f"{name!r}: a resource is named like its model class, in CamelCase "
            "(ASCII letters and digits, starting with a capital): Bookmark, BlogPost"
        )
    table = table_name(name)
    if keyword.iskeyword(table):
        raise SpecError(f"{name!r}: its package, {table}, would be a Python keyword")
    if table in SQL_RESERVED:
        raise SpecError(f"{name!r}: its table, {table}, is a reserved word in SQL")
    singular = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    if singular in CODE_NAMES or table in CODE_NAMES:
        raise SpecError(
            f"{name!r}: the generated code already uses {singular} or {table} for "
            "something else: choose another name"
        )


def parse(model: str, fields: Iterable[str]) -> Resource:
    """The resource, its name and fields checked on their own (check_clashes() checks
    them against the project)."""
    check_model_name(model)
    specs = tuple(_checked(parse_field(text)) for text in fields)
    if not specs:
        raise SpecError("give at least one field: generate Bookmark title:str url:str")
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen or spec.column in seen:
            raise SpecError(f"{spec.name!r} is given twice")
        seen.update({spec.name, spec.column})
    if sum(spec.type == "user" for spec in specs) > 1:
        raise SpecError("only one field is the owner (type user); use ref:User for others")
    if not any(spec.is_input for spec in specs):
        raise SpecError("give at least one field besides the owner")
    return Resource(model, specs)
