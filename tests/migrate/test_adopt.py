"""Databases made before migrations (init_db.py's create_all, until migrations came in)
are adopted: `up` records 0001_initial when their tables are exactly what it makes, keeps
every row, and refuses, saying what differs, when they are not."""

import pytest

from tests.databases import open_database, sql
from www.migrate.operations import AddColumn, Column, MigrationError
from www.migrate.runner import Migration, applied, load, state, up

ROWS = 5


def value(column: Column, i: int):
    """Row i's value for `column`: ids 1..ROWS exist in every table, for foreign keys."""
    if column.references:
        return i
    kinds = {"integer": i, "float": i / 2, "boolean": i % 2 == 0, "text": f"{column.name} {i}"}
    return kinds.get(column.type, f"2024-01-0{i}T00:00:00+00:00")


async def made_before_migrations(db) -> dict:
    """`db` as init_db.py's create_all made databases before migrations (with the models
    of then, which 0001_initial describes: later migrations change the models), ROWS rows
    in each table. Returns every row of every table, in id order."""
    tables = state(load()[:1])
    async with db.transaction() as tx:
        for statement in db.dialect.setup_sql:
            await tx.execute(statement)
        for table in tables.values():
            for statement in db.dialect.create_table_sql(table, if_not_exists=True):
                await tx.execute(statement)
            columns = [c for c in table.columns if not c.primary_key]
            names, marks = ", ".join(c.name for c in columns), ", ".join("?" * len(columns))
            insert = sql(tx, f"INSERT INTO {table.name} ({names}) VALUES ({marks})")  # noqa: S608
            await tx.executemany(
                insert, [[value(c, i) for c in columns] for i in range(1, ROWS + 1)]
            )
    return await everything(db, tables)


async def everything(db, tables) -> dict:
    """Every row of `tables` (their columns only), in id order."""
    rows = {}
    for table in tables.values():
        names = ", ".join(c.name for c in table.columns)
        query = f"SELECT {names} FROM {table.name} ORDER BY id"  # noqa: S608
        rows[table.name] = [tuple(row) for row in await db.fetchall(query)]
    return rows


async def test_a_database_from_before_migrations_upgrades_with_identical_data(db_url, tmp_path):
    async with open_database(db_url) as db:
        before = await made_before_migrations(db)
        assert sum(map(len, before.values())) >= 5 * ROWS

        migrations = load()
        second = Migration(
            "0099_later", [AddColumn("users", Column("bio", "text", null=True))], tmp_path
        )
        assert await up(db, [*migrations, second]) == [*(m.name for m in migrations), "0099_later"]
        assert list(await applied(db)) == [migration.name for migration in [*migrations, second]]
        # The columns of then: all there, all the same.
        assert await everything(db, state(migrations[:1])) == before


async def test_a_database_that_differs_is_refused_saying_how(db_url):
    async with open_database(db_url) as db:
        await made_before_migrations(db)
        await db.execute("DROP INDEX ix_posts_created_at")
        with pytest.raises(
            MigrationError, match="made before migrations and differs from 0001_initial"
        ):
            await up(db, load())
        assert await applied(db) == {}  # nothing recorded


async def test_a_new_database_is_made_not_adopted(db_url):
    async with open_database(db_url) as db:
        assert await up(db, load()) == [m.name for m in load()]
