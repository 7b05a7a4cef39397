"""The operations the state sees: tables, columns and indexes (search indexes too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...db.schema import Column, Index, Table
from .base import MigrationError, Operation, Tables, columns_without, existing_table


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
        existing_table(tables, self.table.name)
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
        table = existing_table(tables, self.table)
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
        table = existing_table(tables, self.table)
        indexed = [i.name for i in table.indexes if self.column.name in i.columns]
        if indexed:
            raise MigrationError(f"{self.table}.{self.column.name} is in index {indexed[0]}")
        tables[self.table] = table.replace(columns=columns_without(table, self.column.name))

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
        table = existing_table(tables, self.table)
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
        table = existing_table(tables, self.table)
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
        table = existing_table(tables, self.table)
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
        table = existing_table(tables, self.table)
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
            existing_table(tables, self.table).column(name)  # raises KeyError if missing

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
        existing_table(tables, self.table)

    def reverse(self) -> Operation:
        return CreateSearchIndex(self.table, self.columns)

    def describe(self) -> str:
        return f"drop search index on {self.table}"
