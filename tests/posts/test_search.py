"""Search: /search?q= and GET /api/posts?q=, ranked, with escaped and highlighted
excerpts; any query is plain words (never a 5xx, never a syntax error shown); the index
stays equal to the posts through random creates, edits and deletes (hypothesis)."""

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.helpers import error_of, make_post, send
from www import CONFIG, DB
from www.accounts.models import User
from www.posts import actions
from www.posts.models import Post
from www.posts.schemas import PostIn
from www.settings import load_settings

MARKS = re.compile(r"<mark>(.*?)</mark>")


@pytest.fixture(name="settings")
def two_a_page(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["blog"] = {"per_page": 2}
    return load_settings(overrides=overrides, environ={})


async def search(client, query: str, page: int | None = None):
    suffix = f"&page={page}" if page else ""
    return await client.get(f"/search?q={quote(query)}{suffix}")


def results(page: str) -> list[str]:
    """The titles of the results, as shown (marks left in)."""
    return re.findall(r'<h2><a href="/posts/\d+">(.*?)</a></h2>', page)


async def test_every_word_must_match_the_title_ranks_first(auth, client, app):
    alice = await auth.create_user("alice")
    await make_post(app, alice, 1, title="Cooking", content="A word on aiohttp and Python.")
    await make_post(app, alice, 2, title="Aiohttp with Python", content="Nothing else.")
    await make_post(app, alice, 3, title="Python only", content="No framework here.")
    page = await (await search(client, "python AIOHTTP")).text()
    assert results(page) == ["<mark>Aiohttp</mark> with <mark>Python</mark>", "Cooking"]
    assert "2 posts found" in page
    assert "<mark>aiohttp</mark> and <mark>Python</mark>" in page  # the excerpt
    body = await (await client.get("/api/posts?q=python+aiohttp")).json()
    assert [item["title"] for item in body["items"]] == ["Aiohttp with Python", "Cooking"]
    assert body["total"] == 2


async def test_results_are_paginated_with_the_query_kept(auth, client, app):
    alice = await auth.create_user("alice")
    for n in range(3):
        await make_post(app, alice, n, title=f"Kettle {n}")
    first = await (await search(client, "kettle & (*")).text()
    assert len(results(first)) == 2
    assert 'href="/search?q=kettle+%26+%28%2A&amp;page=2"' in first
    second = await search(client, "kettle & (*", page=2)
    assert len(results(await second.text())) == 1
    assert (await search(client, "kettle", page=3)).status == 404


async def test_the_excerpt_escapes_everything_but_its_own_marks(auth, client, app):
    alice = await auth.create_user("alice")
    content = (
        "Intro. The script word: <script>alert(1)</script> and <mark>fake</mark>,"
        ' "quotes" & ampersands, </mark><b>bold</b>.'
    )
    await make_post(app, alice, 1, title="<i>Title</i> script", summary="", content=content)
    page = await (await search(client, "script")).text()
    assert "<script>alert" not in page and "<b>bold" not in page and "<i>Title" not in page
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in page
    assert "&lt;mark&gt;fake&lt;/mark&gt;" in page and "&lt;/mark&gt;&lt;b&gt;" in page
    assert "&#34;quotes&#34; &amp; ampersands" in page
    assert results(page) == ["&lt;i&gt;Title&lt;/i&gt; <mark>script</mark>"]
    assert set(MARKS.findall(page)) == {"script"}  # every real <mark> holds a word


async def test_the_query_is_escaped_in_the_page(client):
    page = await (await search(client, '"><script>alert(1)</script>')).text()
    assert "<script>alert(1)" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


async def test_an_empty_query_shows_the_form(client):
    for path in ("/search", "/search?q=", "/search?q=+++"):
        resp = await client.get(path)
        page = await resp.text()
        assert resp.status == 200 and 'name="q"' in page
        assert "found" not in page and "No post holds" not in page


HOSTILE = [
    '"',
    "'",
    '""',
    "NEAR(a b)",
    "NEAR(",
    "a*",
    "*",
    "-a",
    "a - b",
    "a AND b",
    "OR",
    "NOT a",
    "a OR",
    "(a",
    "a)",
    "title:a",
    "^a",
    "a:*",
    "!a & b | c <-> d",
    "\\",
    "%_",
    "'; DROP TABLE posts; --",
    "\x00",
    "a\x00b",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "é" * 50,
    "\ufb01 \u01c5 \u00b2 \u00bd \u200b \u202e \u0663 \U0001d518\U0001d52b \U0001f389",
    "x" * 200,
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_are_plain_words(auth, client, app, query):
    await make_post(app, await auth.create_user("alice"), 1, title="a b c d title")
    for resp in (await search(client, query), await client.get(f"/api/posts?q={quote(query)}")):
        assert resp.status == 200, (query, resp.status)
        text = (await resp.text()).lower()
        assert "syntax" not in text and "fts5" not in text and "tsquery" not in text


async def test_too_long_a_query_is_refused_before_the_database(client, app):
    limit = app[CONFIG].search.max_query_length
    resp = await client.get("/search?q=" + "word+" * 1500)  # near the longest URL aiohttp reads
    assert resp.status == 400
    page = await resp.text()
    assert f"Search for at most {limit} characters." in page and 'name="q"' in page
    error = await error_of(await client.get(f"/api/posts?q={'x' * (limit + 1)}"), 422)
    assert error["fields"] == {"q": f"Search for at most {limit} characters."}
    for path in ("/search?q=", "/api/posts?q="):  # 10 KB: aiohttp refuses the request line
        assert (await client.get(path + "x" * 10_240)).status == 400


async def test_search_and_tag_combine_in_the_api(auth, client):
    await auth.login_as("alice")
    for title, tags in (("Kettle one", ["tea"]), ("Kettle two", []), ("Teapot", ["tea"])):
        resp = await send(client, "POST", "/api/posts", {"title": title, "tags": tags})
        assert resp.status == 201
    body = await (await client.get("/api/posts?q=kettle&tag=tea")).json()
    assert [item["title"] for item in body["items"]] == ["Kettle one"]


async def test_results_follow_edits_at_once_despite_the_page_cache(auth, client):
    await auth.login_as("alice")
    resp = await send(client, "POST", "/api/posts", {"title": "Before"})
    path = f"/api/posts/{(await resp.json())['id']}"
    assert len(results(await (await search(client, "before")).text())) == 1
    assert (await send(client, "PATCH", path, {"title": "After"})).status == 200
    assert results(await (await search(client, "before")).text()) == []
    assert len(results(await (await search(client, "after")).text())) == 1
    assert (await send(client, "DELETE", path)).status == 204
    assert results(await (await search(client, "after")).text()) == []


WORDS = ("alpha", "beta", "gamma", "delta", "omega")
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
steps = st.lists(
    st.tuples(st.sampled_from(("create", "edit", "delete")), st.integers(0, 5), texts, texts),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps, queries=st.lists(st.text(max_size=40), max_size=3))
async def test_the_index_is_the_posts_through_random_changes(auth, client, app, steps, queries):
    """A post is found by a word of its title or content iff it exists and holds it."""
    db = app[DB]
    alice = await User.select(db).where(name="alice").first() or await auth.create_user()
    for action, which, title, content in steps:
        posts = await Post.select(db).order_by("id").all()
        if action == "create" or not posts:
            values = PostIn(title=title, content=content)
            await actions.publish_post(app, alice, values)
        elif action == "edit":
            post = posts[which % len(posts)]
            await actions.update_post(app, post, {"title": title, "content": content})
        else:
            await actions.delete_post(app, posts[which % len(posts)])
    posts = await Post.select(db).all()
    for word in WORDS:
        expected = {p.id for p in posts if word in f"{p.title} {p.content}".split()}
        resp = await client.get(f"/api/posts?q={word.upper()}&per_page=100")
        assert {item["id"] for item in (await resp.json())["items"]} == expected, word
    for query in queries:
        for path in ("/search?q=", "/api/posts?q="):
            resp = await client.get(path + quote(query, safe=""))
            assert resp.status in (200, 400, 422), (path, query)
