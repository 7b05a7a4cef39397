"""A scratch copy of the repository for the generator to write into."""

import shutil
import subprocess
from pathlib import Path

import pytest

from www.settings import PROJECT_ROOT

# What the generator or its runs leave that is no file of the project.
SCRATCH = ("__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".coverage")


def copy_repository(tmp_path: Path) -> Path:
    """Copy the repository's tracked files (`git ls-files`, as they are in the work tree)
    to tmp_path/repo; returns that folder. The end-to-end tests use it too."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    root = tmp_path / "repo"
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is left out
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


@pytest.fixture
def copy(tmp_path) -> Path:
    """A scratch copy of the repository's tracked files."""
    return copy_repository(tmp_path)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` but scratch ones (caches, coverage data), by path."""
    files = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root)
        local = name.parts[0] == "data"  # the app's own files (session secret): .gitignore'd
        if path.is_file() and not local and not any(p.startswith(SCRATCH) for p in name.parts):
            files[str(name)] = path.read_bytes()
    return files
