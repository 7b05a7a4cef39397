"""The generator end to end, as a newcomer uses it: in a scratch copy of the repository,
generate a rich resource, migrate, run its generated tests (with the coverage floor), the
tests of every route and the linter, then destroy it, migrate again, and find the tree as
it was but for the two migrations. Slow (two minutes or so each): `make test` leaves it out;
CI runs it with

    .venv/bin/pytest -p no:cacheprovider --no-cov -m slow tests/scaffold/test_e2e.py
"""

import os
import subprocess
import sys

import pytest

from tests.scaffold.conftest import snapshot

# A rich resource with an owner, and one without (administrators write it), between them
# every field type, optional and required.
SPECS = {
    "owned": [
        "Bookmark",
        "title:str:80",
        "url:str",
        "notes:text?",
        "rating:int",
        "score:float?",
        "published:bool",
        "due:datetime?",
        "post:ref:Post",
        "parent:ref:Post?",
        "owner:user",
    ],
    "ownerless": ["Bookmark", "label:str:40", "weight:float", "starts:datetime", "done:bool?"],
}
COVERAGE_FLOOR = 90  # the project's --cov-fail-under (tox.ini)


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_generate_test_lint_destroy(copy, tmp_path, spec):
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),  # the copy's www, not this one
        "WWW_DB__URL": f"sqlite:///{tmp_path / 'e2e.db'}",
    }
    env.pop("WWW_CONFIG", None)

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=copy, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    python = sys.executable
    ruff = os.path.join(os.path.dirname(python), "ruff")
    before = snapshot(copy)
    run(python, "-m", "www.migrate", "up")

    run(python, "-m", "www.scaffold", "generate", *spec)
    run(python, "-m", "www.migrate", "up")
    run(python, "-m", "www.migrate", "check")
    run(ruff, "check", ".")
    run(ruff, "format", "--check", ".")
    report = run(
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--strict-markers",
        "--cov=www/bookmarks",  # a path: as a module name (www.bookmarks) it segfaulted on PG
        "--cov-branch",
        f"--cov-fail-under={COVERAGE_FLOOR}",
        "tests/bookmarks",
    )
    assert " passed" in report and "failed" not in report
    # The tests of every route (CSRF, errors, OpenAPI, links, schemathesis's fuzzing, the
    # admin's permissions) now cover it too.
    every_route = ["tests/test_api.py", "tests/test_openapi.py", "tests/test_links.py"]
    every_route += ["tests/test_schemathesis.py", "tests/admin/test_permissions.py"]
    run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov", *every_route)
    routes = run(python, "-m", "www", "routes")
    assert "bookmarks.list" in routes and "api.bookmarks.detail" in routes

    run(python, "-m", "www.scaffold", "destroy", "Bookmark", "--yes")
    run(python, "-m", "www.migrate", "up")
    run(python, "-m", "www.migrate", "check")
    run(python, "-m", "www.migrate", "down")  # and back: drop undone, then add undone
    run(python, "-m", "www.migrate", "down")

    after = snapshot(copy)
    added = sorted(name for name in after.keys() - before.keys())
    assert [name.split("_", 1)[1] for name in added] == ["add_bookmarks.py", "drop_bookmarks.py"]
    assert before.keys() <= after.keys()
    changed = [name for name in before if after[name] != before[name]]
    assert changed == []
