"""What a post and a comment may hold (forms and API), and their JSON shapes."""

from ..accounts.schemas import UserOut
from ..schemas import Schema, Time, limit, text
from .models import Comment, Post


class PostIn(Schema):
    """A post as written in the form or sent to the API (PATCH sends any of the fields)."""

    title: str = text("Title", min_length=1, max_length=limit(Post, "title"))
    summary: str = text("Summary", max_length=limit(Post, "summary"))
    # Markdown: leading spaces are meaningful (indented code), so the content is kept as is.
    content: str = text("Content", max_length=limit(Post, "content"), strip=False)


class CommentIn(Schema):
    content: str = text("Comment", min_length=1, max_length=limit(Comment, "content"))


class PostOut(Schema):
    id: int
    title: str
    summary: str
    content: str
    author: UserOut
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
