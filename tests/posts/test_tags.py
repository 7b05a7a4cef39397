"""Tags: on the post form (comma-separated) and in the API (a list), one rule for both and
the admin; shown as links on posts and lists; a tag's page; ?tag= in the API; a page's
tags loaded in one query."""

import html
import re

import pytest

from tests.conftest import overrides_for
from tests.helpers import error_of, make_post, send, statements_read
from www import DB
from www.posts.models import Post, PostTag, Tag
from www.posts.schemas import MAX_TAGS, TAG_RULE, TOO_MANY_TAGS
from www.settings import load_settings

TAG_LINK = re.compile(r'<a class="tag" rel="tag" href="(/tags/[^"]+)">([^<]+)</a>')


@pytest.fixture(name="settings")
def two_a_page(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["blog"] = {"per_page": 2}
    return load_settings(overrides=overrides, environ={})


def tag_links(page: str) -> list[tuple[str, str]]:
    return TAG_LINK.findall(page)


async def publish(auth, **values) -> int:
    resp = await auth.post("/posts/new", {"title": "Tagged", "content": "Body", **values})
    assert resp.status == 303, await resp.text()
    return int(resp.headers["Location"].rsplit("/", 1)[1])


async def test_the_form_takes_comma_separated_tags_stored_lower_case_once(auth, client):
    await auth.login_as("alice")
    post_id = await publish(auth, tags=" Python, aiohttp,python ,, \uff21\uff30\uff29, web-dev")
    page = await (await client.get(f"/posts/{post_id}")).text()
    assert tag_links(page) == [
        ("/tags/aiohttp", "aiohttp"),
        ("/tags/api", "api"),
        ("/tags/python", "python"),
        ("/tags/web-dev", "web-dev"),
    ]
    form = await (await client.get(f"/posts/{post_id}/edit")).text()
    assert 'value="aiohttp, api, python, web-dev"' in form


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (", ".join(f"t{n}" for n in range(MAX_TAGS + 1)), TOO_MANY_TAGS),
        ("fine, not fine", TAG_RULE),
        ("x" * 31, TAG_RULE),
        ("under_score", TAG_RULE),
        ("<script>", TAG_RULE),
    ],
)
async def test_the_form_refuses_bad_tags_with_the_message_and_the_input(auth, app, typed, message):
    await auth.login_as("alice")
    resp = await auth.post("/posts/new", {"title": "Kept", "tags": typed})
    assert resp.status == 400
    page = await resp.text()
    assert html.escape(message, quote=False) in page
    assert f'value="{html.escape(typed)}"' in page and 'value="Kept"' in page
    assert await Post.select(app[DB]).count() == 0


async def test_ten_tags_are_fine_and_repeats_count_once(auth):
    await auth.login_as("alice")
    tags = [f"t{n}" for n in range(MAX_TAGS)]
    await publish(auth, tags=", ".join(tags + [t.upper() for t in tags]))


async def test_the_api_takes_and_gives_lists(auth, client):
    await auth.login_as("alice")
    resp = await send(client, "POST", "/api/posts", {"title": "T", "tags": ["Zeta", "alpha"]})
    assert resp.status == 201
    post = await resp.json()
    assert post["tags"] == ["alpha", "zeta"]
    path = f"/api/posts/{post['id']}"
    resp = await send(client, "PATCH", path, {"title": "Renamed"})  # tags untouched
    assert (await resp.json())["tags"] == ["alpha", "zeta"]
    resp = await send(client, "PATCH", path, {"tags": ["beta"]})
    assert (await resp.json())["tags"] == ["beta"]
    assert (await (await client.get(path)).json())["tags"] == ["beta"]
    resp = await send(client, "PATCH", path, {"tags": []})
    assert (await resp.json())["tags"] == []


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([f"t{n}" for n in range(MAX_TAGS + 1)], TOO_MANY_TAGS),
        (["a b"], TAG_RULE),
        ([""], TAG_RULE),
        ("python, aiohttp", "Tags must be a list."),  # the API takes a list, not a form's text
        ([1], "Tags must be text."),
    ],
)
async def test_the_api_refuses_bad_tags_with_422(auth, client, tags, message):
    await auth.login_as("alice")
    resp = await send(client, "POST", "/api/posts", {"title": "T", "tags": tags})
    error = await error_of(resp, 422)
    assert error["fields"] == {"tags": message}


async def test_a_tag_page_lists_its_posts_newest_first_by_pages(auth, client, app):
    alice = await auth.create_user("alice")
    posts = [await make_post(app, alice, n) for n in range(4)]
    other = await make_post(app, alice, 9)
    for post in posts[:3]:
        await PostTag.create(app[DB], post_id=post.id, tag_id=(await tag_id(app, "news")))
    first = await (await client.get("/tags/news")).text()
    assert "Post 2" in first and "Post 1" in first and "Post 0" not in first
    assert first.index("Post 2") < first.index("Post 1")
    assert 'href="/tags/news?page=2"' in first
    second = await client.get("/tags/NEWS?page=2")  # any letter case
    assert second.status == 200 and "Post 0" in await second.text()
    assert other.title not in first + await second.text()
    assert (await client.get("/tags/news?page=3")).status == 404
    assert (await client.get("/tags/unknown")).status == 404
    assert (await client.get("/tags/not%20a%20tag")).status == 404


async def tag_id(app, name: str) -> int:
    found = await Tag.select(app[DB]).where(name=name).first()
    return found.id if found else (await Tag.create(app[DB], name=name)).id


async def test_tags_link_from_the_lists_and_the_api_filters(auth, client):
    await auth.login_as("alice")
    tagged = await publish(auth, title="Tagged post", tags="aiohttp")
    await publish(auth, title="Plain post")
    home = await (await client.get("/")).text()
    assert tag_links(home) == [("/tags/aiohttp", "aiohttp")]
    assert tag_links(await (await client.get("/tags/aiohttp")).text())
    body = await (await client.get("/api/posts?tag=AIOHTTP")).json()
    assert [item["id"] for item in body["items"]] == [tagged] and body["total"] == 1
    body = await (await client.get("/api/posts?tag=nothing")).json()
    assert body["items"] == [] and body["total"] == 0
    error = await error_of(await client.get("/api/posts?tag=a%20b"), 422)
    assert error["fields"] == {"tag": TAG_RULE}


async def test_a_pages_tags_are_one_query(auth, client, app):
    alice = await auth.create_user("alice")
    news = await tag_id(app, "news")
    for n in range(2):
        post = await make_post(app, alice, n)
        await PostTag.create(app[DB], post_id=post.id, tag_id=news)
        await PostTag.create(app[DB], post_id=post.id, tag_id=await tag_id(app, f"t{n}"))
    for path in ("/", "/tags/news", f"/users/{alice.id}", "/api/posts?per_page=5"):
        with statements_read(app[DB]) as queries:
            page = await (await client.get(path)).text()
        assert '"t0"' in page or "/tags/t0" in page, path
        assert '"t1"' in page or "/tags/t1" in page, path
        loads = [sql for sql in queries if sql.startswith('SELECT "post_tags"."post_id"')]
        assert len(loads) == 1, (path, queries)  # for both posts


async def test_new_tags_show_at_once_despite_the_page_cache(auth, client):
    await auth.login_as("alice")
    post_id = await publish(auth, tags="before")
    assert "/tags/before" in await (await client.get("/")).text()
    resp = await auth.post(f"/posts/{post_id}/edit", {"title": "Tagged", "tags": "after"})
    assert resp.status == 303
    home = await (await client.get("/")).text()
    assert "/tags/after" in home and "/tags/before" not in home
    assert (await client.get("/tags/before")).status == 404  # no post has it any more
    assert (await client.get("/tags/after")).status == 200


async def test_deleting_a_post_or_a_tag_takes_the_links(auth, client, app):
    await auth.login_as("alice")
    first = await publish(auth, tags="one, two")
    await publish(auth, tags="two")
    assert (await auth.post(f"/posts/{first}/delete")).status == 303
    assert await PostTag.select(app[DB]).count() == 1
    assert (await client.get("/tags/one")).status == 404
    await (await Tag.select(app[DB]).where(name="two").first()).delete(app[DB])
    assert await PostTag.select(app[DB]).count() == 0


async def test_the_admin_edits_tags_as_text_with_the_same_rule(auth, client, app):
    await auth.login_as("root", is_admin=True)
    post_id = await publish(auth, tags="one, two")
    form = await (await client.get(f"/admin/posts/{post_id}")).text()
    assert re.search(r'<input[^>]*name="tags"[^>]*value="one, two"', form), form
    values = {"title": "Tagged", "summary": "", "content": "Body"}
    resp = await auth.post(f"/admin/posts/{post_id}", {**values, "tags": "Three"})
    assert resp.status == 303
    assert (await (await client.get(f"/api/posts/{post_id}")).json())["tags"] == ["three"]
    resp = await auth.post(f"/admin/posts/{post_id}", {**values, "tags": "no good"})
    assert resp.status == 400
    assert html.escape(TAG_RULE, quote=False) in await resp.text()
    resp = await auth.post("/admin/posts/new", {**values, "tags": "New, new"})
    assert resp.status == 303
    created = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert (await (await client.get(f"/api/posts/{created}")).json())["tags"] == ["new"]
