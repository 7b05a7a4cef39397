"""The template helpers that pages call many times: same output, less work."""

from datetime import UTC, datetime, timedelta, timezone

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.databases import open_database
from tests.helpers import make_post
from www.posts.models import Post
from www.templating import format_date


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
def list_renders(monkeypatch):
    """How many times posts/_list.html was rendered (by fragment(), or included)."""
    renders, render = [], jinja2.Template.render

    def counted(self, *args, **kwargs):
        if self.name == "posts/_list.html":
            renders.append(1)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", counted)
    return renders


async def test_a_fragment_is_rendered_once_per_change_for_every_user(
    auth, client, app, db_url, list_renders
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
    assert len(list_renders) == 1
    await auth.login(alice.email)
    async with open_database(db_url) as other:  # as another worker process would
        await Post.select(other).where(id=post.id).update(title="Second title")
    body = await (await client.get("/")).text()
    assert "Second title" in body and "First title" not in body
    assert len(list_renders) == 2
