"""Password resets: the links mailed to users who forgot their password (their tokens hashed).

Made by `python -m www.migrate make password_resets` on 2026-12-02; edit it as you need.
"""

from www.migrate.operations import Column, CreateTable, Index, Table

operations = [
    CreateTable(
        Table(
            "password_resets",
            (
                Column("id", "integer", primary_key=True),
                Column("user_id", "integer", references="users", on_delete="CASCADE"),
                Column("token_hash", "text", unique=True),
                Column("created_at", "datetime"),
                Column("expires_at", "datetime"),
            ),
            indexes=(Index("ix_password_resets_user_id", ("user_id",)),),
        )
    ),
]
