"""Posts keep their HTML: rendered from the Markdown when saved, off the event loop.

Existing posts get html_version 0, older than any renderer's version, so each is rendered
(in the app's Markdown threads) and saved when first read: a migration cannot render, since
it must build the same schema whatever the renderer's code becomes.

Made by `python -m www.migrate make post_html` on 2026-12-02.
"""

from www.migrate.operations import AddColumn, Column

operations = [
    AddColumn("posts", Column("content_html", "text"), fill=""),
    AddColumn("posts", Column("html_version", "integer"), fill=0),
]
