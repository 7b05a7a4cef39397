"""The posts, their HTML, tags and comments tables."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


class Post(Model):
    # Not columns: `author`, the User, and `tags`, the names of its tags (sorted), both set
    # by the loaders in actions.py (tags in one query for a whole page: tags.py).
    __slots__ = ("author", "tags")

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
    """A post's content as HTML, rendered off the loop when the post is saved (rendering.py).
    Apart from posts, so that lists of posts never load it; valid while its source_hash
    is the post's content's and its version the renderer's (www/markdown.py): else the
    post page renders it again, so an edit made around the actions (a script, the admin)
    or a new renderer never shows stale HTML."""

    __table__ = "post_html"

    post_id = ForeignKey(Post, unique=True)  # one a post; deleting the post deletes it
    source_hash = TextField(max_length=64)  # sha256 of the content, in hex
    version = IntegerField()  # the RENDERER_VERSION that made it
    html = TextField()


# The columns search looks in, the most telling first (they weigh most in the ranking):
# migrations/0009_post_search.py indexes them (www/posts/search.py).
SEARCHED = ("title", "summary", "content")


class Tag(Model):
    """A tag's name: lower-case letters, digits and "-" (schemas.py says it once). A tag no
    post has any more is kept (a few bytes): it has no page, and it comes back with its id
    when a post takes it again, with no race between a post taking it and its deletion."""

    name = TextField(max_length=30, unique=True)


class PostTag(Model):
    """Which post has which tag: deleting either deletes the link."""

    __table__ = "post_tags"
    __unique__ = (("post_id", "tag_id"),)  # its index also finds a post's tags

    post_id = ForeignKey(Post, index=False)
    tag_id = ForeignKey(Tag)  # a tag's posts
