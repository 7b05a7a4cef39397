"""The operations as data (apply, reverse, describe) and their SQL as text. Running that
SQL is tests/migrate/test_runner.py's job, on both engines; here each dialect's statements
are read without a database, so a plain `make test` checks PostgreSQL's too."""

import pytest

from www.db.dialects import PostgresDialect, SQLiteDialect
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
    build,
)
from www.migrate.sql import Check, literal, statements

ID = Column("id", "integer", primary_key=True)
USERS = Table("users", (ID, Column("name", "text", unique=True, nocase=True)))
TAGS = Table(
    "tags",
    (
        ID,
        Column("user_id", "integer", references="users", on_delete="CASCADE"),
        Column("label", "text"),
        Column("rank", "integer", null=True),
    ),
    indexes=(Index("ix_tags_user_id", ("user_id",)),),
)
TABLES = {"users": USERS, "tags": TAGS}
PG, SQLITE = PostgresDialect(), SQLiteDialect()

EVERY_KIND = [
    CreateTable(Table("notes", (ID, Column("body", "text")))),
    DropTable(TAGS),
    AddColumn("tags", Column("color", "text"), fill="gray"),
    AddColumn("tags", Column("note", "text", null=True)),
    DropColumn("tags", Column("label", "text"), fill=""),
    RenameColumn("tags", "label", "title"),
    AlterColumn("tags", Column("rank", "integer", null=True), Column("rank", "float"), fill=0),
    CreateIndex("tags", Index("ix_tags_label", ("label",), unique=True)),
    DropIndex("tags", Index("ix_tags_user_id", ("user_id",))),
    RunSQL(
        sqlite=("SELECT 1",), postgresql=("SELECT 2",), reverse_sqlite=(), reverse_postgresql=()
    ),
]


@pytest.mark.parametrize("operation", EVERY_KIND, ids=lambda op: type(op).__name__)
def test_an_operation_and_its_reverse_undo_each_other(operation):
    after = build([operation], TABLES)
    reverse = operation.reverse()
    assert build([reverse], after) == TABLES
    assert build([reverse.reverse()], build([reverse], after)) == after
    assert eval(repr(operation)) == operation  # noqa: S307 (how migration files read back)
    assert operation.describe()
    for dialect in (PG, SQLITE):
        assert statements(dialect, operation, TABLES) or isinstance(operation, RunSQL)


@pytest.mark.parametrize(
    "operation",
    [
        CreateTable(USERS),  # exists already
        DropTable(Table("nowhere", (ID,))),
        AddColumn("tags", Column("label", "text", null=True)),  # exists
        AddColumn("nowhere", Column("x", "text", null=True)),
        DropColumn("tags", Column("user_id", "integer")),  # indexed
        RenameColumn("tags", "label", "rank"),  # taken
        AlterColumn(
            "tags", Column("rank", "text", null=True), Column("rank", "integer")
        ),  # not as it is
        CreateIndex("tags", Index("ix_tags_user_id", ("label",))),  # name taken
        CreateIndex("tags", Index("ix_tags_x", ("missing",))),
        DropIndex("tags", Index("ix_tags_label", ("label",))),  # no such index
    ],
    ids=lambda op: op.describe(),
)
def test_an_operation_that_does_not_fit_the_schema_is_refused(operation):
    with pytest.raises((MigrationError, KeyError)):
        build([operation], TABLES)


def test_changes_that_cannot_be_are_refused_when_written():
    with pytest.raises(MigrationError, match="cannot add a primary key"):
        AddColumn("tags", Column("id2", "integer", primary_key=True))
    with pytest.raises(MigrationError, match="use RenameColumn"):
        AlterColumn("tags", Column("a", "text"), Column("b", "text"))
    with pytest.raises(MigrationError, match="primary key"):
        AlterColumn("tags", Column("id", "integer", primary_key=True), Column("id", "integer"))
    assert DropColumn("tags", Column("label", "text")).reverse() is None  # its rows need a value
    assert RunSQL(sqlite=("x",), postgresql=("x",)).reverse() is None


def test_postgresql_alters_in_place():
    sql = statements(PG, AddColumn("tags", Column("color", "text"), fill="it's"), TABLES)
    assert sql == [
        'ALTER TABLE "tags" ADD COLUMN "color" TEXT COLLATE "C" NOT NULL DEFAULT \'it\'\'s\'',
        'ALTER TABLE "tags" ALTER COLUMN "color" DROP DEFAULT',
    ]
    rename = statements(PG, RenameColumn("users", "name", "login"), TABLES)
    assert rename[1] == 'ALTER INDEX "users_name_key" RENAME TO "users_login_key"'
    rename = statements(PG, RenameColumn("tags", "user_id", "owner_id"), TABLES)
    assert (
        rename[1]
        == 'ALTER TABLE "tags" RENAME CONSTRAINT "tags_user_id_fkey" TO "tags_owner_id_fkey"'
    )
    new = Column("rank", "boolean")
    alter = statements(PG, AlterColumn("tags", TAGS.column("rank"), new, fill=False), TABLES)
    assert alter == [
        'ALTER TABLE "tags" ALTER COLUMN "rank" TYPE BOOLEAN USING ("rank" <> 0)::BOOLEAN',
        'UPDATE "tags" SET "rank" = FALSE WHERE "rank" IS NULL',
        'ALTER TABLE "tags" ALTER COLUMN "rank" SET NOT NULL',
    ]


def test_postgresql_changes_uniqueness_folding_and_foreign_keys():
    label = TAGS.column("label")
    folded = Column("label", "text", unique=True, nocase=True)
    indexed = build([CreateIndex("tags", Index("ix_tags_label", ("label",)))], TABLES)
    assert statements(PG, AlterColumn("tags", label, folded), indexed) == [
        'DROP INDEX "ix_tags_label"',
        'CREATE UNIQUE INDEX "tags_label_key" ON "tags" (lower("label" COLLATE "C"))',
        'CREATE INDEX "ix_tags_label" ON "tags" (lower("label" COLLATE "C"))',
    ]
    plain_unique = Column("label", "text", unique=True)
    folded_tables = build([AlterColumn("tags", label, folded)], TABLES)
    assert statements(PG, AlterColumn("tags", folded, plain_unique), folded_tables)[:2] == [
        'DROP INDEX "tags_label_key"',
        'ALTER TABLE "tags" ADD CONSTRAINT "tags_label_key" UNIQUE ("label")',
    ]
    unique_tables = build([AlterColumn("tags", label, plain_unique)], TABLES)
    assert statements(PG, AlterColumn("tags", plain_unique, label), unique_tables) == [
        'ALTER TABLE "tags" DROP CONSTRAINT "tags_label_key"'
    ]
    user_id = TAGS.column("user_id")
    set_null = Column("user_id", "integer", null=True, references="users", on_delete="SET NULL")
    assert statements(PG, AlterColumn("tags", user_id, set_null), TABLES) == [
        'ALTER TABLE "tags" DROP CONSTRAINT "tags_user_id_fkey"',
        'ALTER TABLE "tags" ALTER COLUMN "user_id" DROP NOT NULL',
        'ALTER TABLE "tags" ADD CONSTRAINT "tags_user_id_fkey" FOREIGN KEY ("user_id")'
        ' REFERENCES "users" ("id") ON DELETE SET NULL',
    ]
    nullable = statements(
        PG, AddColumn("users", Column("email", "text", null=True, unique=True, nocase=True)), TABLES
    )
    assert (
        nullable[1]
        == 'CREATE UNIQUE INDEX "users_email_key" ON "users" (lower("email" COLLATE "C"))'
    )


def test_sqlite_rebuilds_what_it_cannot_alter_and_checks_conversions():
    change = AlterColumn("tags", TAGS.column("rank"), Column("rank", "text", null=True))
    sql = statements(SQLITE, change, TABLES)
    assert sql[0].startswith('CREATE TABLE "_migrate_tags"')
    assert 'INSERT INTO "_migrate_tags"' in sql[1]
    assert sql[2] == Check(
        "SELECT COUNT(*) FROM \"_migrate_tags\" WHERE typeof(\"rank\") NOT IN ('text', 'null')",
        "tags.rank: some values cannot be converted to text",
    )
    assert sql[-3:] == [
        'DROP TABLE "tags"',
        'ALTER TABLE "_migrate_tags" RENAME TO "tags"',
        'CREATE INDEX "ix_tags_user_id" ON "tags" ("user_id")',
    ]
    assert statements(
        SQLITE, AddColumn("tags", Column("n", "integer", null=True), fill=3), TABLES
    ) == [
        'ALTER TABLE "tags" ADD COLUMN "n" INTEGER',
        'UPDATE "tags" SET "n" = 3',
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (Column("x", "text"), "a\0b"),
        (Column("x", "integer"), "7"),
        (Column("x", "integer"), True),
        (Column("x", "float"), float("inf")),
        (Column("x", "boolean"), 1),
        (Column("x", "datetime"), 5),
    ],
)
def test_a_fill_of_the_wrong_kind_is_refused(column, value):
    for dialect in (PG, SQLITE):
        with pytest.raises(MigrationError, match="is not a"):
            literal(dialect, column, value)


def test_fills_as_literals():
    when = "2026-12-01T10:00:00+00:00"
    assert literal(PG, Column("x", "datetime"), when) == f"'{when}'::timestamptz"
    assert literal(SQLITE, Column("x", "datetime"), when) == f"'{when}'"
    assert literal(SQLITE, Column("x", "boolean"), True) == "1"
    assert literal(PG, Column("x", "float"), 2) == "2"
    assert literal(PG, Column("x", "float"), 0.5) == "0.5"
    assert literal(PG, Column("x", "text", null=True), None) == "NULL"
