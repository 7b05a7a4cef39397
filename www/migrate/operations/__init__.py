"""The operations a migration is made of: dialect-neutral, each a line of a migration file.

An operation knows three things: how it changes the schema as data (`apply`, on the
tables of www/db/schema.py: this is how the migrations' state is built without a
database), its reverse (`reverse()`, None when there is none), and its SQL for a dialect
(`statements`, from the schema as it was before the operation). Each carries what its
reverse needs: a dropped column or table is written out in full.

`fill` is the value existing rows get for a column that is added, or that stops allowing
NULL: a constant in the column's type (a datetime as an ISO 8601 string).

``base.py`` holds what every operation is, ``schema.py`` the ones the state sees (tables,
columns, indexes), ``beside.py`` the ones it does not (change counters, raw SQL, Python).
Migration files import them all from here: ``from www.migrate.operations import ...``.
"""

from ...db.schema import Column, Index, Table
from .base import MigrationError, Operation, Tables, build
from .beside import (
    CountChanges,
    CountChangesBy,
    RunPython,
    RunSQL,
    StopCountingChanges,
    StopCountingChangesBy,
)
from .schema import (
    AddColumn,
    AlterColumn,
    CreateIndex,
    CreateSearchIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropSearchIndex,
    DropTable,
    RenameColumn,
)

__all__ = [
    "AddColumn",
    "AlterColumn",
    "Column",
    "CountChanges",
    "CountChangesBy",
    "CreateIndex",
    "CreateSearchIndex",
    "CreateTable",
    "DropColumn",
    "DropIndex",
    "DropSearchIndex",
    "DropTable",
    "Index",
    "MigrationError",
    "Operation",
    "RenameColumn",
    "RunPython",
    "RunSQL",
    "StopCountingChanges",
    "StopCountingChangesBy",
    "Table",
    "Tables",
    "build",
]
