"""The template helpers that pages call many times: same output, less work."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from tests.databases import open_database
from tests.helpers import make_post
from www import DB
from www.cache import QueryCache
from www.posts.models import Comment, Post
from www.templating import format_date, fragments


def by_strftime(value: datetime) -> str:
    """The `date` filter as it was first written: strftime, in the process's locale."""
    return f'<time datetime="{value.isoformat()}">{value.strftime("%d %b %Y")}</time>'


ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))])


@given(st.datetimes(timezones=ZONES))
def test_the_date_filter_writes_what_strftime_wrote(value):
    assert format_date.__wrapped__(value) == by_strftime(value)
    assert format_date(value) == by_strftime(value)  # cached, the same


def test_the_date_filter_escapes_nothing_it_need_not():
    shown = format_date(datetime(2026, 5, 5, 14, 30, tzinfo=UTC))
    assert shown == '<time datetime="2026-05-05T14:30:00+00:00">05 May 2026</time>'
    assert shown.__html__() == shown  # Markup: Jinja inserts it as it is


@pytest.fixture
def renders(monkeypatch):
    """How many times each template was rendered on its own (as fragment() does; a page
    or an include is not counted), by name."""
    counts, render = Counter(), jinja2.Template.render

    def counted(self, *args, **kwargs):
        counts[self.name] += 1
        return render(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", counted)
    return counts


async def test_a_fragment_is_rendered_once_per_change_for_every_user(
    auth, client, app, db_url, renders
):
    """The home page keeps the HTML of its list of posts with the cached page
    (fragment()): rendered once for every reader, logged in or not, until the posts
    change, in any process; the rest of the page is each reader's own."""
    alice = await auth.login_as("alice")
    post = await make_post(app, alice, title="First title")
    for _ in range(2):
        body = await (await client.get("/")).text()
        assert "First title" in body and 'class="user-name"' in body
    client.session.cookie_jar.clear()  # a visitor now (a logout would write the user)
    body = await (await client.get("/")).text()
    assert "First title" in body and 'class="user-name"' not in body
    assert renders["posts/_list.html"] == 1
    await auth.login(alice.email)
    async with open_database(db_url) as other:  # as another worker process would
        await Post.select(other).where(id=post.id).update(title="Second title")
    body = await (await client.get("/")).text()
    assert "Second title" in body and "First title" not in body
    assert renders["posts/_list.html"] == 2


async def test_comments_are_shared_by_every_reader_with_their_own_buttons(
    auth, client, app, renders
):
    """A post's comments are rendered once for every reader; a reader who may delete one
    gets its button, with their CSRF token in the form, and no other comment's."""
    author, bob, carol = [await auth.create_user(name) for name in ("alice", "bob", "carol")]
    post = await make_post(app, author, title="A post")
    for who, content in ((bob, "Bob said so"), (carol, "Carol too")):
        await Comment.create(app[DB], post_id=post.id, user_id=who.id, content=content)
    path = f"/posts/{post.id}"
    await auth.login(carol.email)  # logins write the users: the comments' authors reload
    await auth.login(bob.email)
    renders.clear()
    body = await (await client.get(path)).text()
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', body)[1]
    bobs = body[body.index("Bob said so") : body.index("Carol too")]
    assert "Delete this comment" in bobs and f'name="csrf_token" value="{token}"' in bobs
    assert "Delete this comment" not in body[body.index("Carol too") :]
    client.session.cookie_jar.clear()
    body = await (await client.get(path)).text()
    assert "Bob said so" in body and "Delete this comment" not in body
    assert renders["posts/_comments.html"] == 1


SLOTTED = "{% for v in values %}<p>{{ v }}</p>{{ slot(loop.index) }}{% endfor %}"


@given(
    values=st.lists(st.text(), max_size=5),
    keys=st.sets(st.integers(min_value=0, max_value=6)),
)
def test_a_fragment_fills_the_slots_of_the_keys_given(values, keys):
    """A fragment's slots hold fill(key) for the keys given and nothing for the others,
    whatever the values shown: none of them is taken for a slot."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"f.html": SLOTTED}), autoescape=True)
    include = env.from_string(SLOTTED)

    def fill(key):
        return Markup(f"<b>{key}</b>")  # noqa: S704

    expected = include.render(values=values, slot=lambda key: fill(key) if key in keys else "")
    fragment = fragments(env)
    assert fragment("f.html", fill=fill, keys=keys, values=values) == expected
    unfilled = include.render(values=values, slot=lambda key: "")
    assert fragment("f.html", values=values) == unfilled


async def test_a_fragment_shows_its_template_as_edited(db):
    """templates.auto_reload: an edited fragment template shows at the next view, though
    the value it shows has not changed; unedited, it is rendered once."""
    sources = {"f.html": "<p>{{ value[0] }}</p>"}
    env = jinja2.Environment(loader=jinja2.DictLoader(sources), autoescape=True)
    cache = QueryCache(db)
    fragment = fragments(env, cache)

    async def load():
        return ["<one>"]

    value = await cache.get("k", load)
    assert fragment("f.html", value=value) == "<p>&lt;one&gt;</p>"
    weight = cache.bytes  # the HTML is kept with the value's entry
    assert fragment("f.html", value=await cache.get("k", load)) == "<p>&lt;one&gt;</p>"
    assert cache.bytes == weight
    sources["f.html"] = "<li>{{ value[0] }}</li>"
    assert fragment("f.html", value=await cache.get("k", load)) == "<li>&lt;one&gt;</li>"
    assert cache.bytes > weight and cache.misses == 1
