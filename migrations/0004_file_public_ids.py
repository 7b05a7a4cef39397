"""File public ids: an unguessable id for each file's public URL (/files/<public_id>/image).

Made by `python -m www.migrate make file_public_ids`, then edited: the column is unique,
so existing rows cannot share one `fill` value. It is added as NULL, each row gets 128
random bits (SQLite's randomblob(), PostgreSQL's gen_random_uuid(), built in since 13),
and then it becomes NOT NULL and unique. New rows get theirs from the model
(www/files/models.py: new_public_id()).

Old image URLs (/files/<id>/image) stop working: a post that shows an uploaded image
needs the new URL, listed on its owner's /files page.
"""

from www.migrate.operations import AddColumn, AlterColumn, Column, RunSQL

operations = [
    AddColumn("files", Column("public_id", "text", null=True)),
    RunSQL(
        sqlite=("UPDATE files SET public_id = lower(hex(randomblob(16)))",),
        postgresql=("UPDATE files SET public_id = replace(gen_random_uuid()::text, '-', '')",),
        reverse_sqlite=(),  # nothing to undo: the column goes with the AddColumn's reverse
        reverse_postgresql=(),
    ),
    AlterColumn(
        "files",
        Column("public_id", "text", null=True),
        Column("public_id", "text", unique=True),
    ),
]
