"""init_db.py: tables, sample data, --drop, and one-line errors."""

import asyncio
import io
import os
import subprocess
import sys

import pytest
import yaml
from argon2 import PasswordHasher

import init_db
from tests import databases
from www.accounts.models import User
from www.migrate.runner import load
from www.models import MODELS
from www.settings import PROJECT_ROOT

TABLES = {model._meta.table for model in MODELS} | {"schema_migrations"}
MIGRATIONS = ", ".join(migration.name for migration in load())
TABLE_LIST = ", ".join(model._meta.table for model in MODELS)


@pytest.fixture
def config(tmp_path, monkeypatch, db_url):
    """An overlay pointing db.url at an empty database, with cheap password hashing."""
    for name in list(os.environ):
        if name.startswith("WWW_"):
            monkeypatch.delenv(name)  # the developer's own settings must not leak in
    path = tmp_path / "test.yaml"
    path.write_text(
        f"db:\n  url: {db_url}\npasswords:\n  time_cost: 1\n  memory_cost: 8\n  parallelism: 1\n"
    )
    return path


def url_of(config) -> str:
    return yaml.safe_load(config.read_text())["db"]["url"]


def query(config, sql, fn=None):
    """The rows of ``sql``, or what ``fn(db)`` returns, on the configured database."""

    async def run():
        async with databases.open_database(url_of(config)) as db:
            return await fn(db) if fn else [tuple(row) for row in await db.fetchall(sql)]

    return asyncio.run(run())


def tables(config) -> set[str]:
    return query(config, None, databases.table_names)


def test_creates_the_tables_and_can_run_again(config, capsys):
    assert init_db.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Database: {databases.open_database(url_of(config)).location}" in out
    assert f"Migrations applied: {MIGRATIONS}." in out
    assert tables(config) == TABLES

    async def add_user(db):
        await User.create(db, name="kept", email="k@example.com", password_hash="h")

    query(config, None, add_user)
    assert init_db.main(["--config", str(config)]) == 0  # idempotent: data kept
    assert "Schema up to date." in capsys.readouterr().out
    assert query(config, "SELECT name FROM users") == [("kept",)]


def test_sample_data(config, capsys):
    assert init_db.main(["--config", str(config), "--sample"]) == 0
    out = capsys.readouterr().out
    assert "Sample data: 3 users, 5 posts, 6 comments." in out
    assert "SAMPLE CREDENTIALS" in out
    assert "admin@example.com    admin-password   (admin)" in out
    admins = query(config, "SELECT email, password_hash FROM users WHERE is_admin")
    assert [email for email, _ in admins] == ["admin@example.com"]
    assert PasswordHasher().verify(admins[0][1], "admin-password")
    assert query(config, "SELECT count(*) FROM posts") == [(5,)]
    assert query(config, "SELECT count(*) FROM comments") == [(6,)]
    contents = [content for (content,) in query(config, "SELECT content FROM posts")]
    assert any("```python" in content for content in contents)  # real Markdown
    # a second run leaves the existing users alone, and says so
    assert init_db.main(["--config", str(config), "--sample"]) == 0
    assert "Sample data skipped: the database already has users." in capsys.readouterr().out
    assert query(config, "SELECT count(*) FROM users") == [(3,)]


def test_drop_with_yes_recreates_empty_tables(config, capsys):
    assert init_db.main(["--config", str(config), "--sample"]) == 0
    assert init_db.main(["--config", str(config), "--drop", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Dropped tables: {TABLE_LIST}." in out
    assert f"Migrations applied: {MIGRATIONS}." in out.split("Dropped tables")[1]
    assert tables(config) == TABLES
    assert query(config, "SELECT count(*) FROM users") == [(0,)]


@pytest.mark.parametrize(("answer", "dropped"), [("yes\n", True), ("no\n", False), ("", False)])
def test_drop_asks_first(config, capsys, monkeypatch, answer, dropped):
    assert init_db.main(["--config", str(config), "--sample"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert init_db.main(["--config", str(config), "--drop"]) == (0 if dropped else 1)
    captured = capsys.readouterr()
    assert "Type 'yes' to continue" in captured.out
    assert ("Nothing dropped." in captured.out + captured.err) is not dropped
    assert query(config, "SELECT count(*) FROM users") == [(0 if dropped else 3,)]


def test_errors_are_one_line(config, tmp_path, capsys):
    assert init_db.main(["--config", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("init_db.py: error: ") and "missing.yaml" in err
    assert err.count("\n") == 1
    config.write_text("db:\n  url: postgres://user:secret@host/db\n")
    assert init_db.main(["--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "unsupported database URL scheme 'postgres'" in err and "secret" not in err
    config.write_text(f"db:\n  url: sqlite:///{tmp_path}\n")  # a folder, not a file
    assert init_db.main(["--config", str(config)]) == 1
    assert "cannot open database" in capsys.readouterr().err


def test_runs_as_a_script(config):
    result = subprocess.run(
        [sys.executable, "init_db.py", "--config", str(config)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Migrations applied" in result.stdout
    assert tables(config) == TABLES
