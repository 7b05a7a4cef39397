"""What a post and a comment may hold (forms and API), and their JSON shapes."""

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ..accounts.schemas import UserOut
from ..schemas import Schema, Time, limit, text
from .models import Comment, Post, Tag

# The tags rule, declared once: the form (comma-separated), the API (a list), the admin
# and OpenAPI all go through `tags` below. At most MAX_TAGS, each 1 to TAG_LENGTH letters,
# digits or "-", as stored: NFKC-normalised (fullwidth letters are letters), lower-case,
# duplicates folded ("Python, python" is one tag).
MAX_TAGS = 10
TAG_LENGTH = limit(Tag, "name") or 30
TAG_PATTERN = r"^(?:[^\W_]|-)+$"  # letters and digits of any script, and "-"
_TAG = re.compile(TAG_PATTERN)
TAG_RULE = f"Tags are 1 to {TAG_LENGTH} letters, digits or hyphens each."
TOO_MANY_TAGS = f"A post has at most {MAX_TAGS} tags."


def tag_name(value: str) -> str | None:
    """`value` as a tag is stored, or None if it is no tag (also for a URL's /tags/<tag>)."""
    name = unicodedata.normalize("NFKC", value.strip()).lower()
    return name if len(name) <= TAG_LENGTH and _TAG.fullmatch(name) else None


def _tag_names(value: Any) -> Any:
    """The tags as stored, in the order given, without repeats; a list of anything but
    text is left to pydantic's own type check."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return value
    names: dict[str, None] = {}
    for item in value:
        name = tag_name(item)
        if name is None:
            raise PydanticCustomError("tag", TAG_RULE)
        names[name] = None
        if len(names) > MAX_TAGS:  # stops early: a form may send thousands of commas
            raise PydanticCustomError("tags_too_many", TOO_MANY_TAGS)
    return list(names)


TAG_ITEM = {"type": "string", "minLength": 1, "maxLength": TAG_LENGTH, "pattern": TAG_PATTERN}


class PostIn(Schema):
    """A post as written in the form or sent to the API (PATCH sends any of the fields)."""

    title: str = text("Title", min_length=1, max_length=limit(Post, "title"))
    summary: str = text("Summary", max_length=limit(Post, "summary"))
    # Markdown: leading spaces are meaningful (indented code), so the content is kept as is.
    content: str = text("Content", max_length=limit(Post, "content"), strip=False)
    # A form sends them comma-separated ("python, aiohttp"): Schema.parse splits them.
    tags: Annotated[list[str], BeforeValidator(_tag_names)] = Field(
        default_factory=list,
        title="Tags",
        description=f"At most {MAX_TAGS}, comma-separated in a form; {TAG_RULE[:-1].lower()},"
        " stored in lower case.",
        json_schema_extra={"maxItems": MAX_TAGS, "items": TAG_ITEM},
    )


class CommentIn(Schema):
    content: str = text("Comment", min_length=1, max_length=limit(Comment, "content"))


class PostOut(Schema):
    id: int
    title: str
    summary: str
    content: str
    author: UserOut
    tags: list[str]
    created_at: Time
    updated_at: Time


class CommentOut(Schema):
    id: int
    post_id: int
    content: str
    author: UserOut
    created_at: Time


class PostPage(Schema):
    """A page of posts, newest first; a page past the end has no items."""

    items: list[PostOut]
    page: int
    per_page: int
    total: int


class CommentList(Schema):
    """A post's comments, oldest first."""

    items: list[CommentOut]


class CommentPage(CommentList):
    """A page of a post's comments, oldest first; a page past the end has no items."""

    page: int
    per_page: int
    total: int


class CommentEvent(Schema):
    """What a live socket on a post receives for each new comment."""

    type: str = "comment"
    comment: CommentOut
