"""Each table counts its changes (www/db/versions.py): every model's table, whoever writes,
on SQLite and PostgreSQL; databases made before the counters get them by migration; and
the reads of a task are noted, so the caches know what a page depended on."""

import pytest

from tests.databases import open_database, table_names
from tests.helpers import make_row
from www.accounts.models import User
from www.migrate import runner
from www.models import MODELS

MODELS_BY_TABLE = {model._meta.table: model for model in MODELS}


@pytest.mark.parametrize("table", sorted(MODELS_BY_TABLE))
async def test_every_table_counts_its_inserts_updates_and_deletes(db, table):
    model, q = MODELS_BY_TABLE[table], db.dialect.quote
    row = await make_row(db, model)
    after_insert = await db.table_versions()
    assert after_insert[table] >= 1

    touch = f"UPDATE {q(table)} SET id = id WHERE id = {db.dialect.placeholder(1)}"  # noqa: S608
    await db.execute(touch, (row.id,))
    after_update = await db.table_versions()
    assert after_update == {**after_insert, table: after_insert[table] + 1}

    await row.delete(db)  # a new row: nothing refers to it, nothing cascades
    assert await db.table_versions() == {**after_update, table: after_update[table] + 1}


async def test_a_transaction_counts_once_per_table_on_postgresql_and_per_row_on_sqlite(db):
    before = (await db.table_versions()).get("users", 0)
    async with db.transaction() as tx:
        for n in range(3):
            await User.create(tx, name=f"u{n}", email=f"u{n}@example.com", password_hash="x")
    moved = (await db.table_versions())["users"] - before
    assert moved == (1 if db.dialect.name == "postgresql" else 3)


async def test_a_rolled_back_write_moves_no_counter(db):
    before = await db.table_versions()
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await User.create(tx, name="gone", email="gone@example.com", password_hash="x")
            raise RuntimeError("undo")
    assert await db.table_versions() == before


async def test_writes_by_another_connection_count(db, db_url):
    before = (await db.table_versions()).get("users", 0)
    async with open_database(db_url) as other:
        await User.create(other, name="other", email="o@example.com", password_hash="x")
    assert (await db.table_versions())["users"] == before + 1


async def test_a_database_made_before_the_counters_gets_them_by_migration(db_url):
    migrations = runner.load()
    counting = next(m.name for m in migrations if m.name.endswith("_table_versions"))
    before = migrations[migrations.index(next(m for m in migrations if m.name == counting)) - 1]
    async with open_database(db_url) as db:
        await runner.up(db, migrations, target=before.name)
        for table in await table_names(db):  # as the code of that era left the tables
            for sql in db.dialect.drop_version_trigger_sql(table):
                await db.execute(sql)
        await User.create(db, name="early", email="early@example.com", password_hash="x")
        if db.dialect.name == "sqlite":
            assert "users" not in await db.table_versions()
        assert await runner.up(db, migrations) == [
            m.name for m in migrations[migrations.index(before) + 1 :]
        ]
        seen = (await db.table_versions()).get("users", 0)
        await User.select(db).where(name="early").update(name="later")
        assert (await db.table_versions())["users"] == seen + 1


async def test_the_reads_of_a_task_are_noted_while_recorded(db):
    with db.reads.recording() as outer:
        await User.select(db).count()
        with db.reads.recording() as inner:
            await db.fetchall("SELECT 1 FROM posts")
        assert "posts" in inner and "users" not in inner
    assert {"users", "posts"} <= outer
    await db.fetchall("SELECT 1 FROM comments")  # not recorded: nothing to note it in
    assert "comments" not in outer
