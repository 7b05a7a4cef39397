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

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple

_NOTHING: frozenset[str] = frozenset()


class ValidationError(ValueError):
    """A value does not fit its field. Raised before any SQL is sent."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FieldError(ValueError):
    """A name that is not a declared field of the model (or not a known lookup)."""


class DoesNotExist(LookupError):
    """The row to update is not in the database (any more)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _default(field: Field, called: dict[Callable, Any]) -> Any:
    """The field's default; a callable one (utcnow) is called once per ``called`` dict, so a
    new row's created_at and updated_at are equal."""
    if not callable(field.default):
        return field.default
    if field.default not in called:
        called[field.default] = field.default()
    return called[field.default]


class Field:
    """A column. Only ``__set__`` is defined: reading ``post.title`` finds the value in the
    instance ``__dict__`` (fast), while assignments come here to be cleaned and tracked. On
    the class, ``Blog.title`` is the Field itself."""

    kind: ClassVar[str]  # the column kind the dialect maps to a type
    to_python: Callable[[Any], Any] | None = None  # database value -> Python, if not as is
    references: tuple[str, str] | None = None  # (table, column) of a foreign key
    on_delete: str | None = None
    nocase = False
    name: str

    def __init__(
        self,
        *,
        primary_key: bool = False,
        null: bool = False,
        default: Any = None,
        unique: bool = False,
        index: bool = False,
        hidden: bool = False,
    ):
        self.primary_key, self.null, self.default = primary_key, null, default
        self.unique, self.index, self.hidden = unique, index, hidden

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, instance: Model, value: Any) -> None:
        instance.__dict__[self.name] = self.clean(value)
        instance._changed |= {self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')}>"

    def clean(self, value: Any) -> Any:
        """Normalise a value on assignment (see TextField's ``normalize``)."""
        return value

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

    def to_json(self, value: Any) -> Any:
        return value


class IntegerField(Field):
    kind = "integer"

    def to_db(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValidationError(self.name, "must be an integer")

    def db_value(self, value: Any) -> Any:
        return value if type(value) is int else super().db_value(value)  # fast path first


class FloatField(Field):
    kind = "float"

    def to_db(self, value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        raise ValidationError(self.name, "must be a number (not NaN)")


class BooleanField(Field):
    kind = "boolean"
    to_python = bool

    def to_db(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ValidationError(self.name, "must be True or False")


class TextField(Field):
    """Text. ``nocase``: comparisons and uniqueness ignore case (ASCII letters only).
    ``normalize`` (e.g. ``str.strip``) is applied on assignment, writes and lookups."""

    kind = "text"

    def __init__(
        self,
        *,
        max_length: int | None = None,
        nocase: bool = False,
        normalize: Callable[[str], str] | None = None,
        **options: Any,
    ):
        super().__init__(**options)
        self.max_length, self.nocase, self.normalize = max_length, nocase, normalize

    def clean(self, value: Any) -> Any:
        return self.normalize(value) if self.normalize and isinstance(value, str) else value

    def to_db(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.name, "must be a string")
        return self.normalize(value) if self.normalize else value

    def db_value(self, value: Any) -> Any:
        value = self.to_db(value) if isinstance(value, str) else super().db_value(value)
        if self.max_length is not None and value is not None and len(value) > self.max_length:
            raise ValidationError(self.name, f"must be at most {self.max_length} characters")
        return value


class DateTimeField(Field):
    """A timezone-aware datetime (a naive one is usually local time by accident), stored as
    UTC ISO 8601 text; such text is accepted wherever a datetime is. It sorts in time order
    even when ``isoformat()`` leaves out ".000000": "12:00:00+00:00" < "12:00:00.000001+00:00".
    ``auto_now``: set on each save."""

    kind = "datetime"
    to_python = datetime.fromisoformat

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

    def db_value(self, value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.isoformat()  # fast path first
        return super().db_value(value)

    def to_json(self, value: Any) -> str | None:
        return None if value is None else self.to_db(value)


class ForeignKey(IntegerField):
    """The id of a row of ``model``; the column is named as declared (``user_id``). Indexed
    by default: SQLite does not index foreign keys, and cascades scan for them."""

    ON_DELETE = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION")

    def __init__(
        self, model: type[Model], *, on_delete: str = "CASCADE", index: bool = True, **options: Any
    ):
        super().__init__(index=index, **options)
        if on_delete not in self.ON_DELETE:
            raise ValueError(f"on_delete must be one of {self.ON_DELETE}, not {on_delete!r}")
        if on_delete == "SET NULL" and not self.null:
            raise ValueError('on_delete="SET NULL" needs null=True')
        self.model, self.on_delete = model, on_delete
        self.references = (model._meta.table, model._meta.pk.name)


class Statements(NamedTuple):
    """A model's SQL, prepared once per dialect; queries append WHERE, ORDER BY, LIMIT."""

    table: str  # quoted, as are the columns
    columns: dict[str, str]  # field name -> column
    select: str  # SELECT <every column> FROM <table>
    get: str  # select by primary key
    insert: str  # without the primary key (the database assigns it)
    insert_with_pk: str


class Schema:
    """What the metaclass learned about a model: table, fields, primary key, SQL."""

    def __init__(self, model_name: str, table: str, fields: dict[str, Field]):
        self.model_name, self.table, self.by_name = model_name, table, fields
        self.fields, self.names = tuple(fields.values()), tuple(fields)
        self.pk = next(field for field in self.fields if field.primary_key)
        self.insert_fields = tuple(field for field in self.fields if not field.primary_key)
        self.public = tuple(field for field in self.fields if not field.hidden)
        self.auto_now = tuple(f for f in self.fields if getattr(f, "auto_now", False))
        self._statements: dict[str, Statements] = {}

    def field(self, name: Any) -> Field:
        field = self.by_name.get(name) if isinstance(name, str) else None
        if field is None:
            raise FieldError(f"{self.model_name} has no field {name!r}")
        return field

    def statements(self, dialect: Any) -> Statements:
        if dialect.name not in self._statements:
            # S608 (SQL built from strings): the only identifiers are the declared table and
            # field names, quoted by the dialect; values always travel as parameters.
            table = dialect.quote(self.table)
            columns = {name: dialect.quote(name) for name in self.names}
            select = f"SELECT {', '.join(columns.values())} FROM {table}"  # noqa: S608

            def insert(names: Sequence[str]) -> str:
                into = f"INSERT INTO {table} ({', '.join(columns[name] for name in names)})"
                return f"{into} VALUES ({dialect.placeholders(1, len(names))})"

            by_pk = f" WHERE {columns[self.pk.name]} = {dialect.placeholder(1)}"
            insert_names = [field.name for field in self.insert_fields]
            self._statements[dialect.name] = Statements(
                table, columns, select, select + by_pk, insert(insert_names), insert(self.names)
            )
        return self._statements[dialect.name]


def _table_name(class_name: str) -> str:
    """BlogPost -> blog_posts, Category -> categories, Box -> boxes."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    return name + ("es" if name.endswith(("s", "x", "z", "ch", "sh")) else "s")


class ModelMeta(type):
    """Collects the declared fields into ``cls._meta`` (a Schema). There is no inheritance
    between models: each subclasses Model directly and declares all of its fields."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        cls = super().__new__(mcs, name, bases, namespace)
        if not any(isinstance(base, ModelMeta) for base in bases):
            return cls  # Model itself
        if any(isinstance(base, ModelMeta) and base is not Model for base in bases):
            raise TypeError(f"{name}: a model cannot subclass another model")
        fields = {key: value for key, value in namespace.items() if isinstance(value, Field)}
        for field_name in fields:
            if field_name.startswith("_") or hasattr(Model, field_name):
                raise TypeError(f"{name}.{field_name}: this name is reserved")
        primary_keys = [field for field in fields.values() if field.primary_key]
        if not primary_keys:
            cls.id = IntegerField(primary_key=True)
            cls.id.__set_name__(cls, "id")
            fields = {"id": cls.id, **fields}
        elif len(primary_keys) > 1 or not isinstance(primary_keys[0], IntegerField):
            raise TypeError(f"{name} must have a single integer primary key")
        table = namespace.get("__table__") or _table_name(name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
            raise TypeError(f"{name}: invalid table name {table!r}")
        cls._meta = Schema(name, table, fields)
        cls._from_rows = staticmethod(_rows_builder(cls))
        return cls


def _rows_builder(model: type) -> Callable[[Iterable[Sequence[Any]]], list]:
    """Compile ``rows -> [instance, ...]``, as namedtuple compiles its class: it is the ORM's
    hottest code, and a dict display with constant keys is twice as fast as ``dict(zip())``.
    For ``label = TextField(); shown = BooleanField()``, the loop body reads ``obj.__dict__ =
    {'id': v0, 'label': v1, 'shown': None if v2 is None else to_python2(v2)}``."""
    namespace: dict[str, Any] = {"new": object.__new__, "model": model, "NOTHING": _NOTHING}
    items = []
    for i, field in enumerate(model._meta.fields):
        namespace[f"to_python{i}"] = field.to_python
        value = f"None if v{i} is None else to_python{i}(v{i})" if field.to_python else f"v{i}"
        items.append(f"{field.name!r}: {value}")
    source = (
        "def from_rows(rows):\n"
        "    objects = []\n"
        f"    for {', '.join(f'v{i}' for i in range(len(items)))}, in rows:\n"
        "        obj = new(model)\n"
        f"        obj.__dict__ = {{{', '.join(items)}}}\n"
        "        obj._in_db, obj._changed = True, NOTHING\n"
        "        objects.append(obj)\n"
        "    return objects\n"
    )
    exec(source, namespace)  # noqa: S102 -- built from declared field names only
    return namespace["from_rows"]


class Page(NamedTuple):
    """One page of results; ``page`` is 1-based, ``total`` counts the rows of every page."""

    items: list
    page: int
    per_page: int
    total: int


class Model(metaclass=ModelMeta):
    """Base class of models. Instances hold their values as plain attributes."""

    __slots__ = ("__dict__", "_changed", "_in_db")
    _meta: ClassVar[Schema]
    _from_rows: ClassVar[Callable[[Iterable[Sequence[Any]]], list]]  # made by the metaclass

    def __init__(self, **values: Any):
        meta, data, called = self._meta, self.__dict__, {}
        if not values.keys() <= meta.by_name.keys():
            meta.field(min(values.keys() - meta.by_name.keys()))  # raises FieldError
        for field in meta.fields:
            name = field.name
            data[name] = field.clean(values[name]) if name in values else _default(field, called)
        self._in_db, self._changed = False, _NOTHING

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._meta.pk.name}={self.__dict__[self._meta.pk.name]}>"

    @property
    def changed_fields(self) -> frozenset[str]:
        """Names of the fields assigned since this instance was loaded or saved."""
        return self._changed

    def as_dict(self) -> dict[str, Any]:
        """The values of all fields but hidden ones, JSON-ready (datetimes as ISO 8601)."""
        return {field.name: field.to_json(self.__dict__[field.name]) for field in self._meta.public}

    @classmethod
    def select(cls, db: Any) -> Query:
        return Query(cls, db)

    @classmethod
    async def get(cls, db: Any, pk: int) -> Any:
        """The row with this primary key, or None."""
        sql = cls._meta.statements(db.dialect).get
        rows = await db.fetchall(sql, (cls._meta.pk.to_db(pk),))
        return cls._from_rows(rows)[0] if rows else None

    @classmethod
    async def get_many(cls, db: Any, ids: Iterable[int]) -> dict[int, Any]:
        """The rows with these primary keys (one query), by primary key; missing ones left out."""
        pk = cls._meta.pk.name
        rows = await cls.select(db).where(**{f"{pk}__in": set(ids)}).all()
        return {row.__dict__[pk]: row for row in rows}

    @classmethod
    async def create(cls, db: Any, **values: Any) -> Any:
        """Validate, insert and return a new instance."""
        return await cls(**values).save(db)

    async def save(self, db: Any) -> Any:
        """Insert a new instance, or UPDATE the fields changed since load/save (if any)."""
        meta, data, pk = self._meta, self.__dict__, self._meta.pk.name
        if not self._in_db:
            statements = meta.statements(db.dialect)
            if data[pk] is None:
                params = [field.db_value(data[field.name]) for field in meta.insert_fields]
                data[pk] = (await db.execute(statements.insert, params)).lastrowid
            else:
                params = [field.db_value(data[field.name]) for field in meta.fields]
                await db.execute(statements.insert_with_pk, params)
        elif self._changed:
            if pk in self._changed:
                raise ValueError(f"{meta.model_name}: the primary key of a saved row is fixed")
            for field in meta.auto_now:
                if field.name not in self._changed:
                    data[field.name] = utcnow()
            changed = [f for f in meta.fields if f.name in self._changed or f in meta.auto_now]
            values = {field.name: field.db_value(data[field.name]) for field in changed}
            if await self.select(db).where(**{pk: data[pk]})._update(values) == 0:
                raise DoesNotExist(f"{meta.model_name} {pk}={data[pk]} is not in the database")
        self._in_db, self._changed = True, _NOTHING
        return self

    async def delete(self, db: Any) -> bool:
        """Delete this row; False if it was already gone."""
        pk = self._meta.pk.name
        if self.__dict__[pk] is None:
            raise ValueError(f"{self._meta.model_name} was never saved")
        deleted = await self.select(db).where(**{pk: self.__dict__[pk]}).delete()
        self._in_db = False
        return deleted > 0

    @classmethod
    async def insert_many(cls, db: Any, rows: Iterable[Model | dict[str, Any]]) -> int:
        """Validate new rows (dicts or instances), then insert them with one executemany.
        Returns how many; the database assigns the ids, which are not read back."""
        meta, called = cls._meta, {}  # one utcnow() for the whole batch
        defaults = {field.name: _default(field, called) for field in meta.insert_fields}
        writers = [(field.name, field.db_value) for field in meta.insert_fields]
        params = []
        for row in rows:
            if isinstance(row, Model):
                if type(row) is not cls:
                    raise TypeError(f"{cls.__name__}.insert_many got a {type(row).__name__}")
                values = row.__dict__
            else:
                if not row.keys() <= meta.by_name.keys():
                    meta.field(min(row.keys() - meta.by_name.keys()))  # raises FieldError
                values = {**defaults, **row}
            if values.get(meta.pk.name) is not None:
                raise ValueError("insert_many() rows get their ids from the database: use create()")
            params.append([db_value(values[name]) for name, db_value in writers])
        if not params:
            return 0
        return (await db.executemany(meta.statements(db.dialect).insert, params)).rowcount


_COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_LOOKUPS = {*_COMPARISONS, "in", "contains", "isnull"}


class Query:
    """An immutable, chainable SELECT over one model; nothing runs until awaited.

    ``where(title__contains="x", user_id=3)`` ANDs lookups: ``field`` (=, or IS NULL for
    None), ``__ne`` (<>, or IS NOT NULL), ``__lt``, ``__lte``, ``__gt``, ``__gte``, ``__in``,
    ``__contains`` (LIKE, case-insensitive for ASCII, ``%``/``_`` literal), ``__isnull``.
    As in SQL, ``__ne``/``__lt``... never match NULL.
    """

    __slots__ = ("_limit", "_offset", "_order", "_where", "db", "model")

    def __init__(self, model: type[Model], db: Any):
        self.model, self.db = model, db
        self._where: tuple = ()  # (field name, SQL operator, parameter(s))
        self._order: tuple = ()  # (field name, descending)
        self._limit: int | None = None
        self._offset: int | None = None

    def _copy(self, **changes: Any) -> Query:
        query = Query(self.model, self.db)
        query._where, query._order = self._where, self._order
        query._limit, query._offset = self._limit, self._offset
        for name, value in changes.items():
            setattr(query, f"_{name}", value)
        return query

    def where(self, **lookups: Any) -> Query:
        conditions = [self._condition(key, value) for key, value in lookups.items()]
        return self._copy(where=(*self._where, *conditions))

    def _condition(self, key: str, value: Any) -> tuple[str, str, Any]:
        name, separator, lookup = key.rpartition("__")
        if not separator or lookup not in _LOOKUPS:
            name, lookup = key, "eq"
        field = self.model._meta.field(name)
        if lookup == "isnull":
            if not isinstance(value, bool):
                raise ValueError(f"{key} needs True or False")
            return name, "IS NULL" if value else "IS NOT NULL", None
        if lookup == "in":
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise ValueError(f"{key} needs a list of values")
            return name, "IN", [field.to_db(item) for item in value]
        if lookup == "contains":
            if not isinstance(field, TextField) or not isinstance(value, str):
                raise ValueError(f"{key} needs a text field and a string")
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return name, "LIKE", f"%{escaped}%"
        if value is None:
            if lookup not in ("eq", "ne"):
                raise ValueError(f"{key} cannot compare with None")
            return name, "IS NULL" if lookup == "eq" else "IS NOT NULL", None
        return name, _COMPARISONS[lookup], field.to_db(value)

    def order_by(self, *names: str) -> Query:
        """Declared field names, ``-name`` for descending. Replaces any previous order."""
        order = []
        for name in names:
            descending = isinstance(name, str) and name.startswith("-")
            order.append(
                (self.model._meta.field(name[1:] if descending else name).name, descending)
            )
        return self._copy(order=tuple(order))

    def limit(self, count: int | None) -> Query:
        return self._copy(limit=_non_negative("limit", count))

    def offset(self, count: int | None) -> Query:
        return self._copy(offset=_non_negative("offset", count))

    def _where_sql(self, columns: dict[str, str], params: list) -> str:
        dialect, parts = self.db.dialect, []
        for name, operator, value in self._where:
            column = columns[name]
            if value is None:
                parts.append(f"{column} {operator}")
            elif operator == "IN":
                marks = dialect.placeholders(len(params) + 1, len(value))
                params += value
                parts.append(f"{column} IN ({marks})" if value else "1 = 0")
            else:
                params.append(value)
                mark = dialect.placeholder(len(params))
                if operator == "LIKE":
                    parts.append(f"{column} {dialect.like} {mark} ESCAPE '\\'")
                else:
                    parts.append(f"{column} {operator} {mark}")
        return " WHERE " + " AND ".join(parts) if parts else ""

    def _select_sql(self, select: str | None = None) -> tuple[str, list]:
        """SELECT every column, ordered (or ``select``, unordered), WHERE, LIMIT, OFFSET."""
        dialect = self.db.dialect
        statements = self.model._meta.statements(dialect)
        columns, params = statements.columns, []
        sql = (select or statements.select) + self._where_sql(columns, params)
        if self._order and select is None:
            sql += " ORDER BY " + ", ".join(
                f"{columns[name]} DESC" if descending else columns[name]
                for name, descending in self._order
            )
        if self._limit is not None or self._offset is not None:
            params += [dialect.no_limit if self._limit is None else self._limit, self._offset or 0]
            sql += f" LIMIT {dialect.placeholder(len(params) - 1)}"
            sql += f" OFFSET {dialect.placeholder(len(params))}"
        return sql, params

    async def all(self) -> list:
        sql, params = self._select_sql()
        return self.model._from_rows(await self.db.fetchall(sql, params))

    async def first(self) -> Any:
        rows = await self.limit(1).all()
        return rows[0] if rows else None

    async def count(self) -> int:
        """How many rows ``all()`` would return (SQLite flattens the subquery)."""
        table = self.model._meta.statements(self.db.dialect).table
        sql, params = self._select_sql(f"SELECT 1 FROM {table}")  # noqa: S608
        sql = f"SELECT COUNT(*) FROM ({sql}) AS counted"  # noqa: S608
        return (await self.db.fetchone(sql, params))[0]

    async def exists(self) -> bool:
        table = self.model._meta.statements(self.db.dialect).table
        sql, params = self.limit(1)._select_sql(f"SELECT 1 FROM {table}")  # noqa: S608
        return await self.db.fetchone(sql, params) is not None

    async def paginate(self, page: int, per_page: int) -> Page:
        """Page ``page`` (1-based) of ``per_page`` items, and the total; a page past the end
        has no items. The primary key is added as a last sort key so pages never overlap."""
        for what, value in (("page", page), ("per_page", per_page)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{what} must be an integer >= 1, not {value!r}")
        order, pk = self._order, self.model._meta.pk.name
        if all(name != pk for name, _ in order):
            order = (*order, (pk, order[0][1] if order else False))
        items = self._copy(order=order, limit=per_page, offset=(page - 1) * per_page)
        total = await self._copy(limit=None, offset=None).count()
        return Page(await items.all(), page, per_page, total)

    async def delete(self, *, all_rows: bool = False) -> int:
        """Delete the matching rows; returns how many."""
        self._check_bulk("delete", all_rows)
        statements, params = self.model._meta.statements(self.db.dialect), []
        sql = f"DELETE FROM {statements.table}"  # noqa: S608
        sql += self._where_sql(statements.columns, params)
        return (await self.db.execute(sql, params)).rowcount

    async def update(self, *, all_rows: bool = False, **values: Any) -> int:
        """Set fields on the matching rows (``auto_now`` ones too); returns how many."""
        self._check_bulk("update", all_rows)
        meta = self.model._meta
        fields = [meta.field(name) for name in values]
        if not fields or meta.pk in fields:
            raise ValueError("update() needs field values, and cannot change the primary key")
        values = {field.name: field.db_value(values[field.name]) for field in fields}
        for field in meta.auto_now:
            values.setdefault(field.name, field.db_value(utcnow()))
        return await self._update(values)

    def _check_bulk(self, action: str, all_rows: bool) -> None:
        if self._order or self._limit is not None or self._offset is not None:
            raise ValueError(f"{action}() does not take order_by, limit or offset")
        if not self._where and not all_rows:
            raise ValueError(f"{action}() without where() needs all_rows=True")

    async def _update(self, values: dict[str, Any]) -> int:
        """UPDATE the matching rows, SET ``values`` (in database form); returns how many."""
        dialect, params = self.db.dialect, list(values.values())
        statements = self.model._meta.statements(dialect)
        assignments = ", ".join(
            f"{statements.columns[name]} = {dialect.placeholder(i)}"
            for i, name in enumerate(values, start=1)
        )
        sql = f"UPDATE {statements.table} SET {assignments}"  # noqa: S608
        sql += self._where_sql(statements.columns, params)
        return (await self.db.execute(sql, params)).rowcount


def _non_negative(what: str, value: Any) -> Any:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value
