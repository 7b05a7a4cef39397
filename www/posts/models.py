"""The posts and comments tables."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, Model, TextField, utcnow


class Post(Model):
    __slots__ = ("author",)  # the User, set by the loaders in actions.py (not a column)

    user_id = ForeignKey(User)
    title = TextField(max_length=200)
    summary = TextField(max_length=500, default="")
    content = TextField(max_length=100_000, default="")  # Markdown
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow, auto_now=True)


class Comment(Model):
    __slots__ = ("author",)  # the User, set by the loaders in actions.py (not a column)

    post_id = ForeignKey(Post)  # deleting a post deletes its comments
    user_id = ForeignKey(User)
    content = TextField(max_length=5000)
    created_at = DateTimeField(default=utcnow)
