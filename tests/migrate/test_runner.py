"""www.migrate.runner and the operations' SQL: each kind of change applied to a database
full of rows, on SQLite and PostgreSQL alike, keeps every row and value; down then up
gives the same schema; a failing migration changes nothing; two at once take turns."""

import asyncio
from pathlib import Path

import pytest

from tests.databases import column_names, index_names, open_database, table_names
from www.db import DatabaseError
from www.migrate.operations import (
    AddColumn,
    AlterColumn,
    Column,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropTable,
    Index,
    MigrationError,
    RenameColumn,
    RunSQL,
    Table,
)
from www.migrate.runner import Migration, applied, down, load, state, up

ID = Column("id", "integer", primary_key=True)
AUTHORS = Table("authors", (ID, Column("name", "text", unique=True, nocase=True)))
BOOKS = Table(
    "books",
    (
        ID,
        Column("author_id", "integer", references="authors", on_delete="CASCADE"),
        Column("title", "text"),
        Column("pages", "integer", null=True),
        Column("isbn", "text"),
        Column("ok", "boolean"),
    ),
    indexes=(Index("ix_books_author_id", ("author_id",)),),
)
TAGS = Table("tags", (ID, Column("label", "text")))
INITIAL = Migration(
    "0001_initial", [CreateTable(AUTHORS), CreateTable(BOOKS), CreateTable(TAGS)], Path("0001")
)
ROWS = 30


def migration(*operations) -> Migration:
    return Migration("0002_change", list(operations), Path("0002"))


@pytest.fixture
async def library(db_url):
    """A database at INITIAL, full of rows (authors, their books, tags)."""
    async with open_database(db_url) as db:
        assert await up(db, [INITIAL]) == ["0001_initial"]
        async with db.transaction() as tx:
            for i in range(ROWS):
                await tx.execute(sql(tx, "INSERT INTO authors (name) VALUES (?)"), (f"Author {i}",))
                await tx.execute(
                    sql(
                        tx,
                        "INSERT INTO books (author_id, title, pages, isbn, ok)"
                        " VALUES (?, ?, ?, ?, ?)",
                    ),
                    (i + 1, f"Book '{i}' é", i * 10 if i % 3 else None, f"isbn-{i}", i % 2 == 0),
                )
                await tx.execute(sql(tx, "INSERT INTO tags (label) VALUES (?)"), (f"t{i}",))
            await tx.execute("DELETE FROM tags WHERE id = (SELECT MAX(id) FROM tags)")  # a gap
        yield db


def sql(db, text: str) -> str:
    from tests.databases import sql as placeholders

    return placeholders(db, text)


async def rows(db, table: str, columns: list[str]) -> list[tuple]:
    names = ", ".join(map(db.dialect.quote, columns))
    query = f"SELECT {names} FROM {db.dialect.quote(table)} ORDER BY id"  # noqa: S608
    return [tuple(row) for row in await db.fetchall(query)]


async def schema(db) -> dict:
    """Tables, their columns in order, and index names: what a reader sees."""
    return {
        "tables": await table_names(db),
        "columns": {t: sorted(await column_names(db, t)) for t in await table_names(db)},
        "indexes": await index_names(db),
    }


async def healthy(db) -> None:
    if db.dialect.name == "sqlite":
        assert await db.fetchall("PRAGMA integrity_check") == [("ok",)]
        assert await db.fetchall("PRAGMA foreign_key_check") == []


BOOK_COLUMNS = ["id", "author_id", "title", "pages", "isbn", "ok"]

# Each kind of change: (operations, the books' columns after it, how their rows read).
CHANGES = {
    "add a nullable column": (
        [AddColumn("books", Column("note", "text", null=True))],
        [*BOOK_COLUMNS, "note"],
        lambda row: (*row, None),
    ),
    "add a NOT NULL column with a default": (
        [AddColumn("books", Column("color", "text"), fill="gray")],
        [*BOOK_COLUMNS, "color"],
        lambda row: (*row, "gray"),
    ),
    "drop a column": (
        [DropColumn("books", Column("isbn", "text"), fill="")],
        ["id", "author_id", "title", "pages", "ok"],
        lambda row: row[:4] + row[5:],
    ),
    "rename a column": (
        [RenameColumn("books", "title", "name")],
        ["id", "author_id", "name", "pages", "isbn", "ok"],
        lambda row: row,
    ),
    "change a type": (
        [
            AlterColumn(
                "books", Column("pages", "integer", null=True), Column("pages", "text", null=True)
            )
        ],
        BOOK_COLUMNS,
        lambda row: (*row[:3], None if row[3] is None else str(row[3]), *row[4:]),
    ),
    "stop allowing NULL, filling the NULLs": (
        [
            AlterColumn(
                "books", Column("pages", "integer", null=True), Column("pages", "integer"), fill=0
            )
        ],
        BOOK_COLUMNS,
        lambda row: (*row[:3], 0 if row[3] is None else row[3], *row[4:]),
    ),
    "add an index": (
        [CreateIndex("books", Index("ix_books_title_pages", ("title", "pages")))],
        BOOK_COLUMNS,
        lambda row: row,
    ),
    "drop an index": (
        [DropIndex("books", Index("ix_books_author_id", ("author_id",)))],
        BOOK_COLUMNS,
        lambda row: row,
    ),
    "add a unique constraint": (
        [AlterColumn("books", Column("isbn", "text"), Column("isbn", "text", unique=True))],
        BOOK_COLUMNS,
        lambda row: row,
    ),
    "add a model with a foreign key": (
        [
            CreateTable(
                Table(
                    "reviews",
                    (ID, Column("book_id", "integer", references="books", on_delete="CASCADE")),
                )
            )
        ],
        BOOK_COLUMNS,
        lambda row: row,
    ),
    "drop a model": (
        [DropTable(TAGS)],
        BOOK_COLUMNS,
        lambda row: row,
    ),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_each_change_keeps_every_row_and_reverts(library, change):
    operations, columns, expected = CHANGES[change]
    db, second = library, migration(*operations)
    before_rows = await rows(db, "books", BOOK_COLUMNS)
    authors = await rows(db, "authors", ["id", "name"])
    before = await schema(db)

    assert await up(db, [INITIAL, second]) == ["0002_change"]
    await healthy(db)
    assert sorted(await column_names(db, "books")) == sorted(columns)
    after_rows = await rows(db, "books", columns)
    assert after_rows == [expected(tuple(row)) for row in before_rows]
    assert await rows(db, "authors", ["id", "name"]) == authors
    after = await schema(db)
    assert after["tables"] == set(state([INITIAL, second])) | {"schema_migrations"}

    assert await down(db, [INITIAL, second]) == "0002_change"
    await healthy(db)
    assert await schema(db) == before
    assert await rows(db, "authors", ["id", "name"]) == authors
    assert len(await rows(db, "books", ["id"])) == ROWS
    assert await up(db, [INITIAL, second]) == ["0002_change"]
    assert await schema(db) == after


async def test_new_rows_after_a_rebuild_never_reuse_a_deleted_id(library):
    await up(library, [INITIAL, migration(AddColumn("tags", Column("color", "text"), fill="x"))])
    await library.execute(
        sql(library, "INSERT INTO tags (label, color) VALUES (?, ?)"), ("new", "red")
    )
    assert (await library.fetchone("SELECT MAX(id) FROM tags"))[0] == ROWS + 1  # not ROWS


async def test_a_unique_constraint_on_duplicates_fails_and_changes_nothing(library):
    await library.execute("UPDATE books SET isbn = 'same'")
    before = await schema(library)
    change = migration(
        AddColumn("books", Column("note", "text", null=True)),  # applied, then undone
        AlterColumn("books", Column("isbn", "text"), Column("isbn", "text", unique=True)),
    )
    with pytest.raises(DatabaseError):
        await up(library, [INITIAL, change])
    assert await schema(library) == before
    assert list(await applied(library)) == ["0001_initial"]
    assert len(await rows(library, "books", ["id"])) == ROWS


async def test_a_type_change_that_cannot_convert_fails_and_changes_nothing(library):
    before = await schema(library)
    to_number = AlterColumn("books", Column("title", "text"), Column("title", "integer"))
    with pytest.raises((DatabaseError, MigrationError)):
        await up(library, [INITIAL, migration(to_number)])
    assert await schema(library) == before
    assert list(await applied(library)) == ["0001_initial"]


async def test_down_refuses_a_migration_without_a_reverse(library):
    fix = migration(
        RunSQL(sqlite=("UPDATE tags SET label = 'x'",), postgresql=("UPDATE tags SET label = 'x'",))
    )
    await up(library, [INITIAL, fix])
    with pytest.raises(MigrationError, match="0002_change cannot be reverted"):
        await down(library, [INITIAL, fix])
    assert list(await applied(library)) == ["0001_initial", "0002_change"]


async def test_a_database_with_an_unknown_migration_is_refused(library):
    await up(library, [INITIAL, migration(AddColumn("tags", Column("n", "integer", null=True)))])
    with pytest.raises(MigrationError, match="0002_change, which is not in migrations/"):
        await up(library, [INITIAL])


async def test_two_processes_migrating_at_once_take_turns(db_url):
    async with open_database(db_url) as first, open_database(db_url) as second:
        steps = [INITIAL, migration(AddColumn("tags", Column("n", "integer", null=True)))]
        done = await asyncio.gather(up(first, steps), up(second, steps))
        assert sorted(done[0] + done[1]) == ["0001_initial", "0002_change"]  # each once
        assert list(await applied(first)) == ["0001_initial", "0002_change"]


def test_load_reads_the_files_in_order_and_names_a_bad_one(tmp_path):
    (tmp_path / "0002_second.py").write_text(
        "from www.migrate.operations import *\noperations = [DropTable(Table('t', ()))]\n"
    )
    (tmp_path / "0001_first.py").write_text("operations = []\n")
    assert [m.name for m in load(tmp_path)] == ["0001_first", "0002_second"]
    (tmp_path / "0003_broken.py").write_text("operations = [1/0]\n")
    with pytest.raises(MigrationError, match=r"0003_broken\.py: ZeroDivisionError"):
        load(tmp_path)
    (tmp_path / "0003_broken.py").unlink()
    (tmp_path / "3_badname.py").write_text("operations = []\n")
    with pytest.raises(MigrationError, match=r"NNNN_name\.py"):
        load(tmp_path)


def test_the_project_migrations_build_the_models():
    from www.db.schema import tables_of
    from www.models import MODELS

    assert state(load()) == tables_of(MODELS)


async def test_a_rebuilt_table_keeps_its_search_triggers(db_url):
    """SQLite changes a column by rebuilding the table, which drops its triggers: the
    runner makes them again, so full-text search stays in step with the posts."""
    from www.accounts.models import User
    from www.posts.models import Post
    from www.posts.queries import find_posts

    migrations = load()
    summary = Column("summary", "text")
    nullable = migration(AlterColumn("posts", summary, Column("summary", "text", null=True)))
    nullable = Migration("9999_nullable_summary", nullable.operations, Path("9999"))
    async with open_database(db_url) as db:
        await up(db, [*migrations, nullable])
        user = await User.create(db, name="a", email="a@example.com", password_hash="h")
        post = await Post.create(db, user_id=user.id, title="Kettle", summary="s")
        found = await find_posts(db, 1, 10, words=["kettle"])
        assert [p.id for p in found.items] == [post.id]
        post.title = "Teapot"
        await post.save(db)
        assert (await find_posts(db, 1, 10, words=["kettle"])).items == []
        assert (await find_posts(db, 1, 10, words=["teapot"])).total == 1
        await down(db, [*migrations, nullable])  # rebuilt again, triggers again
        await post.delete(db)
        assert (await find_posts(db, 1, 10, words=["teapot"])).total == 0
