"""The schema of the blog as it stood when migrations came in: users, posts, comments,
files and the live-comment broker's messages.

A database made before then (by init_db.py) is adopted: `python -m www.migrate up` records
this migration as applied when the tables match it exactly, and says what differs if not.
"""

from www.migrate.operations import Column, CreateTable, Index, Table

operations = [
    CreateTable(
        Table(
            "users",
            (
                Column("id", "integer", primary_key=True),
                Column("name", "text", unique=True, nocase=True),
                Column("email", "text", unique=True, nocase=True),
                Column("password_hash", "text"),
                Column("is_admin", "boolean"),
                Column("session_epoch", "integer"),
                Column("created_at", "datetime"),
            ),
        )
    ),
    CreateTable(
        Table(
            "posts",
            (
                Column("id", "integer", primary_key=True),
                Column("user_id", "integer", references="users", on_delete="CASCADE"),
                Column("title", "text"),
                Column("summary", "text"),
                Column("content", "text"),
                Column("created_at", "datetime"),
                Column("updated_at", "datetime"),
            ),
            indexes=(
                Index("ix_posts_created_at", ("created_at",)),
                Index("ix_posts_user_id", ("user_id",)),
            ),
        )
    ),
    CreateTable(
        Table(
            "comments",
            (
                Column("id", "integer", primary_key=True),
                Column("post_id", "integer", references="posts", on_delete="CASCADE"),
                Column("user_id", "integer", references="users", on_delete="CASCADE"),
                Column("content", "text"),
                Column("created_at", "datetime"),
            ),
            indexes=(
                Index("ix_comments_post_id", ("post_id",)),
                Index("ix_comments_user_id", ("user_id",)),
            ),
        )
    ),
    CreateTable(
        Table(
            "files",
            (
                Column("id", "integer", primary_key=True),
                Column("user_id", "integer", references="users", on_delete="CASCADE"),
                Column("original_name", "text"),
                Column("stored_name", "text", unique=True),
                Column("content_type", "text"),
                Column("size", "integer"),
                Column("sha256", "text"),
                Column("created_at", "datetime"),
            ),
            indexes=(Index("ix_files_user_id", ("user_id",)),),
        )
    ),
    CreateTable(
        Table(
            "broker_messages",
            (
                Column("id", "integer", primary_key=True),
                Column("channel", "text"),
                Column("payload", "text"),
                Column("created_at", "datetime"),
            ),
            indexes=(Index("ix_broker_messages_created_at", ("created_at",)),),
        )
    ),
]
