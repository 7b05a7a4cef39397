"""Titles and comments that show nothing (zero-width, format or other invisible characters,
with or without spaces) are refused like empty ones, on the pages and in the API."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import error_of, make_post, send
from www import DB
from www.posts.models import Comment, Post
from www.posts.schemas import CommentIn, PostIn
from www.schemas import Invalid

INVISIBLE = ["\u200b", "\u200c\u200d", "\ufeff", "\u2060 \u2063", "\u202e", "\u3164", "\u2800"]
NOTHING = st.text(st.sampled_from([*"\u200b\u200c\u200d\u2060\ufeff\u202e\u2066\u3164", " "]))


@pytest.mark.parametrize("title", INVISIBLE)
async def test_page_title_of_invisible_characters(auth, app, title):
    await auth.login_as()
    resp = await auth.post("/posts/new", {"title": title, "content": "Body"})
    assert resp.status == 400
    assert "Title is required." in await resp.text()
    assert await Post.select(app[DB]).count() == 0


@pytest.mark.parametrize("content", INVISIBLE)
async def test_page_comment_of_invisible_characters(auth, app, content):
    post = await make_post(app, await auth.login_as())
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": content})
    assert resp.status == 400
    assert "Comment is required." in await resp.text()
    assert await Comment.select(app[DB]).count() == 0


async def test_api_title_and_comment_of_invisible_characters(auth, client, app):
    post = await make_post(app, await auth.login_as())
    for method, path, body, field, message in [
        ("POST", "/api/posts", {"title": "\u200b"}, "title", "Title is required."),
        ("PATCH", f"/api/posts/{post.id}", {"title": " \u200d "}, "title", "Title is required."),
        ("POST", f"/api/posts/{post.id}/comments", {"content": "\ufeff"}, "content", None),
    ]:
        error = await error_of(await send(client, method, path, body), 422)
        assert error["fields"] == {field: message or "Comment is required."}
    assert (await Post.get(app[DB], post.id)).title == "Post 1"


async def test_visible_text_with_invisible_characters_is_kept(auth, app):
    await auth.login_as()
    resp = await auth.post("/posts/new", {"title": "Hello\u200bworld", "content": "x"})
    assert resp.status == 303
    assert (await Post.select(app[DB]).first()).title == "Hello\u200bworld"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(NOTHING)
def test_nothing_visible_is_required(value):
    for schema, field, message in [
        (PostIn, "title", "Title is required."),
        (CommentIn, "content", "Comment is required."),
    ]:
        with pytest.raises(Invalid) as info:
            schema.parse({field: value})
        assert info.value.errors == {field: message}
