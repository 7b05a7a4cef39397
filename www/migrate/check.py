"""Is this database ready to serve these models? Asked at start-up and by /healthz.

A server on the wrong schema does harm quietly: a missing column is an error on every
page that reads it, a missing table a 500 on every page. So the application refuses to
start, with one line saying what to run, when the models have changed without a
migration, when a migration is pending, or when a table or column the models need is
missing (someone changed the database by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..db import DatabaseError
from ..db.schema import tables_of
from .operations import MigrationError
from .runner import RECORD, Migration, _table_names, pending, state

UP = "run `python -m www.migrate up` (or `make migrate`)"
MAKE = "run `python -m www.migrate make NAME` (or `make migration NAME=...`), then " + UP[4:]


class SchemaNotReady(Exception):
    """The database cannot serve the models; the message says why, and what to run."""


async def schema_problem(
    db: Any, migrations: list[Migration], models: Iterable[Any], *, thorough: bool = True
) -> str | None:
    """Why the database cannot serve `models`, in one line, or None. `thorough` also reads
    every model's table (a query each) and compares the models with the migrations."""
    models = list(models)
    try:
        if thorough and state(migrations) != tables_of(models):
            return f"the models differ from the migrations: {MAKE}"
        todo = await pending(db, migrations)
    except (MigrationError, DatabaseError) as exc:
        return str(exc)
    if todo:
        if len(todo) == len(migrations) and (await _table_names(db)) - {RECORD.name}:
            return f"this database was made before migrations: {UP} to adopt it"
        return f"migration {todo[0].name} is pending: {UP}"
    if thorough:
        for model in models:
            try:
                await model.select(db).limit(0).all()  # names every column of the model
            except DatabaseError as exc:
                return f"the database does not match the migrations ({exc}): changed by hand?"
    return None


async def require_ready(db: Any, migrations: list[Migration], models: Iterable[Any]) -> None:
    problem = await schema_problem(db, migrations, models)
    if problem:
        raise SchemaNotReady(problem)
