"""Databases made before migrations (init_db.py's create_all, until migrations came in)
are adopted: `up` records 0001_initial when their tables are exactly what it makes, keeps
every row, and refuses, saying what differs, when they are not."""

import pytest

from tests.databases import open_database
from www.migrate.operations import AddColumn, Column, MigrationError
from www.migrate.runner import Migration, applied, load, state, up

INITIAL = load()[:1]  # the schema init_db.py made before migrations came in
TABLES = state(INITIAL)
ROWS = [  # written as SQL: today's models have columns those tables lack
    "INSERT INTO users (name, email, password_hash, is_admin, session_epoch, created_at)"
    " VALUES ('alice', 'alice@example.com', 'x', TRUE, 0, '2026-01-02 03:04:05+00:00'),"
    " ('Émile', 'Emile@Example.com', 'y', FALSE, 3, '2026-01-03 03:04:05+00:00')",
    "INSERT INTO posts (user_id, title, summary, content, created_at, updated_at) VALUES"
    " (1, 'One', 's', 'Body', '2026-01-04 00:00:00+00:00', '2026-01-04 00:00:00+00:00'),"
    " (2, 'Two', '', 'It''s # here', '2026-01-05 00:00:00+00:00', '2026-01-06 00:00:00+00:00')",
    "INSERT INTO comments (post_id, user_id, content, created_at) VALUES"
    " (1, 2, 'Nice', '2026-01-07 00:00:00+00:00'), (2, 1, 'Thanks', '2026-01-08 00:00:00+00:00')",
    "INSERT INTO files (user_id, original_name, stored_name, content_type, size, sha256,"
    " created_at) VALUES (1, 'a.png', 'f1', 'image/png', 10, 'aa', '2026-01-09 00:00:00+00:00'),"
    " (2, 'b.txt', 'f2', 'text/plain', 20, 'bb', '2026-01-10 00:00:00+00:00')",
]


@pytest.fixture
async def db(db_url):
    """A database as init_db.py made them before migrations: the tables of 0001_initial,
    with rows, and no record of any migration."""
    async with open_database(db_url) as database:
        await up(database, INITIAL)
        await database.execute("DROP TABLE schema_migrations")
        for sql in ROWS:
            await database.execute(sql)
        yield database


async def everything(db) -> dict:
    """Every row of those tables, in their columns of then, in id order."""
    return {
        name: await db.fetchall(
            f"SELECT {', '.join(column.name for column in table.columns)} FROM {name}"  # noqa: S608
            " ORDER BY id"
        )
        for name, table in TABLES.items()
    }


async def test_a_database_from_before_migrations_upgrades_with_identical_data(db, tmp_path):
    before = await everything(db)
    assert sum(map(len, before.values())) == 8

    migrations = load()
    last = Migration("9999_later", [AddColumn("users", Column("bio", "text", null=True))], tmp_path)
    names = [migration.name for migration in [*migrations, last]]
    assert await up(db, [*migrations, last]) == names
    assert list(await applied(db)) == names
    assert await everything(db) == before  # the columns of then: all there, all the same


async def test_a_database_that_differs_is_refused_saying_how(db):
    await db.execute("DROP INDEX ix_posts_created_at")
    with pytest.raises(
        MigrationError, match="made before migrations and differs from 0001_initial"
    ):
        await up(db, load())
    assert await applied(db) == {}  # nothing recorded


async def test_a_new_database_is_made_not_adopted(db_url):
    async with open_database(db_url) as db:
        assert await up(db, load()) == [m.name for m in load()]
