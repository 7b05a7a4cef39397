"""`python -m www.migrate make`, then `up`, as a user changing a model does: the file it
writes migrates a database full of rows, and reads return the right values."""

import argparse
import shutil

import pytest

from tests.databases import open_database
from www.migrate import make as make_module
from www.migrate.make import make
from www.migrate.operations import MigrationError
from www.migrate.runner import DIRECTORY, load, up
from www.models import MODELS
from www.orm import Model, TextField


def tag_model(*, color: bool):
    """The Tag model of a user's resource, before and after they add a colour."""
    fields = {"__table__": "labels", "name": TextField(max_length=30)}
    if color:
        fields["color"] = TextField(max_length=20, default="gray")
    return type("Tag", (Model,), fields)


def arguments(name: str, **options) -> argparse.Namespace:
    """`make NAME`'s arguments, as the command line gives them."""
    return argparse.Namespace(**{"name": name, "rename": [], "drop": [], "fill": [], **options})


def after_the_last(migrations) -> str:
    """The number `make` gives the next migration in the folder `migrations`."""
    return f"{int(load(migrations)[-1].name[:4]) + 1:04}"


@pytest.fixture
def migrations(tmp_path):
    """A copy of the project's migrations/, to add to."""
    folder = tmp_path / "migrations"
    shutil.copytree(DIRECTORY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


async def test_adding_a_field_keeps_every_row_and_reads_right(
    migrations, monkeypatch, capsys, db_url
):
    Tag = tag_model(color=False)
    monkeypatch.setattr(make_module, "MODELS", [*MODELS, Tag])
    assert make(load(migrations), arguments("add tags"), migrations) == 0
    async with open_database(db_url) as db:
        await up(db, load(migrations))
        for name in ("alpha", "beta", "Gamma 'q'"):
            await Tag.create(db, name=name)

        Tag = tag_model(color=True)
        monkeypatch.setattr(make_module, "MODELS", [*MODELS, Tag])
        name = f"{after_the_last(migrations)}_add_color"
        assert make(load(migrations), arguments("add_color"), migrations) == 0
        out = capsys.readouterr().out
        assert "add column labels.color" in out and f"{name}.py" in out
        written = (migrations / f"{name}.py").read_text()
        assert 'AddColumn("labels", Column("color", "text"), fill="gray")' in written

        assert await up(db, load(migrations)) == [name]
        tags = await Tag.select(db).order_by("id").all()
        assert [(t.name, t.color) for t in tags] == [
            ("alpha", "gray"),
            ("beta", "gray"),
            ("Gamma 'q'", "gray"),
        ]
        assert await Tag.select(db).where(color="gray").count() == 3
        assert await Tag.select(db).where(color="color").count() == 0
        await Tag.create(db, name="delta", color="red")
        assert await Tag.select(db).where(color="red").count() == 1

    assert make(load(migrations), arguments("again"), migrations) == 0
    assert "No changes" in capsys.readouterr().out


def test_a_rename_is_never_guessed_without_a_terminal(migrations, monkeypatch):
    before = type("Tag", (Model,), {"__table__": "labels", "colour": TextField(null=True)})
    monkeypatch.setattr(make_module, "MODELS", [*MODELS, before])
    make(load(migrations), arguments("add tags"), migrations)
    after = type("Tag", (Model,), {"__table__": "labels", "color": TextField(null=True)})
    monkeypatch.setattr(make_module, "MODELS", [*MODELS, after])
    with pytest.raises(MigrationError, match=r"--rename labels\.colour=color"):
        make(load(migrations), arguments("rename"), migrations)
    name = f"{after_the_last(migrations)}_rename.py"
    assert (
        make(load(migrations), arguments("rename", rename=["labels.colour=color"]), migrations) == 0
    )
    assert 'RenameColumn("labels", "colour", "color")' in (migrations / name).read_text()
