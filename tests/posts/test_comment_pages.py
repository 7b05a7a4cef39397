"""Comments a page at a time: on the post page (the last page by default) and in the API."""

import re

import pytest

from tests.conftest import overrides_for
from tests.helpers import error_of
from www import DB
from www.posts.models import Comment
from www.settings import load_settings

PER_PAGE = 3
COMMENT_ID = re.compile(r'id="comment-(\d+)"')


@pytest.fixture
def settings(tmp_path, db_url):
    """The suite's settings with 3 comments a page (overrides conftest's fixture)."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["blog"] = {"comments_per_page": PER_PAGE}
    return load_settings(overrides=overrides, environ={})


async def comments(app, post, count) -> list[int]:
    """`count` comments on `post`, oldest first: their ids."""
    rows = [
        await Comment.create(app[DB], post_id=post.id, user_id=post.user_id, content=f"c{n}")
        for n in range(count)
    ]
    return [row.id for row in rows]


async def shown(client, path) -> list[int]:
    resp = await client.get(path)
    assert resp.status == 200
    return [int(found) for found in COMMENT_ID.findall(await resp.text())]


async def test_the_post_page_shows_the_last_page_of_comments(client, app, post):
    ids = await comments(app, post, 7)  # pages: 3, 3, 1
    assert await shown(client, f"/posts/{post.id}") == ids[6:]
    assert await shown(client, f"/posts/{post.id}?page=1") == ids[:3]
    assert await shown(client, f"/posts/{post.id}?page=2") == ids[3:6]
    assert await shown(client, f"/posts/{post.id}?page=3") == ids[6:]
    body = await (await client.get(f"/posts/{post.id}?page=2")).text()
    assert f'href="/posts/{post.id}?page=1#comments-title"' in body
    assert f'href="/posts/{post.id}?page=3#comments-title"' in body
    assert "Comments page 2 of 3" in body


@pytest.mark.parametrize("page", ["4", "0", "-1", "x", "\uff11", "99999999999"])
async def test_a_page_past_the_end_or_not_a_page_is_404(client, app, post, page):
    await comments(app, post, 7)
    assert (await client.get(f"/posts/{post.id}", params={"page": page})).status == 404


async def test_without_comments_there_is_one_empty_page(client, app, post):
    for path in (f"/posts/{post.id}", f"/posts/{post.id}?page=1"):
        resp = await client.get(path)
        assert resp.status == 200
        body = await resp.text()
        assert "No comments yet." in body and 'class="pagination"' not in body
    assert (await client.get(f"/posts/{post.id}?page=2")).status == 404


async def test_a_new_comment_lands_on_the_page_the_redirect_shows(auth, client, app, post):
    await comments(app, post, PER_PAGE)  # a full page: the new one starts the next
    await auth.login_as()
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": "mine"})
    assert resp.status == 303
    location = resp.headers["Location"]
    path, fragment = location.split("#")
    assert path == f"/posts/{post.id}" and fragment.startswith("comment-")
    assert await shown(client, path) == [int(fragment.removeprefix("comment-"))]


async def test_only_the_last_page_gets_live_comments(client, app, post):
    await comments(app, post, 4)
    last = await (await client.get(f"/posts/{post.id}")).text()
    assert f'data-live-url="/ws/posts/{post.id}"' in last
    first = await (await client.get(f"/posts/{post.id}?page=1")).text()
    assert "data-live-url" not in first


async def test_the_page_holds_a_page_of_comments_not_all(client, app, post):
    """The finding: 3,000 comments of 5 KB made a 15.6 MB post page."""
    big = "x" * 5000
    await Comment.insert_many(
        app[DB], [{"post_id": post.id, "user_id": post.user_id, "content": big}] * 200
    )
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert body.count(big) == 200 - 66 * PER_PAGE  # the last page: 2 of them
    assert len(body) < 10 * 5000 * PER_PAGE


async def test_the_api_pages_comments_oldest_first(client, app, post):
    ids = await comments(app, post, 7)
    resp = await client.get(f"/api/posts/{post.id}/comments")
    assert resp.status == 200
    body = await resp.json()
    assert [c["id"] for c in body["items"]] == ids[:3]
    assert (body["page"], body["per_page"], body["total"]) == (1, PER_PAGE, 7)
    body = await (await client.get(f"/api/posts/{post.id}/comments?page=2&per_page=5")).json()
    assert [c["id"] for c in body["items"]] == ids[5:]
    assert (body["page"], body["per_page"], body["total"]) == (2, 5, 7)
    body = await (await client.get(f"/api/posts/{post.id}/comments?page=9")).json()
    assert (body["items"], body["total"]) == ([], 7)  # past the end: empty, as /api/posts
    body = await (await client.get(f"/api/posts/{post.id}/comments?per_page=100")).json()
    assert [c["id"] for c in body["items"]] == ids


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "per_page=0", "per_page=101", "per_page=", "page=10000000"]
)
async def test_the_api_refuses_a_bad_page_with_422(client, post, query):
    error = await error_of(await client.get(f"/api/posts/{post.id}/comments?{query}"), 422)
    assert error["fields"].keys() & {"page", "per_page"}


async def test_the_api_comments_of_a_missing_post_are_404(client):
    await error_of(await client.get("/api/posts/999/comments?page=2"), 404)


async def test_the_api_documents_page_and_per_page(client):
    document = await (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/posts/{id}/comments"]["get"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert query.keys() == {"page", "per_page"}
    assert query["per_page"]["schema"]["maximum"] == 100
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["required"]) >= {"items", "page", "per_page", "total"}
