"""A model's schema (what its metaclass learned) and its SQL names, quoted once per
dialect: the only identifiers the ORM ever writes into SQL."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .fields import Field, FieldError

QUERY_SHAPES = 512  # query texts a model keeps (Schema.query_sql)


class Schema:
    """What the metaclass learned about a model: table, fields (primary key first), SQL."""

    def __init__(
        self,
        model_name: str,
        table: str,
        fields: dict[str, Field],
        unique_together: tuple[tuple[str, ...], ...] = (),
    ):
        self.model_name, self.table, self.by_name = model_name, table, fields
        # ``__unique__ = (("post_id", "tag_id"),)`` in a model's body: each a unique index.
        self.unique_together = unique_together
        self.fields, self.names = tuple(fields.values()), tuple(fields)
        self.pk = self.fields[0]
        self.auto_now = tuple((i, f) for i, f in enumerate(self.fields) if f.auto_now)
        self.nocase = frozenset(f.name for f in self.fields if f.nocase)
        self._sql: dict[str, TableSQL] = {}
        self._by_pk: dict[str, str] = {}  # Model.get()'s SELECT, by dialect
        # Query._sql's text by the query's shape (what it says, not its values): an app
        # runs the same few shapes again and again. Emptied when it holds QUERY_SHAPES.
        self.query_sql: dict[tuple, str] = {}

    def field(self, name: Any) -> Field:
        field = self.by_name.get(name) if isinstance(name, str) else None
        if field is None:
            raise FieldError(f"{self.model_name} has no field {name!r}")
        return field

    def select_by_pk(self, dialect: Any) -> str:
        """``SELECT ... WHERE pk = ?``, made once per dialect: reads by id are the most
        frequent query, and a dict lookup is cheaper than formatting it every time."""
        sql = self._by_pk.get(dialect.name)
        if sql is None:
            names = self.sql(dialect)
            column = names.qualified[self.pk.name]
            sql = self._by_pk[dialect.name] = (
                f"{names.select} WHERE {column} = {dialect.placeholder(1)}"
            )
        return sql

    def select_by_pks(self, dialect: Any, count: int) -> str:
        """``SELECT ... WHERE pk IN (?, ...)`` for ``count`` keys (get_many), made once per
        dialect and count: every page of posts asks for its authors."""
        shape = ("by_pks", dialect.name, count)
        sql = self.query_sql.get(shape)
        if sql is None:
            names = self.sql(dialect)
            column, marks = names.qualified[self.pk.name], dialect.placeholders(1, count)
            sql = self.keep_sql(shape, f"{names.select} WHERE {column} IN ({marks})")
        return sql

    def keep_sql(self, shape: tuple, sql: str) -> str:
        """Keep a query's text by its shape in ``query_sql`` (emptied first when it holds
        QUERY_SHAPES: an app that builds ever new shapes does not grow without bound)."""
        if len(self.query_sql) >= QUERY_SHAPES:
            self.query_sql.clear()
        self.query_sql[shape] = sql
        return sql

    def sql(self, dialect: Any) -> TableSQL:
        """The model's quoted names for ``dialect``, made once. The only identifiers in the
        ORM's SQL: declared names, quoted; values are parameters."""
        if dialect.name not in self._sql:
            table, columns = dialect.quote(self.table), {n: dialect.quote(n) for n in self.names}
            qualified = {name: f"{table}.{column}" for name, column in columns.items()}
            select = f"SELECT {', '.join(qualified.values())} FROM {table}"
            self._sql[dialect.name] = TableSQL(table, columns, qualified, select)
        return self._sql[dialect.name]


class TableSQL(NamedTuple):
    """A model's table and columns, quoted for one dialect.

    In expressions (SELECT lists, WHERE, ORDER BY) every column is qualified with its table:
    SQLite reads a double-quoted name that is no column as a string literal, so a column
    missing from the database would silently read as its own name; ``"posts"."color"``
    is an error instead ("no such column"). INSERT and UPDATE ... SET take bare names."""

    table: str  # "posts"
    columns: dict[str, str]  # field name -> "title"
    qualified: dict[str, str]  # field name -> "posts"."title"
    select: str  # SELECT "posts"."id", ... FROM "posts"


def table_name(class_name: str) -> str:
    """BlogPost -> blog_posts, Category -> categories, Box -> boxes."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    return name + ("es" if name.endswith(("s", "x", "z", "ch", "sh")) else "s")
