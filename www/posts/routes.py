"""The URLs of posts, comments, tags and search, each with a name: url("posts.detail", id=7)."""

from aiohttp import web

from ..routing import ID
from . import api, feeds, live, pages

PAGES = [
    web.get("/", pages.index, name="posts.index"),
    web.get(f"/users/{ID}", pages.author, name="posts.author"),
    web.get("/tags/{tag}", pages.tag, name="posts.tag"),
    web.get("/search", pages.search, name="posts.search"),
    web.get("/feed.atom", feeds.site, name="posts.feed"),  # Atom (www/feeds.py)
    web.get(f"/users/{ID}/feed.atom", feeds.author, name="posts.author_feed"),
    web.get("/tags/{tag}/feed.atom", feeds.tag, name="posts.tag_feed"),
    web.get("/posts/new", pages.new, name="posts.new"),
    web.post("/posts/new", pages.create, name="posts.new"),
    web.get(f"/posts/{ID}", pages.detail, name="posts.detail"),
    web.get(f"/posts/{ID}/edit", pages.edit, name="posts.edit"),
    web.post(f"/posts/{ID}/edit", pages.update, name="posts.edit"),
    web.post(f"/posts/{ID}/delete", pages.delete, name="posts.delete"),
    web.post(f"/posts/{ID}/comments", pages.comment, name="posts.comment"),
    web.post(f"/comments/{ID}/delete", pages.delete_comment, name="comments.delete"),
    web.get(f"/ws/posts/{ID}", live.post_socket, name="posts.live"),
]

API = [  # under /api/ (www/api.py)
    web.get("/posts", api.list_posts, name="api.posts.list"),
    web.post("/posts", api.create_post, name="api.posts.list"),
    web.get(f"/posts/{ID}", api.get_post, name="api.posts.detail"),
    web.patch(f"/posts/{ID}", api.update_post, name="api.posts.detail"),
    web.delete(f"/posts/{ID}", api.delete_post, name="api.posts.detail"),
    web.get(f"/posts/{ID}/comments", api.list_comments, name="api.posts.comments"),
    web.post(f"/posts/{ID}/comments", api.create_comment, name="api.posts.comments"),
]
