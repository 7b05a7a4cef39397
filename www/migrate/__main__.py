"""`python -m www.migrate COMMAND`: the schema, moved by migrations in migrations/.

    make NAME    write the next migration from what changed in the models
    up           apply the pending migrations (--to NAME: up to that one)
    down         revert the last applied migration
    status       list the migrations, applied or pending
    check        exit 1 when the models differ from what the migrations build, else 0

The database is the application's (`db.url`, from --config, $WWW_CONFIG and WWW_* vars).
Mistakes exit with status 2 and one line: a migration that fails changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ..db import Database, DatabaseError
from ..db.schema import differences, tables_of
from ..models import MODELS
from ..settings import PROJECT_ROOT, ConfigError, load_settings
from . import runner
from .operations import MigrationError

LOCK_WAIT_MS = 300_000  # SQLite: how long `up` waits for another process's writes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m www.migrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", help="YAML file merged over config/default.yaml")
    parser.add_argument(
        "--migrations", type=Path, default=runner.DIRECTORY, help="the folder of migration files"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    make = commands.add_parser("make", help="write the next migration from the models")
    make.add_argument("name", help="what it does, in a few words: add_color")
    make.add_argument(
        "--rename", action="append", default=[], metavar="TABLE.OLD=NEW", help="a renamed column"
    )
    make.add_argument(
        "--drop", action="append", default=[], metavar="TABLE.COLUMN", help="dropped, not renamed"
    )
    make.add_argument(
        "--fill",
        action="append",
        default=[],
        metavar="TABLE.COLUMN=VALUE",
        help="what existing rows get in a new NOT NULL column",
    )
    up = commands.add_parser("up", help="apply the pending migrations")
    up.add_argument("--to", metavar="NAME", help="stop after this migration")
    commands.add_parser("down", help="revert the last applied migration")
    commands.add_parser("status", help="list the migrations, applied or pending")
    commands.add_parser("check", help="exit 1 if the models differ from the migrations")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        migrations = runner.load(args.migrations)
        if args.command == "check":
            return check(migrations)
        if args.command == "make":
            from .make import make  # only `make` needs the autodetector

            return make(migrations, args, args.migrations)
        settings = load_settings(args.config)
        options = settings.db.model_dump(exclude={"url"})
        options["busy_timeout_ms"] = max(options["busy_timeout_ms"], LOCK_WAIT_MS)
        db = Database.from_url(settings.db.url, PROJECT_ROOT, **options)
        return asyncio.run(run(db, args, migrations))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
    except (MigrationError, DatabaseError) as exc:
        print(f"migration error: {exc}", file=sys.stderr)
    return 2


async def run(db: Any, args: argparse.Namespace, migrations: list[runner.Migration]) -> int:
    async with db:
        if args.command == "up":
            if args.to and args.to not in {m.name for m in migrations}:
                raise MigrationError(f"there is no migration {args.to}")
            done = await runner.up(db, migrations, target=args.to)
            print(f"Applied {', '.join(done)}." if done else "Nothing to apply: up to date.")
        elif args.command == "down":
            name = await runner.down(db, migrations)
            print(f"Reverted {name}." if name else "Nothing to revert: no migration is applied.")
        else:
            applied = await runner.applied(db)
            for migration in migrations:
                when = applied.get(migration.name)
                mark = f"applied {when:%Y-%m-%d %H:%M}" if when else "pending"
                print(f"{'[x]' if when else '[ ]'} {migration.name}  {mark}")
            for name in sorted(applied.keys() - {m.name for m in migrations}):
                print(f"[?] {name}  applied, but not in migrations/")
    return 0


def check(migrations: list[runner.Migration]) -> int:
    """0 when the migrations build the models' schema; else 1, saying what differs."""
    built, wanted = runner.state(migrations), tables_of(MODELS)
    if built == wanted:
        print("The migrations match the models.")
        return 0
    print("The models differ from the migrations:", file=sys.stderr)
    for line in differences(built, wanted, ("the migrations", "the models")):
        print(f"  {line}", file=sys.stderr)
    print("Run `python -m www.migrate make NAME` to write the migration.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
