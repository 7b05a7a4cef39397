"""The posts and comments tables."""

from ..accounts.models import User
from ..orm import DateTimeField, ForeignKey, IntegerField, Model, TextField, utcnow


class Post(Model):
    __slots__ = ("author",)  # the User, set by the loaders in actions.py (not a column)

    user_id = ForeignKey(User)
    title = TextField(max_length=200)
    summary = TextField(max_length=500, default="")
    content = TextField(max_length=100_000, default="")  # Markdown
    # Its HTML, rendered when saved (actions.py), valid while html_version is the
    # renderer's RENDERER_VERSION (www/markdown.py); 0: to render when next read.
    content_html = TextField(default="")
    html_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow, auto_now=True)

    async def save(self, db):
        """Save; new content saved without its HTML (an admin's edit, a script) marks the
        stored HTML stale, so that it is rendered again when next read."""
        changed = self.changed_fields
        if self._saved is not None and "content" in changed and "content_html" not in changed:
            self.html_version = 0
        return await super().save(db)


class Comment(Model):
    __slots__ = ("author",)  # the User, set by the loaders in actions.py (not a column)

    post_id = ForeignKey(Post)  # deleting a post deletes its comments
    user_id = ForeignKey(User)
    content = TextField(max_length=5000)
    created_at = DateTimeField(default=utcnow)
