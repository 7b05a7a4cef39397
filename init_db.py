"""Bring the configured database to the newest schema; optionally start over or add samples.

    python init_db.py                   # apply the pending migrations (safe to run again)
    python init_db.py --sample          # ... and add demo users, posts and comments
    python init_db.py --drop [--yes]    # drop every table first (asks unless --yes)
    python init_db.py --config config/local.yaml

The database is the one the application uses: `db.url` from config/default.yaml, the
--config overlay (or $WWW_CONFIG) and WWW_* environment variables. The schema comes from
the migrations in migrations/ (`python -m www.migrate up` does the same), so a new
database and an upgraded old one end up with exactly the same tables.
"""

import argparse
import asyncio
import sys
from datetime import timedelta

from www.accounts.models import User
from www.db import BaseDatabase, Database, DatabaseError
from www.migrate import runner
from www.migrate.operations import MigrationError
from www.models import MODELS
from www.orm import utcnow
from www.passwords import hash_password_sync
from www.posts.models import Comment, Post
from www.posts.tags import set_tags
from www.settings import PROJECT_ROOT, ConfigError, Settings, load_settings

# Sample accounts: for trying the blog locally, never for a real deployment.
SAMPLE_USERS = [
    # name, email, password, is_admin
    ("admin", "admin@example.com", "admin-password", True),
    ("alice", "alice@example.com", "alice-password", False),
    ("bob", "bob@example.com", "bob-password", False),
]

# Each sample post's tags, in SAMPLE_POSTS' order.
SAMPLE_TAGS = [
    ["welcome", "aiohttp"],
    ["markdown", "writing"],
    ["database", "sqlite", "postgresql"],
    ["deploy", "nginx"],
    ["deploy", "security"],
]

SAMPLE_POSTS = [
    # author, title, summary, Markdown content
    (
        "admin",
        "Welcome to your new blog",
        "What this starter gives you, and where to look first.",
        "This blog runs on **aiohttp** with a small ORM over SQLite.\n\n"
        "## Where things are\n\n"
        "- `www/app.py` builds the application\n"
        "- `www/models.py` declares the tables\n"
        "- `templates/` holds the pages\n\n"
        "Log in with one of the sample accounts printed by `init_db.py --sample`, or "
        "register your own.",
    ),
    (
        "alice",
        "Writing posts in Markdown",
        "Headings, lists, links, code and tables all work.",
        "Posts are written in [Markdown](https://commonmark.org/help/).\n\n"
        "### A list\n\n1. *emphasis* and **strong**\n2. `inline code`\n3. ~~strikethrough~~\n\n"
        "### Some code\n\n```python\nasync def hello(request):\n"
        '    return web.Response(text="Hello")\n```\n\n'
        "| Syntax | Result |\n|--------|--------|\n| `*a*` | *a* |\n| `**b**` | **b** |\n\n"
        "Raw HTML such as <script> is shown as text, never run.",
    ),
    (
        "bob",
        "How the database stays consistent",
        "One writer, several readers, and transactions that never interleave.",
        "SQLite runs in WAL mode: readers never wait for the writer and never see "
        "uncommitted rows.\n\n"
        "> Every write goes through one connection, one transaction at a time.\n\n"
        "Deleting a user removes their posts and comments too (`ON DELETE CASCADE`).",
    ),
    (
        "alice",
        "Deploying behind a reverse proxy",
        "Gunicorn, TLS termination and a stable session secret.",
        "Run the app with gunicorn's aiohttp worker and put nginx or Caddy in front of it "
        "for TLS.\n\nSet `WWW_SESSION__SECRET` to the same value on every worker, and run "
        "`init_db.py` once before the first start.",
    ),
    (
        "admin",
        "A checklist before going live",
        "Secrets, backups and the first admin account.",
        "- [ ] set `session.secure: true` behind HTTPS\n"
        "- [ ] back up `data/` (the database and uploads)\n"
        "- [ ] delete the sample accounts, or never create them: skip `--sample`\n",
    ),
]

SAMPLE_COMMENTS = [
    # post index, author, content
    (0, "alice", "Thanks, this was quick to set up!"),
    (0, "bob", "Looking forward to trying the file uploads."),
    (1, "bob", "The table renders nicely."),
    (2, "alice", "Good to know about the cascade."),
    (2, "admin", "Backups matter too: copy the `-wal` file along with the database."),
    (3, "bob", "Caddy made the TLS part painless for me."),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Migrate the configured database to the newest schema."
    )
    parser.add_argument("--config", metavar="PATH", help="an overlay config file (YAML)")
    parser.add_argument("--sample", action="store_true", help="add sample users and posts")
    parser.add_argument("--drop", action="store_true", help="drop all tables first")
    parser.add_argument("--yes", action="store_true", help="do not ask before dropping")
    return parser.parse_args(argv)


def confirm_drop(db: BaseDatabase) -> bool:
    answer = input(
        f"Drop every table in {db.location}? All users, posts, comments and file records will "
        "be lost (files on disk are left alone). Type 'yes' to continue: "
    )
    return answer.strip().lower() == "yes"


async def add_sample_data(db: BaseDatabase, settings: Settings) -> None:
    if await User.select(db).exists():
        print("Sample data skipped: the database already has users.")
        return
    hashes = {name: hash_password_sync(settings.passwords, pw) for name, _, pw, _ in SAMPLE_USERS}
    now = utcnow()
    async with db.transaction() as tx:  # all or nothing
        users = {}
        for name, email, _, is_admin in SAMPLE_USERS:
            users[name] = await User.create(
                tx,
                name=name,
                email=email,
                password_hash=hashes[name],
                is_admin=is_admin,
                created_at=now - timedelta(days=30),
            )
        posts = []
        for number, (author, title, summary, content) in enumerate(SAMPLE_POSTS):
            created = now - timedelta(days=3 * (len(SAMPLE_POSTS) - number))  # oldest first
            posts.append(
                await Post.create(
                    tx,
                    user_id=users[author].id,
                    title=title,
                    summary=summary,
                    content=content,
                    created_at=created,
                    updated_at=created,
                )
            )
        for post, names in zip(posts, SAMPLE_TAGS, strict=True):
            await set_tags(tx, post.id, names)
        await Comment.insert_many(
            tx,
            [
                {
                    "post_id": posts[index].id,
                    "user_id": users[author].id,
                    "content": content,
                    "created_at": posts[index].created_at + timedelta(hours=number + 1),
                }
                for number, (index, author, content) in enumerate(SAMPLE_COMMENTS)
            ],
        )
    print(
        f"Sample data: {len(SAMPLE_USERS)} users, {len(SAMPLE_POSTS)} posts, "
        f"{len(SAMPLE_COMMENTS)} comments."
    )
    print("SAMPLE CREDENTIALS, for local use only (delete these accounts before going live):")
    for _name, email, password, is_admin in SAMPLE_USERS:
        print(f"  {email:<20} {password:<16} {'(admin)' if is_admin else ''}".rstrip())


async def run(args: argparse.Namespace, settings: Settings) -> int:
    db = Database.from_url(settings.db.url, PROJECT_ROOT, **settings.db.model_dump(exclude={"url"}))
    print(f"Database: {db.location}")
    async with db:
        if args.drop:
            if not (args.yes or confirm_drop(db)):
                print("Nothing dropped.")
                return 1
            await db.drop_all([runner.SchemaMigration, *MODELS])
            print(f"Dropped tables: {', '.join(model._meta.table for model in MODELS)}.")
        applied = await runner.up(db, runner.load())
        print(f"Migrations applied: {', '.join(applied)}." if applied else "Schema up to date.")
        if args.sample:
            await add_sample_data(db, settings)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)
        return asyncio.run(run(args, settings))
    except (ConfigError, DatabaseError, MigrationError, ValueError, OSError) as exc:
        print(f"init_db.py: error: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("\nNothing dropped.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
