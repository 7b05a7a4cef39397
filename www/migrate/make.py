"""`python -m www.migrate make NAME`: write the next migration from the models' changes.

The autodetector (www/migrate/autodetect.py) finds the operations; what it cannot know (a
rename, the value existing rows get) it asks about on a terminal, or takes from
--rename/--drop/--fill, and otherwise refuses with a message saying which to give.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ..db.schema import tables_of
from ..models import MODELS
from . import runner
from .autodetect import AutodetectError, diff, fields_of, parse_fills, parse_renames
from .operations import DropColumn, DropTable, MigrationError
from .writer import next_name, render


def make(migrations: list[runner.Migration], args: argparse.Namespace, directory: Path) -> int:
    try:
        operations = diff(
            runner.state(migrations),
            tables_of(MODELS),
            fields=fields_of(MODELS),
            renames=parse_renames(args.rename, args.drop),
            fills=parse_fills(args.fill),
            ask=input if sys.stdin.isatty() else None,
        )
        name = next_name([m.name for m in migrations], args.name)
    except (AutodetectError, ValueError) as exc:
        raise MigrationError(str(exc)) from exc
    if not operations:
        print("No changes: the migrations already match the models.")
        return 0
    path = directory / f"{name}.py"
    path.write_text(render(name, operations, date.today(), operations.notes), encoding="utf-8")
    print(f"Wrote {path}:")
    for operation in operations:
        print(f"  {operation.describe()}")
    lost = [op for op in operations if isinstance(op, DropTable | DropColumn)]
    if lost:
        print("It deletes data (" + ", ".join(op.describe() for op in lost) + "): read it first.")
    print("Apply it with `python -m www.migrate up` (or `make migrate`).")
    return 0
