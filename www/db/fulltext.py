"""Full-text search, as each dialect does it: the SQL that indexes a table's text columns
and finds its rows by words, behind one interface (the dialects inherit these classes).

    search = db.dialect.search_sql("posts", ("title", "content"), mark)
    FROM posts {search.join} WHERE {search.condition} ORDER BY {search.rank}

with `db.dialect.search_terms(words)` as the parameter `mark` stands for. Words are plain
words (letters and digits: www/posts/search.py picks them), never query syntax: each is
quoted for FTS5, and PostgreSQL's plainto_tsquery reads its text as words only. Both
match every word (AND), case-insensitively. The columns come most telling first: they
weigh most in the ranking.

SQLite: an FTS5 table `<table>_fts` over the table's columns (external content: the text
is not stored twice), kept in step by triggers in the writes' own transactions, so that
a write from anywhere (the admin, a script) is found at once; ranked by bm25(). Letters
are folded to their base (remove_diacritics). A migration that rebuilds the table
(www/migrate/sql.py) makes its triggers again (runner.py); one that drops or renames a
searched column must drop the search index first, and create it again after.

PostgreSQL: a GIN index on the columns' tsvector (the 'simple' configuration: no
language's stemming, the same words as SQLite), ranked by ts_rank(); an expression index
needs no trigger and is never out of step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")  # FTS5's own tables
_WEIGHTS = (10.0, 4.0, 1.0)  # bm25: a match in the first column weighs most
_PG_WEIGHTS = "ABCD"  # setweight's labels, most telling first


class SearchSQL(NamedTuple):
    join: str  # joined after the table in FROM ("" if nothing is)
    condition: str  # for WHERE: the rows that hold every word
    rank: str  # for ORDER BY: the best first


def _weights(columns: Sequence[str]) -> list[float]:
    return [_WEIGHTS[min(i, len(_WEIGHTS) - 1)] for i in range(len(columns))]


class SQLiteSearch:
    """FTS5 (see the module's docstring)."""

    def quote(self, identifier: str) -> str:
        raise NotImplementedError  # the dialect's

    def search_table(self, table: str) -> str:
        return f"{table}_fts"

    def search_index_sql(self, table: str, columns: Sequence[str]) -> list[str]:
        q, fts = self.quote, self.search_table(table)
        names = ", ".join(map(q, columns))
        new = ", ".join(f"new.{q(c)}" for c in columns)
        old = ", ".join(f"old.{q(c)}" for c in columns)
        insert = f"INSERT INTO {q(fts)} (rowid, {names}) VALUES (new.{q('id')}, {new});"
        delete = (
            f"INSERT INTO {q(fts)} ({q(fts)}, rowid, {names})"
            f" VALUES ('delete', old.{q('id')}, {old});"
        )
        return [
            f"CREATE VIRTUAL TABLE {q(fts)} USING fts5({names}, content={q(table)},"
            f" content_rowid={q('id')}, tokenize='unicode61 remove_diacritics 2')",
            f"INSERT INTO {q(fts)} ({q(fts)}) VALUES ('rebuild')",  # the rows already there
            f"CREATE TRIGGER {q(fts + '_insert')} AFTER INSERT ON {q(table)} BEGIN {insert} END",
            f"CREATE TRIGGER {q(fts + '_delete')} AFTER DELETE ON {q(table)} BEGIN {delete} END",
            f"CREATE TRIGGER {q(fts + '_update')} AFTER UPDATE ON {q(table)}"
            f" BEGIN {delete} {insert} END",
        ]

    def drop_search_index_sql(self, table: str) -> list[str]:
        q, fts = self.quote, self.search_table(table)
        events = ("insert", "delete", "update")
        triggers = [f"DROP TRIGGER IF EXISTS {q(f'{fts}_{event}')}" for event in events]
        return [*triggers, f"DROP TABLE IF EXISTS {q(fts)}"]

    def search_sql(self, table: str, columns: Sequence[str], mark: str) -> SearchSQL:
        q, fts = self.quote, self.quote(self.search_table(table))
        weights = ", ".join(map(str, _weights(columns)))
        return SearchSQL(
            f"JOIN {fts} ON {fts}.rowid = {q(table)}.{q('id')}",
            f"{fts} MATCH {mark}",
            f"bm25({fts}, {weights})",  # lower is better
        )

    def search_terms(self, words: Sequence[str]) -> str:
        """Each word a quoted string ("" doubled inside): never an operator or a column."""
        return " ".join('"' + word.replace('"', '""') + '"' for word in words)


class PostgresSearch:
    """tsvector and a GIN index (see the module's docstring)."""

    def quote(self, identifier: str) -> str:
        raise NotImplementedError  # the dialect's

    def search_index_name(self, table: str) -> str:
        return f"{table}_search"

    def _vector(self, table: str, columns: Sequence[str], qualified: bool) -> str:
        prefix = f"{self.quote(table)}." if qualified else ""
        return " || ".join(
            f"setweight(to_tsvector('simple'::regconfig, {prefix}{self.quote(c)}),"
            f" '{_PG_WEIGHTS[min(i, 3)]}'::\"char\")"
            for i, c in enumerate(columns)
        )

    def search_index_sql(self, table: str, columns: Sequence[str]) -> list[str]:
        q = self.quote
        vector = self._vector(table, columns, qualified=False)
        name = q(self.search_index_name(table))
        return [f"CREATE INDEX {name} ON {q(table)} USING gin (({vector}))"]

    def drop_search_index_sql(self, table: str) -> list[str]:
        return [f"DROP INDEX IF EXISTS {self.quote(self.search_index_name(table))}"]

    def search_sql(self, table: str, columns: Sequence[str], mark: str) -> SearchSQL:
        vector = self._vector(table, columns, qualified=True)  # the index's expression
        query = f"plainto_tsquery('simple'::regconfig, {mark})"
        return SearchSQL("", f"({vector}) @@ {query}", f"ts_rank({vector}, {query}) DESC")

    def search_terms(self, words: Sequence[str]) -> str:
        return " ".join(words)
