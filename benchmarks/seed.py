"""Seed a benchmark database through the app's own ORM.

    .venv/bin/python benchmarks/seed.py --db /tmp/bench.db [--posts 1000] [--comments 10]
    .venv/bin/python benchmarks/seed.py --db 'postgresql://u:pw@127.0.0.1/db?search_path=s'

Creates the tables with the app's migrations (as init_db.py does: the app refuses a
database that has not had them), then inserts ``--users`` users
(all with the password ``--password``, hashed once and reused), ``--posts`` posts of
realistic Markdown (about 2 KB each: headings, lists, links, code, sometimes a table),
their stored HTML, and ``--comments`` comments per post, with ``insert_many``. The content
is deterministic (``--seed``), so two runs produce the same pages. Post ids are 1..posts,
user ids 1..users. On PostgreSQL (``--db`` a ``postgresql://`` URL, its schema empty) the
same rows get the same ids, so the pages are the same on both databases.
"""

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from www.accounts.models import User  # noqa: E402
from www.db import Database  # noqa: E402
from www.markdown import RENDERER_VERSION, render_markdown  # noqa: E402
from www.migrate import runner  # noqa: E402
from www.passwords import hash_password_sync  # noqa: E402
from www.posts.models import Comment, Post, PostHtml  # noqa: E402
from www.posts.rendering import source_hash  # noqa: E402
from www.settings import load_settings  # noqa: E402

DEFAULT_PASSWORD = "bench-password-1234"  # noqa: S105 -- a throwaway benchmark account
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

WORDS_TEXT = (
    "aiohttp asyncio request response handler middleware session cookie template render "
    "database query index cursor transaction writer reader connection latency throughput "
    "benchmark profile cache memory buffer stream socket server client worker process "
    "thread event loop future task coroutine await deploy proxy header status route view "
    "model field table column migration schema backup replica the a of and to in is it "
    "that for on with as this was at by from be are have has not but what all when we "
    "there can an your which their said if will each about how up out them then she many "
    "some so these would other into more her two like him see time could no make than "
    "first been its who now people my made over did down only way find use may water long "
    "little very after words called just where most know get through back much before go "
    "good new write our used me man too any day same right look think also around another "
    "came come work three word must because does part even place well such here take why "
    "things help put years different away again off went old number great tell men say"
)
WORDS = WORDS_TEXT.split()
LANGUAGES = ("python", "sql", "sh", "yaml")


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def sentence(rng: random.Random) -> str:
    text = words(rng, 6, 16)
    return text[0].upper() + text[1:] + rng.choice(".....?!")


def decorate(rng: random.Random, text: str) -> str:
    """Sprinkle inline Markdown over a sentence: emphasis, code spans, links."""
    parts = text.split(" ")
    for i in rng.sample(range(len(parts)), min(len(parts), rng.randint(0, 3))):
        kind = rng.random()
        if kind < 0.3:
            parts[i] = f"*{parts[i]}*"
        elif kind < 0.5:
            parts[i] = f"**{parts[i]}**"
        elif kind < 0.75:
            parts[i] = f"`{parts[i]}()`"
        else:
            parts[i] = f"[{parts[i]}](https://example.com/docs/{parts[i]})"
    return " ".join(parts)


def paragraph(rng: random.Random) -> str:
    return " ".join(decorate(rng, sentence(rng)) for _ in range(rng.randint(2, 5)))


def markdown_post(rng: random.Random, target: int = 2048) -> str:
    """About `target` characters of Markdown with the usual blog ingredients."""
    blocks = [paragraph(rng)]
    while sum(len(b) for b in blocks) < target:
        kind = rng.random()
        if kind < 0.45:
            blocks.append(paragraph(rng))
        elif kind < 0.6:
            blocks.append(f"## {sentence(rng).rstrip('.?!')}")
        elif kind < 0.75:
            blocks.append(
                "\n".join(f"- {decorate(rng, words(rng, 3, 10))}" for _ in range(rng.randint(3, 6)))
            )
        elif kind < 0.85:
            lines = [f"{rng.choice(WORDS)} = {rng.randint(1, 999)}" for _ in range(4)]
            blocks.append(f"```{rng.choice(LANGUAGES)}\n" + "\n".join(lines) + "\n```")
        elif kind < 0.93:
            blocks.append(f"> {sentence(rng)}")
        else:
            rows = [f"| {rng.choice(WORDS)} | {rng.randint(1, 99)} ms |" for _ in range(3)]
            blocks.append("| name | time |\n| --- | ---: |\n" + "\n".join(rows))
    return "\n\n".join(blocks) + "\n"


def users_rows(count: int, password_hash: str) -> list[dict]:
    return [
        {
            "name": f"reader{i:02d}",
            "email": f"user{i:02d}@bench.example",
            "password_hash": password_hash,
            "created_at": EPOCH,
        }
        for i in range(1, count + 1)
    ]


def posts_rows(rng: random.Random, count: int, users: int) -> list[dict]:
    rows = []
    for i in range(1, count + 1):
        when = EPOCH + timedelta(hours=i)
        title = f"{sentence(rng).rstrip('.?!')[:150]} #{i}"
        rows.append(
            {
                "user_id": rng.randint(1, users),
                "title": title,
                "summary": sentence(rng) + " " + sentence(rng),
                "content": markdown_post(rng),
                "created_at": when,
                "updated_at": when,
            }
        )
    return rows


def comments_rows(rng: random.Random, post_ids: list[int], per_post: int, users: int) -> list:
    rows = []
    for post_id in post_ids:
        base = EPOCH + timedelta(hours=post_id)
        for k in range(per_post):
            rows.append(
                {
                    "post_id": post_id,
                    "user_id": rng.randint(1, users),
                    "content": " ".join(sentence(rng) for _ in range(rng.randint(1, 3))),
                    "created_at": base + timedelta(minutes=k + 1),
                }
            )
    return rows


def html_rows(posts: list) -> list[dict]:
    """Each post's HTML, as saving it through the app stores it: a site whose posts have
    all been saved (or viewed once) since migration 0003, not one rendering on first view."""
    return [
        {
            "post_id": post_id,
            "source_hash": source_hash(content),
            "version": RENDERER_VERSION,
            "html": render_markdown(content),
        }
        for post_id, content in posts
    ]


async def seed(args: argparse.Namespace) -> dict[str, int]:
    settings = load_settings(args.config)
    rng = random.Random(args.seed)
    password_hash = hash_password_sync(settings.passwords, args.password)  # once, reused
    if isinstance(args.db, str):  # a PostgreSQL URL
        db = Database.from_url(args.db, ROOT, busy_timeout_ms=settings.db.busy_timeout_ms)
    else:
        db = Database(args.db, busy_timeout_ms=settings.db.busy_timeout_ms)
    async with db:
        await runner.up(db, runner.load())
        if await User.select(db).exists():
            raise SystemExit(f"{db.location} already holds data: give a new path or --force")
        await User.insert_many(db, users_rows(args.users, password_hash))
        await Post.insert_many(db, posts_rows(rng, args.posts, args.users))
        posts = await db.fetchall("SELECT id, content FROM posts ORDER BY id")
        post_ids = [post_id for post_id, _ in posts]
        await PostHtml.insert_many(db, html_rows(posts))
        await Comment.insert_many(db, comments_rows(rng, post_ids, args.comments, args.users))
        return {
            "users": await User.select(db).count(),
            "posts": await Post.select(db).count(),
            "comments": await Comment.select(db).count(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="SQLite file to create, or a postgresql:// URL")
    parser.add_argument("--config", help="config overlay (for the password hash parameters)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=10, help="comments per post")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="every user's password")
    parser.add_argument("--seed", type=int, default=6, help="random seed (same seed, same data)")
    parser.add_argument("--force", action="store_true", help="delete an existing file first")
    args = parser.parse_args(argv)
    if args.users < 1 or args.posts < 1 or args.comments < 0:
        parser.error("--users and --posts must be at least 1, --comments at least 0")
    on_postgres = args.db.startswith("postgresql://")
    args.db = args.db if on_postgres else Path(args.db).resolve()
    if args.force and not on_postgres:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    counts = asyncio.run(seed(args))
    where = Database.from_url(args.db, ROOT).location if on_postgres else args.db  # no password
    size = "" if on_postgres else f" ({args.db.stat().st_size / 1e6:.1f} MB)"
    print(
        f"seeded {where}: {counts['users']} users, {counts['posts']} posts, "
        f"{counts['comments']} comments{size} in {time.perf_counter() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
