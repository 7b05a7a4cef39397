"""Posts' tags: a tags table (unique names) and the post_tags links, which go with
either side (CASCADE). A post has a tag once (the unique pair, whose index also finds a
post's tags); tag_id's own index finds a tag's posts.

Made by `python -m www.migrate make post_tags` on 2026-12-02.
"""

from www.migrate.operations import Column, CreateTable, Index, Table

operations = [
    CreateTable(
        Table(
            "tags",
            (
                Column("id", "integer", primary_key=True),
                Column("name", "text", unique=True),
            ),
        )
    ),
    CreateTable(
        Table(
            "post_tags",
            (
                Column("id", "integer", primary_key=True),
                Column("post_id", "integer", references="posts", on_delete="CASCADE"),
                Column("tag_id", "integer", references="tags", on_delete="CASCADE"),
            ),
            indexes=(
                Index("ix_post_tags_tag_id", ("tag_id",)),
                Index("ux_post_tags_post_id_tag_id", ("post_id", "tag_id"), unique=True),
            ),
        )
    ),
]
