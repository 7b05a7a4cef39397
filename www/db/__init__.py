"""The database: SQLite (the default, nothing to set up) or PostgreSQL, behind one interface.

    db = Database.from_url(settings.db.url, PROJECT_ROOT, readers=2, pool_size=10)
    async with db:  # open() ... close()
        rows = await db.fetchall(sql, params)  # also fetchone, execute, executemany
        async with db.transaction() as tx:  # nested (or re-entered): a SAVEPOINT
            await tx.execute(sql, params)
        value = await db.write(body)  # a short transaction: await body(tx), committed
        value = await db.read(body)  # several reads: await body(db), one trip on SQLite

``db.url`` picks the engine: ``sqlite:///relative/path.db`` (www/db/sqlite.py: one writer
thread, www/db/sqlite_writer.py, and a few reader threads, www/db/sqlite_reader.py) or
``postgresql://user:password@host:port/dbname`` (www/db/postgres.py: a pool of
connections). www.orm uses only the methods above and ``db.dialect``: what differs
between engines, from placeholders to column types, lives in the dialect
(www/db/dialects.py), so models, views and actions run unchanged on either. The rules of
transactions (who owns one, savepoints, rollback on cancellation) are written once, in
www/db/base.py.
"""

from .base import BaseDatabase, DatabaseError, ExecResult, IntegrityError, Transaction
from .dialects import PostgresDialect, SQLiteDialect
from .postgres import PostgresDatabase, PostgresTransaction
from .sqlite import SQLiteDatabase, SQLiteTransaction

# The default engine, under the name it always had: Database(path) opens a SQLite file,
# and Database.from_url(url, root) picks the engine by the URL's scheme.
Database = SQLiteDatabase

__all__ = [
    "BaseDatabase",
    "Database",
    "DatabaseError",
    "ExecResult",
    "IntegrityError",
    "PostgresDatabase",
    "PostgresDialect",
    "PostgresTransaction",
    "SQLiteDatabase",
    "SQLiteDialect",
    "SQLiteTransaction",
    "Transaction",
]
