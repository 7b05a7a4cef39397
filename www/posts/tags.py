"""Posts' tags in the database: a post's tags saved with it, and the tags of a page of
posts loaded in one query, however many posts it holds.

The rule of what a tag is lives in schemas.py (`tag_name`); here the names are already
valid. Tags no post has any more are kept (see models.Tag).
"""

# ruff: noqa: S608 (identifiers come from the models, quoted by the dialect; values are parameters)
from collections.abc import Sequence
from typing import Any

from .models import Post, PostTag, Tag


async def set_tags(tx: Any, post_id: int, names: Sequence[str]) -> None:
    """Make `names` (valid, distinct) the post's tags, in the caller's transaction `tx`:
    the links go and come with the post's own write. Raises IntegrityError if the post
    is gone (the link's foreign key)."""
    await PostTag.select(tx).where(post_id=post_id).delete()
    if not names:
        return
    dialect = tx.dialect
    tags, name = dialect.quote(Tag._meta.table), dialect.quote("name")
    # A tag another transaction adds meanwhile is waited for (PostgreSQL), then found.
    insert = f"INSERT INTO {tags} ({name}) VALUES ({dialect.placeholder(1)})"
    await tx.executemany(f"{insert} ON CONFLICT ({name}) DO NOTHING", [(n,) for n in names])
    found = await Tag.select(tx).where(name__in=list(names)).all()
    await PostTag.insert_many(tx, [{"post_id": post_id, "tag_id": tag.id} for tag in found])


async def load_tags(db: Any, posts: Sequence[Post]) -> None:
    """Set each post's `tags` (names, sorted), with one query for them all."""
    by_post: dict[int, list[str]] = {post.id: [] for post in posts}
    if by_post:
        dialect = db.dialect
        links, tags = PostTag._meta.sql(dialect), Tag._meta.sql(dialect)
        marks = dialect.placeholders(1, len(by_post))
        sql = (
            f"SELECT {links.qualified['post_id']}, {tags.qualified['name']}"
            f" FROM {links.table} JOIN {tags.table}"
            f" ON {tags.qualified['id']} = {links.qualified['tag_id']}"
            f" WHERE {links.qualified['post_id']} IN ({marks})"
            f" ORDER BY {tags.qualified['name']}"
        )
        for post_id, name in await db.fetchall(sql, list(by_post)):
            by_post[post_id].append(name)
    for post in posts:
        post.tags = by_post[post.id]
