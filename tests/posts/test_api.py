"""Posts and comments in the JSON API (www/posts/api.py): statuses, shapes, permissions."""

import asyncio

import pytest

from tests.helpers import error_of, make_post, send, statements_read
from www import DB
from www.keys import PUBSUB
from www.posts import api
from www.posts.models import Comment, Post

POST_KEYS = {"id", "tags", "title", "summary", "content", "author", "created_at", "updated_at"}
COMMENT_KEYS = {"id", "post_id", "content", "author", "created_at"}


# --- posts --------------------------------------------------------------------------------


async def test_list_posts_newest_first_with_the_default_page_size(auth, client, app, settings):
    alice = await auth.create_user("alice")
    per_page = settings.blog.per_page
    posts = [await make_post(app, alice, n) for n in range(per_page + 1)]
    resp = await client.get("/api/posts")
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, per_page, per_page + 1)
    assert [item["id"] for item in body["items"]] == [p.id for p in reversed(posts[1:])]
    item = body["items"][0]
    assert item.keys() == POST_KEYS
    assert item["author"] == {"id": alice.id, "name": "alice"}
    assert item["created_at"].endswith("+00:00")
    second = await (await client.get("/api/posts?page=2")).json()
    assert [item["id"] for item in second["items"]] == [posts[0].id]


async def test_list_posts_page_and_per_page(auth, client, app):
    alice = await auth.create_user("alice")
    posts = [await make_post(app, alice, n) for n in range(5)]
    body = await (await client.get("/api/posts?page=2&per_page=2")).json()
    assert [item["id"] for item in body["items"]] == [posts[2].id, posts[1].id]
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 5)
    past = await client.get("/api/posts?page=9&per_page=2")
    assert past.status == 200
    assert (await past.json())["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=x", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=99999999999999999999", "page"),
    ],
)
async def test_list_posts_invalid_query_is_422(client, query, field):
    error = await error_of(await client.get(f"/api/posts?{query}"), 422)
    assert error["fields"].keys() == {field}
    assert error["message"] == "Some fields are not valid."


async def test_list_posts_loads_authors_in_one_query(auth, client, app):
    for name in ("alice", "bob", "carol"):
        await make_post(app, await auth.create_user(name))
    with statements_read(app[DB]) as queries:
        body = await (await client.get("/api/posts")).json()
    assert {item["author"]["name"] for item in body["items"]} == {"alice", "bob", "carol"}
    assert sum('FROM "users"' in sql for sql in queries) == 1


async def test_create_post_is_201_with_location(auth, client):
    alice = await auth.login_as("alice")
    resp = await send(client, "POST", "/api/posts", {"title": "  Hello  ", "content": "# Hi"})
    assert resp.status == 201
    body = await resp.json()
    assert resp.headers["Location"] == f"/api/posts/{body['id']}"
    assert body.keys() == POST_KEYS
    assert body["title"] == "Hello" and body["summary"] == "" and body["content"] == "# Hi"
    assert body["author"] == {"id": alice.id, "name": "alice"}
    again = await client.get(resp.headers["Location"])
    assert again.status == 200
    assert await again.json() == body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title": "Title is required."}),
        ({"title": "   "}, {"title": "Title is required."}),
        ({"title": "x" * 201}, {"title": "Title must be at most 200 characters."}),
        ({"title": 5}, {"title": "Title must be text."}),
        (
            {"title": "ok", "summary": "s" * 501},
            {"summary": "Summary must be at most 500 characters."},
        ),
        ({"title": "ok", "titel": "typo"}, {"titel": "Unknown field."}),
    ],
)
async def test_create_post_invalid_is_422_with_fields(auth, client, app, body, fields):
    await auth.login_as("alice")
    error = await error_of(await send(client, "POST", "/api/posts", body), 422)
    assert error == {"status": 422, "message": "Some fields are not valid.", "fields": fields}
    assert await Post.select(app[DB]).count() == 0


async def test_get_post(auth, client, app, post):
    resp = await client.get(f"/api/posts/{post.id}")
    assert resp.status == 200
    body = await resp.json()
    assert body["id"] == post.id and body["title"] == post.title
    assert body["author"]["name"] == "author"


@pytest.mark.parametrize("path", ["/api/posts/999", "/api/posts/abc", "/api/posts/" + "9" * 19])
async def test_missing_post_is_404(client, path):
    await error_of(await client.get(path), 404)


async def test_update_post_changes_only_the_given_fields(auth, client, app):
    alice = await auth.login_as("alice")
    post = await make_post(app, alice)
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"title": " New title "})
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == POST_KEYS
    assert (body["title"], body["summary"], body["content"]) == ("New title", post.summary, "Body")
    assert body["updated_at"] > body["created_at"]
    assert (await Post.get(app[DB], post.id)).title == "New title"


async def test_admin_may_update_and_the_author_stays(auth, client, app, post):
    await auth.login_as("root", is_admin=True)
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"summary": "Edited"})
    assert resp.status == 200
    body = await resp.json()
    assert body["summary"] == "Edited" and body["author"]["name"] == "author"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": ""}, {"title": "Title is required."}),
        ({"content": None, "id": 3}, {"id": "Unknown field."}),
        ({"content": ["x"]}, {"content": "Content must be text."}),
    ],
)
async def test_update_post_invalid_is_422(auth, client, app, body, fields):
    post = await make_post(app, await auth.login_as("alice"))
    error = await error_of(await send(client, "PATCH", f"/api/posts/{post.id}", body), 422)
    assert error["fields"] == fields
    assert (await Post.get(app[DB], post.id)).content == "Body"


async def test_delete_post_is_204_and_its_comments_go(auth, client, app):
    alice = await auth.login_as("alice")
    post = await make_post(app, alice)
    await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="c")
    resp = await send(client, "DELETE", f"/api/posts/{post.id}")
    assert resp.status == 204
    assert await resp.read() == b""
    assert await Post.get(app[DB], post.id) is None
    assert await Comment.select(app[DB]).count() == 0
    await error_of(await client.get(f"/api/posts/{post.id}"), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/posts/{id}", {"title": "x"}),
        ("POST", "/api/posts/{id}/comments", {"content": "x"}),
    ],
)
async def test_post_deleted_meanwhile_is_404_not_500(
    auth, client, app, monkeypatch, method, path, body
):
    post = await make_post(app, await auth.login_as("alice"))
    found = api.get_or_404

    async def deleted_after_lookup(model, request):
        obj = await found(model, request)
        await Post.select(app[DB]).where(id=obj.id).delete()  # by a concurrent request
        return obj

    monkeypatch.setattr(api, "get_or_404", deleted_after_lookup)
    await error_of(await send(client, method, path.format(id=post.id), body), 404)
    assert await Comment.select(app[DB]).count() == 0


# --- comments -----------------------------------------------------------------------------
async def test_list_comments_oldest_first(auth, client, app, post):
    bob = await auth.create_user("bob")
    first = await Comment.create(app[DB], post_id=post.id, user_id=bob.id, content="first")
    second = await Comment.create(app[DB], post_id=post.id, user_id=post.user_id, content="2nd")
    resp = await client.get(f"/api/posts/{post.id}/comments")
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == {"items", "page", "per_page", "total"}  # the contract's, and more
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 2)
    assert [item["id"] for item in body["items"]] == [first.id, second.id]
    assert body["items"][0] == {
        "id": first.id,
        "post_id": post.id,
        "content": "first",
        "author": {"id": bob.id, "name": "bob"},
        "created_at": first.created_at.isoformat(),
    }
    await error_of(await client.get("/api/posts/999/comments"), 404)


async def test_create_comment_is_201_and_reaches_live_sockets(auth, client, app, post):
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    async with asyncio.timeout(5):
        while app[PUBSUB].subscribers(f"post:{post.id}") < 1:
            await asyncio.sleep(0.01)
    bob = await auth.login_as("bob")
    resp = await send(client, "POST", f"/api/posts/{post.id}/comments", {"content": " Hi "})
    assert resp.status == 201
    body = await resp.json()
    assert body.keys() == COMMENT_KEYS
    assert (body["post_id"], body["content"]) == (post.id, "Hi")
    assert body["author"] == {"id": bob.id, "name": "bob"}
    assert await ws.receive_json(timeout=5) == {"type": "comment", "comment": body}
    await ws.close()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"content": "Comment is required."}),
        ({"content": "x" * 5001}, {"content": "Comment must be at most 5000 characters."}),
        ({"content": "ok", "post_id": 2}, {"post_id": "Unknown field."}),
    ],
)
async def test_create_comment_invalid_is_422(auth, client, app, post, body, fields):
    await auth.login_as("bob")
    error = await error_of(await send(client, "POST", f"/api/posts/{post.id}/comments", body), 422)
    assert error["fields"] == fields
    assert await Comment.select(app[DB]).count() == 0
