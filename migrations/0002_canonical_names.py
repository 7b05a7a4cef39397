"""Canonical names: users are unique by the keys of their name and email (www/text.py).

Made by `python -m www.migrate make canonical_names` on 2026-12-02, then edited: the keys
of the rows already there are computed in Python (neither engine has NFKC, full case
folding and IDNA in SQL), between adding the columns and making them unique.

Rows registered before, which the old rule let through as twins (`Émile` and `émile`),
keep their accounts: the first one (lowest id) gets the key, each later twin a key made
unique with `#<id>`, so that its name and address stay its own but no one else can take
them again. A warning lists them, for an administrator to look at. The columns' own
unique constraints (ASCII letter case) stay: a twin there is a twin by the keys too.
"""

import logging

from www.migrate.operations import AddColumn, AlterColumn, Column, RunPython
from www.text import BadAddress, canonical, email_key

log = logging.getLogger("migrations.0002_canonical_names")


def _email_key(email: str) -> str:
    try:
        return email_key(email)
    except BadAddress:  # accepted before IDNA was checked: still a unique key
        return canonical(email)


def unique_keys(rows: list[tuple[int, str]], key) -> dict[int, str]:
    """The key of each (id, value), by id; a later twin's key gets `#<id>` (and more `#`
    if even that is taken), so that the keys are unique."""
    keys = {row_id: key(value) for row_id, value in sorted(rows)}
    every, taken, unique = set(keys.values()), set(), {}
    for row_id, value in keys.items():
        if value in taken:
            candidate = f"{value}#{row_id}"
            while candidate in taken or candidate in every:
                candidate += "#"
            log.warning("users.id=%d has the same key as an older account: %r", row_id, value)
            value = candidate
        taken.add(value)
        unique[row_id] = value
    return unique


async def fill_keys(tx) -> None:
    rows = await tx.fetchall('SELECT "id", "name", "email" FROM "users"')
    names = unique_keys([(row_id, name) for row_id, name, _ in rows], canonical)
    emails = unique_keys([(row_id, email) for row_id, _, email in rows], _email_key)
    one, two, three = (tx.dialect.placeholder(i) for i in (1, 2, 3))  # ? or $1: no values
    sql = f'UPDATE "users" SET "name_key" = {one}, "email_key" = {two} WHERE "id" = {three}'  # noqa: S608
    if rows:
        await tx.executemany(sql, [(names[i], emails[i], i) for i, _, _ in rows])


async def nothing(tx) -> None:
    """Going down, the key columns are dropped: nothing to undo."""


operations = [
    AddColumn("users", Column("name_key", "text", null=True)),
    AddColumn("users", Column("email_key", "text", null=True)),
    RunPython(fill_keys, nothing),
    AlterColumn(
        "users",
        Column("name_key", "text", null=True),
        Column("name_key", "text", unique=True),
    ),
    AlterColumn(
        "users",
        Column("email_key", "text", null=True),
        Column("email_key", "text", unique=True),
    ),
]
