"""RunPython: a migration step in Python, inside the migration's transaction, on SQLite
and PostgreSQL alike (migrations/0002_canonical_names.py computes keys with it)."""

from pathlib import Path

import pytest

from tests.databases import open_database, sql
from www.migrate.operations import Column, CreateTable, MigrationError, RunPython, Table
from www.migrate.runner import Migration, applied, down, up

TAGS = Table("tags", (Column("id", "integer", primary_key=True), Column("label", "text")))
INITIAL = Migration("0001_initial", [CreateTable(TAGS)], Path("0001"))


async def shout(tx):
    rows = await tx.fetchall("SELECT id, label FROM tags")
    update = sql(tx, "UPDATE tags SET label = ? WHERE id = ?")
    await tx.executemany(update, [(label.upper(), i) for i, label in rows])


async def whisper(tx):
    await tx.execute("UPDATE tags SET label = LOWER(label)")


async def fail(tx):
    raise MigrationError("no")


async def labels(db):
    return [label for (label,) in await db.fetchall("SELECT label FROM tags ORDER BY id")]


@pytest.fixture
async def db(db_url):
    async with open_database(db_url) as db:
        await up(db, [INITIAL])
        await db.executemany(sql(db, "INSERT INTO tags (label) VALUES (?)"), [("a",), ("b",)])
        yield db


async def test_forward_then_backward(db):
    migrations = [INITIAL, Migration("0002_shout", [RunPython(shout, whisper)], Path("0002"))]
    assert await up(db, migrations) == ["0002_shout"]
    assert await labels(db) == ["A", "B"]
    assert await down(db, migrations) == "0002_shout"
    assert await labels(db) == ["a", "b"]


async def test_a_failure_undoes_the_whole_migration(db):
    step = [RunPython(shout), RunPython(fail)]
    with pytest.raises(MigrationError, match="no"):
        await up(db, [INITIAL, Migration("0002_half", step, Path("0002"))])
    assert await labels(db) == ["a", "b"]
    assert "0002_half" not in await applied(db)


async def test_without_backward_it_is_irreversible(db):
    migrations = [INITIAL, Migration("0002_shout", [RunPython(shout)], Path("0002"))]
    await up(db, migrations)
    with pytest.raises(MigrationError, match="cannot be reverted"):
        await down(db, migrations)
    assert RunPython(shout).describe() == "run shout"
