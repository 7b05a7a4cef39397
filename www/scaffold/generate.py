"""Writing a resource, and taking it away again.

The files come from the Jinja templates beside this module (templates/www, templates/
templates, templates/tests), with their own delimiters (<< >>, <% %>) so that the HTML
templates they write keep Jinja's. The Python is then fixed and formatted by ruff, so that
it reads as `make format` leaves hand-written code. The migration is written by
`python -m www.migrate make` in a new process, which sees the new models.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import fields
from .spec import FieldSpec, Resource, SpecError

TEMPLATES = Path(__file__).parent / "templates"
PACKAGE_FILES = ("__init__", "models", "schemas", "actions", "pages", "api", "routes", "admin")
PAGE_TEMPLATES = ("list", "detail", "form")
TEST_FILES = ("__init__", "test_pages", "test_api", "test_admin")
XSS_LENGTH = 25  # the generated tests' XSS string: a text field this long shows it whole

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    block_start_string="<%",
    block_end_string="%>",
    variable_start_string="<<",
    variable_end_string=">>",
    comment_start_string="<#",
    comment_end_string="#>",
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 (it writes Python and Jinja source, not HTML to show)
)
# What the templates call from fields.py: each field type as code.
HELPERS = ("model_field", "input_field", "output_field", "form_input", "shown", "expect")
HELPERS += ("sample", "form_sample", "json_sample")
_env.globals.update({name: getattr(fields, name) for name in HELPERS})


def paths(resource: Resource) -> list[Path]:
    """Every file `generate` writes for `resource` (and `destroy` removes), in order."""
    package = resource.package
    return [
        *(Path("www", package, f"{name}.py") for name in PACKAGE_FILES),
        *(Path("templates", package, f"{name}.html") for name in PAGE_TEMPLATES),
        *(Path("tests", package, f"{name}.py") for name in TEST_FILES),
    ]


def context(resource: Resource, command: str) -> dict:
    """What the templates are given: the resource and what its fields call for."""
    inputs = resource.inputs
    refs = [f for f in inputs if f.type == "ref"]
    texts = [f for f in inputs if f.type in ("str", "text")]
    changeable = [f for f in inputs if f.type in ("str", "text", "int", "float", "bool")]
    xss = next((f for f in texts if (f.max_length or 0) >= XSS_LENGTH), None)
    invalid = [(f.column, *fields.invalid(f)) for f in inputs]
    invalid[:0] = [(f.column, '""', f"{f.label} is required.") for f in texts if not f.optional]
    out_keys = [
        "id",
        *(f.name if f.type in ("str", "text", "user") else f.column for f in resource.fields),
    ]
    return {
        "r": resource,
        "command": command,
        "types": resource.types(),
        "refs": refs,
        "required_refs": [f for f in refs if not f.optional],
        "numbers": any(f.type in ("int", "float") for f in inputs),
        "optional_numbers": any(
            f.optional and f.type in ("int", "float", "datetime", "ref") for f in inputs
        ),
        "validators": any(
            f.type == "datetime" or (f.optional and f.type in ("int", "float", "ref"))
            for f in inputs
        ),
        "field_classes": fields.field_classes(resource),
        "heading": _heading(resource),
        "me": "user = " if resource.owner else "",  # tests keep the logged-in owner
        "may_add": "current_user" if resource.owner else "current_user and current_user.is_admin",
        "xss": xss,
        "invalid_cases": invalid,
        "kept": texts[0].column if texts else None,
        "list_display": _tuple(
            [*(f.column for f in resource.fields if f.type != "text"), "created_at"]
        ),
        "search_fields": _tuple([f.column for f in texts]),
        "searched": next((f.column for f in inputs if f.type == "str"), None),
        "patch": _patch(changeable[0]) if changeable else None,
        "targets": resource.targets,
        "out_keys": [*out_keys, "created_at", "updated_at"],
    }


def _tuple(names: list[str]) -> str:
    """A tuple of names as Python source: ("a",) for one."""
    if len(names) == 1:
        return f'("{names[0]}",)'
    return "(" + ", ".join(f'"{name}"' for name in names) + ")"


def _heading(resource: Resource) -> str:
    """How lists and titles name a row: its first `str` field, else its number."""
    row, number = resource.singular, f"'{resource.model} #' ~ {resource.singular}.id"
    if resource.heading is None:
        return f"{{{{ {number} }}}}"
    if resource.heading.optional:
        return f"{{{{ {row}.{resource.heading.column} or {number} }}}}"
    return f"{{{{ {row}.{resource.heading.column} }}}}"


def _patch(f: FieldSpec) -> tuple[str, str, str]:
    """(field, JSON value, comparison) of the generated test of a partial update."""
    value, expected = {
        "str": ('"Changed"', '== "Changed"'),
        "text": ('"Changed"', '== "Changed"'),
        "int": ("8", "== 8"),
        "float": ("8.5", "== 8.5"),
        "bool": ("False", "is False"),
    }[f.type]
    return f.column, value, expected


def render(resource: Resource, command: str) -> dict[Path, str]:
    """The content of every file of the resource, by path from the project's root."""
    values = context(resource, command)
    files = {}
    for path in paths(resource):
        top, _, rest = path.parts[0], path.parts[1], path.parts[2:]
        name = Path(*rest).name
        files[path] = _env.get_template(f"{top}/{name}.jinja").render(values)
    return files


@dataclass
class Outcome:
    """What a command did, for its report."""

    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def ruff() -> str | None:
    """The ruff beside this Python (the project's .venv), else on PATH; None if absent."""
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


def format_python(root: Path, files: list[Path], outcome: Outcome) -> None:
    """Fix (imports, unused names) and format the written Python with the project's ruff."""
    tool = ruff()
    if tool is None:
        outcome.notes.append("ruff is not installed: the Python is valid but not formatted")
        return
    names = [str(path) for path in files if path.suffix == ".py"]
    for args in (["check", "--fix-only", "--quiet"], ["format", "--quiet"]):
        subprocess.run([tool, *args, *names], cwd=root, check=True)  # noqa: S603


def migrate(root: Path, name: str) -> str:
    """Run `python -m www.migrate make NAME` in `root`; its output, or SpecError."""
    done = subprocess.run(  # noqa: S603 (our own Python and module)
        [sys.executable, "-m", "www.migrate", "make", name],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        raise SpecError(f"python -m www.migrate make {name} failed: {done.stderr.strip()}")
    return done.stdout.strip()
