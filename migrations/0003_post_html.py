"""Posts keep their HTML, in a table of its own: rendered from the Markdown when a post is
saved, off the event loop, instead of on the loop at each view.

Existing posts have no row here: each is rendered (in the app's Markdown threads) and
saved when first shown. A migration does not render: it must build the same schema
whatever the renderer's code becomes.

Made by `python -m www.migrate make post_html` on 2026-12-02.
"""

from www.migrate.operations import Column, CreateTable, Table

operations = [
    CreateTable(
        Table(
            "post_html",
            (
                Column("id", "integer", primary_key=True),
                Column("post_id", "integer", unique=True, references="posts", on_delete="CASCADE"),
                Column("source_hash", "text"),
                Column("version", "integer"),
                Column("html", "text"),
            ),
        )
    ),
]
