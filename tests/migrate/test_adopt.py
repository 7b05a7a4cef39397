"""Databases made before migrations (init_db.py's create_all, until migrations came in)
are adopted: `up` records 0001_initial when their tables are exactly what it makes, keeps
every row, and refuses, saying what differs, when they are not."""

import pytest

import init_db
from tests.databases import open_database
from www.migrate.operations import AddColumn, Column, MigrationError
from www.migrate.runner import Migration, _run, applied, load, state, up
from www.models import MODELS
from www.settings import load_settings


async def everything(db) -> dict:
    """Every row of every model's table, in id order."""
    return {
        model._meta.table: [row._saved for row in await model.select(db).order_by("id").all()]
        for model in MODELS
    }


async def as_before_migrations(db, migrations) -> None:
    """Take `db`, made by create_all() from today's models, back to the tables of
    0001_initial, as `down` would (each later migration's reverse, newest first, keeping
    the rows), without recording anything: a database from before migrations."""
    for i in range(len(migrations) - 1, 0, -1):
        reverses = [op.reverse() for op in reversed(migrations[i].operations)]
        async with db.schema_transaction() as tx:
            await _run(tx, reverses, state(migrations[: i + 1]))


async def test_a_sample_database_from_before_migrations_upgrades_with_identical_data(db, tmp_path):
    """`db` is made as init_db.py made databases before migrations: create_all(MODELS)."""
    settings = load_settings(
        overrides={"passwords": {"time_cost": 1, "memory_cost": 8}}, environ={}
    )
    await init_db.add_sample_data(db, settings)
    before = await everything(db)
    assert sum(map(len, before.values())) > 10

    migrations = load()
    await as_before_migrations(db, migrations)
    second = Migration(
        "0002_later", [AddColumn("users", Column("bio", "text", null=True))], tmp_path
    )
    assert await up(db, [*migrations, second]) == [*(m.name for m in migrations), "0002_later"]
    assert list(await applied(db)) == [migration.name for migration in [*migrations, second]]
    assert await everything(db) == before  # the models' columns: all there, all the same


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
