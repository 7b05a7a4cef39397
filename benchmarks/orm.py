"""How much the ORM costs over raw aiosqlite doing the same work.

    .venv/bin/python benchmarks/orm.py [--repeat N] [--json]

Each side has its own temporary database file with the same schema (created by
``Database.create_all``), the same pragmas and the same data, and runs the same SQL.
Inserts start from the same dicts holding datetimes: the raw side turns them into
parameter tuples (formatting the timestamps), the ORM validates and converts them. The
"ready-made tuples" row shows raw executemany alone, for reference.

Each case runs as ``--repeat`` pairs of runs, one per side, back to back (alternating
which goes first). The table shows the median time of each side, and the median of the
pairs' ratios: the two runs of a pair share whatever else the machine is doing.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from www.db import Database
from www.models import MODELS, Blog, User
from www.orm import utcnow

USERS = 50
POSTS = 2_000
GETS = 1_000
PAGES = 200
PER_PAGE = 20
BULK = 10_000
CREATES = 1_000

BLOG_COLUMNS = "id, user_id, title, summary, content, created_at, updated_at"
USER_COLUMNS = "id, name, email, password_hash, is_admin, session_epoch, created_at"
INSERT_BLOG = (
    "INSERT INTO blogs (user_id, title, summary, content, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def post_rows(count: int, start: int = 0) -> list[dict]:
    base = utcnow()
    return [
        {
            "user_id": i % USERS + 1,
            "title": f"Post number {start + i}",
            "summary": "A short summary of the post.",
            "content": "Some *Markdown* text. " * 20,
            "created_at": base + timedelta(seconds=i),
            "updated_at": base + timedelta(seconds=i),
        }
        for i in range(count)
    ]


def as_tuple(row: dict) -> tuple:
    """What a raw-SQL author would pass: the same values, timestamps as ISO 8601 text."""
    return (
        row["user_id"],
        row["title"],
        row["summary"],
        row["content"],
        row["created_at"].isoformat(),
        row["updated_at"].isoformat(),
    )


async def raw_connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
        "synchronous=NORMAL",
    ):
        await conn.execute(f"PRAGMA {pragma}")
    return conn


async def seed(db: Database) -> None:
    await db.create_all(MODELS)
    await User.insert_many(
        db,
        [
            {"name": f"user{i}", "email": f"user{i}@example.com", "password_hash": "x"}
            for i in range(USERS)
        ],
    )
    await Blog.insert_many(db, post_rows(POSTS))


# --- the cases: each returns (raw coroutine function, orm coroutine function) -------------


def get_by_id(raw, db):
    sql = f"SELECT {BLOG_COLUMNS} FROM blogs WHERE id = ?"

    async def run_raw():
        for i in range(GETS):
            rows = await raw.execute_fetchall(sql, (i % POSTS + 1,))
            assert rows

    async def run_orm():
        for i in range(GETS):
            assert await Blog.get(db, i % POSTS + 1) is not None

    return run_raw, run_orm


def page_with_authors(raw, db):
    posts_sql = (
        f"SELECT {BLOG_COLUMNS} FROM blogs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    )

    async def run_raw():
        for page in range(PAGES):
            posts = await raw.execute_fetchall(posts_sql, (PER_PAGE, page * PER_PAGE % POSTS))
            ids = sorted({post[1] for post in posts})
            marks = ", ".join("?" * len(ids))
            users = await raw.execute_fetchall(
                f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", ids
            )
            authors = {user[0]: user for user in users}
            # what the template needs: each post's author, and its date as a datetime
            shown = [(post, authors[post[1]], datetime.fromisoformat(post[5])) for post in posts]
            assert len(shown) == PER_PAGE

    async def run_orm():
        query = Blog.select(db).order_by("-created_at", "-id").limit(PER_PAGE)
        for page in range(PAGES):
            posts = await query.offset(page * PER_PAGE % POSTS).all()
            authors = await User.get_many(db, (post.user_id for post in posts))
            shown = [(post, authors[post.user_id], post.created_at) for post in posts]
            assert len(shown) == PER_PAGE

    return run_raw, run_orm


def bulk_insert(raw, db, *, ready_made=False):
    rows = post_rows(BULK, start=POSTS)
    tuples = [as_tuple(row) for row in rows]

    async def run_raw():
        params = tuples if ready_made else [as_tuple(row) for row in rows]
        await raw.execute("BEGIN IMMEDIATE")
        await raw.executemany(INSERT_BLOG, params)
        await raw.execute("COMMIT")

    async def run_orm():
        assert await Blog.insert_many(db, rows) == BULK

    return run_raw, run_orm


def bulk_insert_ready_made(raw, db):
    return bulk_insert(raw, db, ready_made=True)


def single_creates(raw, db):
    rows = post_rows(CREATES, start=POSTS)
    tuples = [as_tuple(row) for row in rows]

    async def run_raw():
        for params in tuples:
            await raw.execute("BEGIN IMMEDIATE")
            await raw.execute(INSERT_BLOG, params)
            await raw.execute("COMMIT")

    async def run_orm():
        for row in rows:
            async with db.transaction() as tx:
                await Blog.create(tx, **row)

    return run_raw, run_orm


CASES = [  # name, setup, target (ORM time / raw time), or None: reported only
    (f"get by id ({GETS:,} sequential)", get_by_id, 1.25),
    (f"page of {PER_PAGE} posts + authors ({PAGES} pages)", page_with_authors, 1.25),
    (f"insert {BULK:,} rows (one executemany)", bulk_insert, 1.25),
    ("  same, raw given ready-made tuples", bulk_insert_ready_made, None),
    (f"{CREATES:,} creates, a transaction each", single_creates, None),
]


async def timed(run) -> float:
    start = time.perf_counter()
    await run()
    return (time.perf_counter() - start) * 1000


async def main(repeat: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        raw_db, orm_db = Database(Path(folder) / "raw.db"), Database(Path(folder) / "orm.db")
        for db in (raw_db, orm_db):
            await db.open()
            await seed(db)
        await raw_db.close()  # the raw side uses its own plain connection
        raw = await raw_connect(Path(folder) / "raw.db")
        results = []
        try:
            for name, setup, target in CASES:
                run_raw, run_orm = setup(raw, orm_db)
                raw_times, orm_times = [], []
                for i in range(repeat):  # a pair of runs, alternating which side goes first
                    if i % 2:
                        orm_times.append(await timed(run_orm))
                        raw_times.append(await timed(run_raw))
                    else:
                        raw_times.append(await timed(run_raw))
                        orm_times.append(await timed(run_orm))
                ratios = [orm / raw for raw, orm in zip(raw_times, orm_times, strict=True)]
                results.append(
                    {
                        "case": name,
                        "raw_ms": statistics.median(raw_times),
                        "orm_ms": statistics.median(orm_times),
                        "ratio": statistics.median(ratios),
                        "target": target,
                    }
                )
        finally:
            await raw.close()
            await orm_db.close()
    return results


def print_table(results: list[dict]) -> bool:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average {load:.2f} on {os.cpu_count()} CPUs: other work skews the timings)")
    width = max(len(result["case"]) for result in results)
    print(f"{'case':<{width}}  {'raw ms':>8}  {'orm ms':>8}  {'ratio':>6}  target")
    ok = True
    for r in results:
        target = "-" if r["target"] is None else f"<= {r['target']:.2f}"
        met = r["target"] is None or r["ratio"] <= r["target"]
        ok = ok and met
        print(
            f"{r['case']:<{width}}  {r['raw_ms']:8.1f}  {r['orm_ms']:8.1f}  {r['ratio']:6.2f}"
            f"  {target}{'' if met else '  MISSED'}"
        )
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="pairs of runs per case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = asyncio.run(main(args.repeat))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        sys.exit(0 if print_table(results) else 1)
