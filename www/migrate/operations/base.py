"""What every migration operation is: ``Operation``'s three parts (``apply`` to the
schema as data, ``reverse()``, ``describe()``; the SQL is www/migrate/sql.py's), the
errors, and ``build``, which applies operations to make the state without a database."""

from __future__ import annotations

from ...db.schema import Column, Spec, Table

Tables = dict[str, Table]  # the schema, by table name


class MigrationError(Exception):
    """An operation that cannot apply to the schema as it is (a missing table...)."""


def existing_table(tables: Tables, name: str) -> Table:
    """The table `name` of the schema, or MigrationError."""
    if name not in tables:
        raise MigrationError(f"there is no table {name!r}")
    return tables[name]


def columns_without(table: Table, column: str) -> tuple[Column, ...]:
    """The table's columns but `column` (KeyError if it has none of that name)."""
    table.column(column)  # raises KeyError if missing
    return tuple(c for c in table.columns if c.name != column)


class Operation(Spec):
    """The base of every operation (see the package's docstring, __init__.py)."""

    def apply(self, tables: Tables) -> None:
        raise NotImplementedError

    def reverse(self) -> Operation | None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def build(operations: list[Operation], tables: Tables | None = None) -> Tables:
    """The schema the operations build, applied in order (to a copy of `tables`)."""
    state = dict(tables or {})
    for operation in operations:
        operation.apply(state)
    return state
