"""The posts, their HTML and comments tables."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


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


class PostHtml(Model):
    """A post's content as HTML, rendered off the loop when the post is saved (actions.py).
    Apart from posts, so that lists of posts never load it; valid while its source_hash
    is the post's content's and its version the renderer's (www/markdown.py): else the
    post page renders it again, so an edit made around the actions (a script, the admin)
    or a new renderer never shows stale HTML."""

    __table__ = "post_html"

    post_id = ForeignKey(Post, unique=True)  # one a post; deleting the post deletes it
    source_hash = TextField(max_length=64)  # sha256 of the content, in hex
    version = IntegerField()  # the RENDERER_VERSION that made it
    html = TextField()
