"""The audit log: each create, update and delete made through the admin, with the old and
new values of the fields it changed (never a secret one), written by the same
transaction as the change (`async with db.transaction()` around both): a change that
fails or rolls back leaves no row, and no change is saved without its row."""

import json
from typing import Any

from ..accounts.models import User
from ..orm import Model
from .models import AdminChange


def snapshot(row: Model) -> dict[str, Any]:
    """The row's non-secret values, as JSON can hold them (datetimes in ISO 8601)."""
    values = {}
    for field in row._meta.fields:
        if not field.secret:
            value = getattr(row, field.name)
            values[field.name] = None if value is None else field.to_db(value)
    return values


async def record(
    db: Any, user: User, row: Model, action: str, old: dict[str, Any], new: dict[str, Any]
) -> AdminChange | None:
    """Write the change of `row` (from `old` to `new`, snapshots): only the fields that
    differ. An update that changed nothing writes nothing."""
    changed = [name for name in {**old, **new} if old.get(name) != new.get(name)]
    if action == "update" and not changed:
        return None
    return await AdminChange.create(
        db,
        user_id=user.id,
        table_name=row._meta.table,
        row_id=getattr(row, row._meta.pk.name),
        action=action,
        old_values=json.dumps({n: old[n] for n in changed if n in old}, ensure_ascii=False),
        new_values=json.dumps({n: new[n] for n in changed if n in new}, ensure_ascii=False),
    )


def values_of(change: AdminChange) -> list[tuple[str, Any, Any]]:
    """(field, old, new) of each field a change changed, for the audit page."""
    old, new = json.loads(change.old_values), json.loads(change.new_values)
    return [(name, old.get(name), new.get(name)) for name in {**old, **new}]
