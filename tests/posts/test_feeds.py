"""The Atom feeds (www/feeds.py, www/posts/feeds.py): valid Atom 1.0 as feedparser reads
it, absolute links from site.base_url, entry ids that survive edits, escaping, and the
conditional requests (ETag, Last-Modified, 304) that feed readers poll with."""

import itertools
import math
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import format_datetime

import feedparser
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.helpers import make_post
from www import DB, feeds
from www.posts import actions
from www.posts.models import PostHtml
from www.posts.schemas import PostIn
from www.settings import load_settings

BASE = "https://blog.example.com/news"  # a path too: every link must keep it
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def settings(tmp_path, db_url):
    """The suite's settings with a site.base_url of its own (overrides conftest's)."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["site"] = {"base_url": BASE}
    return load_settings(overrides=overrides, environ={})


async def fetch(client, path: str, **headers):
    """(response, body, parsed feed) of a feed that must be valid Atom 1.0."""
    resp = await client.get(path, headers=headers)
    body = await resp.read()
    if resp.status != 200:
        return resp, body, None
    assert resp.content_type == "application/atom+xml"
    assert resp.charset == "utf-8"
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return resp, body, parsed


def xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 (the app's own output, in a test)


async def publish(app, user, title="Hello", content="Some *text*", summary="", tags=()):
    """A post saved as the pages save it, with its HTML rendered and stored."""
    body = {"title": title, "summary": summary, "content": content, "tags": list(tags)}
    values = PostIn.parse(body)
    return await actions.publish_post(app, user, values)


# --- what a feed holds ------------------------------------------------------------------


async def test_site_feed_has_the_20_newest_posts_newest_first(client, app, auth):
    alice, bob = await auth.create_user("alice"), await auth.create_user("bob")
    posts = [await make_post(app, alice if n % 2 else bob, n) for n in range(22)]
    resp, body, parsed = await fetch(client, "/feed.atom")
    assert resp.status == 200
    newest = list(reversed(posts))[:20]
    assert [entry.link for entry in parsed.entries] == [
        f"{BASE}/posts/{post.id}" for post in newest
    ]
    assert [entry.title for entry in parsed.entries] == [post.title for post in newest]
    assert parsed.feed.title == "www"
    assert parsed.feed.id == f"{BASE}/feed.atom"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": f"{BASE}/feed.atom", "alternate": f"{BASE}/"}
    assert {author.name for author in parsed.feed.authors} == {"alice", "bob"}
    assert parsed.entries[0].author_detail.href == f"{BASE}/users/{newest[0].user_id}"
    # Every link, everywhere in the document, is absolute under site.base_url.
    hrefs = re.findall(rb'href="([^"]*)"', body) + re.findall(rb"<uri>([^<]*)</uri>", body)
    assert hrefs and all(href.decode().startswith(BASE + "/") for href in hrefs)


async def test_times_are_rfc_3339_and_the_feed_is_as_new_as_its_newest_post(client, app, post):
    _, body, parsed = await fetch(client, "/feed.atom")
    rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
    times = [element.text for element in xml(body).iter() if element.tag.endswith("updated")]
    times += [element.text for element in xml(body).iter(f"{ATOM}published")]
    assert len(times) == 3 and all(rfc3339.fullmatch(text) for text in times)
    assert parsed.feed.updated == parsed.entries[0].updated


async def test_content_is_the_stored_html_escaped_with_absolute_links(client, app, auth):
    user = await auth.create_user("alice")
    markdown = "**bold** <script>alert(1)</script> [next](/posts/1) ![a](/files/abc/image)"
    post = await publish(app, user, content=markdown, summary="A <summary> & more")
    stored = (await PostHtml.select(app[DB]).where(post_id=post.id).first()).html
    _, body, parsed = await fetch(client, "/feed.atom")
    content = xml(body).find(f"{ATOM}entry/{ATOM}content")
    assert content.get("type") == "html"
    expected = stored.replace('href="/', f'href="{BASE}/').replace('src="/', f'src="{BASE}/')
    assert content.text == expected
    assert (
        f'href="{BASE}/posts/1"' in content.text and f'src="{BASE}/files/abc/image"' in content.text
    )
    assert "&lt;script&gt;" in content.text  # the Markdown's HTML, escaped when rendered
    assert b"<script" not in body and b"<strong>" not in body  # escaped again as Atom text
    assert xml(body).find(f"{ATOM}entry/{ATOM}summary").text == "A <summary> & more"
    assert "<strong>bold</strong>" in parsed.entries[0].content[0].value


async def test_a_stale_or_missing_html_is_rendered_again(client, app, auth):
    """A post written around the actions (a script, the admin) has no stored HTML."""
    await make_post(app, await auth.create_user("alice"), content="*fresh*")
    _, body, _ = await fetch(client, "/feed.atom")
    assert xml(body).find(f"{ATOM}entry/{ATOM}content").text == "<p><em>fresh</em></p>\n"


async def test_entry_ids_are_tag_uris_that_survive_an_edit(client, app, auth):
    user = await auth.login_as("alice")
    post = await publish(app, user, title="First title")
    _, before, parsed = await fetch(client, "/feed.atom")
    day = post.created_at.date().isoformat()
    assert parsed.entries[0].id == f"tag:blog.example.com,{day}:/news/posts/{post.id}"

    form = {"title": "A new title", "summary": "", "content": "Changed"}
    assert (await auth.post(f"/posts/{post.id}/edit", form)).status == 303
    _, after, edited = await fetch(client, "/feed.atom")
    assert edited.entries[0].id == parsed.entries[0].id
    assert edited.entries[0].title == "A new title"
    assert edited.entries[0].updated_parsed >= parsed.entries[0].updated_parsed
    assert before != after
    # The same for the author's own feed.
    _, _, own = await fetch(client, f"/users/{user.id}/feed.atom")
    assert own.entries[0].id == parsed.entries[0].id


async def test_a_users_feed_holds_their_posts_only(client, app, auth):
    alice, bob = await auth.create_user("alice"), await auth.create_user("bob")
    mine = [await make_post(app, alice, n) for n in range(3)]
    await make_post(app, bob, 99)
    _, _, parsed = await fetch(client, f"/users/{alice.id}/feed.atom")
    assert [entry.link for entry in parsed.entries] == [
        f"{BASE}/posts/{post.id}" for post in reversed(mine)
    ]
    assert parsed.feed.title == "www: alice"
    assert [author.name for author in parsed.feed.authors] == ["alice"]
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {
        "self": f"{BASE}/users/{alice.id}/feed.atom",
        "alternate": f"{BASE}/users/{alice.id}",
    }


async def test_a_tags_feed_holds_its_posts_only(client, app, auth):
    user = await auth.create_user("alice")
    tagged = [await publish(app, user, f"Post {n}", tags=["Aiohttp", "web"]) for n in range(2)]
    await publish(app, user, tags=["other"])
    _, _, parsed = await fetch(client, "/tags/aiohttp/feed.atom")
    assert [entry.link for entry in parsed.entries] == [
        f"{BASE}/posts/{post.id}" for post in reversed(tagged)
    ]
    assert parsed.feed.title == "www: #aiohttp"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": f"{BASE}/tags/aiohttp/feed.atom", "alternate": f"{BASE}/tags/aiohttp"}
    # Any letter case finds the tag, as its page does; the links name it in lower case.
    _, _, upper = await fetch(client, "/tags/AIOHTTP/feed.atom")
    assert [entry.id for entry in upper.entries] == [entry.id for entry in parsed.entries]


async def test_empty_feeds_are_valid(client, app, auth):
    user = await auth.create_user("alice")
    _, _, site = await fetch(client, "/feed.atom")
    assert site.entries == [] and site.feed.updated.startswith("1970-01-01")
    _, _, own = await fetch(client, f"/users/{user.id}/feed.atom")
    assert own.entries == [] and own.feed.updated_parsed[:6] == user.created_at.timetuple()[:6]


@pytest.mark.parametrize(
    "path",
    [
        "/users/999/feed.atom",
        "/users/0x1/feed.atom",
        "/feed.atom/",
        "/tags/nosuch/feed.atom",  # no post has it
        "/tags/not%20a%20tag/feed.atom",  # not a tag at all
    ],
)
async def test_a_feed_of_no_one_is_404(client, path):
    resp = await client.get(path)
    assert resp.status == 404
    assert resp.content_type == "text/html"


# --- hostile text -------------------------------------------------------------------------

# What a database can store (no NUL, no lone surrogate), XML or not: control characters,
# U+FFFE, markup, entities, CDATA ends.
STORED_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
) | st.sampled_from(
    [
        "<script>alert(1)</script>",
        "]]>",
        "&amp;&lt;",
        "\x01\x08\x0b\x0c\x1f",
        "\ufffe\uffff",
        '"><img src=x onerror=alert(1)>',
        "a\r\nb",
        "💥 RTL \u202e text",
    ]
)

USERS = itertools.count()  # names and emails no example has used


@examples(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=STORED_TEXT, summary=STORED_TEXT, content=STORED_TEXT, name=STORED_TEXT)
async def test_hostile_text_makes_a_valid_feed(client, app, auth, title, summary, content, name):
    """Rows written around the forms' rules (a script, the admin, an old version) hold any
    text: the feeds stay valid, escape it, and show it (U+FFFD for what XML cannot hold)."""
    count = next(USERS)
    user = await auth.create_user(f"u{count}")
    user.name = f"{count}-{name}"  # unique, once normalized too
    await user.save(app[DB])
    await make_post(app, user, title=title, summary=summary, content=content)
    for path in ("/feed.atom", f"/users/{user.id}/feed.atom"):
        resp, body, _ = await fetch(client, path)
        assert resp.status == 200
        entry = xml(body).find(f"{ATOM}entry")
        assert entry.find(f"{ATOM}title").text == (feeds.xml_text(title) or "Untitled")
        assert entry.find(f"{ATOM}author/{ATOM}name").text == feeds.xml_text(user.name)
        if summary:
            assert entry.find(f"{ATOM}summary").text == feeds.xml_text(summary)


# --- conditional requests -----------------------------------------------------------------


async def test_etag_and_if_none_match(client, app, auth):
    user = await auth.create_user("alice")
    await make_post(app, user, 1)
    resp, body, _ = await fetch(client, "/feed.atom")
    etag = resp.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "max-age=300" in resp.headers["Cache-Control"]

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get("/feed.atom", headers={"If-None-Match": sent})
        assert again.status == 304, sent
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Last-Modified"] == resp.headers["Last-Modified"]

    await make_post(app, user, 2)  # a new post: a new feed, a new ETag
    changed = await client.get("/feed.atom", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag and await changed.read() != body


async def test_a_deleted_post_changes_the_etag(client, app, auth):
    user = await auth.create_user("alice")
    await make_post(app, user, 1)
    newest = await make_post(app, user, 2)
    etag = (await client.get("/feed.atom")).headers["ETag"]
    await actions.delete_post(app, newest)
    resp, _, parsed = await fetch(client, "/feed.atom", **{"If-None-Match": etag})
    assert resp.status == 200 and resp.headers["ETag"] != etag
    assert [entry.title for entry in parsed.entries] == ["Post 1"]


async def test_last_modified_and_if_modified_since(client, app, auth):
    user = await auth.create_user("alice")
    post = await make_post(app, user, 1)
    resp, _, _ = await fetch(client, "/feed.atom")
    # The newest post's time, in whole seconds rounded up (as aiohttp writes it).
    whole = post.updated_at.replace(microsecond=0)
    newest = whole + timedelta(seconds=math.ceil(post.updated_at.microsecond / 1e6))
    assert resp.headers["Last-Modified"] == format_datetime(newest, usegmt=True)

    same = await client.get(
        "/feed.atom", headers={"If-Modified-Since": resp.headers["Last-Modified"]}
    )
    assert same.status == 304
    older = format_datetime(newest - timedelta(seconds=1), usegmt=True)
    assert (await client.get("/feed.atom", headers={"If-Modified-Since": older})).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": resp.headers["Last-Modified"]}
    assert (await client.get("/feed.atom", headers=headers)).status == 200
    garbled = await client.get("/feed.atom", headers={"If-Modified-Since": "yesterday"})
    assert garbled.status == 200


async def test_a_users_feed_has_its_own_etag(client, app, auth):
    alice, bob = await auth.create_user("alice"), await auth.create_user("bob")
    await make_post(app, alice, 1)
    await make_post(app, bob, 2)
    tags = {
        (await client.get(path)).headers["ETag"]
        for path in ("/feed.atom", f"/users/{alice.id}/feed.atom", f"/users/{bob.id}/feed.atom")
    }
    assert len(tags) == 3


async def test_the_xml_is_built_off_the_loop_once_until_the_database_changes(
    client, app, auth, monkeypatch
):
    threads = []
    build = feeds._build

    def counting(*args):
        threads.append(threading.current_thread())
        return build(*args)

    monkeypatch.setattr(feeds, "_build", counting)
    user = await auth.create_user("alice")
    await publish(app, user)  # its HTML stored (rendering it would write, as a page does)
    for _ in range(3):
        assert (await client.get("/feed.atom")).status == 200
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    await publish(app, user, title="Another")
    assert (await client.get("/feed.atom")).status == 200
    assert len(threads) == 2


# --- links to the feeds -------------------------------------------------------------------

ALTERNATE = re.compile(r'<link rel="alternate" type="application/atom\+xml"[^>]* href="([^"]+)">')


async def test_every_page_links_the_site_feed(client, app, auth, post):
    for path in ("/", f"/posts/{post.id}", "/login", "/register", "/api/docs", "/no/such/page"):
        html = await (await client.get(path)).text()
        assert "/feed.atom" in ALTERNATE.findall(html), path


async def test_a_users_page_links_their_feed(client, app, auth):
    user = await auth.create_user("alice")
    html = await (await client.get(f"/users/{user.id}")).text()
    assert ALTERNATE.findall(html) == ["/feed.atom", f"/users/{user.id}/feed.atom"]
    assert f'<a href="/users/{user.id}/feed.atom">Feed</a>' in html


async def test_a_tags_page_links_its_feed(client, app, auth):
    await publish(app, await auth.create_user("alice"), tags=["web"])
    html = await (await client.get("/tags/web")).text()
    assert ALTERNATE.findall(html) == ["/feed.atom", "/tags/web/feed.atom"]
    assert '<a href="/tags/web/feed.atom">Feed</a>' in html
