"""`python -m www.scaffold generate|destroy` in a scratch copy of the repository: what it
writes, what it refuses, and that destroy gives the tree back (www/scaffold/)."""

import io
import re

import pytest

from tests.scaffold.conftest import snapshot
from www.scaffold import __main__ as cli
from www.scaffold import generate as gen
from www.scaffold import project
from www.scaffold.spec import Resource, SpecError, parse

SPEC = ["title:str:80", "notes:text?", "rating:int?", "post:ref:Post", "owner:user"]


def run(root, *args):
    return cli.main(["--root", str(root), *args])


def migrations(root):
    return sorted(path.name for path in (root / "migrations").glob("0*.py"))


def test_dry_run_lists_and_writes_nothing(copy, capsys):
    before = snapshot(copy)
    assert run(copy, "generate", "Bookmark", *SPEC, "--dry-run") == 0
    out = capsys.readouterr().out
    for path in gen.paths(parse("Bookmark", SPEC)):
        assert f"  {path}\n" in out
    assert "migrations/NNNN_add_bookmarks.py" in out
    assert snapshot(copy) == before


def test_generate_then_destroy_gives_the_tree_back(copy, capsys, monkeypatch):
    before = snapshot(copy)
    (copy / "tests" / "bookmarks").mkdir()
    (copy / "tests" / "bookmarks" / "test_api.py").write_text("# mine\n")
    assert run(copy, "generate", "Bookmark", *SPEC) == 2
    assert "tests/bookmarks/test_api.py exist: nothing was written" in capsys.readouterr().err
    assert not (copy / "www" / "bookmarks").exists()

    assert run(copy, "generate", "Bookmark", *SPEC, "--force") == 0
    out = capsys.readouterr().out
    assert "Wrote 15 files:" in out and "create table bookmarks" in out
    assert "# mine" not in (copy / "tests" / "bookmarks" / "test_api.py").read_text()
    assert '"files", "bookmarks")' in (copy / "www" / "resources.py").read_text()
    base = (copy / "templates" / "base.html").read_text()
    assert "<li><a href=\"{{ 'bookmarks.list'|url }}\">Bookmarks</a></li>" in base
    added = migrations(copy)[-1]
    assert re.fullmatch(r"\d{4}_add_bookmarks\.py", added)
    assert (
        'CreateTable(\n        Table(\n            "bookmarks"'
        in (copy / "migrations" / added).read_text()
    )
    models = (copy / "www" / "bookmarks" / "models.py").read_text()
    assert "from ..posts.models import Post" in models
    assert "post_id = ForeignKey(Post)" in models

    assert run(copy, "generate", "Bookmark", *SPEC) == 2  # it exists now
    assert "exists already" in capsys.readouterr().err

    assert run(copy, "destroy", "Bookmark", "--dry-run") == 0
    assert "This deletes 15 files of bookmarks" in capsys.readouterr().out
    monkeypatch.setattr(cli.sys, "stdin", io.StringIO(""))
    assert run(copy, "destroy", "Bookmark") == 2  # no terminal to ask
    assert "add --yes" in capsys.readouterr().err
    monkeypatch.setattr(cli, "_confirmed", lambda: False)
    assert run(copy, "destroy", "Bookmark") == 1
    assert (copy / "www" / "bookmarks" / "models.py").exists()
    monkeypatch.setattr(cli, "_confirmed", lambda: True)
    assert run(copy, "destroy", "Bookmark") == 0
    assert "drop table bookmarks" in capsys.readouterr().out

    after = snapshot(copy)
    new = sorted(after.keys() - before.keys())
    assert [name.split("_", 1)[1] for name in new] == ["add_bookmarks.py", "drop_bookmarks.py"]
    assert {name: after[name] for name in before} == before


def test_destroy_keeps_files_it_did_not_write(copy, capsys):
    assert run(copy, "generate", "Note", "body:text") == 0
    (copy / "www" / "notes" / "extra.py").write_text("MINE = 1\n")
    assert run(copy, "destroy", "Note", "--yes") == 0
    assert "Kept www/notes/" in capsys.readouterr().out
    assert (copy / "www" / "notes" / "extra.py").exists()
    assert not (copy / "www" / "notes" / "models.py").exists()


@pytest.mark.parametrize("name", ["Post", "Bookmark", "nope"])
def test_destroy_refuses_what_generate_did_not_make(copy, capsys, name):
    assert run(copy, "destroy", name, "--yes") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert (copy / "www" / "posts" / "models.py").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Post", "title:str"], "the resource posts exists already"),
        (["ApiToken", "name:str"], "a model of that name exists"),
        (["Session", "name:str"], "the API already has create_session"),
        (["File", "name:str"], "the resource files exists already"),
        (["Bookmark", "post:ref:Nothing"], "no such model"),
        (["Bookmark", "title:str", "x:blob"], "unknown type 'blob'"),
        (["bookmark", "title:str"], "CamelCase"),
    ],
)
def test_generate_refuses_clashes_with_one_line(copy, capsys, args, message):
    before = snapshot(copy)
    assert run(copy, "generate", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert snapshot(copy) == before


def test_a_name_whose_urls_are_taken_is_refused(copy, monkeypatch):
    assert {"posts", "login", "api", "files"} <= project.url_prefixes()
    monkeypatch.setattr(project, "url_prefixes", lambda: {"bookmarks"})
    with pytest.raises(SpecError, match="URLs /bookmarks"):
        project.check_clashes(parse("Bookmark", ["title:str"]), copy)


def test_a_www_module_of_the_name_is_refused(copy):
    (copy / "www" / "bookmarks.py").write_text("")
    with pytest.raises(SpecError, match=r"www/bookmarks\.py exists"):
        project.check_clashes(parse("Bookmark", ["title:str"]), copy, force=True)


def test_pending_model_changes_are_refused_first(copy):
    (copy / "migrations" / "0006_api_tokens.py").unlink()
    with pytest.raises(SpecError, match="differ from the migrations"):
        project.check_migrations(copy)


def test_the_shared_files_must_have_their_anchors(copy):
    resource = parse("Bookmark", ["title:str"])
    (copy / "www" / "resources.py").write_text("RESOURCES = [\n]\n")
    (copy / "templates" / "base.html").write_text("<nav></nav>\n")
    with pytest.raises(SpecError, match="RESOURCES"):
        project.register(copy, "bookmarks")
    with pytest.raises(SpecError, match="Home link"):
        project.add_nav(copy, resource)
    assert not project.remove_nav(copy, resource)


def test_registry_lines(copy):
    project.register(copy, "bookmarks")
    assert project.registered(copy)[-1] == "bookmarks"
    assert project.unregister(copy, "bookmarks")
    assert not project.unregister(copy, "bookmarks")
    (copy / "www" / "resources.py").write_text('RESOURCES = ("accounts")\n')
    project.register(copy, "notes")
    assert 'RESOURCES = ("accounts", "notes")' in (copy / "www" / "resources.py").read_text()
    project.unregister(copy, "notes")
    assert 'RESOURCES = ("accounts",)' in (copy / "www" / "resources.py").read_text()


def test_without_ruff_the_code_is_written_unformatted(copy, monkeypatch):
    monkeypatch.setattr(gen, "ruff", lambda: None)
    outcome = gen.Outcome()
    gen.format_python(copy, [], outcome)
    assert outcome.notes == ["ruff is not installed: the Python is valid but not formatted"]


def test_a_failing_migration_is_one_message(copy):
    (copy / "migrations" / "0007_broken.py").write_text("operations = [1/0]\n")
    with pytest.raises(SpecError, match=r"python -m www\.migrate make x failed"):
        gen.migrate(copy, "x")


@pytest.mark.parametrize(
    "fields",
    [
        ["title:str", "done:bool"],  # no owner: administrators write
        ["starts:datetime", "size:float", "parent:ref:Post?", "owner:user"],  # no text
        ["count:int", "who:ref:User"],
    ],
)
def test_other_specs_render_valid_python(fields):
    resource = Resource("Thing", parse("Thing", fields).fields, (("Post", ".posts.models"),))
    files = gen.render(resource, "Thing")
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")
    pages = files[next(p for p in files if p.name == "pages.py")]
    assert ("check_owner(request)  # administrators only" in pages) == ("owner:user" not in fields)


def test_the_admin_uses_the_resources_schema_and_actions():
    resource = Resource("Bookmark", parse("Bookmark", SPEC).fields, (("Post", ".posts.models"),))
    admin = gen.Path("www", "bookmarks", "admin.py")
    assert admin in gen.paths(resource)
    text = gen.render(resource, "Bookmark")[admin]
    compile(text, "admin.py", "exec")
    assert "schema=BookmarkIn" in text and "create=actions.create_bookmark" in text
    assert 'list_display=("title", "rating", "post_id", "owner_id", "created_at")' in text
    assert 'search_fields=("title", "notes")' in text
    ownerless = parse("Link", ["title:str"])
    assert "create=" not in gen.render(ownerless, "Link")[gen.Path("www", "links", "admin.py")]
