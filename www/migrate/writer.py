"""Migration files as `python -m www.migrate make` writes them: Python a person reads and
edits, one operation a line.

    \"\"\"Add color.

    Made by `python -m www.migrate make add_color` on 2026-12-01; edit it as you need.
    \"\"\"

    from www.migrate.operations import AddColumn, Column

    operations = [
        AddColumn("tags", Column("color", "text"), fill="gray"),
    ]

The lines are laid out as `ruff format` lays them out (a call that does not fit is split
one argument a line, with a trailing comma, which ruff then keeps), so that formatting the
project never rewrites a migration; a table's columns always come one a line.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from ..db.schema import Spec, Table
from .operations import Operation

WIDTH = 100  # ruff.toml's line-length
NAME = re.compile(r"[a-z0-9_]+")
NUMBERED = re.compile(r"(\d{4,})_([a-z0-9_]+)")


def next_name(existing: Iterable[str], name: str) -> str:
    """The next migration's name: `0002_add_color` after `0001_initial`. `name` is made
    a slug (lower case, spaces and dashes as underscores) and must then be [a-z0-9_]+:
    it is a module name and a file name on every system."""
    slug = re.sub(r"[\s-]+", "_", name.strip().lower())
    if not NAME.fullmatch(slug) or not slug.strip("_"):
        raise ValueError(f"a migration's name is letters a-z, digits and _, not {name!r}")
    numbers = [int(m[1]) for m in map(NUMBERED.match, existing) if m]
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


def render(
    name: str,
    operations: Sequence[Operation],
    created: date,
    notes: Mapping[int, str] | None = None,
) -> str:
    """The file of migration `name` (`0002_add_color`) made on `created`: a docstring,
    the import of the names it uses, and `operations`, each preceded by its note (diff's
    Operations.notes) as a comment."""
    slug = NUMBERED.fullmatch(name)[2] if NUMBERED.fullmatch(name) else name  # type: ignore[index]
    title = slug.replace("_", " ").strip().capitalize() or "Migration"
    lines = [
        f'"""{title}.',
        "",
        f"Made by `python -m www.migrate make {slug}` on {created:%Y-%m-%d}; edit it as you need.",
        '"""',
        "",
    ]
    used = sorted({type(spec).__name__ for op in operations for spec in _specs(op)})
    if used:
        imports = f"from www.migrate.operations import {', '.join(used)}"
        if len(imports) > WIDTH:
            imports = "\n".join(["from www.migrate.operations import (", *_items(used), ")"])
        lines += [imports, ""]
    if not operations:
        return "\n".join([*lines, "operations = []", ""])
    lines.append("operations = [")
    for i, operation in enumerate(operations):
        if notes and i in notes:
            lines.append(f"    # {notes[i]}")
        lines += _lines(operation, "    ", ",")
    return "\n".join([*lines, "]", ""])


def _items(names: list[str]) -> list[str]:
    return [f"    {name}," for name in names]


def _specs(value: Any) -> Iterable[Spec]:
    """The specs in a value (an operation, a table...), to import their classes."""
    if isinstance(value, Spec):
        yield value
        for field in dataclasses.fields(value):  # type: ignore[arg-type]
            yield from _specs(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _specs(item)


def _arguments(spec: Spec) -> list[tuple[str | None, Any]]:
    """(keyword or None, value) of each argument, as Spec's repr writes them: the leading
    ones by position, the others by name unless at their default."""
    arguments: list[tuple[str | None, Any]] = []
    for i, field in enumerate(dataclasses.fields(spec)):  # type: ignore[arg-type]
        value = getattr(spec, field.name)
        if i < spec.POSITIONAL:
            arguments.append((None, value))
        elif value != field.default:
            arguments.append((field.name, value))
    return arguments


def _flat(value: Any) -> str:
    """The value as Python on one line."""
    if isinstance(value, Spec):
        parts = (f"{k}={_flat(v)}" if k else _flat(v) for k, v in _arguments(value))
        return f"{type(value).__name__}({', '.join(parts)})"
    if isinstance(value, tuple):
        return f"({_flat(value[0])},)" if len(value) == 1 else f"({', '.join(map(_flat, value))})"
    return literal(value)


def _lines(value: Any, indent: str, end: str, keyword: str | None = None) -> list[str]:
    """The value at `indent`, followed by `end`: on one line when it fits (and holds no
    table), else split one item a line, each with a trailing comma (which ruff keeps)."""
    head = f"{indent}{keyword}=" if keyword else indent
    flat = _flat(value)
    split = _has_table(value) or (_is_specs(value) and len(value) > 1)
    if not split and _width(f"{head}{flat}{end}") <= WIDTH:
        return [f"{head}{flat}{end}"]
    if isinstance(value, Spec):
        opening, items = f"{type(value).__name__}(", _arguments(value)
    elif isinstance(value, tuple) and value:
        opening, items = "(", [(None, item) for item in value]
    else:
        line = f"{head}{flat}{end}"  # text too long for any line: ruff lets a lone word be
        return [f"{line}  # noqa: E501" if len(line.split()) > 1 else line]
    # A call's sole argument has no trailing comma, as ruff writes it (a tuple's must).
    comma = "" if isinstance(value, Spec) and len(items) == 1 else ","
    lines = [f"{head}{opening}"]
    for key, item in items:
        lines += _lines(item, indent + "    ", comma, key)
    return [*lines, f"{indent}){end}"]


def _width(line: str) -> int:
    """The line's width as ruff counts it: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _has_table(value: Any) -> bool:
    return any(isinstance(spec, Table) for spec in _specs(value))


def _is_specs(value: Any) -> bool:
    return isinstance(value, tuple) and any(isinstance(item, Spec) for item in value)


def literal(value: Any) -> str:
    """A constant as Python source, as ruff formats it: text in double quotes unless it
    holds more of them than of single quotes."""
    if isinstance(value, str):
        quote = "'" if value.count('"') > value.count("'") else '"'
        return quote + "".join(_char(c, quote) for c in value) + quote
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f'float("{value}")'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, tuple):
        return _flat(value)
    raise TypeError(f"a migration holds text, numbers, booleans and None, not {value!r}")


def _char(char: str, quote: str) -> str:
    if char == quote or char == "\\":
        return "\\" + char
    if char.isprintable():
        return char
    return repr(char)[1:-1]  # \n, \x00, \u200b...
