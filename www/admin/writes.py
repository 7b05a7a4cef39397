"""Creating, changing and deleting rows through the admin: through the resource's own
actions where it has them (ModelAdmin create/update/delete), else the ORM, and each in
one transaction with its audit row (audit.py)."""

from collections.abc import Mapping
from typing import Any

from ..accounts.models import User
from ..keys import DB
from ..orm import Model
from ..schemas import Schema
from . import audit
from .options import ModelAdmin


async def create_row(app: Mapping, admin: ModelAdmin, user: User, values: Schema) -> Model:
    """Save a new row from validated `values`. Raises Invalid (an action's own check),
    ValidationError or IntegrityError (a unique value taken): nothing is saved then."""
    db = app[DB]
    async with db.transaction():
        if admin.create is not None:
            row = await admin.create(app, user, values)
        else:
            owner = {admin.owner_field: user.id} if admin.owner_field else {}
            row = await admin.model.create(db, **values.model_dump(), **owner)
        await audit.record(db, user, row, "create", {}, audit.snapshot(row))
    return row


async def update_row(
    app: Mapping, admin: ModelAdmin, user: User, row: Model, changes: dict[str, Any]
) -> Model:
    """Save `changes` (validated, editable fields) to `row`. Raises as create_row, and
    DoesNotExist if the row was deleted meanwhile."""
    db = app[DB]
    async with db.transaction():
        old = audit.snapshot(row)
        if admin.update is not None:
            row = await admin.update(app, row, changes)
        else:
            for name, value in changes.items():
                setattr(row, name, value)
            await row.save(db)
        await audit.record(db, user, row, "update", old, audit.snapshot(row))
    return row


async def delete_rows(app: Mapping, admin: ModelAdmin, user: User, rows: list[Model]) -> None:
    """Delete `rows`, all or none. Raises IntegrityError when a row that refers to one
    refuses it (on_delete RESTRICT)."""
    db = app[DB]
    async with db.transaction():
        for row in rows:
            old = audit.snapshot(row)
            if admin.delete is not None:
                await admin.delete(app, row)
            else:
                await row.delete(db)
            await audit.record(db, user, row, "delete", old, {})
