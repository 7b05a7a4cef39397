"""A small peewee-like ORM: fields, models and chainable queries.

    class Blog(Model):
        user_id = ForeignKey(User)
        title = TextField(max_length=200)
        created_at = DateTimeField(default=utcnow, index=True)

    post = await Blog.create(db, user_id=1, title="Hello")
    page = await Blog.select(db).where(user_id=1).order_by("-created_at").paginate(1, 20)

Every query names its executor: a ``Database`` or a ``Transaction`` (see www.db). SQL
identifiers come only from declared field names, quoted by the dialect; values always
travel as parameters, validated (null, type, max_length) before any SQL is sent.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple


class ValidationError(ValueError):
    """A value does not fit its field. Raised before any SQL is sent."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class FieldError(ValueError):
    """A name that is not a declared field of the model (or not a known lookup)."""


class DoesNotExist(LookupError):
    """The row to update is not in the database (any more)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Field:
    """A column: its options, and how its values are checked and converted."""

    kind: ClassVar[str]  # the column kind the dialect maps to a type
    python: Callable[[Any], Any] | None = None  # database value -> Python, if not as is
    # The type python() takes (SQLite's form of the value): a value of any other type
    # (None, or what asyncpg already made) is kept as it is; None: python() takes all
    # but None. One type check a value, on every row loaded (_compile_from_rows).
    converts: type | None = None
    references: tuple[str, str] | None = None  # (table, column) of a foreign key
    on_delete: str | None = None
    nocase = auto_now = False
    name = "?"  # set by the model

    def __init__(
        self,
        *,
        primary_key: bool = False,
        null: bool = False,
        default: Any = None,
        unique: bool = False,
        index: bool = False,
        secret: bool = False,
    ):
        # A new row's primary key is None until the database assigns it.
        self.primary_key, self.null, self.default = primary_key, null or primary_key, default
        self.unique, self.index = unique, index
        # ``secret``: never shown outside the code that uses it (a password or token hash):
        # the admin's pages, CSV and audit log leave it out. The SQL is the same.
        self.secret = secret

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def to_db(self, value: Any) -> Any:
        """Type-check a non-None value and return its database form (writes and lookups)."""
        raise NotImplementedError

    def db_value(self, value: Any) -> Any:
        """Validate a value for writing (null, type, limits); return its database form."""
        if value is not None:
            return self.to_db(value)
        if self.null:
            return None
        raise ValidationError(self.name, "is required")

    def db_values(self, values: list, dialect: Any = None) -> list:
        """db_value() of each value of a column (insert_many), as parameters for
        ``dialect``'s driver; fields skip the calls when C-speed checks show that every
        value is already in its database form."""
        return [self.db_value(value) for value in values]


class IntegerField(Field):
    kind = "integer"

    def to_db(self, value: Any) -> int:
        if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValidationError(self.name, "must be an integer")

    def db_values(self, values: list, dialect: Any = None) -> list:
        return values if set(map(type, values)) == {int} else super().db_values(values)


class FloatField(Field):
    kind = "float"

    def to_db(self, value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        raise ValidationError(self.name, "must be a number (not NaN)")


class BooleanField(Field):
    kind, python, converts = "boolean", bool, int  # SQLite's 0 and 1; asyncpg's bools

    def to_db(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ValidationError(self.name, "must be True or False")


class TextField(Field):
    """Text. ``nocase``: comparisons and uniqueness ignore case (ASCII letters only).
    ``normalize`` (e.g. ``str.strip``) is applied on writes and lookups."""

    kind = "text"

    def __init__(self, *, max_length=None, nocase=False, normalize=None, **options: Any):
        super().__init__(**options)
        self.max_length, self.nocase, self.normalize = max_length, nocase, normalize

    def to_db(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.name, "must be a string")
        return self.normalize(value) if self.normalize else value

    def db_value(self, value: Any) -> Any:
        value = super().db_value(value)
        if self.max_length is not None and value is not None and len(value) > self.max_length:
            raise ValidationError(self.name, f"must be at most {self.max_length} characters")
        return value

    def db_values(self, values: list, dialect: Any = None) -> list:
        if self.normalize or set(map(type, values)) != {str}:
            return super().db_values(values)
        if self.max_length is not None and max(map(len, values)) > self.max_length:
            return super().db_values(values)  # to name the value
        return values


class DateTimeField(Field):
    """A timezone-aware datetime (a naive one is usually local time by accident), stored as
    UTC ISO 8601 text; such text is accepted wherever a datetime is. It sorts in time order
    even when ``isoformat()`` leaves out ".000000": "12:00:00+00:00" < "12:00:00.000001+00:00".
    (PostgreSQL stores a timestamptz: its driver takes that text, and reads back an aware
    UTC datetime, which loads as it is.) ``auto_now``: set on each update."""

    kind, python, converts = "datetime", datetime.fromisoformat, str  # asyncpg: datetimes

    def __init__(self, *, auto_now: bool = False, **options: Any):
        super().__init__(**options)
        self.auto_now = auto_now

    def to_db(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(self.name, f"not an ISO 8601 datetime: {value!r}") from None
        if not isinstance(value, datetime):
            raise ValidationError(self.name, "must be a datetime")
        if value.utcoffset() is None:
            raise ValidationError(self.name, "must be timezone-aware (naive datetime given)")
        return value.astimezone(UTC).isoformat()

    def db_values(self, values: list, dialect: Any = None) -> list:
        """UTC datetimes go as they are to a driver that binds them to the same instant as
        their text (``dialect.binds_datetimes``: PostgreSQL), else as the text."""
        if set(map(type, values)) == {datetime} and {v.tzinfo for v in values} == {UTC}:
            if getattr(dialect, "binds_datetimes", False):
                return values
            return list(map(datetime.isoformat, values))
        return super().db_values(values)


class ForeignKey(IntegerField):
    """The id of a row of ``model``; the column is named as declared (``user_id``). Indexed
    by default: SQLite does not index foreign keys, and cascades scan for them."""

    ON_DELETE = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION")

    def __init__(self, model: type[Model], *, on_delete="CASCADE", index=True, **options: Any):
        super().__init__(index=index, **options)
        if on_delete not in self.ON_DELETE:
            raise ValueError(f"on_delete must be one of {self.ON_DELETE}, not {on_delete!r}")
        if on_delete == "SET NULL" and not self.null:
            raise ValueError('on_delete="SET NULL" needs null=True')
        self.model, self.on_delete = model, on_delete
        self.references = (model._meta.table, model._meta.pk.name)


def _default(field: Field, called: dict[Callable, Any]) -> Any:
    """The field's default; a callable one (utcnow) is called once per ``called`` dict, so a
    new row's created_at and updated_at are equal."""
    if not callable(field.default):
        return field.default
    if field.default not in called:
        called[field.default] = field.default()
    return called[field.default]


class Schema:
    """What the metaclass learned about a model: table, fields (primary key first), SQL."""

    def __init__(
        self,
        model_name: str,
        table: str,
        fields: dict[str, Field],
        unique_together: tuple[tuple[str, ...], ...] = (),
    ):
        self.model_name, self.table, self.by_name = model_name, table, fields
        # ``__unique__ = (("post_id", "tag_id"),)`` in a model's body: each a unique index.
        self.unique_together = unique_together
        self.fields, self.names = tuple(fields.values()), tuple(fields)
        self.pk = self.fields[0]
        self.auto_now = tuple((i, f) for i, f in enumerate(self.fields) if f.auto_now)
        self.nocase = frozenset(f.name for f in self.fields if f.nocase)
        self._sql: dict[str, TableSQL] = {}
        self._by_pk: dict[str, str] = {}  # Model.get()'s SELECT, by dialect
        # Query._sql's text by the query's shape (what it says, not its values): an app
        # runs the same few shapes again and again. Emptied when it holds QUERY_SHAPES.
        self.query_sql: dict[tuple, str] = {}

    def field(self, name: Any) -> Field:
        field = self.by_name.get(name) if isinstance(name, str) else None
        if field is None:
            raise FieldError(f"{self.model_name} has no field {name!r}")
        return field

    def select_by_pk(self, dialect: Any) -> str:
        """``SELECT ... WHERE pk = ?``, made once per dialect: reads by id are the most
        frequent query, and a dict lookup is cheaper than formatting it every time."""
        sql = self._by_pk.get(dialect.name)
        if sql is None:
            names = self.sql(dialect)
            column = names.qualified[self.pk.name]
            sql = self._by_pk[dialect.name] = (
                f"{names.select} WHERE {column} = {dialect.placeholder(1)}"
            )
        return sql

    def select_by_pks(self, dialect: Any, count: int) -> str:
        """``SELECT ... WHERE pk IN (?, ...)`` for ``count`` keys (get_many), made once per
        dialect and count: every page of posts asks for its authors."""
        shape = ("by_pks", dialect.name, count)
        sql = self.query_sql.get(shape)
        if sql is None:
            if len(self.query_sql) >= QUERY_SHAPES:
                self.query_sql.clear()
            names = self.sql(dialect)
            column, marks = names.qualified[self.pk.name], dialect.placeholders(1, count)
            sql = self.query_sql[shape] = f"{names.select} WHERE {column} IN ({marks})"
        return sql

    def sql(self, dialect: Any) -> TableSQL:
        """The model's quoted names for ``dialect``, made once. The only identifiers in the
        ORM's SQL: declared names, quoted; values are parameters."""
        if dialect.name not in self._sql:
            table, columns = dialect.quote(self.table), {n: dialect.quote(n) for n in self.names}
            qualified = {name: f"{table}.{column}" for name, column in columns.items()}
            select = f"SELECT {', '.join(qualified.values())} FROM {table}"
            self._sql[dialect.name] = TableSQL(table, columns, qualified, select)
        return self._sql[dialect.name]


class TableSQL(NamedTuple):
    """A model's table and columns, quoted for one dialect.

    In expressions (SELECT lists, WHERE, ORDER BY) every column is qualified with its table:
    SQLite reads a double-quoted name that is no column as a string literal, so a column
    missing from the database would silently read as its own name; ``"posts"."color"``
    is an error instead ("no such column"). INSERT and UPDATE ... SET take bare names."""

    table: str  # "posts"
    columns: dict[str, str]  # field name -> "title"
    qualified: dict[str, str]  # field name -> "posts"."title"
    select: str  # SELECT "posts"."id", ... FROM "posts"


def _table_name(class_name: str) -> str:
    """BlogPost -> blog_posts, Category -> categories, Box -> boxes."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    return name + ("es" if name.endswith(("s", "x", "z", "ch", "sh")) else "s")


class ModelMeta(type):
    """Turns the declared fields into ``__slots__``: each instance keeps its values in its
    own attributes, read and assigned at plain attribute speed, and ``Model._meta`` (a
    Schema) keeps the Field objects. Other instance attributes need a ``__slots__`` entry
    in the model's body (methods and properties need none). Models do not subclass models.
    ``__unique__``, a tuple of field-name tuples, makes each combination unique (an index)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        if not bases:
            return super().__new__(mcs, name, bases, namespace)  # Model itself
        if any(isinstance(base, ModelMeta) and base is not Model for base in bases):
            raise TypeError(f"{name}: a model cannot subclass another model")
        fields = {key: value for key, value in namespace.items() if isinstance(value, Field)}
        for key, field in fields.items():
            if key.startswith("_") or keyword.iskeyword(key) or hasattr(Model, key):
                raise TypeError(f"{name}.{key}: this name is reserved")
            del namespace[key]
            field.name = key
        primary_keys = [field for field in fields.values() if field.primary_key]
        if not primary_keys:
            primary_keys = [IntegerField(primary_key=True)]
            primary_keys[0].name = "id"
        elif len(primary_keys) > 1 or not isinstance(primary_keys[0], IntegerField):
            raise TypeError(f"{name} must have a single integer primary key")
        fields = {primary_keys[0].name: primary_keys[0], **fields}
        table = namespace.get("__table__") or _table_name(name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise TypeError(f"{name}: invalid table name {table!r}")
        unique_together = tuple(tuple(names) for names in namespace.pop("__unique__", ()))
        for names in unique_together:
            if len(names) < 2 or not set(names) <= fields.keys():
                raise TypeError(f"{name}.__unique__: {names!r} must name two or more fields")
        namespace["__slots__"] = (*fields, *namespace.get("__slots__", ()))
        cls = super().__new__(mcs, name, bases, namespace)
        cls._meta = Schema(name, table, fields, unique_together)
        cls._from_rows = staticmethod(_compile_from_rows(cls))
        return cls


def _compile_from_rows(model: type) -> Callable[[Iterable[Sequence[Any]]], list]:
    """Compile ``rows -> [instance, ...]``, as namedtuple compiles its class: it is the ORM's
    hottest code, three times faster than a loop over the fields. For ``label =
    TextField(); shown = BooleanField()`` the loop body reads ``v0, v1, v2, = row; obj =
    new(model); obj.id = v0; obj.label = v1; obj.shown = python2(v2) if type(v2) is type2
    else v2`` (``type2`` is the field's ``converts``, int: asyncpg's bool, or None, kept)."""
    namespace: dict[str, Any] = {"new": object.__new__, "model": model}
    lines = ["def from_rows(rows):", "    objects = []", "    for row in rows:"]
    lines += [f"        {''.join(f'v{i}, ' for i in range(len(model._meta.fields)))}= row"]
    lines += ["        obj = new(model)", "        obj._saved = row"]
    for i, field in enumerate(model._meta.fields):
        namespace[f"python{i}"], namespace[f"type{i}"] = field.python, field.converts
        value = f"v{i}"
        if field.python and field.converts:
            value = f"python{i}(v{i}) if type(v{i}) is type{i} else v{i}"
        elif field.python:
            value = f"None if v{i} is None else python{i}(v{i})"
        lines.append(f"        obj.{field.name} = {value}")
    exec("\n".join([*lines, "        objects.append(obj)", "    return objects"]), namespace)  # noqa: S102
    return namespace["from_rows"]


class Page(NamedTuple):
    """One page of results; ``page`` is 1-based, ``total`` counts the rows of every page."""

    items: list
    page: int
    per_page: int
    total: int


def _differs(value: Any, saved: Any) -> bool:
    """Whether a field's database form differs from the row as loaded. A driver may read a
    value back in a type of its own: asyncpg gives a timestamptz as an aware UTC datetime
    where the ORM writes its text, so such a datetime compares as that text."""
    if type(saved) is datetime:
        saved = saved.isoformat()
    return value != saved


class Model(metaclass=ModelMeta):
    """Base class of models. An instance remembers its row as last loaded or saved (in
    database form) in ``_saved``, so ``save()`` writes only what differs."""

    __slots__ = ("_saved",)
    _meta: ClassVar[Schema]
    _from_rows: ClassVar[Callable[[Iterable[Sequence[Any]]], list]]  # made by the metaclass

    def __init__(self, **values: Any):
        if not values.keys() <= self._meta.by_name.keys():
            self._meta.field(min(values.keys() - self._meta.by_name.keys()))  # raises FieldError
        called: dict[Callable, Any] = {}
        for field in self._meta.fields:
            value = values[field.name] if field.name in values else _default(field, called)
            setattr(self, field.name, value)
        self._saved: tuple | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._meta.pk.name}={getattr(self, self._meta.pk.name)}>"

    def _db_row(self) -> list:
        """Every field's value in database form, validated."""
        return [field.db_value(getattr(self, field.name)) for field in self._meta.fields]

    @property
    def changed_fields(self) -> frozenset[str]:
        """Names of the fields that differ from the row as loaded or saved (all of them for
        a new instance). Raises ValidationError for an invalid value."""
        if self._saved is None:
            return frozenset(self._meta.names)
        pairs = zip(self._meta.names, self._db_row(), self._saved, strict=True)
        return frozenset(name for name, value, saved in pairs if _differs(value, saved))

    @classmethod
    def select(cls, db: Any) -> Query:
        return Query(cls, db)

    @classmethod
    async def get(cls, db: Any, pk: int) -> Any:
        """The row with this primary key, or None."""
        meta = cls._meta
        sql = meta.select_by_pk(db.dialect)
        rows = await db.fetchall(sql, (pk if type(pk) is int else meta.pk.to_db(pk),))
        return cls._from_rows(rows)[0] if rows else None

    @classmethod
    async def get_many(cls, db: Any, ids: Iterable[int]) -> dict[int, Any]:
        """The rows with these primary keys (one query), by primary key; missing ones left out."""
        meta = cls._meta  # a direct query: every page of posts runs this for its authors
        ids = [value if type(value) is int else meta.pk.to_db(value) for value in set(ids)]
        if not ids:
            return {}
        rows = await db.fetchall(meta.select_by_pks(db.dialect, len(ids)), ids)
        return dict(zip(map(itemgetter(0), rows), cls._from_rows(rows), strict=True))  # pk first

    @classmethod
    async def create(cls, db: Any, **values: Any) -> Any:
        """Validate, insert and return a new instance."""
        return await cls(**values).save(db)

    async def save(self, db: Any) -> Any:
        """Insert a new instance, or UPDATE the fields that differ from the row as loaded
        (``auto_now`` ones too); nothing differs, no SQL. Returns self, holding what was
        written: normalized text, datetimes in UTC. Raises DoesNotExist if the row is gone."""
        meta, row = self._meta, self._db_row()
        if self._saved is None and row[0] is None:  # the database assigns the id
            row[0] = (await _insert(db, meta, meta.fields[1:], [row[1:]])).lastrowid
        elif self._saved is None:
            await _insert(db, meta, meta.fields, [row])
        else:
            if row[0] != self._saved[0]:
                raise ValueError(f"{meta.model_name}: the primary key of a saved row is fixed")
            pairs = zip(meta.names, row, self._saved, strict=True)
            changes = {name: value for name, value, saved in pairs if _differs(value, saved)}
            if not changes:
                return self
            for i, field in meta.auto_now:
                if field.name not in changes:
                    row[i] = changes[field.name] = field.db_value(utcnow())
            if await self.select(db).where(**{meta.pk.name: row[0]})._update(changes) == 0:
                raise DoesNotExist(f"{meta.model_name} {meta.pk.name}={row[0]} is not saved")
        loaded = self._from_rows([tuple(row)])[0]  # hold what a fresh load would give
        for name in (*meta.names, "_saved"):
            setattr(self, name, getattr(loaded, name))
        return self

    async def delete(self, db: Any) -> bool:
        """Delete this row; False if it was already gone. ``save()`` would insert it again."""
        pk, value = self._meta.pk.name, getattr(self, self._meta.pk.name)
        if value is None:
            raise ValueError(f"{self._meta.model_name} was never saved")
        deleted = await self.select(db).where(**{pk: value}).delete()
        self._saved = None
        return deleted > 0

    @classmethod
    async def insert_many(cls, db: Any, rows: Iterable[Model | dict[str, Any]]) -> int:
        """Validate new rows (dicts or instances), then insert them with one executemany.
        Returns how many; the database assigns the ids, which are not read back."""
        meta, called = cls._meta, {}  # one utcnow() for the whole batch
        defaults = {field.name: _default(field, called) for field in meta.fields}
        names, full_rows = defaults.keys(), []
        for row in rows:
            if isinstance(row, Model):
                if type(row) is not cls:
                    raise TypeError(f"{cls.__name__}.insert_many got a {type(row).__name__}")
                row = {name: getattr(row, name) for name in meta.names}
            elif not row.keys() <= names:
                meta.field(min(row.keys() - names))  # raises FieldError
            full_rows.append({**defaults, **row})
        if not full_rows:
            return 0
        if set(map(itemgetter(meta.pk.name), full_rows)) != {None}:
            raise ValueError("insert_many() rows get their ids from the database: use create()")
        # Column by column: most checks then run at C speed (see Field.db_values).
        fields = meta.fields[1:]
        dialect = db.dialect
        columns = [f.db_values(list(map(itemgetter(f.name), full_rows)), dialect) for f in fields]
        await _insert(db, meta, fields, list(zip(*columns, strict=True)))
        return len(full_rows)  # each INSERT adds its row, or the batch fails as a whole


async def _insert(db: Any, meta: Schema, fields: Sequence[Field], rows: list) -> Any:
    """INSERT ``rows`` (lists of database values for ``fields``): one execute, whose
    ``lastrowid`` is the new id (the dialect may ask for it with RETURNING), or one
    executemany."""
    dialect, (table, columns, _, _) = db.dialect, meta.sql(db.dialect)
    names = ", ".join(columns[field.name] for field in fields)
    sql = f"INSERT INTO {table} ({names}) VALUES ({dialect.placeholders(1, len(fields))})"
    if len(rows) > 1:
        return await db.executemany(sql, rows)
    return await db.execute(sql + dialect.returning.format(columns[meta.pk.name]), rows[0])


_COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
QUERY_SHAPES = 512  # query texts a model keeps (Meta.query_sql)
_LOOKUPS = {*_COMPARISONS, "in", "contains", "isnull"}


class Query:
    """An immutable, chainable SELECT over one model; nothing runs until awaited.

    ``where(title__contains="x", user_id=3)`` ANDs lookups: ``field`` (=, or IS NULL for
    None), ``__ne`` (<>, or IS NOT NULL), ``__lt``, ``__lte``, ``__gt``, ``__gte``, ``__in``,
    ``__contains`` (LIKE, case-insensitive for ASCII, ``%``/``_`` literal), ``__isnull``.
    As in SQL, ``__ne``/``__lt``... never match NULL.
    """

    def __init__(self, model: type[Model], db: Any):
        self.model, self.db, self.meta = model, db, model._meta
        self._where: tuple = ()  # (field name, SQL operator, [parameters])
        self._order: tuple = ()  # (field name, descending)
        self._limit: int | None = None
        self._offset: int | None = None

    def _copy(self, **changes: Any) -> Query:
        query = object.__new__(Query)
        query.__dict__.update(self.__dict__, **changes)
        return query

    def where(self, **lookups: Any) -> Query:
        conditions = [self._condition(key, value) for key, value in lookups.items()]
        return self._copy(_where=(*self._where, *conditions))

    def _condition(self, key: str, value: Any) -> tuple[str, str, Any]:
        name, separator, lookup = key.rpartition("__")
        if not separator or lookup not in _LOOKUPS:
            name, lookup = key, "eq"
        field = self.meta.field(name)
        if lookup == "isnull" or (value is None and lookup in ("eq", "ne")):
            if lookup == "isnull" and not isinstance(value, bool):
                raise ValueError(f"{key} needs True or False")
            return name, "IS NULL" if value is True or lookup == "eq" else "IS NOT NULL", []
        if lookup == "in":
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise ValueError(f"{key} needs a list of values")
            return name, "IN", [field.to_db(item) for item in value]
        if lookup == "contains":
            if not isinstance(field, TextField) or not isinstance(value, str):
                raise ValueError(f"{key} needs a text field and a string")
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return name, "LIKE", [f"%{escaped}%"]
        if value is None:
            raise ValueError(f"{key} cannot compare with None")
        return name, _COMPARISONS[lookup], [field.to_db(value)]

    def where_any_contains(self, names: Sequence[str], value: str) -> Query:
        """Rows where any of the text fields ``names`` contains ``value`` (as
        ``__contains``, the conditions ORed): a search box over several columns."""
        fields = [self.meta.field(name) for name in names]
        if not fields or not isinstance(value, str):
            raise ValueError("where_any_contains() needs field names and a string")
        if not all(isinstance(field, TextField) for field in fields):
            raise ValueError("where_any_contains() needs text fields")
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        condition = (tuple(f.name for f in fields), "LIKE ANY", [f"%{escaped}%"] * len(fields))
        return self._copy(_where=(*self._where, condition))

    def order_by(self, *names: str) -> Query:
        """Declared field names, ``-name`` for descending. Replaces any previous order."""
        order = []
        for name in names:
            descending = isinstance(name, str) and name.startswith("-")
            order.append((self.meta.field(name[1:] if descending else name).name, descending))
        return self._copy(_order=tuple(order))

    def limit(self, count: int | None) -> Query:
        return self._copy(_limit=_non_negative("limit", count))

    def offset(self, count: int | None) -> Query:
        return self._copy(_offset=_non_negative("offset", count))

    def _sql(self, start: str, params: list, *, order: bool = True) -> str:
        """``start`` (SELECT ... FROM, DELETE FROM, UPDATE ... SET) + WHERE, ORDER BY, LIMIT,
        and their values appended to ``params``. The text is made once per shape."""
        paged = self._limit is not None or self._offset is not None
        where = tuple((name, operator, len(values)) for name, operator, values in self._where)
        shape = (start, self.db.dialect.name, len(params), where, order and self._order, paged)
        shapes = self.meta.query_sql
        sql = shapes.get(shape)
        if sql is None:
            if len(shapes) >= QUERY_SHAPES:
                shapes.clear()
            sql = shapes[shape] = self._build_sql(start, list(params), order=order)
        for _, _, values in self._where:
            params += values
        if paged:
            no_limit = self.db.dialect.no_limit
            params += [no_limit if self._limit is None else self._limit, self._offset or 0]
        return sql

    def _build_sql(self, start: str, params: list, *, order: bool) -> str:
        dialect, columns = self.db.dialect, self.meta.sql(self.db.dialect).qualified
        # nocase columns compare and sort case-insensitively: by themselves in SQLite
        # (COLLATE NOCASE), through the dialect's folding elsewhere (PostgreSQL: lower()).
        folded = self.meta.nocase if dialect.nocase else frozenset()

        def compared(name: str) -> str:
            return dialect.nocase.format(columns[name]) if name in folded else columns[name]

        conditions = []
        for name, operator, values in self._where:
            first, marks = len(params) + 1, dialect.placeholders(len(params) + 1, len(values))
            params += values
            if name in folded and operator != "LIKE":
                mark = dialect.nocase.format
                marks = ", ".join(mark(dialect.placeholder(first + i)) for i in range(len(values)))
            if operator == "LIKE ANY":  # (a LIKE ? OR b LIKE ?): name is a tuple of names
                like = (
                    f"{columns[n]} {dialect.like} {dialect.placeholder(first + i)} ESCAPE '\\'"
                    for i, n in enumerate(name)
                )
                conditions.append(f"({' OR '.join(like)})")
            elif operator == "IN":
                conditions.append(f"{compared(name)} IN ({marks})" if values else "1 = 0")
            elif operator == "LIKE":  # LIKE (SQLite) and ILIKE ignore ASCII case already
                conditions.append(f"{columns[name]} {dialect.like} {marks} ESCAPE '\\'")
            else:  # IS [NOT] NULL has no parameter
                conditions.append(f"{compared(name)} {operator} {marks}".rstrip())
        sql = start + (" WHERE " + " AND ".join(conditions) if conditions else "")
        if self._order and order:
            order_sql = (f"{compared(n)} DESC" if desc else compared(n) for n, desc in self._order)
            sql += " ORDER BY " + ", ".join(order_sql)
        if self._limit is not None or self._offset is not None:
            params += [dialect.no_limit if self._limit is None else self._limit, self._offset or 0]
            sql += f" LIMIT {dialect.placeholder(len(params) - 1)}"
            sql += f" OFFSET {dialect.placeholder(len(params))}"
        return sql

    async def all(self) -> list:
        params: list = []
        sql = self._sql(self.meta.sql(self.db.dialect).select, params)
        return self.model._from_rows(await self._fetchall(sql, params))

    async def _fetchall(self, sql: str, params: list) -> list:
        """Run a read; in a snapshot (db.read()), naming its scope when it has one."""
        scoped_by = getattr(self.db, "scoped_by", None)
        scope = self._scope(scoped_by) if scoped_by else None
        if scope is None:
            return await self.db.fetchall(sql, params)
        return await self.db.fetchall(sql, params, scope=scope)

    def _scope(self, scoped_by: dict[str, str]) -> tuple[str, str] | None:
        """(table, counter) when the table's changes are counted by a column and this
        query asks for one value of it (www/db/versions.py): its rows can change only
        with that value's counter. Case-folded columns are left out (the stored value
        names the counter, and "Ab" = "ab" there)."""
        table = self.meta.table
        column = scoped_by.get(table)
        if column is None or column in self.meta.nocase:
            return None
        for name, operator, values in self._where:
            if name == column and operator == "=" and type(values[0]) in (int, str):
                return table, f"{table}.{column}={values[0]}"
        return None

    async def first(self) -> Any:
        rows = await self.limit(1).all()
        return rows[0] if rows else None

    async def count(self) -> int:
        """How many rows ``all()`` would return (SQLite flattens the subquery)."""
        params: list = []
        table = self.meta.sql(self.db.dialect).table
        sql = self._sql(f"SELECT 1 FROM {table}", params, order=False)
        return (await self._fetchall(f"SELECT COUNT(*) FROM ({sql}) AS q", params))[0][0]

    async def exists(self) -> bool:
        return await self.limit(1).count() > 0

    async def paginate(self, page: int, per_page: int) -> Page:
        """Page ``page`` (1-based) of ``per_page`` items, and the total; a page past the end
        has no items. The primary key is added as a last sort key so pages never overlap."""
        for what, value in (("page", page), ("per_page", per_page)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{what} must be an integer >= 1, not {value!r}")
        order, pk = self._order, self.meta.pk.name
        if all(name != pk for name, _ in order):
            order = (*order, (pk, order[0][1] if order else False))
        items = self._copy(_order=order, _limit=per_page, _offset=(page - 1) * per_page)
        total = await self._copy(_limit=None, _offset=None).count()
        return Page(await items.all(), page, per_page, total)

    async def delete(self, *, all_rows: bool = False) -> int:
        """Delete the matching rows; returns how many."""
        self._check_bulk("delete", all_rows)
        params: list = []
        sql = self._sql(f"DELETE FROM {self.meta.sql(self.db.dialect).table}", params)
        return (await self.db.execute(sql, params)).rowcount

    async def update(self, *, all_rows: bool = False, **values: Any) -> int:
        """Set fields on the matching rows (``auto_now`` ones too); returns how many."""
        fields = [self.meta.field(name) for name in values]
        if not fields or self.meta.pk in fields:
            raise ValueError("update() needs field values, and cannot change the primary key")
        self._check_bulk("update", all_rows)
        values = {field.name: field.db_value(values[field.name]) for field in fields}
        for _, field in self.meta.auto_now:
            values.setdefault(field.name, field.db_value(utcnow()))
        return await self._update(values)

    async def _update(self, values: dict[str, Any]) -> int:
        """UPDATE the matching rows, SET ``values`` (already in database form)."""
        params, (table, columns, _, _) = list(values.values()), self.meta.sql(self.db.dialect)
        mark = self.db.dialect.placeholder
        assignments = ", ".join(f"{columns[n]} = {mark(i)}" for i, n in enumerate(values, 1))
        sql = self._sql(f"UPDATE {table} SET {assignments}", params)
        return (await self.db.execute(sql, params)).rowcount

    def _check_bulk(self, action: str, all_rows: bool) -> None:
        """A bulk write must be meant: a where(), or ``all_rows``; and no order or limit."""
        if self._order or self._limit is not None or self._offset is not None:
            raise ValueError(f"{action}() does not take order_by, limit or offset")
        if not self._where and not all_rows:
            raise ValueError(f"{action}() without where() needs all_rows=True")


def _non_negative(what: str, value: Any) -> Any:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value
