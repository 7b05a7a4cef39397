"""Full-text search over the posts' title, summary and content (www/posts/search.py):
FTS5 kept in step by triggers on SQLite, a GIN index on their tsvector on PostgreSQL
(www/db/fulltext.py). Existing posts are indexed by the migration itself.

Written by hand: the models do not change, so `python -m www.migrate make` has nothing to
write; the index is beside the schema the models declare, as a trigger is.
"""

from www.migrate.operations import CreateSearchIndex

operations = [
    CreateSearchIndex("posts", ("title", "summary", "content")),
]
