"""How the admin shows rows: cells as text (and a link for a foreign key, to its target
named as its users know it), and what a delete takes with it."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ..orm import ForeignKey, Model
from .options import ModelAdmin, label_of
from .registry import dependents, registry

MAX_CELL = 120  # characters of text shown in a list's cell

Cell = dict[str, Any]  # {"text": str, "url": str | None}


def text_of(value: Any, *, cut: bool = True) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    return text[: MAX_CELL - 1] + "…" if cut and len(text) > MAX_CELL else text


async def target_labels(db: Any, admin: ModelAdmin, rows: list[Model], names: Iterable[str]):
    """For each foreign key among `names`: {id: label} of the rows it points at (one
    query a key)."""
    labels: dict[str, dict[int, str]] = {}
    for name in names:
        field = admin.model._meta.by_name[name]
        if isinstance(field, ForeignKey):
            ids = {getattr(row, name) for row in rows} - {None}
            found = await field.model.get_many(db, ids)
            labels[name] = {key: label_of(target) for key, target in found.items()}
    return labels


def cells(
    admin: ModelAdmin,
    row: Model,
    names: Iterable[str],
    labels: dict[str, dict[int, str]],
    url: Callable[..., str],
    *,
    cut: bool = True,
) -> list[Cell]:
    """The row's values of `names`: a foreign key as its target's label, linked to the
    target's admin page; the primary key linked to the row's own."""
    shown, tables = [], registry()
    pk = admin.model._meta.pk.name
    for name in names:
        value, field, link = getattr(row, name), admin.model._meta.by_name[name], None
        text = text_of(value, cut=cut)
        if name == pk:
            link = url("admin.edit", table=admin.table, id=value)
        elif isinstance(field, ForeignKey) and value is not None:
            text = f"{labels.get(name, {}).get(value, '#' + str(value))} (#{value})"
            if field.model._meta.table in tables:
                link = url("admin.edit", table=field.model._meta.table, id=value)
        shown.append({"name": name, "text": text, "url": link})
    return shown


EFFECTS = {"CASCADE": "deleted too", "SET NULL": "kept, unlinked"}


async def cascades(db: Any, model: type[Model], ids: list[int]) -> list[dict[str, Any]]:
    """What deleting the rows `ids` of `model` does to the rows that point at them: each
    table's count and what happens to them (deleted too, unlinked, or the delete is
    refused). Direct references only; rows deleted in turn may take theirs along."""
    found = []
    for other, field in dependents(model):
        count = await other.select(db).where(**{f"{field.name}__in": ids}).count()
        if count:
            effect = EFFECTS.get(field.on_delete, "refusing the delete")
            table = other._meta.table.replace("_", " ")
            found.append({"table": table, "field": field.name, "count": count, "effect": effect})
    return found
