"""www.migrate.inspect on both engines: a database reads back as the specs it was made from,
and whatever the specs cannot say raises SchemaError instead of passing a comparison."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import databases
from www.db.schema import KINDS, Column, Index, Table, tables_of
from www.migrate.inspect import MIGRATIONS_TABLE, SchemaError, inspect
from www.migrate.runner import RECORD, load, state, up
from www.models import MODELS

sqlite_only, postgres_only = pytest.mark.sqlite_only, pytest.mark.postgres_only
ID = Column("id", "integer", primary_key=True)


@pytest.fixture
async def database(db_url):
    """An open, empty database (no model tables)."""
    db = databases.open_database(db_url)
    await db.open()
    yield db
    await db.close()


async def create(db, *tables: Table) -> None:
    """The tables, as the dialect writes them (after what the engine needs)."""
    async with db.transaction() as tx:
        for statement in db.dialect.setup_sql:
            await tx.execute(statement)
        for table in tables:
            for statement in db.dialect.create_table_sql(table):
                await tx.execute(statement)


async def run(db, *statements: str) -> None:
    async with db.transaction() as tx:
        for statement in statements:
            await tx.execute(statement)


async def test_the_models_tables_read_back_exactly(db):
    assert await inspect(db, tables_of(MODELS)) == tables_of(MODELS)


async def test_a_migrated_database_reads_back_as_the_migrations_build(database):
    migrations = load()
    await up(database, migrations)
    assert await inspect(database, state(migrations)) == state(migrations) == tables_of(MODELS)


@postgres_only
async def test_postgres_needs_no_hint_for_the_models(db):
    assert await inspect(db) == tables_of(MODELS)


@sqlite_only
async def test_sqlite_cannot_tell_booleans_and_datetimes_without_a_hint(db):
    users = (await inspect(db))["users"]
    assert users.column("is_admin").type == "integer"
    assert users.column("created_at").type == "text"
    assert users.replace(columns=tables_of(MODELS)["users"].columns) == tables_of(MODELS)["users"]


OWNERS = Table(
    "owners",
    (
        ID,
        Column("name", "text", unique=True, nocase=True),
        Column("code", "text", unique=True),
        Column("label", "text", null=True, nocase=True),
        Column("score", "float", null=True),
        Column("active", "boolean"),
        Column("seen", "datetime", null=True),
    ),
    (Index("ix_owners_label", ("label",)),),
)
NOTES = Table(
    "notes",
    (
        ID,
        Column("owner_id", "integer", references="owners", on_delete="CASCADE"),
        Column("editor_id", "integer", null=True, references="owners", on_delete="SET NULL"),
        Column("keeper_id", "integer", null=True, references="owners", on_delete="RESTRICT"),
        Column("other_id", "integer", null=True, references="owners", on_delete="NO ACTION"),
        Column("title", "text", nocase=True),
        Column("body", "text", null=True),
    ),
    (
        Index("ix_notes_owner_id", ("owner_id",)),
        Index("ix_notes_pair", ("owner_id", "title", "body")),
        Index("ux_notes_title", ("title", "owner_id"), unique=True),
    ),
)


async def test_each_feature_reads_back(database):
    await create(database, OWNERS, NOTES)
    expected = {"notes": NOTES, "owners": OWNERS}
    assert await inspect(database, expected) == expected


async def test_inside_a_transaction_it_sees_what_is_not_committed_yet(database):
    async with database.transaction():
        await create(database, OWNERS)
        assert list(await inspect(database)) == ["owners"]
    await run(database, database.dialect.drop_table_sql("owners"))
    assert await inspect(database) == {}


async def test_the_hint_settles_only_what_the_database_does_not_record(database):
    await create(database, OWNERS)
    hint = OWNERS.replace(
        columns=(
            ID,
            Column("name", "text", unique=True),  # the database says nocase
            Column("code", "integer", unique=True),  # TEXT cannot hold integers
            Column("label", "text", null=True),  # indexed folded: nocase
            Column("score", "text", null=True),
            Column("active", "boolean"),
            Column("seen", "datetime", null=True),
        )
    )
    assert await inspect(database, {"owners": hint}) == {"owners": OWNERS}


async def test_internal_tables_are_left_out(db):
    await run(db, "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)")
    await db.execute(  # SQLite makes sqlite_sequence on an AUTOINCREMENT table's first row
        "INSERT INTO broker_messages (channel, payload, created_at)"
        " VALUES ('c', 'p', '2024-01-01T00:00:00+00:00')"
    )
    if db.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    internal = {"sqlite_sequence", "data_version", "schema_migrations"}
    assert len({name for (name,) in await db.fetchall(query)} & internal) == 2
    assert set(await inspect(db)) == set(tables_of(MODELS))


# --- what the specs cannot say ------------------------------------------------------------

SQLITE_BASE = 'CREATE TABLE "t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "a" TEXT, "b" INTEGER'
SQLITE_CASES = [
    (SQLITE_BASE + ", CHECK (b > 0))", ["t", "CHECK"]),
    (SQLITE_BASE + " CHECK (b > 0))", ["column 'b'", "CHECK"]),
    (SQLITE_BASE + ', "c" VARCHAR(20))', ["column 'c'", "VARCHAR(20)"]),
    (SQLITE_BASE + ', "c" TEXT COLLATE RTRIM)', ["column 'c'", "collation"]),
    (SQLITE_BASE + ', "c" INTEGER AS (b + 1))', ["column 'c'", "AS"]),
    (SQLITE_BASE + ") STRICT", ["STRICT"]),
    (SQLITE_BASE + ", UNIQUE (a, b))", ["index 'sqlite_autoindex_t_1'", "UNIQUE"]),
    (SQLITE_BASE + " UNIQUE ON CONFLICT REPLACE)", ["column 'b'", "CONFLICT"]),
    ('CREATE TABLE "t" ("id" INTEGER PRIMARY KEY, "a" TEXT)', ["primary key"]),
    ('CREATE TABLE "t" ("a" TEXT, "b" INTEGER, PRIMARY KEY (a, b))', ["primary key"]),
    ('CREATE TABLE "t" ("id" TEXT PRIMARY KEY)', ["primary key"]),
    (SQLITE_BASE + ' REFERENCES "t" ("id") ON UPDATE CASCADE)', ["column 'b'", "foreign key"]),
    (SQLITE_BASE + ' REFERENCES "t" ("a"))', ["column 'b'", "foreign key"]),
    (SQLITE_BASE + ' REFERENCES "t" ("id") DEFERRABLE INITIALLY DEFERRED)', ["DEFERRABLE"]),
    (SQLITE_BASE + '); CREATE INDEX "ix" ON "t" (lower(a))', ["index 'ix'", "expression"]),
    (SQLITE_BASE + '); CREATE INDEX "ix" ON "t" (b DESC)', ["index 'ix'", "DESC"]),
    (SQLITE_BASE + '); CREATE INDEX "ix" ON "t" (a COLLATE NOCASE)', ["index 'ix'"]),
    (SQLITE_BASE + '); CREATE INDEX "ix" ON "t" (b) WHERE b > 0', ["index 'ix'", "partial"]),
]

PG_BASE = 'CREATE TABLE "t" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,'
PG_BASE += ' "a" TEXT COLLATE "C", "b" BIGINT'
PG_CASES = [
    (PG_BASE + " CHECK (b > 0))", ["constraint 't_b_check'", "CHECK"]),
    (PG_BASE + ', "c" VARCHAR(20))', ["column 'c'", "character varying(20)"]),
    (PG_BASE + ', "c" TEXT)', ["column 'c'", "collation"]),
    (PG_BASE + ', "c" BIGINT GENERATED ALWAYS AS (b + 1) STORED)', ["column 'c'"]),
    (PG_BASE + ', "c" BIGINT GENERATED BY DEFAULT AS IDENTITY)', ["column 'c'", "identity"]),
    (PG_BASE + ", UNIQUE (a, b))", ["constraint 't_a_b_key'"]),
    ('CREATE TABLE "t" ("id" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)', ["'id'"]),
    ('CREATE TABLE "t" ("id" BIGSERIAL PRIMARY KEY)', ["column 'id'", "IDENTITY"]),
    (PG_BASE + ' REFERENCES "t" ("id") ON UPDATE CASCADE)', ["column 'b'", "foreign key"]),
    (PG_BASE + ' UNIQUE REFERENCES "t" ("b"))', ["column 'b'", "foreign key"]),
    (PG_BASE + ' REFERENCES "t" ("id") DEFERRABLE)', ["constraint 't_b_fkey'"]),
    (PG_BASE + ' UNIQUE); CREATE INDEX "ix" ON "t" ((b + 1))', ["index 'ix'", "(b + 1)"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" (b DESC)', ["index 'ix'", "DESC"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" USING hash (b)', ["index 'ix'", "hash"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" (b) WHERE b > 0', ["index 'ix'", "WHERE"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" (b) INCLUDE (a)', ["index 'ix'", "INCLUDE"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" (lower(a))', ["index 'ix'", "lower(a)"]),
    (PG_BASE + ' UNIQUE); CREATE INDEX "ix" ON "t" (lower("b"::text COLLATE "C"))', ["'ix'"]),
    (PG_BASE + ', UNIQUE (a)); CREATE INDEX "ix" ON "t" (lower("a" COLLATE "C"))', ["folded"]),
    (PG_BASE + '); CREATE INDEX "ix" ON "t" ("a", lower("a" COLLATE "C"))', ["folded"]),
    ('CREATE TABLE "t" ("a" BIGINT, "b" BIGINT, PRIMARY KEY (a, b))', ["constraint 't_pkey'"]),
    (PG_BASE + ") PARTITION BY RANGE (id)", ["partitioned"]),
    ('CREATE TABLE "t" ("a" BIGINT)', ["primary key"]),
]


async def expect_error(database, sql, fragments):
    await run(database, *sql.split("; "))
    with pytest.raises(SchemaError) as raised:
        await inspect(database)
    for fragment in ["'t'", *fragments]:
        assert fragment in str(raised.value)


@sqlite_only
@pytest.mark.parametrize(("sql", "fragments"), SQLITE_CASES)
async def test_sqlite_refuses_what_it_cannot_describe(database, sql, fragments):
    await expect_error(database, sql, fragments)


@postgres_only
@pytest.mark.parametrize(("sql", "fragments"), PG_CASES)
async def test_postgres_refuses_what_it_cannot_describe(database, sql, fragments):
    await expect_error(database, sql, fragments)


@postgres_only
async def test_postgres_reads_a_composite_unique_index_on_a_folded_column(database):
    await run(
        database,
        PG_BASE + ")",
        'CREATE UNIQUE INDEX "t_a_key" ON "t" (lower("a" COLLATE "C"), "b")',
        'CREATE UNIQUE INDEX "t_b_key" ON "t" ("b")',  # named so, but on the value
    )
    columns = (ID, Column("a", "text", null=True, nocase=True), Column("b", "integer", null=True))
    indexes = (Index("t_a_key", ("a", "b"), unique=True), Index("t_b_key", ("b",), unique=True))
    assert await inspect(database) == {"t": Table("t", columns, indexes)}


@sqlite_only
async def test_sqlite_reads_hand_written_tables_too(database):
    await run(
        database,
        """create table Things ( -- comment, with a comma
          id integer primary key autoincrement,
          [Name] text not null collate nocase unique /* another ( */,
          `owner` integer references things(id) on delete set null,
          note TEXT default 'CHECK, AS (' NOT DEFERRABLE,
          foreign key (note) references things (id) on delete cascade
        )""",
    )
    assert await inspect(database) == {
        "Things": Table(
            "Things",
            (
                ID,
                Column("Name", "text", unique=True, nocase=True),
                Column("owner", "integer", null=True, references="things", on_delete="SET NULL"),
                Column("note", "text", null=True, references="things", on_delete="CASCADE"),
            ),
        )
    }


# --- any spec, made by the dialect, reads back --------------------------------------------

COLUMN_NAMES = ["a", "b_c", "Mixed", "with space", 'q"uote', "select", "order"]
ON_DELETE = ["CASCADE", "SET NULL", "RESTRICT", "NO ACTION"]


@st.composite
def schemas(draw) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for t in range(draw(st.integers(1, 3))):
        name = f"t{t}"
        columns = [ID]
        for column in draw(st.lists(st.sampled_from(COLUMN_NAMES), max_size=5, unique=True)):
            kind = draw(st.sampled_from(KINDS))
            target = draw(st.sampled_from([None, *tables])) if kind == "integer" else None
            columns.append(
                Column(
                    column,
                    kind,
                    null=draw(st.booleans()),
                    unique=draw(st.booleans()),
                    nocase=kind == "text" and draw(st.booleans()),
                    references=target,
                    on_delete=draw(st.sampled_from(ON_DELETE)) if target else None,
                )
            )
        names = [c.name for c in columns]
        keys = st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)
        indexes = [
            Index(f"ix_{name}_{i}", tuple(draw(keys)), unique=draw(st.booleans()))
            for i in range(draw(st.integers(0, 3)))
        ]
        tables[name] = Table(name, tuple(columns)).replace(indexes=indexes)
    return tables


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(schema=schemas())
async def test_any_spec_reads_back(database, schema):
    await create(database, *schema.values())
    try:
        assert await inspect(database, schema) == schema
    finally:
        for name in reversed(list(schema)):
            await run(database, database.dialect.drop_table_sql(name))


def test_the_runners_table_is_the_one_left_out():
    assert RECORD.name == MIGRATIONS_TABLE
