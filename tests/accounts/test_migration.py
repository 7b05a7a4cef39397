"""migrations/0002_canonical_names.py on a database that has users already, on SQLite and
PostgreSQL alike: every row gets its keys, twins the old rule let in keep their accounts
(the older one its key, a later one a key of its own), and logging in by any spelling of
an address works at once."""

import pytest

from tests.conftest import Auth
from tests.databases import open_database, sql
from www import CONFIG, DB
from www.accounts.models import User
from www.migrate.runner import applied, down, load, up
from www.passwords import hash_password_sync

PASSWORD = "correct horse"
FULLWIDTH_ADMIN = "\uff41\uff44\uff4d\uff49\uff4e"
LEGACY = [  # (name, email) as the old code stored them: emails lower-cased
    ("Émile", "émile@example.com"),
    ("émile", "emile.2@example.com"),  # a twin: SQLite's NOCASE folds ASCII only
    ("admin", "admin@example.com"),
    (FULLWIDTH_ADMIN, "hans@bücher.de"),  # fullwidth
    ("Bob", "hans@xn--bcher-kva.de"),  # the same address, its domain written in ASCII
    ("Odd", "odd@b..c"),  # the old rule let an empty domain label in
]


async def seed(db_url, password_hash):
    """A database at 0001_initial, with LEGACY written as the old code wrote them."""
    migrations = load()
    async with open_database(db_url) as db:
        assert await up(db, migrations, target="0001_initial") == ["0001_initial"]
        for name, email in LEGACY:
            await db.execute(
                sql(
                    db,
                    "INSERT INTO users (name, email, password_hash, is_admin, session_epoch,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                ),
                (name, email, password_hash, False, 0, "2024-01-01T00:00:00+00:00"),
            )
    return migrations


async def keys(db):
    rows = await db.fetchall("SELECT name, name_key, email_key FROM users ORDER BY id")
    return [tuple(row) for row in rows]


EXPECTED = [
    ("Émile", "émile", "émile@example.com"),
    ("émile", "émile#2", "emile.2@example.com"),
    ("admin", "admin", "admin@example.com"),
    (FULLWIDTH_ADMIN, "admin#4", "hans@xn--bcher-kva.de"),
    ("Bob", "bob", "hans@xn--bcher-kva.de#5"),
    ("Odd", "odd", "odd@b..c"),
]


async def test_the_migration_fills_the_keys_and_keeps_twins(db_url, caplog):
    migrations = await seed(db_url, "hash")
    async with open_database(db_url) as db:
        assert await up(db, migrations) == [m.name for m in migrations[1:]]
        assert await keys(db) == EXPECTED
        assert "users.id=2 has the same key as an older account" in caplog.text
        # Down (through the later migrations) and up again: the same keys, from the same
        # rows.
        reverted = []
        while "0002_canonical_names" in await applied(db):
            reverted.append(await down(db, migrations))
        assert reverted[-1] == "0002_canonical_names"
        assert await up(db, migrations) == reverted[::-1]
        assert await keys(db) == EXPECTED


@pytest.mark.usefixtures("db_url")
async def test_a_database_with_users_works_once_migrated(app, aiohttp_client):
    """The app's start-up applies 0002 (as init_db.py and `make migrate` do), then: the
    old account logs in by any spelling, a twin can no longer register, and saving a
    later twin (whose key the migration made unique) keeps its key."""
    password_hash = hash_password_sync(app[CONFIG].passwords, PASSWORD)
    await seed(app[CONFIG].db.url, password_hash)
    client = await aiohttp_client(app)
    auth = Auth(client, app)
    assert (await auth.login("ÉMILE@Example.COM", PASSWORD)).status == 303
    await auth.logout()
    assert (await auth.login("hans@BÜCHER.de", PASSWORD)).status == 303  # the older one
    assert FULLWIDTH_ADMIN in await (await client.get("/")).text()  # its name, as typed
    await auth.logout()
    resp = await auth.post(
        "/register", {"name": "ÉMILE", "email": "new@example.com", "password": PASSWORD}
    )
    assert "Name is already taken." in await resp.text()
    twin = await User.get(app[DB], 2)
    twin.is_admin = True
    await twin.save(app[DB])
    assert (await User.get(app[DB], 2)).name_key == "émile#2"
    twin.name = "Émile the second"
    await twin.save(app[DB])
    assert (await User.get(app[DB], 2)).name_key == "émile the second"
