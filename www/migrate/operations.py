"""The operations a migration is made of: dialect-neutral, each a line of a migration file.

An operation knows three things: how it changes the schema as data (`apply`, on the
tables of www/db/schema.py: this is how the migrations' state is built without a
database), its reverse (`reverse()`, None when there is none), and its SQL for a dialect
(`statements`, from the schema as it was before the operation). Each carries what its
reverse needs: a dropped column or table is written out in full.

`fill` is the value existing rows get for a column that is added, or that stops allowing
NULL: a constant in the column's type (a datetime as an ISO 8601 string).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..db.schema import Column, Index, Spec, Table

__all__ = [
    "AddColumn",
    "AlterColumn",
    "Column",
    "CreateIndex",
    "CreateSearchIndex",
    "CreateTable",
    "DropColumn",
    "DropIndex",
    "DropSearchIndex",
    "DropTable",
    "Index",
    "Operation",
    "RenameColumn",
    "RunPython",
    "RunSQL",
    "Table",
]

Tables = dict[str, Table]  # the schema, by table name


class MigrationError(Exception):
    """An operation that cannot apply to the schema as it is (a missing table...)."""


def _table(tables: Tables, name: str) -> Table:
    if name not in tables:
        raise MigrationError(f"there is no table {name!r}")
    return tables[name]


def _without(table: Table, column: str) -> tuple[Column, ...]:
    table.column(column)  # raises KeyError if missing
    return tuple(c for c in table.columns if c.name != column)


class Operation(Spec):
    """The base of every operation (see the module's docstring)."""

    def apply(self, tables: Tables) -> None:
        raise NotImplementedError

    def reverse(self) -> Operation | None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class CreateTable(Operation):
    POSITIONAL = 1
    table: Table

    def apply(self, tables: Tables) -> None:
        if self.table.name in tables:
            raise MigrationError(f"table {self.table.name!r} exists already")
        tables[self.table.name] = self.table

    def reverse(self) -> Operation:
        return DropTable(self.table)

    def describe(self) -> str:
        return f"create table {self.table.name}"


@dataclass(frozen=True, repr=False)
class DropTable(Operation):
    POSITIONAL = 1
    table: Table  # in full, for the reverse

    def apply(self, tables: Tables) -> None:
        _table(tables, self.table.name)
        del tables[self.table.name]

    def reverse(self) -> Operation:
        return CreateTable(self.table)

    def describe(self) -> str:
        return f"drop table {self.table.name}"


@dataclass(frozen=True, repr=False)
class AddColumn(Operation):
    POSITIONAL = 2
    table: str
    column: Column
    fill: Any = None  # what existing rows get; required for a NOT NULL column

    def __post_init__(self) -> None:
        if self.column.primary_key:
            raise MigrationError(f"{self.table}.{self.column.name}: cannot add a primary key")

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        if any(c.name == self.column.name for c in table.columns):
            raise MigrationError(f"{self.table}.{self.column.name} exists already")
        tables[self.table] = table.replace(columns=(*table.columns, self.column))

    def reverse(self) -> Operation:
        return DropColumn(self.table, self.column, fill=self.fill)

    def describe(self) -> str:
        return f"add column {self.table}.{self.column.name}"


@dataclass(frozen=True, repr=False)
class DropColumn(Operation):
    POSITIONAL = 2
    table: str
    column: Column  # in full, for the reverse
    fill: Any = None  # what the rows get back if reversed (their values are gone)

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        indexed = [i.name for i in table.indexes if self.column.name in i.columns]
        if indexed:
            raise MigrationError(f"{self.table}.{self.column.name} is in index {indexed[0]}")
        tables[self.table] = table.replace(columns=_without(table, self.column.name))

    def reverse(self) -> Operation | None:
        if not self.column.null and self.fill is None:
            return None  # its rows would need a value
        return AddColumn(self.table, self.column, fill=self.fill)

    def describe(self) -> str:
        return f"drop column {self.table}.{self.column.name}"


@dataclass(frozen=True, repr=False)
class RenameColumn(Operation):
    POSITIONAL = 3
    table: str
    old: str
    new: str

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        if any(c.name == self.new for c in table.columns):
            raise MigrationError(f"{self.table}.{self.new} exists already")
        column = table.column(self.old)
        columns = tuple(
            c if c.name != self.old else Column(**{**vars(column), "name": self.new})
            for c in table.columns
        )
        indexes = [
            Index(i.name, tuple(self.new if n == self.old else n for n in i.columns), i.unique)
            for i in table.indexes
        ]
        tables[self.table] = table.replace(columns=columns, indexes=indexes)

    def reverse(self) -> Operation:
        return RenameColumn(self.table, self.new, self.old)

    def describe(self) -> str:
        return f"rename column {self.table}.{self.old} to {self.new}"


@dataclass(frozen=True, repr=False)
class AlterColumn(Operation):
    """Change a column's type, nullability, uniqueness, case folding or foreign key."""

    POSITIONAL = 3
    table: str
    old: Column
    new: Column  # the same name
    fill: Any = None  # for rows holding NULL, when the column stops allowing it

    def __post_init__(self) -> None:
        if self.old.name != self.new.name:
            raise MigrationError("AlterColumn keeps the name: use RenameColumn")
        if self.old.primary_key != self.new.primary_key:
            raise MigrationError(f"{self.table}.{self.old.name}: cannot change the primary key")

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        if table.column(self.old.name) != self.old:
            raise MigrationError(f"{self.table}.{self.old.name} is not as this change expects")
        columns = tuple(self.new if c.name == self.old.name else c for c in table.columns)
        tables[self.table] = table.replace(columns=columns)

    def reverse(self) -> Operation:
        return AlterColumn(self.table, self.new, self.old)

    def describe(self) -> str:
        return f"alter column {self.table}.{self.old.name}"


@dataclass(frozen=True, repr=False)
class CreateIndex(Operation):
    POSITIONAL = 2
    table: str
    index: Index

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        if any(i.name == self.index.name for t in tables.values() for i in t.indexes):
            raise MigrationError(f"index {self.index.name!r} exists already")
        for name in self.index.columns:
            table.column(name)
        tables[self.table] = table.replace(indexes=(*table.indexes, self.index))

    def reverse(self) -> Operation:
        return DropIndex(self.table, self.index)

    def describe(self) -> str:
        return f"create index {self.index.name}"


@dataclass(frozen=True, repr=False)
class DropIndex(Operation):
    POSITIONAL = 2
    table: str
    index: Index  # in full, for the reverse

    def apply(self, tables: Tables) -> None:
        table = _table(tables, self.table)
        if self.index not in table.indexes:
            raise MigrationError(f"table {self.table!r} has no index {self.index!r}")
        tables[self.table] = table.replace(indexes=[i for i in table.indexes if i != self.index])

    def reverse(self) -> Operation:
        return CreateIndex(self.table, self.index)

    def describe(self) -> str:
        return f"drop index {self.index.name}"


@dataclass(frozen=True, repr=False)
class CreateSearchIndex(Operation):
    """A full-text index on a table's text columns (most telling first), as the dialect
    makes it (www/db/fulltext.py): FTS5 and its triggers on SQLite, a GIN index on
    PostgreSQL. Beside the schema, as RunSQL's objects are: the state does not see it."""

    POSITIONAL = 2
    table: str
    columns: tuple[str, ...]

    def apply(self, tables: Tables) -> None:
        for name in self.columns:
            _table(tables, self.table).column(name)  # raises KeyError if missing

    def reverse(self) -> Operation:
        return DropSearchIndex(self.table, self.columns)

    def describe(self) -> str:
        return f"create search index on {self.table}"


@dataclass(frozen=True, repr=False)
class DropSearchIndex(Operation):
    POSITIONAL = 2
    table: str
    columns: tuple[str, ...]  # for the reverse

    def apply(self, tables: Tables) -> None:
        _table(tables, self.table)

    def reverse(self) -> Operation:
        return CreateSearchIndex(self.table, self.columns)

    def describe(self) -> str:
        return f"drop search index on {self.table}"


@dataclass(frozen=True, repr=False)
class CountChanges(Operation):
    """The change counters (www/db/versions.py) on every table there is: for databases
    made before the counters existed. A table created later gets them with its CREATE
    TABLE. Beside the schema, as triggers are: the state does not see them."""

    def apply(self, tables: Tables) -> None:
        pass

    def reverse(self) -> Operation:
        return StopCountingChanges()

    def describe(self) -> str:
        return "count each table's changes"


@dataclass(frozen=True, repr=False)
class StopCountingChanges(Operation):
    """CountChanges undone: SQLite's counting triggers dropped. PostgreSQL keeps counting
    in the trigger every table has had since its creation (nothing is dropped there)."""

    def apply(self, tables: Tables) -> None:
        pass

    def reverse(self) -> Operation:
        return CountChanges()

    def describe(self) -> str:
        return "stop counting each table's changes"


@dataclass(frozen=True, repr=False)
class CountChangesBy(Operation):
    """Count `table`'s changes by the value of `column` too (www/db/versions.py): a cached
    read that asks for one value (a post's comments) is then dropped only by a change to
    a row with that value. One column per table, an integer or text one that is not
    case-folded. Beside the schema, as triggers are; on SQLite a later rebuild of the
    table keeps them, and a column they name cannot be dropped before them."""

    POSITIONAL = 2
    table: str
    column: str

    def apply(self, tables: Tables) -> None:
        try:
            column = _table(tables, self.table).column(self.column)
        except KeyError as exc:
            raise MigrationError(exc.args[0]) from None
        if column.type not in ("integer", "text") or column.nocase:
            raise MigrationError(
                f"{self.table}.{self.column}: changes are counted by an integer or text"
                " column that is not nocase"
            )

    def reverse(self) -> Operation:
        return StopCountingChangesBy(self.table, self.column)

    def describe(self) -> str:
        return f"count the changes to {self.table} by {self.column}"


@dataclass(frozen=True, repr=False)
class StopCountingChangesBy(Operation):
    """CountChangesBy undone: its triggers dropped, and every entry that depended on its
    counters out of date in every process (the table's own counter goes on)."""

    POSITIONAL = 2
    table: str
    column: str

    def apply(self, tables: Tables) -> None:
        _table(tables, self.table)

    def reverse(self) -> Operation:
        return CountChangesBy(self.table, self.column)

    def describe(self) -> str:
        return f"stop counting the changes to {self.table} by {self.column}"


@dataclass(frozen=True, repr=False)
class RunSQL(Operation):
    """Raw SQL per dialect, the escape hatch: statements the state does not see (data
    fixes, a trigger, a view). Without a reverse for both dialects it is irreversible."""

    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()
    reverse_sqlite: tuple[str, ...] | None = None
    reverse_postgresql: tuple[str, ...] | None = None

    def apply(self, tables: Tables) -> None:
        pass

    def reverse(self) -> Operation | None:
        if self.reverse_sqlite is None or self.reverse_postgresql is None:
            return None
        return RunSQL(self.reverse_sqlite, self.reverse_postgresql, self.sqlite, self.postgresql)

    def describe(self) -> str:
        return "run SQL"


@dataclass(frozen=True, repr=False)
class RunPython(Operation):
    """Python over the rows, for values SQL cannot compute alike on both engines (a Unicode
    normalisation): `forward(tx)` is awaited inside the migration's transaction, `tx`
    running SQL as a database does (`fetchall`, `execute`, `executemany`; its `dialect`
    gives the placeholders). `backward` does the same for `down`; without it, the
    migration is irreversible. Like RunSQL, it leaves the schema the state sees as it is.
    Written by hand, never by `make`; use SQL, not the models, which may have moved on."""

    POSITIONAL = 1
    forward: Callable[[Any], Awaitable[None]]
    backward: Callable[[Any], Awaitable[None]] | None = None

    def apply(self, tables: Tables) -> None:
        pass

    def reverse(self) -> Operation | None:
        return None if self.backward is None else RunPython(self.backward, self.forward)

    def describe(self) -> str:
        return f"run {getattr(self.forward, '__name__', 'Python')}"


def build(operations: list[Operation], tables: Tables | None = None) -> Tables:
    """The schema the operations build, applied in order (to a copy of `tables`)."""
    state = dict(tables or {})
    for operation in operations:
        operation.apply(state)
    return state
