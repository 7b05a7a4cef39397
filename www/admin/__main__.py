"""Administration from the command line.

    python -m www.admin create-admin EMAIL [--name NAME] [--config PATH]

Makes EMAIL an administrator: an existing account is promoted; otherwise a new account
is created, with the password asked on the terminal (or read from standard input with
--password-stdin, for scripts).
"""

import argparse
import asyncio
import getpass
import sys

from ..accounts.actions import find_by_email
from ..accounts.models import User
from ..accounts.schemas import Registration
from ..db import Database, DatabaseError, IntegrityError
from ..passwords import hash_password_sync
from ..schemas import Invalid
from ..settings import PROJECT_ROOT, ConfigError, Settings, load_settings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m www.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create or promote an administrator")
    create.add_argument("email")
    create.add_argument("--name", help="display name for a new account (default: from EMAIL)")
    create.add_argument("--password-stdin", action="store_true", help="read the password")
    create.add_argument("--config", help="YAML file merged over config/default.yaml")
    return parser.parse_args(argv)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password for the new account: ")
    if password != getpass.getpass("Repeat it: "):
        raise SystemExit("error: the passwords differ")
    return password


async def create_admin(settings: Settings, args: argparse.Namespace) -> str:
    """Promote or create the account; returns what was done, for the user."""
    options = {
        **settings.db.model_dump(exclude={"url"}),
        "readers": 1,
        "pool_size": 1,
        "body_pool_size": 1,
    }
    db = Database.from_url(settings.db.url, PROJECT_ROOT, **options)
    await db.open()
    try:
        email = args.email.strip().lower()
        user = await find_by_email(db, email)  # however its letters are written
        if user is not None:
            if user.is_admin:
                return f"{email} is already an administrator."
            user.is_admin = True
            await user.save(db)
            return f"{email} is now an administrator."
        name = args.name or email.partition("@")[0]
        password = read_password(args.password_stdin)
        try:
            values = Registration.parse({"name": name, "email": email, "password": password})
        except Invalid as exc:
            raise SystemExit("error: " + " ".join(exc.errors.values())) from None
        # One hash, in a thread: a command has no app, and no other request to serve.
        password_hash = await asyncio.to_thread(
            hash_password_sync, settings.passwords, values.password
        )
        try:
            await User.create(
                db,
                name=values.name,
                email=values.email,
                password_hash=password_hash,
                is_admin=True,
            )
        except IntegrityError:
            raise SystemExit(f"error: the name {name!r} is taken; choose one with --name") from None
        return f"Created the administrator {values.name} <{email}>."
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)
        print(asyncio.run(create_admin(settings, args)))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
