"""The response cache (www/responses.py): anonymous GETs answered from memory, never stale,
never one user's page to another, and dropped only when a table they read changes.

"Another process" is another connection to the same database (`other`), as a second
worker or `python -m www.admin` would be: nothing in this process hears of its writes.
"""

import re

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GuardedTestServer, overrides_for, with_tables
from tests.databases import open_database
from tests.helpers import make_post
from www import DB
from www.accounts.models import User
from www.app import create_app
from www.keys import RESPONSES
from www.posts.models import Comment, Post
from www.settings import load_settings

TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


@pytest.fixture
async def other(db_url, client):
    """Another connection to the app's database, as another process would hold (opened
    once the app has migrated it)."""
    async with open_database(db_url) as database:
        yield database


@pytest.fixture
async def author(app, client):
    """A user who writes posts (made once the app's database is migrated)."""
    return await User.create(app[DB], name="author", email="a@example.com", password_hash="x")


async def test_a_second_anonymous_get_is_answered_from_memory(app, client, author):
    await make_post(app, author, title="Kept")
    first = await client.get("/")
    assert first.status == 200 and "Kept" in await first.text()
    hits = app[RESPONSES].hits
    second = await client.get("/")
    assert app[RESPONSES].hits == hits + 1
    assert await second.read() == await first.read()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert "Content-Security-Policy" in second.headers  # added to every answer, as before


async def test_if_none_match_is_answered_304_without_a_body(app, client, author):
    await make_post(app, author)
    etag = (await client.get("/api/posts")).headers["ETag"]
    for _ in range(2):  # on the response that was just kept, and from memory
        resp = await client.get("/api/posts", headers={"If-None-Match": etag})
        assert resp.status == 304 and await resp.read() == b""
        assert resp.headers["ETag"] == etag
    other = await client.get("/api/posts", headers={"If-None-Match": '"something-else"'})
    assert other.status == 200 and other.headers["ETag"] == etag


@pytest.mark.parametrize("page", ["/", "/api/posts", "post"])
async def test_a_write_by_another_process_is_seen_by_the_very_next_request(
    app, client, author, other, page
):
    post = await make_post(app, author, title="Old title")
    path = f"/posts/{post.id}" if page == "post" else page
    assert "Old title" in await (await client.get(path)).text()
    assert "Old title" in await (await client.get(path)).text()  # kept
    await Post.select(other).where(id=post.id).update(title="New title")
    text = await (await client.get(path)).text()
    assert "New title" in text and "Old title" not in text


async def test_a_new_comment_leaves_the_kept_list_of_posts_alone(app, client, author, other):
    post = await make_post(app, author, title="Quiet")
    await client.get("/")
    await client.get(f"/posts/{post.id}")
    await Comment.create(other, post_id=post.id, user_id=author.id, content="A new remark")
    hits = app[RESPONSES].hits
    assert "Quiet" in await (await client.get("/")).text()
    assert app[RESPONSES].hits == hits + 1  # the home page reads no comment
    assert "A new remark" in await (await client.get(f"/posts/{post.id}")).text()
    assert app[RESPONSES].hits == hits + 1  # the post page does: rendered again


async def test_a_users_page_is_never_served_to_another(app, client, auth):
    await auth.login_as("alice")
    mine = await client.get("/")
    assert "alice" in await mine.text() and "ETag" not in mine.headers
    async with aiohttp.ClientSession() as stranger:  # another browser: no cookie
        for _ in range(2):
            async with stranger.get(client.make_url("/")) as theirs:
                assert "alice" not in await theirs.text()
    assert app[RESPONSES].hits == 1
    assert "alice" in await (await client.get("/")).text()  # the kept page is not hers


async def test_a_response_that_starts_a_session_is_not_kept(app, client):
    tokens = set()
    for _ in range(2):
        client.session.cookie_jar.clear()
        resp = await client.get("/login")  # its form's CSRF token starts a session
        assert "Set-Cookie" in resp.headers and "ETag" not in resp.headers
        tokens.add(TOKEN.search(await resp.text()).group(0))
    assert len(tokens) == 2 and app[RESPONSES].hits == 0


async def test_a_request_with_an_authorization_header_passes_by(app, client):
    """Even a kept, current page: the header's token decides (here, that it is wrong)."""
    await client.get("/api/posts")
    await client.get("/api/posts")
    hits = app[RESPONSES].hits
    resp = await client.get("/api/posts", headers={"Authorization": "Bearer www_not-a-token"})
    assert resp.status == 401 and app[RESPONSES].hits == hits


async def test_the_health_check_is_never_kept(app, client):
    for _ in range(2):
        resp = await client.get("/healthz")
        assert resp.headers["Cache-Control"] == "no-store" and "ETag" not in resp.headers
    assert app[RESPONSES].hits == 0


@pytest.fixture
def settings_with(tmp_path, db_url):
    def make(**cache):
        overrides = overrides_for(tmp_path, db_url)
        overrides["cache"] = cache
        return load_settings(overrides=overrides, environ={})

    return make


async def test_turned_off_every_request_renders(aiohttp_client, settings_with):
    app = with_tables(create_app(settings_with(responses=False)))
    client = await aiohttp_client(GuardedTestServer(app))
    for _ in range(2):
        assert "ETag" not in (await client.get("/")).headers
    assert app[RESPONSES].hits == app[RESPONSES].misses == 0


async def test_kept_responses_are_bounded_by_bytes(aiohttp_client, settings_with):
    app = with_tables(create_app(settings_with(responses_max_bytes=60_000)))
    client = await aiohttp_client(GuardedTestServer(app))
    for page in range(1, 30):
        assert (await client.get(f"/?page={page}")).status in (200, 404)
    cache = app[RESPONSES]
    assert 0 < cache.bytes <= 60_000 and cache.misses == 29


# Random writes by another process, then anonymous GETs of the pages they touch: the
# cached app answers exactly what an app without any cache renders from the same database.
steps = st.lists(
    st.tuples(
        st.sampled_from(["post", "retitle", "delete", "comment", "uncomment", "rename"]),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_never_stale_through_random_writes(
    app, client, aiohttp_client, settings_with, other, steps
):
    reference = with_tables(create_app(settings_with(data=False, responses=False)))
    fresh = await aiohttp_client(GuardedTestServer(reference))
    author = await User.select(other).where(email="w@example.com").first() or await User.create(
        other, name="writer", email="w@example.com", password_hash="x"
    )
    for n, (step, which) in enumerate(steps):
        posts = await Post.select(other).order_by("id").all()
        comments = await Comment.select(other).order_by("id").all()
        if step == "post" or not posts:
            await Post.create(other, user_id=author.id, title=f"Post {n}", content=f"Body {n}")
        elif step == "retitle":
            post = posts[which % len(posts)]
            await Post.select(other).where(id=post.id).update(title=f"Retitled {n}")
        elif step == "delete":
            await posts[which % len(posts)].delete(other)
        elif step == "comment":
            post = posts[which % len(posts)]
            await Comment.create(other, post_id=post.id, user_id=author.id, content=f"Say {n}")
        elif step == "uncomment" and comments:
            await comments[which % len(comments)].delete(other)
        elif step == "rename":
            await User.select(other).where(id=author.id).update(name=f"writer{n}")
        posts = await Post.select(other).order_by("id").all()
        paths = ["/", "/api/posts", *(f"/posts/{p.id}" for p in posts[:3])]
        paths += [f"/api/posts/{p.id}/comments" for p in posts[:2]]
        for path in paths:
            cached, rendered = await client.get(path), await fresh.get(path)
            assert cached.status == rendered.status, path
            assert await cached.read() == await rendered.read(), path


async def test_a_new_comment_leaves_the_kept_pages_of_other_posts_alone(app, client, author, other):
    """Comments are counted by post too (migration 0011, www/db/versions.py): a comment
    by another process drops its own post's page, and no other."""
    mine = await make_post(app, author, title="Mine")
    theirs = await make_post(app, author, 2, title="Theirs")
    for post in (mine, theirs, mine, theirs):  # the first views save the posts' HTML
        await client.get(f"/posts/{post.id}")
    await Comment.create(other, post_id=mine.id, user_id=author.id, content="A new remark")
    hits = app[RESPONSES].hits
    assert "Theirs" in await (await client.get(f"/posts/{theirs.id}")).text()
    assert app[RESPONSES].hits == hits + 1
    assert "A new remark" in await (await client.get(f"/posts/{mine.id}")).text()
    assert app[RESPONSES].hits == hits + 1


async def test_a_comment_moved_to_another_post_leaves_neither_page_stale(
    app, client, author, other
):
    first = await make_post(app, author, title="First")
    second = await make_post(app, author, 2, title="Second")
    comment = await Comment.create(other, post_id=first.id, user_id=author.id, content="Moving")
    assert "Moving" in await (await client.get(f"/posts/{first.id}")).text()
    assert "Moving" not in await (await client.get(f"/posts/{second.id}")).text()
    await Comment.select(other).where(id=comment.id).update(post_id=second.id)
    assert "Moving" not in await (await client.get(f"/posts/{first.id}")).text()
    assert "Moving" in await (await client.get(f"/posts/{second.id}")).text()


async def test_counting_by_post_undone_by_another_process_leaves_nothing_stale(
    app, client, author, other
):
    """Its triggers dropped (the migration reverted), a page kept with a post's counter is
    out of date at once (the table's marker went negative), and pages depend on the whole
    table again."""
    post = await make_post(app, author, title="Watched")
    await client.get(f"/posts/{post.id}")
    for sql in other.dialect.drop_scoped_trigger_sql("comments", "post_id"):
        await other.execute(sql)
    await Comment.create(other, post_id=post.id, user_id=author.id, content="Unscoped")
    assert "Unscoped" in await (await client.get(f"/posts/{post.id}")).text()
    await Comment.create(other, post_id=post.id, user_id=author.id, content="And again")
    assert "And again" in await (await client.get(f"/posts/{post.id}")).text()
