"""API tokens: personal tokens for scripts (/account/tokens), stored only as SHA-256.

Made by `python -m www.migrate make api_tokens` on 2026-12-02 (as 0005, renumbered: the
password resets are 0005). A token is found by its hash on each API request: unique, so
indexed; the user's tokens are listed and revoked by user_id, indexed too.
"""

from www.migrate.operations import Column, CreateTable, Index, Table

operations = [
    CreateTable(
        Table(
            "api_tokens",
            (
                Column("id", "integer", primary_key=True),
                Column("user_id", "integer", references="users", on_delete="CASCADE"),
                Column("name", "text"),
                Column("token_hash", "text", unique=True),
                Column("created_at", "datetime"),
                Column("expires_at", "datetime"),
                Column("last_used_at", "datetime", null=True),
            ),
            indexes=(Index("ix_api_tokens_user_id", ("user_id",)),),
        )
    ),
]
