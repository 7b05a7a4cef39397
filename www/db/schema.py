"""What a schema is, as data: tables of columns and indexes, the same for every engine.

Three things are described in these terms and compared: what the models declare
(`tables_of(MODELS)`), what the migrations build when their operations are applied in
order (www/migrate/operations/), and what a live database holds
(www/migrate/inspect.py). The dialects (www/db/dialects.py) turn them into DDL.

Only what the database enforces is here. A text field's `max_length` and a field's Python
default are checked and filled in by the ORM, so changing them needs no migration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = ("integer", "float", "text", "boolean", "datetime")  # the ORM fields' kinds


class Spec:
    """A frozen dataclass whose repr leaves out the fields still at their defaults and
    names the first ones positionally: `Column("color", "text", null=True)`. Migration
    files are written with these reprs, and read back as Python."""

    POSITIONAL = 0  # how many leading fields are written without their names

    def __repr__(self) -> str:
        parts = []
        for i, field in enumerate(dataclasses.fields(self)):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if i < self.POSITIONAL:
                parts.append(repr(value))
            elif value != field.default:
                parts.append(f"{field.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class Column(Spec):
    """One column. `references` names the table whose `id` it points to (a foreign key),
    deleted rows there taking these along as `on_delete` says."""

    POSITIONAL = 2
    name: str
    type: str  # one of KINDS: each dialect has its own SQL type for it
    null: bool = False
    primary_key: bool = False  # an integer id the database assigns
    unique: bool = False
    nocase: bool = False  # compared, sorted and unique ignoring ASCII case
    references: str | None = None
    on_delete: str | None = None  # CASCADE, SET NULL, RESTRICT...

    def __post_init__(self) -> None:
        if self.type not in KINDS:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True, repr=False)
class Index(Spec):
    """An index on one or more columns of its table (on PostgreSQL, a `nocase` column is
    indexed on its folded value, as the ORM compares it)."""

    POSITIONAL = 2
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, repr=False, eq=False)
class Table(Spec):
    """A table: its columns in order (the primary key first), and its indexes by name
    order. A column's own `unique` is a constraint of the column, not an Index here.

    Two tables are equal whatever the order of their columns: a column added later comes
    last in the database (neither engine can put it elsewhere without a copy), and where
    a column sits changes nothing the application sees, since every query names them."""

    POSITIONAL = 2
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return (self.name, self.indexes, frozenset(self.columns)) == (
            other.name,
            other.indexes,
            frozenset(other.columns),
        ) and len(self.columns) == len(other.columns)

    def __hash__(self) -> int:
        return hash((self.name, self.indexes, frozenset(self.columns)))

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def replace(self, **changes: Any) -> Table:
        if "indexes" in changes:
            changes["indexes"] = tuple(sorted(changes["indexes"], key=lambda i: i.name))
        return dataclasses.replace(self, **changes)


def column_of(field: Any) -> Column:
    """The column of an orm.Field (duck-typed, so that this module imports no ORM)."""
    references = field.references[0] if field.references else None
    return Column(
        field.name,
        field.kind,
        null=bool(field.null and not field.primary_key),
        primary_key=bool(field.primary_key),
        unique=bool(field.unique and not field.primary_key),
        nocase=bool(field.nocase),
        references=references,
        on_delete=field.on_delete if references else None,
    )


def index_name(table: str, column: str) -> str:
    """The name of the index a field's `index=True` asks for."""
    return f"ix_{table}_{column}"


def table_of(model: Any) -> Table:
    """The table an orm.Model declares."""
    meta = model._meta
    indexes = [
        Index(index_name(meta.table, f.name), (f.name,))
        for f in meta.fields
        if f.index and not (f.unique or f.primary_key)
    ]
    indexes += [  # a model's __unique__ combinations
        Index(f"ux_{meta.table}_{'_'.join(names)}", names, unique=True)
        for names in getattr(meta, "unique_together", ())
    ]
    return Table(meta.table, tuple(column_of(f) for f in meta.fields)).replace(indexes=indexes)


def tables_of(models: Iterable[Any]) -> dict[str, Table]:
    """The schema the models declare, by table name, in the models' (dependency) order."""
    return {table.name: table for table in map(table_of, models)}


def differences(
    old: dict[str, Table], new: dict[str, Table], names: tuple[str, str] = ("old", "new")
) -> list[str]:
    """What differs between two schemas (called `names` in the lines), a line each:
    `table tags: only in the models`, `tags.color: None != Column('color', 'text')`."""
    lines = [f"table {name}: only in {names[1]}" for name in new.keys() - old.keys()]
    lines += [f"table {name}: only in {names[0]}" for name in old.keys() - new.keys()]
    for name in old.keys() & new.keys():
        before = {c.name: c for c in old[name].columns}
        after = {c.name: c for c in new[name].columns}
        for column in before.keys() | after.keys():
            if before.get(column) != after.get(column):
                lines.append(f"{name}.{column}: {before.get(column)} != {after.get(column)}")
        if old[name].indexes != new[name].indexes:
            lines.append(f"{name}: indexes {old[name].indexes} != {new[name].indexes}")
    return sorted(lines)
