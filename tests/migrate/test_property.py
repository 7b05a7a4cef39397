"""A property of the whole pipeline, on SQLite and PostgreSQL: random sequences of model
changes, each followed by `make` (the autodetector) and `up` on a database with random
rows, end with the schema the models describe (read back from the database) and no row
lost; every column that did not change keeps its values."""

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.databases import open_database
from www.db.schema import Column, Index, Table
from www.migrate.autodetect import diff
from www.migrate.inspect import inspect
from www.migrate.runner import Migration, up
from www.migrate.writer import render

ID = Column("id", "integer", primary_key=True)
NAMES = ("a", "b", "c", "d")
KINDS = ("integer", "float", "text", "boolean")
FILLS = {"integer": "7", "float": "1.5", "text": "x'y", "boolean": "true"}
VALUES = {
    "integer": st.integers(-(2**40), 2**40),
    "float": st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 3)),
    "text": st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=8),
    "boolean": st.booleans(),
}
WIDER = {"integer": ("float", "text"), "float": ("text",), "boolean": ("integer",), "text": ()}


@st.composite
def columns(draw, name: str) -> Column:
    return Column(name, draw(st.sampled_from(KINDS)), null=draw(st.booleans()))


@st.composite
def changed(draw, table: Table) -> Table:
    """The table of the model's next version: columns kept, dropped, widened, made NULL or
    NOT NULL, added; an index added or dropped."""
    kept = []
    for column in table.columns[1:]:
        action = draw(st.sampled_from(["keep", "keep", "drop", "null", "widen"]))
        if action == "drop":
            continue
        if action == "null":
            column = Column(column.name, column.type, null=not column.null)
        elif action == "widen" and WIDER[column.type]:
            column = Column(
                column.name, draw(st.sampled_from(WIDER[column.type])), null=column.null
            )
        kept.append(column)
    names = {c.name for c in kept}
    for name in NAMES:
        if name not in names and draw(st.booleans()):
            kept.append(draw(columns(name)))
    indexable = sorted(c.name for c in kept)
    indexes = ()
    if indexable and draw(st.booleans()):
        indexes = (Index("ix_things_" + indexable[0], (indexable[0],)),)
    return Table("things", (ID, *kept), indexes)


async def fill_rows(db, table: Table, rows: list[dict]) -> None:
    names = [c.name for c in table.columns[1:]]
    q = db.dialect.quote
    marks = db.dialect.placeholders(1, len(names))
    for row in rows:
        values = [row.get(name) for name in names]
        if names:
            sql = f"INSERT INTO things ({', '.join(map(q, names))}) VALUES ({marks})"  # noqa: S608
        else:
            sql = "INSERT INTO things DEFAULT VALUES"
        await db.execute(sql, values)


async def read(db, table: Table) -> list[tuple]:
    names = ", ".join(db.dialect.quote(c.name) for c in table.columns)
    return [tuple(r) for r in await db.fetchall(f"SELECT {names} FROM things ORDER BY id")]  # noqa: S608


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_random_model_changes_migrate_every_row(data, db_url):
    first = Table("things", (ID, *[data.draw(columns(n)) for n in NAMES[:2]]))
    steps, tables, migrations = data.draw(st.integers(1, 3)), {"things": first}, []
    async with open_database(db_url) as db:
        await db.execute("DROP TABLE IF EXISTS things")
        await db.execute("DROP TABLE IF EXISTS schema_migrations")
        migrations.append(Migration("0001_things", list(diff({}, tables)), date.today()))
        await up(db, migrations)
        for _ in range(steps):
            table = tables["things"]
            row = st.fixed_dictionaries(
                {
                    c.name: VALUES[c.type] if not c.null else st.none() | VALUES[c.type]
                    for c in table.columns[1:]
                }
            )
            await fill_rows(db, table, data.draw(st.lists(row, max_size=4)))
            before_rows = await read(db, table)

            nxt = data.draw(changed(table))
            dropped = {c.name for c in table.columns} - {c.name for c in nxt.columns}
            fills = {
                ("things", c.name): FILLS[c.type]
                for c in nxt.columns[1:]
                if not c.null
                and (c.name not in {x.name for x in table.columns} or table.column(c.name).null)
            }
            ops = diff(
                tables,
                {"things": nxt},
                renames={("things", name): None for name in dropped},
                fills=fills,
            )
            namespace: dict = {}
            exec(render(f"{len(migrations) + 1:04}_step", ops, date.today()), namespace)  # noqa: S102
            migrations.append(
                Migration(f"{len(migrations) + 1:04}_step", namespace["operations"], date.today())
            )
            await up(db, migrations)
            tables = {"things": nxt}

            assert await inspect(db, tables) == tables
            after_rows = await read(db, nxt)
            assert [row[0] for row in after_rows] == [row[0] for row in before_rows]  # no row lost
            same = [i for i, c in enumerate(nxt.columns) if c in table.columns]
            old_index = {c.name: i for i, c in enumerate(table.columns)}
            for before, after in zip(before_rows, after_rows, strict=True):
                for i in same:
                    assert after[i] == before[old_index[nxt.columns[i].name]], nxt.columns[i]
