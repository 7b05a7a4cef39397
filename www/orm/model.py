"""Models: the metaclass that turns declared fields into slots, the compiled loader of
rows, and ``Model`` with its reads by id and its writes (save, delete, insert_many)."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, ClassVar

from .fields import DoesNotExist, Field, IntegerField, _default, utcnow
from .query import Query
from .schema import Schema, table_name


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
        table = namespace.get("__table__") or table_name(name)
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
