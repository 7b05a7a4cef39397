"""init_db.py: tables, sample data, --drop, and one-line errors."""

import io
import os
import sqlite3
import subprocess
import sys

import pytest
from argon2 import PasswordHasher

import init_db
from www.settings import PROJECT_ROOT

TABLES = {"users", "posts", "comments", "files", "broker_messages"}


@pytest.fixture
def config(tmp_path, monkeypatch):
    """An overlay pointing db.url at a temporary file, with cheap password hashing."""
    for name in list(os.environ):
        if name.startswith("WWW_"):
            monkeypatch.delenv(name)  # the developer's own settings must not leak in
    path = tmp_path / "test.yaml"
    path.write_text(
        f"db:\n  url: sqlite:///{tmp_path}/data/test.db\n"
        "passwords:\n  time_cost: 1\n  memory_cost: 8\n  parallelism: 1\n"
    )
    return path


def query(config, sql):
    db_file = config.parent / "data" / "test.db"
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql).fetchall()


def tables(config) -> set[str]:
    rows = query(config, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows} - {"sqlite_sequence"}


def test_creates_the_tables_and_can_run_again(config, capsys):
    assert init_db.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Database: {config.parent / 'data' / 'test.db'}" in out
    assert "Tables ready: users, posts, comments, files, broker_messages." in out
    assert tables(config) == TABLES
    query(
        config,
        "INSERT INTO users (name, email, password_hash, is_admin, session_epoch,"
        " created_at) VALUES ('kept', 'k@example.com', 'h', 0, 0, 'now')",
    )
    assert init_db.main(["--config", str(config)]) == 0  # idempotent: data kept
    assert query(config, "SELECT name FROM users") == [("kept",)]


def test_sample_data(config, capsys):
    assert init_db.main(["--config", str(config), "--sample"]) == 0
    out = capsys.readouterr().out
    assert "Sample data: 3 users, 5 posts, 6 comments." in out
    assert "SAMPLE CREDENTIALS" in out
    assert "admin@example.com    admin-password   (admin)" in out
    admins = query(config, "SELECT email, password_hash FROM users WHERE is_admin = 1")
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
    assert "Dropped tables: users, posts, comments, files, broker_messages." in out
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
    assert "Tables ready" in result.stdout
    assert tables(config) == TABLES
