"""`python -m www.scaffold`: write a whole resource, or take it away.

    generate NAME FIELD...   e.g. generate Bookmark title:str url:str notes:text? owner:user
    destroy NAME             remove what generate wrote, and write the migration that drops
                             the table (asks first; --yes does not)

Field types: str (str:80: at most 80 characters), text, int, float, bool, datetime,
ref:<Model> (a foreign key to an existing model), user (the owner: only they or an admin
may change the row; without one, only administrators may). A trailing ? makes a field
optional. Mistakes exit with status 2 and one line saying what to do.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from ..settings import PROJECT_ROOT
from . import generate as gen
from . import project
from .spec import Resource, SpecError, check_model_name, parse

MARK = "python -m www.scaffold generate"  # in the package's __init__.py: destroy checks it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m www.scaffold",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    make = commands.add_parser("generate", help="write a resource")
    make.add_argument("name", help="the model's class name, in CamelCase: Bookmark")
    make.add_argument("fields", nargs="*", metavar="FIELD", help="name:type[?], e.g. title:str:80")
    make.add_argument("--force", action="store_true", help="overwrite files that exist")
    remove = commands.add_parser("destroy", help="remove a generated resource")
    remove.add_argument("name", help="the model's class name, as given to generate")
    remove.add_argument("--yes", action="store_true", help="do not ask before deleting")
    for command in (make, remove):
        command.add_argument("--dry-run", action="store_true", help="list, change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "generate":
            return generate(args)
        return destroy(args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def generate(args: argparse.Namespace) -> int:
    root: Path = args.root
    resource = project.check_clashes(parse(args.name, args.fields), root, force=args.force)
    files = gen.render(resource, " ".join(shlex.quote(a) for a in [args.name, *args.fields]))
    existing = [path for path in files if (root / path).exists()]
    if existing and not args.force:
        listed = ", ".join(map(str, existing))
        raise SpecError(f"{listed} exist: nothing was written (--force overwrites them)")
    project.check_migrations(root)
    migration = f"add_{resource.package}"
    if args.dry_run:
        print(f"Would write ({'overwriting some, ' if existing else ''}nothing is written now):")
        for path in files:
            print(f"  {path}")
        print(f"  migrations/NNNN_{migration}.py (python -m www.migrate make {migration})")
        print(f"Would add {resource.package!r} to {project.RESOURCES_FILE} and a link to")
        print(f"  {project.BASE_TEMPLATE}'s navigation.")
        return 0
    outcome = gen.Outcome()
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
        outcome.written.append(path)
    gen.format_python(root, outcome.written, outcome)
    project.register(root, resource.package)
    project.add_nav(root, resource)
    report = gen.migrate(root, migration)
    print(f"Wrote {len(outcome.written)} files:")
    for path in outcome.written:
        print(f"  {path}")
    print(f"Added {resource.package!r} to {project.RESOURCES_FILE}, a link to the navigation.")
    print(report)
    for note in outcome.notes:
        print(f"Note: {note}.")
    print(f"Next: make migrate, then make test (its tests are in tests/{resource.package}/).")
    return 0


def destroy(args: argparse.Namespace) -> int:
    root: Path = args.root
    check_model_name(args.name)
    resource = Resource(args.name, ())
    marker = root / "www" / resource.package / "__init__.py"
    if not marker.exists() or MARK not in marker.read_text(encoding="utf-8"):
        raise SpecError(f"www/{resource.package}/ was not written by `{MARK}`: nothing to destroy")
    present = [path for path in gen.paths(resource) if (root / path).exists()]
    migration = f"drop_{resource.package}"
    print(f"This deletes {len(present)} files of {resource.package}:")
    for path in present:
        print(f"  {path}")
    print(f"removes it from {project.RESOURCES_FILE} and the navigation, and writes")
    print(f"migrations/NNNN_{migration}.py, which drops the table {resource.package} and its rows.")
    if args.dry_run:
        return 0
    if not args.yes and not _confirmed():
        print("Nothing was changed.")
        return 1
    for path in present:
        (root / path).unlink()
    for folder in {(root / path).parent for path in present}:
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
        elif folder.exists():
            print(f"Kept {folder.relative_to(root)}/: it holds files generate did not write.")
    project.unregister(root, resource.package)
    project.remove_nav(root, resource)
    print(gen.migrate(root, migration))
    print("Next: make migrate (it drops the table).")
    return 0


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        raise SpecError("there is no terminal to ask: add --yes to delete without asking")
    return input("Go on? [y/N] ").strip().lower() in ("y", "yes")


if __name__ == "__main__":
    sys.exit(main())
