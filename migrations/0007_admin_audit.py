"""The admin's audit log (www/admin/models.py): who changed which row, when, and how.

Made by `python -m www.migrate make admin_audit` on 2026-12-02. An administrator's
account may be deleted: their changes stay, unnamed (SET NULL).
"""

from www.migrate.operations import Column, CreateTable, Index, Table

operations = [
    CreateTable(
        Table(
            "admin_changes",
            (
                Column("id", "integer", primary_key=True),
                Column("user_id", "integer", null=True, references="users", on_delete="SET NULL"),
                Column("created_at", "datetime"),
                Column("table_name", "text"),
                Column("row_id", "integer"),
                Column("action", "text"),
                Column("old_values", "text"),
                Column("new_values", "text"),
            ),
            indexes=(
                Index("ix_admin_changes_created_at", ("created_at",)),
                Index("ix_admin_changes_user_id", ("user_id",)),
            ),
        )
    ),
]
