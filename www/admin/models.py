"""The audit log of the admin: one row per row created, changed or deleted through it."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


class AdminChange(Model):
    """Who changed which row of which table, when, and how: the old and new values of the
    changed fields as JSON objects (never a secret field). Written in the transaction of
    the change itself (audit.py), so a change that fails leaves no row. Deleting the
    administrator's account keeps their changes, with no one named."""

    user_id = ForeignKey(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    table_name = TextField(max_length=63)
    row_id = IntegerField()
    action = TextField(max_length=10)  # create, update, delete
    old_values = TextField(default="{}")  # JSON: {"title": "Before"}
    new_values = TextField(default="{}")
