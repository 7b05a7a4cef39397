"""`make`'s half of the migrations: diff (models against what the migrations build) and
the migration file it writes. Pure data: no database.

Each kind of change in issue #12 has its exact operations here; the property tests check
that for random schemas the operations build the models' schema, and that a written file
reads back as the same operations."""

import re
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from www.db.schema import KINDS, Column, Index, Table, tables_of
from www.migrate.autodetect import (
    AutodetectError,
    diff,
    fields_of,
    parse_fills,
    parse_renames,
)
from www.migrate.operations import (
    AddColumn,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropTable,
    RenameColumn,
    RunSQL,
    build,
)
from www.migrate.runner import load, state
from www.migrate.writer import literal, next_name, render
from www.models import MODELS
from www.orm import (
    BooleanField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    utcnow,
)
from www.settings import PROJECT_ROOT

ID = Column("id", "integer", primary_key=True)
NAME = Column("name", "text")
DAY = date(2026, 12, 1)


def tag(**fields):
    """A version of the model Tag: `name`, and the fields given (None leaves one out)."""
    fields = {"name": TextField(max_length=30), **fields}
    body = {"__table__": "tags", **{k: v for k, v in fields.items() if v is not None}}
    return type("Tag", (Model,), body)


def make(before, after, **options):
    """What `make` writes when the models go from `before` to `after` (lists of models);
    checked to build the new schema from the old."""
    old, new = tables_of(before), tables_of(after)
    operations = diff(old, new, fields=fields_of(after), **options)
    assert build(operations, old) == new
    assert diff(build(operations, old), new) == []  # nothing left to do
    return operations


def never(question):
    raise AssertionError(f"asked {question!r}")


def answers(*replies):
    """An `ask` that gives these replies in turn, and records the questions."""
    replies = list(replies)

    def ask(question):
        ask.questions.append(question)
        return replies.pop(0)

    ask.questions = []
    return ask


# Each kind of change of the issue


def test_no_change_and_a_new_field_order_need_nothing():
    assert make([tag()], [tag()], ask=never) == []
    before = tag(color=TextField(null=True), size=IntegerField(null=True))
    after = type("Tag", (Model,), {"__table__": "tags", "size": IntegerField(null=True),
                                   "color": TextField(null=True), "name": TextField()})  # fmt: skip
    assert make([before], [after], ask=never) == []


def test_add_a_nullable_column():
    ops = make([tag()], [tag(color=TextField(null=True))], ask=never)
    assert ops == [AddColumn("tags", Column("color", "text", null=True))]


def test_add_a_not_null_column_with_a_default():
    ops = make([tag()], [tag(color=TextField(max_length=20, default="gray"))], ask=never)
    assert ops == [AddColumn("tags", Column("color", "text"), fill="gray")]
    assert ops.notes == {}
    assert render("0002_add_color", ops, DAY, ops.notes) == (
        '"""Add color.\n'
        "\n"
        "Made by `python -m www.migrate make add_color` on 2026-12-01; edit it as you need.\n"
        '"""\n'
        "\n"
        "from www.migrate.operations import AddColumn, Column\n"
        "\n"
        "operations = [\n"
        '    AddColumn("tags", Column("color", "text"), fill="gray"),\n'
        "]\n"
    )


def test_a_fill_is_the_default_in_database_form():
    ops = make([tag()], [tag(shown=BooleanField(default=False), rank=IntegerField(default=3))])
    assert ops == [
        AddColumn("tags", Column("shown", "boolean"), fill=False),
        AddColumn("tags", Column("rank", "integer"), fill=3),
    ]
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ops = make([tag()], [tag(seen=DateTimeField(default=moment))])
    assert ops == [AddColumn("tags", Column("seen", "datetime"), fill="2026-01-02T03:04:05+00:00")]


def test_a_callable_default_is_called_once_at_make_time_and_written_down():
    start = utcnow()
    after = tag(created_at=DateTimeField(default=utcnow), updated_at=DateTimeField(default=utcnow))
    ops = make([tag()], [after], ask=never)
    fills = {op.fill for op in ops}
    assert len(ops) == 2 and len(fills) == 1  # the same moment for both
    assert start <= datetime.fromisoformat(fills.pop()) <= utcnow()
    assert ops.notes == {0: "fill: utcnow() at `make` time", 1: "fill: utcnow() at `make` time"}
    text = render("0002_stamps", ops, DAY, ops.notes)
    assert "    # fill: utcnow() at `make` time\n    AddColumn(" in text


def test_a_not_null_column_without_a_default_is_asked_for_or_refused():
    after = tag(rank=IntegerField())
    with pytest.raises(AutodetectError) as error:
        make([tag()], [after])
    message = str(error.value)
    assert "tags.rank (integer, new, NOT NULL, no default)" in message
    assert "give the field a default or null=True, or pass --fill tags.rank=VALUE" in message
    ask = answers("many", "", "7")
    assert make([tag()], [after], ask=ask) == [AddColumn("tags", Column("rank", "integer"), fill=7)]
    assert ask.questions[0] == (
        "tags.rank (integer, new, NOT NULL, no default): the value for the rows already in tags? "
    )
    assert ask.questions[1].startswith("not a valid integer: 'many'. tags.rank")
    assert make([tag()], [after], fills={("tags", "rank"): " 5"}, ask=never) == [
        AddColumn("tags", Column("rank", "integer"), fill=5)
    ]


def test_a_fill_given_wins_over_the_default_and_is_checked():
    after = tag(color=TextField(max_length=4, default="gray"))
    assert make([tag()], [after], fills=parse_fills(["tags.color=blue"])) == [
        AddColumn("tags", Column("color", "text"), fill="blue")
    ]
    with pytest.raises(AutodetectError, match=re.escape("--fill tags.color: must be at most 4")):
        make([tag()], [after], fills={("tags", "color"): "purple"})
    with pytest.raises(
        AutodetectError, match=r"--fill tags\.name: no column added or made NOT NULL"
    ):
        make([tag()], [after], fills={("tags", "name"): "x"})


def test_making_a_column_not_null_fills_its_nulls():
    before, after = tag(color=TextField(null=True)), tag(color=TextField(default="gray"))
    old, new = Column("color", "text", null=True), Column("color", "text")
    assert make([before], [after]) == [AlterColumn("tags", old, new, fill="gray")]
    assert make([after], [before]) == [AlterColumn("tags", new, old)]


def test_drop_a_column():
    ops = make([tag(color=TextField(null=True))], [tag()], ask=never)
    assert ops == [DropColumn("tags", Column("color", "text", null=True))]
    ops = make([tag(rank=IntegerField(index=True))], [tag()], ask=never)
    rank = Column("rank", "integer")
    assert ops == [DropIndex("tags", Index("ix_tags_rank", ("rank",))), DropColumn("tags", rank)]
    assert ops.notes == {1: "`down` cannot bring back tags.rank (NOT NULL) without fill=..."}


def test_rename_a_column_when_asked():
    before, after = tag(colour=TextField(null=True)), tag(color=TextField(null=True))
    ask = answers("y")
    assert make([before], [after], ask=ask) == [RenameColumn("tags", "colour", "color")]
    assert ask.questions == ["Did you rename tags.colour to tags.color? [y/N] "]


def test_a_renamed_indexed_column_gets_the_index_of_its_new_name():
    before, after = tag(colour=TextField(index=True)), tag(color=TextField(index=True))
    assert make([before], [after], ask=answers("yes")) == [
        DropIndex("tags", Index("ix_tags_colour", ("colour",))),
        RenameColumn("tags", "colour", "color"),
        CreateIndex("tags", Index("ix_tags_color", ("color",))),
    ]


def test_of_several_possible_renames_each_is_asked_until_one_is_taken():
    before = tag(a=TextField(null=True), b=TextField(null=True))
    after = tag(c=TextField(null=True), d=TextField(null=True))
    ask = answers("n", "y", "y")
    assert make([before], [after], ask=ask) == [
        RenameColumn("tags", "a", "d"),
        RenameColumn("tags", "b", "c"),
    ]
    assert ask.questions == [
        "Did you rename tags.a to tags.c? [y/N] ",
        "Did you rename tags.a to tags.d? [y/N] ",
        "Did you rename tags.b to tags.c? [y/N] ",
    ]


def test_a_rename_refused_is_a_drop_and_an_add():
    before, after = tag(colour=TextField(null=True)), tag(color=TextField(null=True))
    assert make([before], [after], ask=answers("")) == [
        DropColumn("tags", Column("colour", "text", null=True)),
        AddColumn("tags", Column("color", "text", null=True)),
    ]


def test_rename_a_column_given_beforehand():
    before, after = tag(colour=TextField()), tag(color=TextField())
    renames = parse_renames(["tags.colour=color"])
    assert make([before], [after], renames=renames, ask=never) == [
        RenameColumn("tags", "colour", "color")
    ]
    # A rename and a change at once: the rename, then the change.
    after = tag(color=IntegerField(null=True))
    assert make([before], [after], renames=renames) == [
        RenameColumn("tags", "colour", "color"),
        AlterColumn("tags", Column("color", "text"), Column("color", "integer", null=True)),
    ]


def test_a_rename_is_never_guessed_without_a_terminal():
    before, after = tag(colour=TextField(null=True)), tag(color=TextField(null=True))
    with pytest.raises(AutodetectError) as error:
        make([before], [after])
    assert str(error.value) == (
        "Were these columns renamed? There is no terminal to ask:\n"
        "  tags lost colour and gained color (text): if renamed, pass "
        "--rename tags.colour=color; if gone, --drop tags.colour"
    )
    assert make([before], [after], renames=parse_renames(drops=["tags.colour"])) == [
        DropColumn("tags", Column("colour", "text", null=True)),
        AddColumn("tags", Column("color", "text", null=True)),
    ]


def test_a_pure_add_or_drop_or_a_change_of_type_is_no_rename():
    before, after = tag(colour=TextField(null=True)), tag(color=IntegerField(null=True))
    assert make([before], [after]) == [
        DropColumn("tags", Column("colour", "text", null=True)),
        AddColumn("tags", Column("color", "integer", null=True)),
    ]


def test_change_a_type():
    ops = make([tag(rank=IntegerField())], [tag(rank=TextField())], ask=never)
    assert ops == [AlterColumn("tags", Column("rank", "integer"), Column("rank", "text"))]


def test_add_and_drop_an_index():
    index = Index("ix_tags_name", ("name",))
    indexed = tag(name=TextField(index=True))
    assert make([tag()], [indexed], ask=never) == [CreateIndex("tags", index)]
    assert make([indexed], [tag()], ask=never) == [DropIndex("tags", index)]


def test_add_a_unique_constraint():
    ops = make([tag()], [tag(name=TextField(unique=True, nocase=True))], ask=never)
    assert ops == [AlterColumn("tags", NAME, Column("name", "text", unique=True, nocase=True))]
    # An index=True field made unique: the constraint replaces the index.
    ops = make([tag(name=TextField(index=True))], [tag(name=TextField(unique=True))])
    assert ops == [
        DropIndex("tags", Index("ix_tags_name", ("name",))),
        AlterColumn("tags", NAME, Column("name", "text", unique=True)),
    ]


def test_add_a_model_with_a_foreign_key():
    Tag = tag()
    Post = type("Post", (Model,), {"title": TextField(), "tag_id": ForeignKey(Tag)})
    ops = make([Tag], [Tag, Post], ask=never)
    tag_id = Column("tag_id", "integer", references="tags", on_delete="CASCADE")
    posts = Table(
        "posts", (ID, Column("title", "text"), tag_id), (Index("ix_posts_tag_id", ("tag_id",)),)
    )
    assert ops == [CreateTable(posts)]
    # Both new: the referred table first, whatever the order of the models.
    assert diff({}, {"posts": posts, "tags": tables_of([Tag])["tags"]}) == [
        CreateTable(tables_of([Tag])["tags"]),
        CreateTable(posts),
    ]


def test_drop_a_model():
    Tag = tag()
    Post = type("Post", (Model,), {"title": TextField(), "tag_id": ForeignKey(Tag)})
    old = tables_of([Tag, Post])
    assert make([Tag, Post], [Tag], ask=never) == [DropTable(old["posts"])]
    assert make([Tag, Post], [], ask=never) == [DropTable(old["posts"]), DropTable(old["tags"])]


def test_the_application_from_nothing():
    ops = make([], MODELS, ask=never)
    assert [type(op) for op in ops] == [CreateTable] * len(MODELS)
    assert build(ops) == tables_of(MODELS)  # in the models' order: exactly equal


def test_a_default_that_does_not_fit_its_field_is_an_error():
    with pytest.raises(AutodetectError, match=r"tags\.color: its default: .*at most 2"):
        make([tag()], [tag(color=TextField(max_length=2, default="gray"))])


def test_tables_that_refer_to_each_other_cannot_be_created():
    a = Table("a", (ID, Column("b_id", "integer", references="b")))
    b = Table("b", (ID, Column("a_id", "integer", references="a")))
    with pytest.raises(AutodetectError, match=r"refer to each other: \['a', 'b'\]"):
        diff({}, {"a": a, "b": b})


def test_a_primary_key_cannot_change():
    before = tag()
    after = type("Tag", (Model,), {"__table__": "tags", "key": IntegerField(primary_key=True),
                                   "name": TextField()})  # fmt: skip
    with pytest.raises(AutodetectError, match="tags: a migration cannot change its primary key"):
        make([before], [after], renames={("tags", "id"): None})


def test_stated_answers_are_checked():
    before, after = tag(colour=TextField()), tag(color=TextField())
    for renames, message in [
        (["tags.color=colour"], "tags.color is not a column the models dropped"),
        (["tags.colour=hue"], "tags.hue is not a column the models added"),
        (["posts.colour=color"], "posts is not a table of the models and migrations"),
    ]:
        with pytest.raises(AutodetectError, match=message):
            make([before], [after], renames=parse_renames(renames))
    for bad in ["tags.colour", "tags=x", "colour=color", "tags.colour= "]:
        with pytest.raises(AutodetectError, match=re.escape("--rename takes table.old=new")):
            parse_renames([bad])
    with pytest.raises(AutodetectError, match=re.escape("--drop takes table.column")):
        parse_renames(drops=["tags.colour=color"])
    with pytest.raises(AutodetectError, match=re.escape("--fill takes table.column=VALUE")):
        parse_fills(["tags.color"])
    assert parse_fills(["tags.note=", "tags.eq=a=b"]) == {
        ("tags", "note"): "",
        ("tags", "eq"): "a=b",
    }


def test_an_answer_that_never_comes_is_an_error():
    def closed(question):
        raise EOFError

    with pytest.raises(AutodetectError, match="no answer to: Did you rename"):
        make([tag(colour=TextField())], [tag(color=TextField())], ask=closed)


# The file written


def test_a_new_table_comes_with_its_columns_one_a_line():
    text = render("0001_initial", make([], MODELS[:1]), DAY)
    assert text.endswith(
        "from www.migrate.operations import Column, CreateTable, Table\n"
        "\n"
        "operations = [\n"
        "    CreateTable(\n"
        "        Table(\n"
        '            "users",\n'
        "            (\n"
        '                Column("id", "integer", primary_key=True),\n'
        '                Column("name", "text", unique=True, nocase=True),\n'
        '                Column("email", "text", unique=True, nocase=True),\n'
        '                Column("password_hash", "text"),\n'
        '                Column("is_admin", "boolean"),\n'
        '                Column("session_epoch", "integer"),\n'
        '                Column("created_at", "datetime"),\n'
        '                Column("name_key", "text", unique=True),\n'
        '                Column("email_key", "text", unique=True),\n'
        "            ),\n"
        "        )\n"
        "    ),\n"
        "]\n"
    )


def test_the_initial_migration_is_what_make_writes():
    """migrations/0001_initial.py is laid out as `make` writes the schema it builds (the
    models as they were then; later migrations changed them)."""
    initial = load()[0]
    written = initial.path.read_text()
    operations = written[written.index("from www.migrate") :]
    assert render(initial.name, diff({}, state([initial])), DAY).endswith(operations)


def test_no_operations_and_a_long_import():
    assert render("0003_nothing", [], DAY).endswith('"""\n\noperations = []\n')
    text = render("0002_everything", KITCHEN, DAY)
    assert "from www.migrate.operations import (\n    AddColumn,\n    AlterColumn,\n" in text


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("gray", '"gray"'),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        ("a\\b\n\x00\u200b", '"a\\\\b\\n\\x00\\u200b"'),
        ("é漢", '"é漢"'),
        (None, "None"),
        (True, "True"),
        (-3, "-3"),
        (0.5, "0.5"),
        (float("-inf"), 'float("-inf")'),
        (("a",), '("a",)'),
    ],
)
def test_literals(value, source):
    assert literal(value) == source
    assert eval(source) == value  # noqa: S307 (our own literals)


def test_a_value_a_migration_cannot_hold():
    with pytest.raises(TypeError, match="not"):
        literal(object())


def test_next_name():
    assert next_name([], "initial") == "0001_initial"
    assert next_name(["0001_initial", "0002_add_color.py", "__init__"], "Add color") == (
        "0003_add_color"
    )
    assert next_name(["0009_x", "0010_y"], "drop-tags") == "0011_drop_tags"
    for bad in ["", "__", "café", "add.color", "x/y"]:
        with pytest.raises(ValueError, match="letters a-z, digits and _"):
            next_name([], bad)


KITCHEN = [
    CreateTable(tables_of(MODELS)["posts"]),
    DropTable(Table("t", (ID,))),
    AddColumn("tags", Column("color", "text"), fill='"quoted" ' + "a long text " * 10),
    AddColumn("tags", Column("label", "text"), fill="漢字" * 45),
    AddColumn("tags", Column("rank", "float", null=True), fill=float("inf")),
    DropColumn("tags", Column("old", "integer", references="users", on_delete="SET NULL")),
    RenameColumn("tags", "colour", "color"),
    AlterColumn(
        "a_rather_long_table_name",
        Column("a_long_column_name", "text"),
        Column("a_long_column_name", "text", unique=True),
        fill="x",
    ),
    CreateIndex("tags", Index("ix_tags_name_rank", ("name", "rank"), unique=True)),
    DropIndex("tags", Index("ix_tags_name", ("name",))),
    RunSQL(("UPDATE tags SET name = 'x'",), ("UPDATE tags SET name = 'x'",)),
    RunSQL(sqlite=("UPDATE tags SET name = 'a rather long value to give' WHERE name IS NULL",)),
    RunSQL(
        sqlite=("UPDATE tags SET name = 'a value longer than any line' WHERE name IS NULL " * 2,)
    ),
]


def test_ruff_leaves_a_written_file_alone(tmp_path):
    """`make format` and `make lint` run over migrations/ too."""
    path = tmp_path / "0002_everything.py"
    path.write_text(render("0002_everything", KITCHEN, DAY, {0: "a note", 2: "another"}))
    config = str(PROJECT_ROOT / "ruff.toml")
    for command in (["format", "--diff"], ["check", "--no-cache"]):
        ruff = [sys.executable, "-m", "ruff", *command, "--config", config, str(path)]
        result = subprocess.run(ruff, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def read_back(text):
    namespace = {}
    exec(compile(text, "<migration>", "exec"), namespace)  # noqa: S102 (our own file)
    return namespace["operations"]


def test_a_written_file_reads_back():
    assert read_back(render("0002_everything", KITCHEN, DAY, {3: "a note"})) == KITCHEN


# Property tests

IDENT = st.sampled_from(["a", "b", "c", "d", "e"])
ON_DELETE = st.sampled_from(ForeignKey.ON_DELETE)
FILLS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=120)
)


@st.composite
def columns(draw, name=IDENT, tables=()):
    """A column that is not a primary key, maybe referring to one of `tables`."""
    kind = draw(st.sampled_from(KINDS))
    refers = kind == "integer" and tables and draw(st.booleans())
    return Column(
        draw(name),
        kind,
        null=draw(st.booleans()),
        unique=draw(st.booleans()),
        nocase=kind == "text" and draw(st.booleans()),
        references=draw(st.sampled_from(tables)) if refers else None,
        on_delete=draw(ON_DELETE) if refers else None,
    )


@st.composite
def schemas(draw):
    """A schema: up to four tables, each referring to itself or those before it, with
    index names unique in the schema (so one may move to another table)."""
    names = draw(st.lists(st.sampled_from(["ta", "tb", "tc", "td"]), unique=True, max_size=4))
    index_names = iter(draw(st.permutations([f"ix_{i}" for i in range(8)])))
    tables = {}
    for i, name in enumerate(names):
        own = draw(st.lists(columns(tables=names[: i + 1]), max_size=5, unique_by=lambda c: c.name))
        indexed = st.lists(st.sampled_from(["id", *(c.name for c in own)]), min_size=1, max_size=2)
        indexes = [
            Index(
                next(index_names),
                tuple(draw(indexed.map(lambda c: tuple(dict.fromkeys(c))))),
                unique=draw(st.booleans()),
            )
            for _ in range(draw(st.integers(0, 2)))
        ]
        tables[name] = Table(name, (ID, *own)).replace(indexes=indexes)
    return tables


@st.composite
def changed(draw, before):
    """`before` as a model change leaves it: in each table, columns kept, dropped, renamed
    (their indexes following), made nullable or not, added; maybe a table added."""
    after = {}
    for name, table in before.items():
        kept, renames = [], {}
        for column in table.columns[1:]:
            action = draw(st.sampled_from(["keep", "drop", "rename", "null"]))
            if action == "rename":
                renames[column.name] = draw(st.sampled_from(["f", "g", "h"]))
                column = Column(**{**vars(column), "name": renames[column.name]})
            elif action == "null":
                column = Column(**{**vars(column), "null": not column.null})
            if action != "drop":
                kept.append(column)
        kept += draw(st.lists(columns(st.sampled_from(["f", "g", "h"]), tables=[*before])))
        kept = list({column.name: column for column in kept}.values())
        names = {"id"} | {column.name for column in kept}
        indexes = [
            Index(index.name, tuple(renames.get(c, c) for c in index.columns), index.unique)
            for index in table.indexes
        ]
        indexes = [index for index in indexes if set(index.columns) <= names]
        after[name] = table.replace(columns=(ID, *kept), indexes=indexes)
    if draw(st.booleans()):
        new = draw(st.sampled_from(["te", "tf"]))
        after[new] = Table(new, (ID, draw(columns(tables=[*after]))))
    return after


def answering(data):
    """An `ask` that answers renames at random and fills with a value of the type."""

    def ask(question):
        if question.endswith("[y/N] "):
            return data.draw(st.sampled_from(["y", "n"]), label="rename?")
        kind = re.search(r"\((\w+), ", question)[1]
        return "2026-01-02T03:04:05+00:00" if kind == "datetime" else "1"

    return ask


def schema_changes():
    """(before, after): after another schema, or before with a model change."""
    other = st.tuples(schemas(), schemas())
    return other | schemas().flatmap(lambda before: st.tuples(st.just(before), changed(before)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), schema_changes())
def test_diff_builds_the_new_schema(data, change):
    before, after = change
    ops = diff(before, after, ask=answering(data))
    built = build(ops, before)
    assert built == after
    assert diff(built, after) == []
    for op in ops:  # rows already there always get a value
        if isinstance(op, AddColumn) and not op.column.null:
            assert op.fill is not None
        if isinstance(op, AlterColumn) and op.old.null and not op.new.null:
            assert op.fill is not None
    reverses = [op.reverse() for op in reversed(ops)]
    if None not in reverses:
        assert build(reverses, built) == before
    assert read_back(render("0002_random", ops, DAY, ops.notes)) == ops


@settings(deadline=None)
@given(schema_changes())
def test_without_a_terminal_diff_refuses_or_builds(change):
    before, after = change
    try:
        ops = diff(before, after)
    except AutodetectError as error:
        assert re.search(r"--(rename|drop|fill) t[a-f]\.[a-h]", str(error))
    else:
        assert build(ops, before) == after


OPERATIONS = st.one_of(
    st.builds(CreateTable, schemas().filter(bool).map(lambda s: next(iter(s.values())))),
    st.builds(AddColumn, IDENT, columns(), fill=FILLS),
    st.builds(DropColumn, IDENT, columns(), fill=FILLS),
    st.builds(RenameColumn, IDENT, IDENT, IDENT),
    columns().flatmap(
        lambda c: st.builds(AlterColumn, IDENT, st.just(c), columns(st.just(c.name)), fill=FILLS)
    ),
    st.builds(CreateIndex, IDENT, st.builds(Index, IDENT, st.lists(IDENT).map(tuple))),
    st.builds(RunSQL, st.lists(st.text()).map(tuple), st.lists(st.text()).map(tuple)),
)


@settings(deadline=None)
@given(st.lists(OPERATIONS, max_size=8), st.dictionaries(st.integers(0, 8), IDENT))
def test_a_written_file_reads_back_as_its_operations(operations, notes):
    assert read_back(render("0007_anything", operations, DAY, notes)) == operations
