"""www.orm on models made for the tests: fields, validation, queries, saving, bulk writes."""

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.databases import open_database, sql
from www import orm
from www.db import DatabaseError, IntegrityError
from www.db.schema import tables_of
from www.orm import (
    BooleanField,
    DateTimeField,
    DoesNotExist,
    FieldError,
    FloatField,
    ForeignKey,
    IntegerField,
    Model,
    Page,
    TextField,
    ValidationError,
    table_name,
    utcnow,
)


class Author(Model):
    name = TextField(max_length=20, unique=True, nocase=True, normalize=str.strip)
    secret = TextField(null=True)


class Item(Model):
    author_id = ForeignKey(Author, null=True, on_delete="SET NULL")
    title = TextField(max_length=50)
    note = TextField(null=True)
    count = IntegerField(default=0)
    price = FloatField(null=True)
    active = BooleanField(default=True)
    when = DateTimeField(default=utcnow, index=True)
    edited = DateTimeField(default=utcnow, auto_now=True)


class Tag(Model):
    __table__ = "labels"
    code = IntegerField(primary_key=True)
    text = TextField()


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Recorder:
    """An executor that records the SQL it passes on (the ORM uses only this interface)."""

    def __init__(self, db):
        self.db, self.dialect, self.sql = db, db.dialect, []

    async def fetchall(self, sql, params=()):
        self.sql.append(sql)
        return await self.db.fetchall(sql, params)

    async def fetchone(self, sql, params=()):
        self.sql.append(sql)
        return await self.db.fetchone(sql, params)

    async def execute(self, sql, params=()):
        self.sql.append(sql)
        return await self.db.execute(sql, params)

    async def executemany(self, sql, rows):
        self.sql.append(sql)
        return await self.db.executemany(sql, rows)


@pytest.fixture
async def database(db_url):
    db = open_database(db_url)
    await db.open()
    await db.create_all([Author, Item, Tag])
    yield db
    await db.close()


@pytest.fixture
async def items(database):
    """Ten items: title "item 0".."item 9", count 0..9, when T0 + 0..9 hours."""
    author = await Author.create(database, name="ann")
    await Item.insert_many(
        database,
        [
            {
                "title": f"item {i}",
                "count": i,
                "when": T0 + timedelta(hours=i),
                "author_id": author.id if i % 2 else None,
                "note": None if i < 5 else f"note {i}",
            }
            for i in range(10)
        ],
    )
    return database


async def titles(query) -> list[str]:
    return [item.title for item in await query.all()]


# --- declaring models --------------------------------------------------------------------


def test_schema_collects_fields_in_order():
    meta = Item._meta
    assert meta.table == "items"
    assert meta.names == (
        "id",
        "author_id",
        "title",
        "note",
        "count",
        "price",
        "active",
        "when",
        "edited",
    )
    assert meta.pk is meta.by_name["id"] and meta.pk.primary_key
    assert Tag._meta.table == "labels" and Tag._meta.pk is Tag._meta.by_name["code"]
    assert meta.by_name["author_id"].references == ("authors", "id")
    assert repr(meta.by_name["title"]) == "<TextField title>"


def test_fields_are_slots():
    item = Item(title="x")
    with pytest.raises(AttributeError):
        item.titel = "typo"  # no __dict__: a misspelt field is an error, not a silent no-op
    assert Item.__slots__ == Item._meta.names

    class Note(Model):
        __slots__ = ("rendered",)  # room for an attribute that is not a column
        text = TextField()

    note = Note(text="x")
    note.rendered = "<p>x</p>"
    assert Note._meta.names == ("id", "text") and note.rendered == "<p>x</p>"


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("User", "users"),
        ("Blog", "blogs"),
        ("BlogPost", "blog_posts"),
        ("Category", "categories"),
        ("Day", "days"),
        ("Box", "boxes"),
        ("Match", "matches"),
        ("Status", "statuses"),
        ("Child", "childs"),  # the simple English rule; set __table__ if needed
    ],
)
def test_table_names(name, table):
    assert table_name(name) == table


def test_models_do_not_inherit_from_models():
    class Base(Model):
        created = DateTimeField(default=utcnow)

    with pytest.raises(TypeError, match="cannot subclass another model"):
        type("Child", (Base,), {"title": TextField()})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"save": TextField()}, "reserved"),
        ({"_secret": TextField()}, "reserved"),
        ({"a": IntegerField(primary_key=True), "b": IntegerField(primary_key=True)}, "single"),
        ({"code": TextField(primary_key=True)}, "integer primary key"),
        ({"__table__": "bad name; DROP TABLE x"}, "invalid table name"),
    ],
)
def test_bad_declarations(fields, message):
    with pytest.raises(TypeError, match=message):
        type("Bad", (Model,), fields)


def test_bad_foreign_keys():
    with pytest.raises(ValueError, match="on_delete"):
        ForeignKey(Author, on_delete="EXPLODE")
    with pytest.raises(ValueError, match="null=True"):
        ForeignKey(Author, on_delete="SET NULL")


@pytest.mark.sqlite_only  # tests/test_db_postgres.py has PostgreSQL's
async def test_table_ddl(database):
    rows = await database.fetchall("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    ddl = dict(rows)
    assert '"id" INTEGER PRIMARY KEY AUTOINCREMENT' in ddl["items"]
    assert '"author_id" INTEGER REFERENCES "authors" ("id") ON DELETE SET NULL' in ddl["items"]
    assert '"title" TEXT NOT NULL' in ddl["items"]
    assert '"price" REAL,' in ddl["items"]
    assert '"name" TEXT NOT NULL UNIQUE COLLATE NOCASE' in ddl["authors"]
    assert '"code" INTEGER PRIMARY KEY AUTOINCREMENT' in ddl["labels"]
    assert {"ix_items_author_id", "ix_items_when"} <= ddl.keys()


# --- instances and fields ----------------------------------------------------------------


def test_new_instance_defaults_and_change_tracking():
    item = Item(title="x")
    assert (item.id, item.count, item.active, item.note) == (None, 0, True, None)
    assert item.when == item.edited  # one utcnow() per new instance
    assert item.when.tzinfo is UTC
    assert item.changed_fields == set(Item._meta.names)  # new: everything is to be written
    assert repr(item) == "<Item id=None>"


async def test_change_tracking_compares_with_the_saved_row(database):
    item = await Item.create(database, title="x", when=T0)
    assert item.changed_fields == frozenset()
    item.title = "y"
    item.count = 3
    item.when = T0.astimezone(timezone(timedelta(hours=2)))  # the same instant
    assert item.changed_fields == {"title", "count"}
    item.title = "x"  # back to what is saved
    assert item.changed_fields == {"count"}
    item.count = "three"
    with pytest.raises(ValidationError, match="count: must be an integer"):
        item.changed_fields  # noqa: B018


def test_base_field_has_no_database_form():
    with pytest.raises(NotImplementedError):
        IntegerField.__mro__[1]().to_db(1)


def test_unknown_field_in_constructor():
    with pytest.raises(FieldError, match="Item has no field 'colour'"):
        Item(title="x", colour="red")


async def test_round_trip_of_every_field_type(database):
    author = await Author.create(database, name="  bob  ", secret="s3")
    paris = timezone(timedelta(hours=2))
    item = await Item.create(
        database,
        author_id=author.id,
        title="Hello",
        note="n",
        count=-7,
        price=2,
        active=False,
        when=datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=paris),
    )
    assert author.name == "bob"  # saved normalized, and the instance holds what was saved
    loaded = await Item.get(database, item.id)
    assert loaded.author_id == author.id
    assert (loaded.title, loaded.note, loaded.count) == ("Hello", "n", -7)
    assert loaded.price == 2.0 and type(loaded.price) is float
    assert loaded.active is False and type(loaded.active) is bool
    assert loaded.when == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert loaded.when.tzinfo is UTC
    assert loaded.changed_fields == frozenset()
    stored = await database.fetchone('SELECT "when", price, active FROM items')
    # SQLite keeps the ORM's UTC text; asyncpg reads a timestamptz back as the UTC datetime
    text = "2024-05-01T12:30:15.123456+00:00"
    when = text if database.dialect.name == "sqlite" else datetime.fromisoformat(text)
    assert stored == (when, 2.0, 0) and type(stored[0]) is type(when)


async def test_nulls_round_trip(database):
    item = await Item.create(database, title="t", note=None, price=None, author_id=None)
    loaded = await Item.get(database, item.id)
    assert (loaded.note, loaded.price, loaded.author_id) == (None, None, None)


async def test_datetimes_are_parsed_on_load(database):
    await Item.create(database, title="t", when=T0)
    item = await Item.select(database).first()
    assert item.when == T0 and item.when.tzinfo is UTC


async def test_datetime_text_sorts_like_time(database):
    times = [T0 + timedelta(microseconds=us) for us in (999_999, 0, 1, 500_000)]
    await Item.insert_many(database, [{"title": str(i), "when": t} for i, t in enumerate(times)])
    loaded = await Item.select(database).order_by("when").all()
    assert [item.when for item in loaded] == sorted(times)


async def test_insert_many_datetimes_load_as_written(database):
    """On PostgreSQL insert_many hands UTC datetimes to the driver as they are (the
    dialect's binds_datetimes), other ones as text: both load as the same instants,
    unchanged for save()."""
    paris = timezone(timedelta(hours=2))
    times = [T0, T0 + timedelta(microseconds=1), T0.astimezone(paris)]
    await Item.insert_many(database, [{"title": "utc", "when": t} for t in times[:2]])
    await Item.insert_many(database, [{"title": "paris", "when": times[2]}])
    loaded = await Item.select(database).order_by("id").all()
    assert [item.when for item in loaded] == times
    assert {item.when.tzinfo for item in loaded} == {UTC}
    assert all(item.changed_fields == frozenset() for item in loaded)


def test_datetimes_are_stored_as_utc_iso_text():
    when = Item._meta.field("when")
    assert when.db_value(T0) == "2024-05-01T12:00:00+00:00"
    assert when.db_value(T0.astimezone(timezone(timedelta(hours=-5)))) == when.db_value(T0)
    # ISO 8601 text is accepted for datetimes, and converted to UTC
    assert when.db_value("2024-05-01T14:00:00.5+02:00") == "2024-05-01T12:00:00.500000+00:00"


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": None}, "title", "is required"),
        ({"title": 5}, "title", "must be a string"),
        ({"title": "x" * 51}, "title", "at most 50 characters"),
        ({"count": "3"}, "count", "must be an integer"),
        ({"count": True}, "count", "must be an integer"),
        ({"count": 1.5}, "count", "must be an integer"),
        ({"count": None}, "count", "is required"),
        ({"price": "1"}, "price", "must be a number"),
        ({"price": math.nan}, "price", "must be a number"),
        ({"price": False}, "price", "must be a number"),
        ({"active": 1}, "active", "True or False"),
        ({"when": "yesterday"}, "when", "not an ISO 8601 datetime"),
        ({"when": 1700000000}, "when", "must be a datetime"),
        ({"when": datetime(2024, 1, 1)}, "when", "timezone-aware"),
        ({"author_id": "1"}, "author_id", "must be an integer"),
    ],
)
async def test_validation_errors_name_the_field(database, values, field, message):
    recorder = Recorder(database)
    with pytest.raises(ValidationError, match=message) as info:
        await Item.create(recorder, **{"title": "ok", **values})
    assert (info.value.field, isinstance(info.value, ValueError)) == (field, True)
    assert message in info.value.message
    assert str(info.value).startswith(f"{field}: ")
    assert recorder.sql == []  # nothing reached the database


async def test_iso_strings_are_accepted_for_datetimes(database):
    item = await Item.create(database, title="t", when="2024-05-01T14:00:00+02:00")
    assert (await Item.get(database, item.id)).when == T0


async def test_unknown_fields_never_reach_sql(database):
    recorder = Recorder(database)
    with pytest.raises(FieldError, match="'colour'"):
        await Item.create(recorder, title="x", colour="red")
    with pytest.raises(FieldError, match="'colour'"):
        Item.select(recorder).where(colour="red")
    with pytest.raises(FieldError, match="'colour'"):
        Item.select(recorder).order_by("-colour")
    with pytest.raises(FieldError, match="'colour'"):
        await Item.select(recorder).where(id=1).update(colour="red")
    with pytest.raises(FieldError, match="'colour'"):
        await Item.insert_many(recorder, [{"title": "x", "colour": "red"}])
    with pytest.raises(FieldError, match="'title__startswith'"):
        Item.select(recorder).where(title__startswith="x")
    with pytest.raises(FieldError, match="123"):
        Item.select(recorder).order_by(123)
    assert recorder.sql == []


async def test_injection_attempts_are_rejected(items):
    with pytest.raises(FieldError, match="DROP TABLE"):
        Item.select(items).order_by("id; DROP TABLE items")
    with pytest.raises(FieldError, match="OR 1=1"):
        Item.select(items).where(**{"id) OR 1=1 --": 1})
    with pytest.raises(FieldError):
        await Item.select(items).where(id=1).update(**{"title = 'x', count": 1})
    assert await Item.select(items).count() == 10  # the table is still there
    # and values are parameters, never SQL
    assert await Item.select(items).where(title="x' OR '1'='1").count() == 0


# --- lookups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        ({"count": 3}, [3]),
        ({"count__ne": 3}, [0, 1, 2, 4, 5, 6, 7, 8, 9]),
        ({"count__lt": 3}, [0, 1, 2]),
        ({"count__lte": 3}, [0, 1, 2, 3]),
        ({"count__gt": 7}, [8, 9]),
        ({"count__gte": 7}, [7, 8, 9]),
        ({"count__in": [1, 5, 42]}, [1, 5]),
        ({"count__in": (c for c in (2, 3))}, [2, 3]),
        ({"count__in": []}, []),
        ({"note__isnull": True}, [0, 1, 2, 3, 4]),
        ({"note__isnull": False}, [5, 6, 7, 8, 9]),
        ({"note": None}, [0, 1, 2, 3, 4]),
        ({"note__ne": None}, [5, 6, 7, 8, 9]),
        ({"title__contains": "EM 1"}, [1]),  # case-insensitive
        ({"count__gte": 2, "count__lt": 5}, [2, 3, 4]),
        ({"when__gte": T0 + timedelta(hours=8)}, [8, 9]),
        ({"when__lt": (T0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=9)))}, [0, 1]),
        ({"author_id__isnull": False, "count__gt": 4}, [5, 7, 9]),
    ],
)
async def test_lookups(items, lookup, expected):
    found = await Item.select(items).where(**lookup).order_by("count").all()
    assert [item.count for item in found] == expected


async def test_where_calls_are_anded(items):
    query = Item.select(items).where(count__gte=2).where(count__lte=4).where(count__ne=3)
    assert [item.count for item in await query.order_by("count").all()] == [2, 4]


async def test_a_query_shape_made_once_serves_every_value(items, monkeypatch):
    """Query texts are kept by shape (www/orm/schema.py Schema.query_sql): the same shape with
    other values, or lists of other lengths, still finds what it says; the kept texts
    are bounded."""
    monkeypatch.setattr(orm.schema, "QUERY_SHAPES", 4)
    Item._meta.query_sql.clear()
    built, build = [], orm.Query._build_sql

    def counted(query, start, params, **kwargs):
        built.append(start)
        return build(query, start, params, **kwargs)

    monkeypatch.setattr(orm.Query, "_build_sql", counted)
    for low, high in [(2, 5), (6, 9), (0, 1)] * 2:
        query = Item.select(items).where(count__gte=low, count__lt=high).order_by("-count")
        expected = list(range(high - 1, low - 1, -1))
        assert [item.count for item in await query.limit(10).offset(0).all()] == expected
        assert await query.count() == high - low
    assert len(built) == 2  # the page and its count, each made once for six queries
    for counts in ([1], [1, 2], [], [3, 4, 5], [9, 8], [0, 0, 7]):
        found = await Item.select(items).where(count__in=counts).order_by("count").all()
        assert [item.count for item in found] == sorted(set(counts))
        assert len(Item._meta.query_sql) <= 4


async def test_queries_are_immutable(items):
    base = Item.select(items)
    narrowed = base.where(count=1)
    base.order_by("-count").limit(1)
    assert await base.count() == 10
    assert await narrowed.count() == 1


async def test_contains_treats_like_wildcards_literally(database):
    for title in ["100% sure", "100 percent", "snake_case", "snakeXcase", "back\\slash", "back"]:
        await Item.create(database, title=title)
    assert await titles(Item.select(database).where(title__contains="0%")) == ["100% sure"]
    assert await titles(Item.select(database).where(title__contains="e_c")) == ["snake_case"]
    assert await titles(Item.select(database).where(title__contains="k\\s")) == ["back\\slash"]
    assert await Item.select(database).where(title__contains="%").count() == 1
    assert await Item.select(database).where(title__contains="").count() == 6


async def test_where_any_contains_ors_text_fields(items):
    """The admin's search box: any of the fields contains the text; ANDed with the rest;
    wildcards literal as in __contains."""
    query = Item.select(items).order_by("count")
    assert await titles(query.where_any_contains(["title", "note"], "9")) == ["item 9"]
    found = query.where_any_contains(["title", "note"], "NOTE")  # case-insensitive
    assert await titles(found) == [f"item {i}" for i in range(5, 10)]
    assert await titles(found.where(count__lt=7)) == ["item 5", "item 6"]
    assert await query.where_any_contains(["title"], "%").count() == 0
    for names, value in [([], "x"), (["count"], "1"), (["title"], None)]:
        with pytest.raises(ValueError):
            query.where_any_contains(names, value)
    with pytest.raises(FieldError):
        query.where_any_contains(["title", "nosuch"], "x")


def test_a_secret_field_is_declared_once_and_changes_no_sql():
    """`secret=True` (a password hash) is a flag for what shows rows (the admin): the
    column is the same."""

    class Vault(Model):
        key_hash = TextField(secret=True)
        label = TextField()

    class Plain(Model):
        __table__ = "vaults"
        key_hash = TextField()
        label = TextField()

    assert Vault._meta.field("key_hash").secret and not Vault._meta.field("label").secret
    assert not Plain._meta.field("key_hash").secret
    assert tables_of([Vault]) == tables_of([Plain])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=20,
    )
)
async def test_contains_finds_any_stored_text(database, text):
    item = await Item.create(database, title=f"<{text}>")
    try:
        found = await Item.select(database).where(title__contains=text).all()
        assert item.id in {f.id for f in found}
        assert all(text.casefold() in f.title.casefold() or not text.isascii() for f in found)
    finally:
        await item.delete(database)


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"note__isnull": "yes"}, "True or False"),
        ({"count__in": "123"}, "list of values"),
        ({"count__in": 5}, "list of values"),
        ({"count__contains": "1"}, "text field"),
        ({"title__contains": 1}, "text field and a string"),
        ({"count__lt": None}, "cannot compare with None"),
    ],
)
def test_bad_lookups(database, lookup, message):
    with pytest.raises(ValueError, match=message):
        Item.select(database).where(**lookup)


def test_lookup_values_are_type_checked(database):
    with pytest.raises(ValidationError, match="count: must be an integer"):
        Item.select(database).where(count="1")
    with pytest.raises(ValidationError, match="count: must be an integer"):
        Item.select(database).where(count__in=[1, None])
    with pytest.raises(ValidationError, match="when: must be timezone-aware"):
        Item.select(database).where(when__gt=datetime(2024, 1, 1))


async def test_lookups_ignore_max_length(items):
    assert await Item.select(items).where(title="x" * 500).count() == 0


# --- ordering, limits, pagination ---------------------------------------------------------


async def test_order_by(items):
    await Item.create(items, title="item 5", count=50)
    query = Item.select(items)
    assert [i.count for i in await query.order_by("count").all()][:3] == [0, 1, 2]
    assert [i.count for i in await query.order_by("-count").all()][:3] == [50, 9, 8]
    assert [
        (i.title, i.count) for i in await query.order_by("-title", "-count").limit(3).all()
    ] == [("item 9", 9), ("item 8", 8), ("item 7", 7)]
    multi = await query.where(title="item 5").order_by("title", "-count").all()
    assert [i.count for i in multi] == [50, 5]
    assert [i.count for i in await query.order_by("count").order_by("-count").limit(1).all()] == [
        50
    ]  # order_by replaces


async def test_limit_offset_first_count_exists(items):
    query = Item.select(items).order_by("count")
    assert [i.count for i in await query.limit(3).offset(2).all()] == [2, 3, 4]
    assert [i.count for i in await query.offset(8).all()] == [8, 9]
    assert await query.limit(0).all() == []
    assert (await query.first()).count == 0
    assert await query.where(count=99).first() is None
    assert await query.count() == 10
    assert await query.limit(3).count() == 3
    assert await query.offset(8).count() == 2
    assert await query.where(count__gt=8).exists() is True
    assert await query.where(count__gt=9).exists() is False
    assert await query.limit(None).offset(None).count() == 10
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="non-negative integer"):
            query.limit(bad)
        with pytest.raises(ValueError, match="non-negative integer"):
            query.offset(bad)


async def test_paginate(items):
    query = Item.select(items).order_by("-when")
    first = await query.paginate(1, 4)
    assert isinstance(first, Page)
    assert [i.count for i in first.items] == [9, 8, 7, 6]
    assert (first.page, first.per_page, first.total) == (1, 4, 10)
    middle = await query.paginate(2, 4)
    assert [i.count for i in middle.items] == [5, 4, 3, 2]
    assert (middle.page, middle.total) == (2, 10)
    last = await query.paginate(3, 4)
    assert [i.count for i in last.items] == [1, 0]
    assert last.total == 10
    beyond = await query.paginate(4, 4)
    assert (beyond.items, beyond.page, beyond.total) == ([], 4, 10)
    exact = await query.paginate(2, 5)
    assert ([i.count for i in exact.items], exact.total) == ([4, 3, 2, 1, 0], 10)
    filtered = await query.where(count__lt=3).paginate(1, 10)
    assert ([i.count for i in filtered.items], filtered.total) == ([2, 1, 0], 3)
    with_pk = await Item.select(items).order_by("-count", "id").paginate(2, 3)
    assert [i.count for i in with_pk.items] == [6, 5, 4]
    empty = await query.where(count=99).paginate(1, 10)
    assert (empty.items, empty.total) == ([], 0)


async def test_paginate_never_repeats_rows_on_ties(database):
    await Item.insert_many(database, [{"title": f"t{i}", "when": T0} for i in range(9)])
    for order in (["-when"], ["when"], []):
        query = Item.select(database).order_by(*order)
        seen = [i.id for page in (1, 2, 3) for i in (await query.paginate(page, 3)).items]
        assert sorted(seen) == list(range(1, 10))


@pytest.mark.parametrize(("page", "per_page"), [(0, 10), (-1, 10), (1, 0), ("1", 10), (1, None)])
async def test_paginate_rejects_bad_arguments(items, page, per_page):
    with pytest.raises(ValueError, match="integer >= 1"):
        await Item.select(items).paginate(page, per_page)


# --- get, create, save, delete ---------------------------------------------------------------


async def test_get_and_get_many(items):
    item = await Item.get(items, 3)
    assert item.title == "item 2"
    assert await Item.get(items, 999) is None
    with pytest.raises(ValidationError, match="id: must be an integer"):
        await Item.get(items, "3")
    recorder = Recorder(items)
    found = await Item.get_many(recorder, [3, 1, 3, 999])
    assert sorted(found) == [1, 3] and found[3].title == "item 2"
    assert len(recorder.sql) == 1
    assert await Item.get_many(recorder, []) == {}
    assert len(recorder.sql) == 1  # no query for no ids
    with pytest.raises(ValidationError, match="id: must be an integer"):
        await Item.get_many(items, [1, "2"])


async def test_create_uses_the_returned_id(database):
    first = await Item.create(database, title="a")
    second = await Item.create(database, title="b")
    assert (first.id, second.id) == (1, 2)
    tag = await Tag.create(database, code=42, text="explicit")
    assert (await Tag.get(database, 42)).text == "explicit"
    assert tag.code == 42


async def test_save_inserts_then_updates_only_changed_fields(database):
    recorder = Recorder(database)
    item = Item(title="draft", count=1)
    await item.save(recorder)
    assert recorder.sql[-1].startswith('INSERT INTO "items"')
    edited_before = item.edited
    item.title = "final"
    await item.save(recorder)
    update = recorder.sql[-1]
    expected = 'UPDATE "items" SET "title" = ?, "edited" = ? WHERE "items"."id" = ?'
    assert update == sql(database, expected)
    assert '"count"' not in update
    assert item.changed_fields == frozenset()
    loaded = await Item.get(database, item.id)
    assert (loaded.title, loaded.count) == ("final", 1)
    assert loaded.edited > edited_before  # auto_now
    assert loaded.when == item.when
    calls = len(recorder.sql)
    await loaded.save(recorder)  # nothing changed: no SQL at all
    assert len(recorder.sql) == calls


async def test_saved_instance_holds_what_a_fresh_load_gives(database):
    paris = timezone(timedelta(hours=2))
    author = await Author.create(database, name="  zoe ")
    item = await Item.create(database, title="t", author_id=author.id, when=T0.astimezone(paris))
    loaded = await Item.get(database, item.id)
    assert author.name == "zoe"
    assert [getattr(item, n) for n in Item._meta.names] == [
        getattr(loaded, n) for n in Item._meta.names
    ]
    assert item.when.tzinfo is UTC and loaded.when.tzinfo is UTC


async def test_save_keeps_an_explicit_auto_now_value(database):
    item = await Item.create(database, title="t")
    item.edited = T0
    await item.save(database)
    assert (await Item.get(database, item.id)).edited == T0


async def test_save_validates_before_sql(database):
    item = await Item.create(database, title="t")
    item.title = "x" * 51
    recorder = Recorder(database)
    with pytest.raises(ValidationError, match="title"):
        await item.save(recorder)
    assert recorder.sql == []


async def test_updating_a_deleted_row_raises(database):
    item = await Item.create(database, title="t")
    stale = await Item.get(database, item.id)
    assert await item.delete(database) is True
    stale.title = "edited"
    with pytest.raises(DoesNotExist, match="Item id=1"):
        await stale.save(database)


async def test_primary_key_of_a_saved_row_is_fixed(database):
    item = await Item.create(database, title="t")
    item.id = 5
    with pytest.raises(ValueError, match="primary key"):
        await item.save(database)


async def test_delete(database):
    item = await Item.create(database, title="t")
    assert await item.delete(database) is True
    assert await Item.get(database, item.id) is None
    assert await item.delete(database) is False  # already gone
    await item.save(database)  # a deleted instance can be saved again, same id
    assert (await Item.get(database, item.id)).title == "t"
    with pytest.raises(ValueError, match="never saved"):
        await Item(title="new").delete(database)


async def test_on_delete_set_null(items):
    await (await Author.get(items, 1)).delete(items)
    assert await Item.select(items).where(author_id__isnull=False).count() == 0
    assert await Item.select(items).count() == 10


async def test_unique_nocase(database):
    await Author.create(database, name="Ann")
    with pytest.raises(IntegrityError, match=r"(?i)unique.*authors[._]name"):
        await Author.create(database, name=" ANN ")
    assert (await Author.select(database).where(name="aNN").first()).name == "Ann"


async def test_nocase_folds_ascii_letters_only(database):
    """As SQLite's NOCASE does, on PostgreSQL too (columns there are COLLATE "C")."""
    await Author.create(database, name="Émile")
    await Author.create(database, name="émile")  # another name: É is not an ASCII letter
    assert [a.name for a in await Author.select(database).where(name="ÉMILE").all()] == ["Émile"]
    await Author.create(database, name="Zoe")
    await Author.create(database, name="bob")
    names = [a.name for a in await Author.select(database).order_by("name").all()]
    assert names == ["bob", "Zoe", "Émile", "émile"]  # letters folded, then byte order


async def test_dangling_foreign_key(database):
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        await Item.create(database, title="t", author_id=99)


# --- bulk writes -----------------------------------------------------------------------------


async def test_insert_many(database):
    recorder = Recorder(database)
    rows = [{"title": " spaced ", "count": 1}, Item(title="instance", count=2)]
    assert await Item.insert_many(recorder, rows) == 2
    assert len(recorder.sql) == 1  # one executemany
    loaded = await Item.select(database).order_by("count").all()
    assert [(i.title, i.count, i.active) for i in loaded] == [
        (" spaced ", 1, True),
        ("instance", 2, True),
    ]
    assert loaded[0].when == loaded[0].edited  # defaults, one utcnow() per batch
    assert await Item.insert_many(database, []) == 0
    assert await Author.insert_many(database, [{"name": "  trimmed "}]) == 1
    assert (await Author.select(database).first()).name == "trimmed"


async def test_insert_many_leaves_ids_to_the_database(database):
    await Tag.insert_many(database, [{"text": "one"}, {"text": "two", "code": None}])
    assert [(t.code, t.text) for t in await Tag.select(database).order_by("code").all()] == [
        (1, "one"),
        (2, "two"),
    ]
    recorder = Recorder(database)
    with pytest.raises(ValueError, match="use create"):
        await Tag.insert_many(recorder, [{"text": "x"}, {"code": 9, "text": "y"}])
    assert recorder.sql == []


async def test_insert_many_validates_every_row_first(database):
    recorder = Recorder(database)
    with pytest.raises(ValidationError, match="title: is required"):
        await Item.insert_many(recorder, [{"title": "ok"}, {"count": 1}])
    with pytest.raises(TypeError, match="got a Author"):
        await Item.insert_many(recorder, [Author(name="x")])
    with pytest.raises(ValidationError, match="title: must be at most 50"):
        await Item.insert_many(recorder, [{"title": "ok"}, {"title": "x" * 51}])
    with pytest.raises(ValidationError, match="when: must be timezone-aware"):
        await Item.insert_many(recorder, [{"title": "a", "when": datetime(2024, 1, 1)}])
    with pytest.raises(ValidationError, match="count: must be an integer"):
        await Item.insert_many(recorder, [{"title": "a", "count": 1}, {"title": "b", "count": "2"}])
    assert recorder.sql == []


async def test_insert_many_converts_mixed_columns(database):
    paris = timezone(timedelta(hours=2))
    rows = [
        {"title": "a", "when": T0, "count": 1},
        {"title": "b", "when": "2024-05-01T14:00:00+02:00", "price": 1},  # ISO text, an int
        {"title": "c", "when": T0.astimezone(paris), "price": 2.5, "author_id": None},
    ]
    assert await Item.insert_many(database, rows) == 3
    loaded = await Item.select(database).order_by("title").all()
    assert [(i.when, i.count, i.price) for i in loaded] == [
        (T0, 1, None),
        (T0, 0, 1.0),
        (T0, 0, 2.5),
    ]
    with pytest.raises(IntegrityError):  # the batch is atomic
        await Author.insert_many(database, [{"name": "a"}, {"name": "A"}])
    assert await Author.select(database).count() == 0


async def test_bulk_delete_and_update(items):
    assert await Item.select(items).where(count__gte=8).delete() == 2
    assert await Item.select(items).where(count__lt=3).update(note="low", active=False) == 3
    low = await Item.select(items).where(note="low").order_by("count").all()
    assert [(i.count, i.active) for i in low] == [(0, False), (1, False), (2, False)]
    assert all(i.edited > i.when for i in low)  # auto_now
    assert await Item.select(items).update(all_rows=True, count=1) == 8
    assert await Item.select(items).where(count=1).count() == 8
    assert await Item.select(items).delete(all_rows=True) == 8
    assert await Item.select(items).count() == 0


async def test_bulk_writes_need_a_where(items):
    recorder = Recorder(items)
    with pytest.raises(ValueError, match="all_rows=True"):
        await Item.select(recorder).delete()
    with pytest.raises(ValueError, match="all_rows=True"):
        await Item.select(recorder).where().update(note="x")
    with pytest.raises(ValueError, match="order_by, limit or offset"):
        await Item.select(recorder).where(count=1).order_by("id").delete()
    with pytest.raises(ValueError, match="order_by, limit or offset"):
        await Item.select(recorder).where(count=1).limit(1).update(note="x")
    with pytest.raises(ValueError, match="primary key"):
        await Item.select(recorder).where(count=1).update(id=5)
    with pytest.raises(ValueError, match="needs field values"):
        await Item.select(recorder).where(count=1).update()
    with pytest.raises(ValidationError, match="title: is required"):
        await Item.select(recorder).where(count=1).update(title=None)
    assert recorder.sql == []
    assert await Item.select(items).count() == 10


async def test_queries_run_in_a_transaction(items):
    async with items.transaction() as tx:
        await Item.select(tx).where(count__lt=5).delete()
        assert await Item.select(tx).count() == 5
        assert await Item.select(items).count() == 5  # the same task: joins the transaction
        await Item.create(tx, title="new")
    assert await Item.select(items).count() == 6
    with pytest.raises(RuntimeError):
        async with items.transaction() as tx:
            await Item.select(tx).where(count__gte=0).update(note="gone")
            raise RuntimeError
    assert await Item.select(items).where(note="gone").count() == 0


async def test_a_column_missing_from_the_database_is_an_error_not_its_name(database):
    """SQLite reads a double-quoted name that is no column as a string literal: unqualified,
    `SELECT "color" FROM "tags"` would return the text 'color' as every row's colour."""

    class Before(Model):
        __table__ = "tags"
        name = TextField()

    class After(Model):  # the model gained a column; the database did not
        __table__ = "tags"
        name = TextField()
        color = TextField(default="gray")

    await database.create_all([Before])
    await Before.create(database, name="a")
    tag = After(name="b")
    for read in (
        lambda: After.select(database).all(),
        lambda: After.select(database).where(color="color").all(),
        lambda: After.select(database).where(color__contains="o").count(),
        lambda: After.select(database).order_by("color").first(),
        lambda: After.get(database, 1),
        lambda: After.get_many(database, [1]),
        lambda: After.select(database).where(color="gray").update(name="c"),
        lambda: After.select(database).where(color="gray").delete(),
        lambda: tag.save(database),
    ):
        with pytest.raises(DatabaseError, match="color"):
            await read()
    assert [t.name for t in await Before.select(database).all()] == ["a"]
