"""Posts and comments in the admin (www/admin/options.py): posts are created and edited
with the form's own schema and actions (their HTML is rendered as the app does, their tags
saved with them and shown comma-separated); comments are read and deleted only. Tags and
their links are listed; deleting a tag takes it off its posts."""

from ..admin.options import ModelAdmin
from ..keys import DB
from . import actions
from .models import Comment, Post, PostHtml
from .schemas import PostIn
from .tags import load_tags


async def load_posts_tags(app, posts) -> None:
    await load_tags(app[DB], posts)


ADMIN = [
    ModelAdmin(
        Post,
        schema=PostIn,
        list_display=("title", "user_id", "created_at", "updated_at"),
        search_fields=("title", "summary", "content"),
        list_filter=("user_id", "created_at"),
        ordering=("-created_at",),
        create=actions.publish_post,
        update=actions.update_post,
        delete=actions.delete_post,
        load=load_posts_tags,
    ),
    ModelAdmin(
        Comment,
        list_display=("post_id", "user_id", "content", "created_at"),
        search_fields=("content",),
        ordering=("-created_at",),
        delete=actions.delete_comment,
    ),
    ModelAdmin(PostHtml, enabled=False),  # a cache of the posts' HTML, made from them
]
