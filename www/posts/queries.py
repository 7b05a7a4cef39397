"""Lists of posts that need more than one table: a tag's posts, search results, or both
(GET /api/posts?tag=&q=). One SQL builder, parameters only; the search's SQL is the
dialect's (www/db/fulltext.py), so nothing here depends on the engine.
"""

from collections.abc import Sequence
from typing import Any

from ..orm import Page
from .models import SEARCHED, Post, PostTag, Tag


async def find_posts(
    db: Any, number: int, per_page: int, *, tag: str | None = None, words: Sequence[str] = ()
) -> Page:
    """Page `number` of the posts with the tag `tag` (a valid name) and every word of
    `words` (search.words): the best match first when searching, then the newest."""
    dialect, params = db.dialect, []

    def mark(value: Any) -> str:
        params.append(value)
        return dialect.placeholder(len(params))

    posts, links, tags = (model._meta.sql(dialect) for model in (Post, PostTag, Tag))
    joins, conditions, order = [], [], []
    if tag is not None:
        joins.append(
            f"JOIN {links.table} ON {links.qualified['post_id']} = {posts.qualified['id']}"
            f" JOIN {tags.table} ON {tags.qualified['id']} = {links.qualified['tag_id']}"
        )
        conditions.append(f"{tags.qualified['name']} = {mark(tag)}")
    if words:
        table = Post._meta.table
        search = dialect.search_sql(table, SEARCHED, mark(dialect.search_terms(words)))
        joins += [search.join] if search.join else []
        conditions.append(search.condition)
        order.append(search.rank)
    order += [f"{posts.qualified['created_at']} DESC", f"{posts.qualified['id']} DESC"]
    where = " AND ".join(conditions) or "1 = 1"
    body = f"FROM {posts.table} {' '.join(joins)} WHERE {where}"
    (total,) = await db.fetchone(f"SELECT COUNT(*) {body}", list(params))
    limit, offset = mark(per_page), mark((number - 1) * per_page)
    sql = (
        f"SELECT {', '.join(posts.qualified.values())} {body}"
        f" ORDER BY {', '.join(order)} LIMIT {limit} OFFSET {offset}"
    )
    return Page(Post._from_rows(await db.fetchall(sql, params)), number, per_page, total)
