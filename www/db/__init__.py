"""The database, behind one interface: SQLite for now (www/db/sqlite.py).

    db = Database.from_url(settings.db.url, PROJECT_ROOT, readers=2)
    async with db:  # open() ... close()
        rows = await db.fetchall(sql, params)  # also fetchone, execute, executemany
        async with db.transaction() as tx:  # nested (or re-entered): a SAVEPOINT
            await tx.execute(sql, params)

www.orm uses only the methods above and ``db.dialect``: what differs between engines, from
placeholders to column types, lives in the dialect (www/db/dialects.py), so another
engine can arrive as a dialect and a database class. The rules of transactions (who owns
one, savepoints, rollback on cancellation) are written once, in www/db/base.py.
"""

from .base import BaseDatabase, DatabaseError, ExecResult, IntegrityError, Transaction
from .dialects import SQLiteDialect
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
    "SQLiteDatabase",
    "SQLiteDialect",
    "SQLiteTransaction",
    "Transaction",
]
