"""Each table counts its changes (www/db/versions.py): every model's table, whoever writes,
on SQLite and PostgreSQL; databases made before the counters get them by migration; and
the reads of a task are noted, so the caches know what a page depended on."""

import pytest

from tests.databases import open_database, table_names
from tests.helpers import make_row
from www.accounts.models import User
from www.migrate import runner
from www.models import MODELS
from www.posts.models import Comment, Post

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
        assert "posts" in inner.names and "users" not in inner.names
    assert {"users", "posts"} <= outer.names
    await db.fetchall("SELECT 1 FROM comments")  # not recorded: nothing to note it in
    assert "comments" not in outer.names


# Scoped counters: a table counted by a column too (CountChangesBy, migration 0011).


async def count_comments_by_post(db) -> None:
    """What migration 0011 does, on a database made from the models."""
    for sql in db.dialect.scoped_trigger_sql("comments", "post_id"):
        await db.execute(sql)


async def scoped(db, *post_ids: int) -> list[int]:
    versions = await db.table_versions(scopes=[f"comments.post_id={i}" for i in post_ids])
    return [versions.get(f"comments.post_id={i}", 0) for i in post_ids]


async def test_a_scoped_counter_counts_the_old_and_the_new_row_of_every_change(db):
    await count_comments_by_post(db)
    first, second = await make_row(db, Post), await make_row(db, Post)
    comment = await make_row(db, Comment, post_id=first.id)
    assert await scoped(db, first.id, second.id) == [1, 0]
    await Comment.select(db).where(id=comment.id).update(content="edited")
    assert await scoped(db, first.id, second.id) == [3, 0]  # the old row, and the new one
    await Comment.select(db).where(id=comment.id).update(post_id=second.id)  # moved
    assert await scoped(db, first.id, second.id) == [4, 1]
    await comment.delete(db)
    assert await scoped(db, first.id, second.id) == [4, 2]


async def test_the_marker_says_which_tables_are_scoped_and_never_comes_back_to_a_number(db):
    await count_comments_by_post(db)
    on = (await db.table_versions())["comments.post_id"]
    assert on > 0 and db.reads.scoped_by == {"comments": "post_id"}
    for sql in db.dialect.drop_scoped_trigger_sql("comments", "post_id"):
        await db.execute(sql)
    off = (await db.table_versions())["comments.post_id"]
    assert off < 0 and abs(off) > on and db.reads.scoped_by == {}
    post = await make_row(db, Post)
    await make_row(db, Comment, post_id=post.id)
    assert await scoped(db, post.id) == [0]  # no longer counted
    await count_comments_by_post(db)
    assert (await db.table_versions())["comments.post_id"] > abs(off)


@pytest.mark.postgres_only  # SQLite has no TRUNCATE: a DELETE fires the row triggers
async def test_a_truncate_moves_the_marker_on_postgresql(db):
    await count_comments_by_post(db)
    await make_row(db, Comment)
    before = (await db.table_versions())["comments.post_id"]
    await db.execute("TRUNCATE comments")
    assert (await db.table_versions())["comments.post_id"] == before + 1


async def test_a_snapshot_read_of_one_value_depends_on_its_scope_not_the_table(db):
    await count_comments_by_post(db)
    post = await make_row(db, Post)
    await make_row(db, Comment, post_id=post.id)
    await db.table_versions()  # as the caches do before a lookup: learns scoped_by

    async def one_post(snapshot):
        return await Comment.select(snapshot).where(post_id=post.id).count()

    async def every_post(snapshot):
        return await Comment.select(snapshot).where(post_id__in=[post.id]).count()

    with db.reads.recording() as read:
        assert await db.read(one_post) == 1
    assert "comments" not in read.names
    assert read.scopes == {f"comments.post_id={post.id}": 1}
    with db.reads.recording() as read:
        assert await db.read(every_post) == 1
    assert "comments" in read.names and read.scopes == {}
    with db.reads.recording() as read:  # not in a snapshot: no counter read with it
        assert await Comment.select(db).where(post_id=post.id).count() == 1
    assert "comments" in read.names and read.scopes == {}
