"""Queries: immutable and chainable, one model each; nothing runs until awaited. The SQL
text is made once per shape (what a query says, not its values) and kept by the model's
schema; values always travel as parameters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .fields import TextField, utcnow

if TYPE_CHECKING:
    from .model import Model


class Page(NamedTuple):
    """One page of results; ``page`` is 1-based, ``total`` counts the rows of every page."""

    items: list
    page: int
    per_page: int
    total: int


_COMPARISONS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
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
        sql = self.meta.query_sql.get(shape)
        if sql is None:
            sql = self.meta.keep_sql(shape, self._build_sql(start, list(params), order=order))
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
