"""How much the ORM costs over the raw driver doing the same work, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/orm.py [--repeat N] [--json] [--skip-pg]

SQLite: the ORM (``www.db.Database``) against raw aiosqlite. Each side has its own
temporary database file with the same schema (created by ``Database.create_all``), the
same pragmas and the same data, and runs the same SQL. The ORM side has one reader
connection (``readers=1``), as the raw side has one connection: two readers taking turns
measure faster here, which would flatter the ORM.

PostgreSQL: the ORM on the app's ``PostgresDatabase`` (an asyncpg pool) against raw asyncpg
on one plain connection. Each side works in a schema of its own in the same database (made
afresh by ``Database.create_all``, seeded alike, dropped at the end); the ORM's pool has
one connection (``pool_size=1``), again as the raw side has one. The raw side writes the
same SQL with ``$1`` placeholders and passes asyncpg's own types (datetimes as datetime
objects), which is what a raw driver user would do; the ORM validates and converts as it
does in the app. Where PostgreSQL comes from is benchmarks/postgres.py's: WWW_BENCH_PG_URL,
else a throwaway server (``.ci/postgres.sh``, pinned to CPU 0) when PostgreSQL is
installed, else the PostgreSQL rows are skipped and the reason is printed.

Inserts start from the same dicts holding datetimes: the raw side turns them into
parameter tuples (on SQLite formatting the timestamps), the ORM validates and converts
them. The "ready-made tuples" row shows raw executemany alone, for reference.

Each case is a number of steps (one get, one page, one create; the bulk insert is one
step) that both sides run. A round runs every step once per side, alternating step by
step which side goes first, timing each step alone and adding them up per side; the
round's ratio is ORM total / raw total. On a noisy machine a whole run can take twice as
long one moment as the next, so two whole runs back to back can differ by more than the
ORM costs; taking turns every step (a millisecond or less) makes both sides live through
the same machine conditions. Each case runs ``--repeat`` rounds; the table shows the
median round total of each side, and the median of the rounds' ratios. Results are
checked (the same rows on both sides) between steps, outside the timings.

Exit status 1 when a target is missed (run.py reports it as such); skipped PostgreSQL rows
are no failure.
"""

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import postgres  # benchmarks/postgres.py: where PostgreSQL comes from

from www.accounts.models import User
from www.db import Database, PostgresDatabase
from www.models import MODELS
from www.orm import utcnow
from www.posts.models import Post

USERS = 50
POSTS = 2_000
GETS = 1_000
PAGES = 200
PER_PAGE = 20
BULK = 10_000
CREATES = 1_000
TARGET = 1.15  # ORM time / raw time (issue #17), on both databases
PG_SCHEMAS = ("www_bench_orm", "www_bench_orm_raw")  # the ORM's, the raw side's

# The raw side reads the columns the ORM reads (every field), named from the models so
# that a column added to a model is read by both sides.
POST_COLUMNS = ", ".join(Post._meta.names)
USER_COLUMNS = ", ".join(User._meta.names)
INSERT_POST = (
    "INSERT INTO posts (user_id, title, summary, content, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
PG_INSERT_POST = (
    "INSERT INTO posts (user_id, title, summary, content, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
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
    """What a raw-SQL author would pass to sqlite3: the timestamps as ISO 8601 text."""
    return (
        row["user_id"],
        row["title"],
        row["summary"],
        row["content"],
        row["created_at"].isoformat(),
        row["updated_at"].isoformat(),
    )


def as_pg_tuple(row: dict) -> tuple:
    """What a raw-SQL author would pass to asyncpg: the values as they are."""
    return (
        row["user_id"],
        row["title"],
        row["summary"],
        row["content"],
        row["created_at"],
        row["updated_at"],
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


async def seed(db: Any) -> None:
    await db.create_all(MODELS)
    await User.insert_many(
        db,
        [
            {"name": f"user{i}", "email": f"user{i}@example.com", "password_hash": "x"}
            for i in range(USERS)
        ],
    )
    await Post.insert_many(db, post_rows(POSTS))


# --- the cases: each returns the steps of both sides ------------------------------------
# ``raw`` is an aiosqlite.Connection or an asyncpg.Connection; each case writes the raw
# side's step for each driver, as its user would, so that no adapter adds to its time.


class Steps(NamedTuple):
    raw: Callable[[int], Awaitable[Any]]  # step i on the raw side, returning what it got
    orm: Callable[[int], Awaitable[Any]]  # the same step on the ORM side
    count: int
    check: Callable[[int, Any, Any], None]  # step i, raw result, ORM result: run untimed


def get_by_id(raw, db):
    if isinstance(raw, asyncpg.Connection):
        sql = f"SELECT {POST_COLUMNS} FROM posts WHERE id = $1"

        async def raw_step(i):
            return await raw.fetch(sql, i % POSTS + 1)

    else:
        sql = f"SELECT {POST_COLUMNS} FROM posts WHERE id = ?"

        async def raw_step(i):
            return await raw.execute_fetchall(sql, (i % POSTS + 1,))

    async def orm_step(i):
        return await Post.get(db, i % POSTS + 1)

    def check(i, rows, post):
        assert len(rows) == 1
        assert post is not None
        assert rows[0][0] == post.id == i % POSTS + 1

    return Steps(raw_step, orm_step, GETS, check)


def page_with_authors(raw, db):
    query = Post.select(db).order_by("-created_at", "-id").limit(PER_PAGE)
    if isinstance(raw, asyncpg.Connection):
        posts_sql = (
            f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        )

        async def raw_step(page):
            posts = await raw.fetch(posts_sql, PER_PAGE, page * PER_PAGE % POSTS)
            ids = sorted({post[1] for post in posts})
            marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
            users = await raw.fetch(f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", *ids)
            authors = {user[0]: user for user in users}
            # what the template needs: each post's author, and its date (a datetime already)
            return [(post, authors[post[1]], post[5]) for post in posts]

    else:
        posts_sql = (
            f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        )

        async def raw_step(page):
            posts = await raw.execute_fetchall(posts_sql, (PER_PAGE, page * PER_PAGE % POSTS))
            ids = sorted({post[1] for post in posts})
            marks = ", ".join("?" * len(ids))
            users = await raw.execute_fetchall(
                f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", ids
            )
            authors = {user[0]: user for user in users}
            # what the template needs: each post's author, and its date as a datetime
            return [(post, authors[post[1]], datetime.fromisoformat(post[5])) for post in posts]

    async def orm_step(page):
        posts = await query.offset(page * PER_PAGE % POSTS).all()
        authors = await User.get_many(db, (post.user_id for post in posts))
        return [(post, authors[post.user_id], post.created_at) for post in posts]

    def check(page, raw_shown, orm_shown):
        assert len(raw_shown) == len(orm_shown) == PER_PAGE
        raw_ids = [(post[0], author[0]) for post, author, _ in raw_shown]
        assert raw_ids == [(post.id, author.id) for post, author, _ in orm_shown]
        assert {type(date) for *_, date in raw_shown + orm_shown} == {datetime}

    return Steps(raw_step, orm_step, PAGES, check)


def bulk_insert(raw, db, *, ready_made=False):
    rows = post_rows(BULK, start=POSTS)
    if isinstance(raw, asyncpg.Connection):
        tuples = [as_pg_tuple(row) for row in rows]

        async def raw_step(_):
            params = tuples if ready_made else [as_pg_tuple(row) for row in rows]
            await raw.execute("BEGIN")
            await raw.executemany(PG_INSERT_POST, params)
            await raw.execute("COMMIT")
            return len(params)  # asyncpg does not count a batch: it inserts all or fails

    else:
        tuples = [as_tuple(row) for row in rows]

        async def raw_step(_):
            params = tuples if ready_made else [as_tuple(row) for row in rows]
            await raw.execute("BEGIN IMMEDIATE")
            cursor = await raw.executemany(INSERT_POST, params)
            await raw.execute("COMMIT")
            return cursor.rowcount

    async def orm_step(_):
        return await Post.insert_many(db, rows)

    def check(_, count, inserted):
        assert count == inserted == BULK

    return Steps(raw_step, orm_step, 1, check)


def bulk_insert_ready_made(raw, db):
    return bulk_insert(raw, db, ready_made=True)


def single_creates(raw, db):
    rows = post_rows(CREATES, start=POSTS)
    if isinstance(raw, asyncpg.Connection):
        tuples = [as_pg_tuple(row) for row in rows]
        sql = PG_INSERT_POST + " RETURNING id"

        async def raw_step(i):
            await raw.execute("BEGIN")
            new_id = await raw.fetchval(sql, *tuples[i])
            await raw.execute("COMMIT")
            return new_id

    else:
        tuples = [as_tuple(row) for row in rows]

        async def raw_step(i):
            await raw.execute("BEGIN IMMEDIATE")
            cursor = await raw.execute(INSERT_POST, tuples[i])
            await raw.execute("COMMIT")
            return cursor.lastrowid

    async def orm_step(i):
        async with db.transaction() as tx:
            return await Post.create(tx, **rows[i])

    def check(_, new_id, post):
        assert new_id == post.id  # the tables grow alike: the same ids

    return Steps(raw_step, orm_step, CREATES, check)


CASES = [  # name, setup, target (ORM time / raw time), or None: reported only
    (f"get by id ({GETS:,} sequential)", get_by_id, TARGET),
    (f"page of {PER_PAGE} posts + authors ({PAGES} pages)", page_with_authors, TARGET),
    (f"insert {BULK:,} rows (one executemany)", bulk_insert, TARGET),
    ("  same, raw given ready-made tuples", bulk_insert_ready_made, None),
    (f"{CREATES:,} creates, a transaction each", single_creates, None),
]


async def timed(step, i) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await step(i)
    return time.perf_counter() - start, result


async def one_round(steps: Steps, number: int) -> tuple[float, float]:
    """Every step once per side, taking turns which goes first; each side's total in ms."""
    raw_total = orm_total = 0.0
    for i in range(steps.count):
        if (number + i) % 2:  # also flips a one-step case from round to round
            orm_time, orm_result = await timed(steps.orm, i)
            raw_time, raw_result = await timed(steps.raw, i)
        else:
            raw_time, raw_result = await timed(steps.raw, i)
            orm_time, orm_result = await timed(steps.orm, i)
        raw_total += raw_time
        orm_total += orm_time
        steps.check(i, raw_result, orm_result)
    return raw_total * 1000, orm_total * 1000


async def run_cases(database: str, raw: Any, orm_db: Any, repeat: int) -> list[dict]:
    results = []
    for name, setup, target in CASES:
        steps = setup(raw, orm_db)
        raw_times, orm_times = [], []
        for number in range(repeat):
            raw_ms, orm_ms = await one_round(steps, number)
            raw_times.append(raw_ms)
            orm_times.append(orm_ms)
        ratios = [orm / raw for raw, orm in zip(raw_times, orm_times, strict=True)]
        results.append(
            {
                "database": database,
                "case": name,
                "raw_ms": statistics.median(raw_times),
                "orm_ms": statistics.median(orm_times),
                "ratio": statistics.median(ratios),
                "target": target,
            }
        )
    return results


async def on_sqlite(repeat: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        raw_db = Database(Path(folder) / "raw.db")
        orm_db = Database(Path(folder) / "orm.db", readers=1)
        for db in (raw_db, orm_db):
            await db.open()
            await seed(db)
        await raw_db.close()  # the raw side uses its own plain connection
        raw = await raw_connect(Path(folder) / "raw.db")
        try:
            return await run_cases("SQLite", raw, orm_db, repeat)
        finally:
            await raw.close()
            await orm_db.close()


async def on_postgres(pg: postgres.Postgres, repeat: int) -> list[dict]:
    """The schemas exist and are empty (made by the caller, which drops them after)."""
    orm_schema, raw_schema = PG_SCHEMAS
    raw_db = PostgresDatabase(pg.app_url(raw_schema), pool_size=1)
    orm_db = PostgresDatabase(pg.app_url(orm_schema), pool_size=1)
    for db in (raw_db, orm_db):
        await db.open()
        await seed(db)
    await raw_db.close()  # the raw side uses its own plain connection
    raw = await asyncpg.connect(
        pg.url, timeout=postgres.CONNECT_TIMEOUT, server_settings={"search_path": raw_schema}
    )
    try:
        return await run_cases("PostgreSQL", raw, orm_db, repeat)
    finally:
        await raw.close()
        await orm_db.close()


def main(repeat: int, skip_pg: bool) -> tuple[list[dict], str | None]:
    """The results, and why the PostgreSQL rows were skipped (None if they ran)."""
    results = asyncio.run(on_sqlite(repeat))
    if skip_pg:
        return results, "not run (--skip-pg)"
    with postgres.provide() as pg:
        if isinstance(pg, str):
            return results, pg
        try:
            for schema in PG_SCHEMAS:
                pg.fresh_schema(schema)
            results += asyncio.run(on_postgres(pg, repeat))
        finally:
            for schema in PG_SCHEMAS:
                pg.drop_schema(schema)
    return results, None


def print_table(results: list[dict], pg_skipped: str | None) -> bool:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average {load:.2f} on {os.cpu_count()} CPUs: other work skews the timings)")
    if pg_skipped:
        print(f"PostgreSQL rows skipped: {pg_skipped}")
    width = max(len(result["case"]) for result in results)
    columns = f"{'raw ms':>8}  {'orm ms':>8}  {'ratio':>6}  target"
    print(f"{'database':<10}  {'case':<{width}}  {columns}")
    ok = True
    for r in results:
        target = "-" if r["target"] is None else f"<= {r['target']:.2f}"
        met = r["target"] is None or r["ratio"] <= r["target"]
        ok = ok and met
        print(
            f"{r['database']:<10}  {r['case']:<{width}}  {r['raw_ms']:8.1f}  {r['orm_ms']:8.1f}"
            f"  {r['ratio']:6.2f}  {target}{'' if met else '  MISSED'}"
        )
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="rounds per case")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if args.json:  # stdout is for the JSON alone: the server's start and stop go to stderr
        with contextlib.redirect_stdout(sys.stderr):
            results, pg_skipped = main(args.repeat, args.skip_pg)
    else:
        results, pg_skipped = main(args.repeat, args.skip_pg)
    if args.json:  # each row says its database; a skip is told on stderr
        if pg_skipped:
            print(f"PostgreSQL rows skipped: {pg_skipped}", file=sys.stderr)
        print(json.dumps(results, indent=2))
    else:
        sys.exit(0 if print_table(results, pg_skipped) else 1)
