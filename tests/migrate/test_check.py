"""The start-up check and the command line: a server never runs on a schema that does not
match its models, and says in one line what to run; /healthz says 503 meanwhile."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import overrides_for
from tests.databases import migrate, open_database
from tests.serving import ROOT, clean_env, free_port, write_config
from www.accounts.models import User
from www.app import create_app
from www.db import DatabaseError
from www.keys import DB, MIGRATIONS
from www.migrate import __main__ as cli
from www.migrate.check import SchemaNotReady
from www.migrate.operations import RunSQL
from www.migrate.runner import Migration, SchemaMigration, load, up
from www.models import MODELS
from www.orm import Model, TextField

FIRST = load()[0].name


async def start(app) -> None:
    app.freeze()
    await app.startup()


def test_python_m_www_on_a_database_without_migrations_exits_2_in_one_line(tmp_path):
    """And at once: the open database must not keep the process alive."""
    config = write_config(tmp_path, overrides_for(tmp_path))
    args = [sys.executable, "-m", "www", "--config", str(config), "--port", str(free_port())]
    proc = subprocess.run(args, cwd=ROOT, env=clean_env(), capture_output=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"database not ready: migration {FIRST} is pending: run `python -m www.migrate up`"
        " (or `make migrate`)"
    ]


async def test_a_database_made_before_migrations_is_named_so(settings, db):
    """The `db` fixture makes the tables without migrations, as init_db.py once did."""
    app = create_app(settings)
    with pytest.raises(SchemaNotReady, match=r"made before migrations.*to adopt it"):
        await start(app)
    assert not await app[DB].ping()  # closed


async def test_a_column_dropped_by_hand_stops_the_start(settings, db_url):
    async with open_database(db_url) as db:
        await migrate(db)
        # (Not a column of posts: SQLite refuses to drop one that search's triggers name.)
        await db.execute("ALTER TABLE comments DROP COLUMN content")
    with pytest.raises(SchemaNotReady, match=r"does not match the migrations \(.*content"):
        await start(create_app(settings))


async def test_a_model_changed_without_a_migration_stops_the_start(settings, db_url, monkeypatch):
    class Label(Model):
        name = TextField()

    async with open_database(db_url) as db:
        await migrate(db)
    monkeypatch.setattr("www.app.MODELS", [*MODELS, Label])
    with pytest.raises(SchemaNotReady, match=r"models differ from the migrations.*make NAME"):
        await start(create_app(settings))


async def test_healthz_says_503_while_a_migration_is_pending(client, app):
    assert (await client.get("/healthz")).status == 200
    await SchemaMigration.select(app[DB]).where(name=FIRST).delete()
    resp = await client.get("/healthz")
    assert resp.status == 503 and (await resp.json())["status"] == "unavailable"
    assert list((await resp.json())["failed"]) == ["database"]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_moves_the_database_up_and_down(tmp_path, capsys, db_url):
    config = str(write_config(tmp_path, {"db": {"url": db_url}}))
    names = [migration.name for migration in load()]
    pending = "".join(f"[ ] {name}  pending\n" for name in names)
    assert run_cli(capsys, "--config", config, "status") == (0, pending, "")
    code, out, _ = run_cli(capsys, "--config", config, "up")
    assert (code, out) == (0, f"Applied {', '.join(names)}.\n")
    assert run_cli(capsys, "--config", config, "up")[1] == "Nothing to apply: up to date.\n"
    code, out, _ = run_cli(capsys, "--config", config, "status")
    assert [line[: line.index("  applied 20")] for line in out.splitlines()] == [
        f"[x] {name}" for name in names
    ]
    for name in reversed(names):  # one at a time, newest first
        assert run_cli(capsys, "--config", config, "down")[1] == f"Reverted {name}.\n"
    assert "Nothing to revert" in run_cli(capsys, "--config", config, "down")[1]
    code, _, err = run_cli(capsys, "--config", config, "up", "--to", "9999_nope")
    assert (code, err) == (2, "migration error: there is no migration 9999_nope\n")


def test_check_passes_on_this_project_and_fails_after_a_model_change(capsys, monkeypatch):
    assert run_cli(capsys, "check") == (0, "The migrations match the models.\n", "")

    class Label(Model):
        name = TextField()

    monkeypatch.setattr(cli, "MODELS", [*MODELS, Label])
    code, _, err = run_cli(capsys, "check")
    assert code == 1
    assert "table labels: only in the models" in err and "python -m www.migrate make" in err


async def test_after_a_migration_fails_half_way_the_app_names_it(settings, db_url):
    change = "UPDATE users SET name = 'changed'"
    broken = Migration(
        "0002_broken",
        [
            RunSQL(sqlite=(change,), postgresql=(change,)),  # done, then undone
            RunSQL(sqlite=("SELECT no_such_function()",), postgresql=("SELECT no_such()",)),
        ],
        Path("0002_broken.py"),
    )
    async with open_database(db_url) as db:
        await migrate(db)
        await User.create(db, name="kept", email="kept@example.com", password_hash="x")
        with pytest.raises(DatabaseError):
            await up(db, [*load(), broken])
        assert [user.name for user in await User.select(db).all()] == ["kept"]
    app = create_app(settings)
    app[MIGRATIONS] = [*load(), broken]
    with pytest.raises(SchemaNotReady, match="migration 0002_broken is pending"):
        await start(app)
