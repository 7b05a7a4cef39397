"""What a live database holds, in the terms of www/db/schema.py: `await inspect(db)`.

It is compared with what the models declare and what the migrations build (adopting a
database made before migrations, the start-up check, the tests), so it never rounds a
table off: what those terms cannot say (a CHECK, an expression or partial index, a type
or collation no dialect makes, a composite key, ON UPDATE, a generated column...) raises
SchemaError naming the table and the column or index, rather than being left out of a
comparison that would then pass. Views and triggers are not tables (RunSQL makes them,
beside the schema), nor is full-text search (CreateSearchIndex: SQLite's FTS5 tables, a
PostgreSQL GIN index named <table>_search). Column DEFAULTs are not read: the ORM writes
every column of every row it inserts, so a database default never reaches the app's rows
(and SQLite keeps the one a migration gives to fill existing rows: it cannot drop it).

Some of what a spec says is not in the database at all: SQLite stores a boolean as an
INTEGER and a datetime as TEXT, and on PostgreSQL a `nocase` column shows only through
its folded index, if it has one. Those are taken from `expected` (the schema it is to be
compared with) when given, as either answer describes the same database; without it,
the plain one (integer, text, not nocase). Nothing else is taken from `expected`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..db.fulltext import FTS5_SHADOWS
from ..db.schema import KINDS, Column, Index, Table
from ..db.versions import SCOPED, VERSIONS

MIGRATIONS_TABLE = "schema_migrations"
# The tables that are no model's: SQLite's own (sqlite_sequence...) start with sqlite_;
# PostgreSQL's data-version counter (www/db/dialects.py); each table's change counter
# and scoped counters (www/db/versions.py); the runner's record.
INTERNAL = {
    "sqlite": {VERSIONS, SCOPED, MIGRATIONS_TABLE},
    "postgresql": {"data_version", VERSIONS, SCOPED, MIGRATIONS_TABLE},
}

# The kinds a SQLite column of each declared type may hold: the dialect's types, and
# those create_all declared before migrations (INTEGER for booleans, TEXT for datetimes).
_SQLITE_KINDS = dict(INTEGER=("integer", "boolean"), REAL=("float",), TEXT=("text", "datetime"))
_PG_KINDS = {"bigint": "integer", "double precision": "float", "text": "text"}
_PG_KINDS.update({"boolean": "boolean", "timestamp with time zone": "datetime"})
_PG_CONSTRAINT_KINDS = dict(c="CHECK", x="EXCLUDE", p="PRIMARY KEY", u="UNIQUE", f="FOREIGN KEY")
_PG_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL"}


class SchemaError(Exception):
    """The database holds something the schema's terms cannot describe."""


class _Found(NamedTuple):
    """A table as read, and what the database leaves open about it."""

    table: Table  # each column with the first of its possible kinds, nocase if seen
    kinds: dict[str, tuple[str, ...]]  # column -> the kinds its storage may hold
    nocase_unknown: frozenset[str] = frozenset()  # columns with nothing to show it


async def inspect(db: Any, expected: Mapping[str, Table] | None = None) -> dict[str, Table]:
    """The tables of ``db`` (on PostgreSQL, of its current schema) by name, but the
    internal ones; columns in table order, indexes by name. Read in one transaction (the
    caller's, if it is in one: a migration can look at what it has done so far)."""
    async with db.transaction() as tx:
        if db.dialect.name == "sqlite":
            found = await _sqlite(tx, db.dialect)
        else:
            found = await _postgres(tx)
    return {name: _resolve(found[name], (expected or {}).get(name)) for name in sorted(found)}


def _resolve(found: _Found, expected: Table | None) -> Table:
    """The table, with what the database does not record taken from ``expected``."""
    wanted = {c.name: c for c in expected.columns} if expected else {}
    columns = []
    for column in found.table.columns:
        want, changes = wanted.get(column.name), {}
        if want and want.type in found.kinds.get(column.name, ()):
            changes["type"] = want.type
        if want and column.name in found.nocase_unknown:
            changes["nocase"] = want.nocase
        columns.append(Column(**{**vars(column), **changes}))
    return found.table.replace(columns=tuple(columns))


def _error(table: str, what: str, problem: str) -> SchemaError:
    return SchemaError(f"table {table!r}, {what}: {problem}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- SQLite ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?\*/"""
    r"""|("(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])"""  # a quoted name
    r"""|('(?:[^']|'')*')"""  # a string
    r"""|([\w$.]+)"""  # a word or a number
    r"""|(.)""",  # punctuation
    re.DOTALL,
)
_UNSUPPORTED = {"CHECK", "GENERATED", "AS", "CONFLICT", "MATCH", "DEFERRABLE"}


def _definitions(sql: str) -> tuple[list[list[tuple[str, str]]], list[str]]:
    """A CREATE TABLE statement's column and constraint definitions, each as its tokens
    outside parentheses ((kind, text), a word upper-cased, a quoted name unquoted), and
    the words after the closing parenthesis (WITHOUT ROWID, STRICT)."""
    items: list[list[tuple[str, str]]] = []
    tail: list[str] = []
    depth = 0
    for match in _TOKEN.finditer(sql):
        name, string, word, punct = match.groups()
        if name:
            text = name[1:-1].replace(name[0] * 2, name[0]) if name[0] in '"`' else name[1:-1]
            token = ("name", text)
        elif string or word:
            token = ("string", string) if string else ("word", word.upper())
        elif punct:
            token = ("punct", punct)
        else:
            continue  # space or comment
        if punct == "(":
            depth += 1
            items += [[]] if depth == 1 and not items else []
        elif punct == ")":
            depth -= 1
        elif depth == 0 and items:
            tail.append(token[1])
        elif depth == 1 and punct == ",":
            items.append([])
        elif depth == 1:
            items[-1].append(token)
    return items, tail


def _collations(table: str, sql: str) -> tuple[dict[str, str], bool]:
    """Each column's collation (BINARY or NOCASE, by lower-cased name) and whether the
    primary key is AUTOINCREMENT, from the CREATE TABLE statement: no PRAGMA tells."""
    items, tail = _definitions(sql)
    if tail:
        raise _error(table, "table", f"unsupported {' '.join(tail)}")
    collations, autoincrement = {}, False
    for item in items:
        constraint = item[0] in {("word", w) for w in ("CONSTRAINT", "PRIMARY", "UNIQUE")}
        constraint |= item[0] in {("word", "FOREIGN"), ("word", "CHECK")}
        what = "a table constraint" if constraint else f"column {item[0][1]!r}"
        words = [text if kind == "word" else "" for kind, text in item]
        for i, word in enumerate(words):
            if word in _UNSUPPORTED and not (word == "DEFERRABLE" and words[i - 1] == "NOT"):
                raise _error(table, what, f"unsupported {word}")
        autoincrement |= "AUTOINCREMENT" in words
        if not constraint:
            collations[item[0][1].lower()] = "BINARY"
            for i, word in enumerate(words[:-1]):
                if word == "COLLATE":
                    collations[item[0][1].lower()] = item[i + 1][1].upper()
            if collations[item[0][1].lower()] not in ("BINARY", "NOCASE"):
                raise _error(table, what, "a collation other than BINARY or NOCASE")
    return collations, autoincrement


async def _sqlite(tx: Any, dialect: Any) -> dict[str, _Found]:
    kinds = dict(_SQLITE_KINDS)
    for kind in KINDS:
        declared = dialect.types[kind].upper()
        kinds[declared] = tuple(dict.fromkeys((*kinds.get(declared, ()), kind)))
    rows = await tx.fetchall("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    return {
        name: await _sqlite_table(tx, name, sql, kinds)
        for name, sql in rows
        if not name.startswith("sqlite_")
        and name not in INTERNAL["sqlite"]
        and name not in _search_tables(rows)
    }


def _search_tables(rows: list) -> set[str]:
    """The FTS5 tables of full-text search (www/db/fulltext.py) and their own shadow
    tables: beside the schema, as triggers are (CreateSearchIndex makes them)."""
    virtual = {name for name, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL")}
    return virtual | {f"{name}_{shadow}" for name in virtual for shadow in FTS5_SHADOWS}


async def _sqlite_table(tx: Any, name: str, sql: str, kinds: dict) -> _Found:
    collations, autoincrement = _collations(name, sql)
    info = await tx.fetchall(f"PRAGMA table_xinfo({_quote(name)})")
    keys = [row for row in info if row[5]]
    if len(keys) != 1 or str(keys[0][2]).upper() != "INTEGER" or not autoincrement:
        raise _error(name, "primary key", "not one INTEGER PRIMARY KEY AUTOINCREMENT")
    references = {}
    for _id, seq, target, column, to, on_update, on_delete, _ in await tx.fetchall(
        f"PRAGMA foreign_key_list({_quote(name)})"
    ):
        if seq or to != "id" or on_update != "NO ACTION" or column in references:
            raise _error(name, f"column {column!r}", f"unsupported foreign key to {target}")
        references[column] = (target, on_delete)
    unique, indexes = set(), []
    for _, index, is_unique, origin, partial in await tx.fetchall(
        f"PRAGMA index_list({_quote(name)})"
    ):
        columns = []
        for _, cid, column, desc, collation, key in await tx.fetchall(
            f"PRAGMA index_xinfo({_quote(index)})"
        ):
            if key and (cid < 0 or desc or collation.upper() != collations.get(column.lower())):
                raise _error(name, f"index {index!r}", "an expression, DESC or COLLATE key")
            columns += [column] if key else []
        if origin == "u" and len(columns) == 1:
            unique.add(columns[0])
        elif origin != "c" or partial:
            raise _error(name, f"index {index!r}", "a partial index or a composite UNIQUE")
        else:
            indexes.append(Index(index, tuple(columns), unique=bool(is_unique)))
    columns, possible = [], {}
    for _, column, declared, notnull, _, pk, hidden in info:
        declared = " ".join(str(declared).upper().split())
        if hidden or declared not in kinds:
            raise _error(name, f"column {column!r}", f"generated, or of type {declared!r}")
        target, on_delete = references.get(column, (None, None))
        possible[column] = kinds[declared]
        columns.append(
            Column(
                column,
                kinds[declared][0],
                null=not (notnull or pk),
                primary_key=bool(pk),
                unique=column in unique,
                nocase=collations.get(column.lower()) == "NOCASE",
                references=target,
                on_delete=on_delete,
            )
        )
    return _Found(Table(name, tuple(columns)).replace(indexes=indexes), possible)


# --- PostgreSQL -----------------------------------------------------------------------

_PG_TABLES = """SELECT c.oid, c.relname, c.relkind::text FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'f') ORDER BY c.relname"""
_PG_COLUMNS = """SELECT a.attrelid, a.attnum, a.attname, quote_ident(a.attname),
  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity::text,
  a.attgenerated::text, coalesce(co.collname, '')
FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum"""
_PG_CONSTRAINTS = """SELECT c.conrelid, c.conname, c.contype::text, c.conkey, c.conindid,
  c.condeferrable, r.relname, rn.nspname = current_schema(), c.confupdtype::text,
  c.confdeltype::text,
  (SELECT attname FROM pg_attribute WHERE attrelid = c.confrelid AND attnum = c.confkey[1])
FROM pg_constraint c LEFT JOIN pg_class r ON r.oid = c.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE c.conrelid = ANY($1::oid[]) AND c.contype NOT IN ('t', 'n')"""  # triggers, NOT NULL
_PG_INDEXES = """SELECT i.indrelid, i.indexrelid, x.relname, i.indisunique,
  pg_get_indexdef(i.indexrelid), quote_ident(x.relname),
  quote_ident(current_schema()) || '.' || quote_ident(t.relname),
  ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, false) FROM generate_series(1, i.indnatts) k)
FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE i.indrelid = ANY($1::oid[])"""
_FOLDED = 'lower(({} COLLATE "C"))'  # an index key on a nocase column (dialects.py)


async def _postgres(tx: Any) -> dict[str, _Found]:
    tables = {}
    for oid, name, kind in await tx.fetchall(_PG_TABLES):
        if name not in INTERNAL["postgresql"]:
            if kind != "r":
                raise _error(name, "table", "a partitioned or foreign table")
            tables[oid] = name
    rows: list[dict[int, list]] = [{oid: [] for oid in tables} for _ in range(3)]
    for query, by_table in zip((_PG_COLUMNS, _PG_CONSTRAINTS, _PG_INDEXES), rows, strict=True):
        for row in await tx.fetchall(query, (list(tables),)):
            by_table[row[0]].append(row[1:])
    return {name: _pg_table(name, *(r[oid] for r in rows)) for oid, name in tables.items()}


def _pg_table(name: str, attributes: list, constraints: list, index_rows: list) -> _Found:
    """A table from its pg_catalog rows. Each index must be, to the letter, what the
    dialect would write for what it seems to be: anything more raises."""
    specs, number, quoted = {}, {}, {}  # attname -> Column's keywords; attnum, quoted
    for attnum, attname, quoted_name, sql_type, notnull, identity, generated, coll in attributes:
        number[attnum], quoted[quoted_name] = attname, attname
        if sql_type not in _PG_KINDS or generated or (sql_type == "text") != (coll == "C"):
            raise _error(name, f"column {attname!r}", f'type {sql_type!r} (collation "{coll}")')
        specs[attname] = dict(name=attname, type=_PG_KINDS[sql_type], null=not notnull)
        specs[attname]["primary_key"] = identity  # "d" for the key: checked below
    constraint_indexes, raw = set(), set()  # raw: columns keyed on their value
    for conname, contype, conkey, conindid, deferrable, *foreign in constraints:
        column = number[conkey[0]] if conkey and len(conkey) == 1 else None
        if contype not in ("p", "u", "f") or column is None or deferrable:
            kind = _PG_CONSTRAINT_KINDS.get(contype, contype)
            raise _error(name, f"constraint {conname!r}", f"an unsupported {kind} constraint")
        key = (specs[column]["primary_key"], specs[column]["type"])
        if contype == "p" and key != ("d", "integer"):
            raise _error(name, f"column {column!r}", "a key not BIGINT BY DEFAULT IDENTITY")
        if contype == "f":
            target, here, on_update, on_delete, to = foreign
            if not here or on_update != "a" or on_delete not in _PG_ON_DELETE or to != "id":
                raise _error(name, f"column {column!r}", f"unsupported foreign key to {target}")
            specs[column].update(references=target, on_delete=_PG_ON_DELETE[on_delete])
        else:
            specs[column]["primary_key" if contype == "p" else "unique"] = True
            constraint_indexes.add(conindid)
            raw.add(column)
    folded_keys = {_FOLDED.format(q): attname for q, attname in quoted.items()}
    folded, indexes = set(), []
    for oid, index, is_unique, definition, quoted_index, quoted_table, keys in index_rows:
        if index == f"{name}_search" and " USING gin " in definition and not is_unique:
            continue  # full-text search (www/db/fulltext.py): beside the schema
        columns = [quoted.get(k) or folded_keys.get(k) for k in keys]
        unique = " UNIQUE" if is_unique else ""
        expected = f"CREATE{unique} INDEX {quoted_index} ON {quoted_table} USING btree "
        if None in columns or definition != f"{expected}({', '.join(keys)})":
            raise _error(name, f"index {index!r}", f"unsupported: {definition}")
        raw_keys = {c for c, key in zip(columns, keys, strict=True) if key in quoted}
        raw, folded = raw | raw_keys, folded | {folded_keys.get(k) for k in keys} - {None}
        if oid in constraint_indexes:
            continue
        if is_unique and [index] == [f"{name}_{c}_key" for c in columns] and not raw_keys:
            specs[columns[0]]["unique"] = True  # as dialects.py makes a nocase one unique
        else:
            indexes.append(Index(index, tuple(columns), unique=is_unique))
    if [s["primary_key"] for s in specs.values()].count(True) != 1:
        raise _error(name, "primary key", "none")  # a composite one raised above
    for spec in specs.values():
        if spec["primary_key"] not in (True, ""):
            raise _error(name, f"column {spec['name']!r}", "an identity that is not the key")
        if spec["name"] in raw & folded:
            raise _error(name, f"column {spec['name']!r}", "keyed both folded and not")
        spec.update(primary_key=spec["primary_key"] is True, nocase=spec["name"] in folded)
    columns = tuple(Column(**spec) for spec in specs.values())
    unknown = frozenset(c.name for c in columns if c.type == "text") - raw - folded
    return _Found(Table(name, columns).replace(indexes=indexes), {}, unknown)
