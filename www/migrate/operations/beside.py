"""The operations beside the schema, which the state does not see: the tables' change
counters (triggers, www/db/versions.py), raw SQL and Python over the rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .base import MigrationError, Operation, Tables, existing_table


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
            column = existing_table(tables, self.table).column(self.column)
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
        existing_table(tables, self.table)

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
