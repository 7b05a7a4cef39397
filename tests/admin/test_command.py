"""python -m www.admin create-admin: create or promote an administrator."""

import asyncio
import io

import pytest

from tests.conftest import overrides_for
from tests.databases import open_database
from tests.serving import write_config
from www.accounts.models import User
from www.admin.__main__ import main
from www.models import MODELS


@pytest.fixture
def config(tmp_path, db_url):
    path = write_config(tmp_path, overrides_for(tmp_path, db_url))

    async def create_tables():
        async with open_database(db_url) as db:
            await db.create_all(MODELS)

    asyncio.run(create_tables())
    return path


def users(db_url):
    async def fetch():
        async with open_database(db_url) as db:
            return await User.select(db).order_by("id").all()

    return asyncio.run(fetch())


def test_creates_an_admin(config, db_url, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a strong password\n"))
    code = main(["create-admin", "Root@Example.com", "--password-stdin", "--config", str(config)])
    assert code == 0
    assert "Created the administrator root <root@example.com>." in capsys.readouterr().out
    [user] = users(db_url)
    assert (user.email, user.is_admin) == ("root@example.com", True)
    assert user.password_hash.startswith("$argon2id$")


def test_promotes_an_existing_user(config, db_url, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a strong password\n"))
    args = ["create-admin", "ann@example.com", "--password-stdin", "--config", str(config)]
    main(args)

    async def demote():
        async with open_database(db_url) as db:
            user = await User.select(db).first()
            user.is_admin = False
            await user.save(db)

    asyncio.run(demote())
    assert main(args) == 0
    assert "ann@example.com is now an administrator." in capsys.readouterr().out
    assert main(args) == 0
    assert "already an administrator" in capsys.readouterr().out
    assert [u.is_admin for u in users(db_url)] == [True]


def test_rejects_a_short_password(config, db_url, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit, match="at least 8 characters"):
        main(["create-admin", "a@b.cd", "--password-stdin", "--config", str(config)])
    assert users(db_url) == []


def test_bad_config_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("db: {url: 5}\n")
    assert main(["create-admin", "a@b.cd", "--config", str(bad)]) == 2
    assert "db.url" in capsys.readouterr().err
