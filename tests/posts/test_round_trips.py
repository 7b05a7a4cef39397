"""How many times a page waits on the database: the cost that grows with load (each round
trip waits its turn for a connection's thread or the pool). Counted, never timed.

Once the query cache holds a page's data and the reader's user, a GET of a page costs one
round trip: the check of the tables' change counters, shared by the user's row and the
page's data (www/cache.py `one_check`).
"""

import contextvars
import functools
import inspect

import pytest
from aiohttp import web

from tests.conftest import Auth, GuardedTestServer, with_tables
from tests.helpers import make_post
from www import DB
from www.app import create_app
from www.posts.models import Comment

# Once everything is cached: the cache's version check, and nothing else.
CACHED_PAGE_ROUND_TRIPS = 1

_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)
_in_call: contextvars.ContextVar[bool] = contextvars.ContextVar("in_call", default=False)


class RoundTrips:
    """Counts the calls on the app's database made while serving a request (and by the
    tasks it starts), not by background work such as the broker's polling. A call made
    inside another (fetchone through fetchall, a version read through fetchone) counts
    once, and so does a read() body, however many statements it runs (one trip: SQLite
    runs it whole on a reader's thread); its label lists the names they read. Every public
    coroutine method of the database is counted, whatever its name."""

    def __init__(self, app: web.Application) -> None:
        self.calls: list[str] = []
        db = self.db = app[DB]
        for name, method in inspect.getmembers(db, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(db, name, self._counted(name, method))
        original = db.transaction
        db.transaction = functools.partial(self._transaction, original)

    def _counted(self, name, method):
        @functools.wraps(method)
        async def counted(*args, **kwargs):
            if not _in_request.get() or _in_call.get():
                return await method(*args, **kwargs)
            token = _in_call.set(True)
            try:
                if name != "read":  # a statement (labelled with its SQL), or a method
                    self.calls.append(f"{name} {args[0][:50] if args else ''}".strip())
                    return await method(*args, **kwargs)
                with self.db.reads.recording() as read:  # a body: labelled with what it read
                    value = await method(*args, **kwargs)
                self.calls.append(" ".join([name, *sorted(read.names | set(read.scopes))]))
                return value
            finally:
                _in_call.reset(token)

        return counted

    def _transaction(self, original):
        if _in_request.get() and not _in_call.get():
            self.calls.append("transaction")
        return original()

    @staticmethod
    @web.middleware
    async def middleware(request: web.Request, handler):
        token = _in_request.set(True)  # seen by the tasks the request starts, too
        try:
            return await handler(request)
        finally:
            _in_request.reset(token)


async def counted_client(app, aiohttp_client):
    """(client, round trips): a client of `app` whose requests' database calls count."""
    app.middlewares.insert(0, RoundTrips.middleware)
    trips = RoundTrips(app)
    return await aiohttp_client(GuardedTestServer(app)), trips


@pytest.fixture
async def counted(app, aiohttp_client):
    return await counted_client(app, aiohttp_client)


async def count(client, trips: RoundTrips, path: str, *, seen: str) -> list[str]:
    trips.calls.clear()
    resp = await client.get(path)
    assert resp.status == 200
    assert seen in await resp.text()
    return list(trips.calls)


@pytest.mark.parametrize("logged_in", [True, False], ids=["logged-in", "visitor"])
@pytest.mark.parametrize("page", ["home", "post", "author"])
async def test_a_cached_page_costs_one_round_trip(counted, app, page, logged_in):
    client, trips = counted
    auth = Auth(client, app)
    reader = await auth.create_user("reader")
    if logged_in:
        assert (await auth.login(reader.email)).status == 303
    author = await auth.create_user("author")
    post = await make_post(app, author, title="A post")
    await Comment.create(app[DB], post_id=post.id, user_id=reader.id, content="A comment")
    path = {"home": "/", "post": f"/posts/{post.id}", "author": f"/users/{author.id}"}[page]
    seen = "Log out" if logged_in else "Log in"
    await count(client, trips, path, seen=seen)  # fills the cache (a post page: its HTML too)
    await count(client, trips, path, seen=seen)
    calls = await count(client, trips, path, seen=seen)
    assert len(calls) == CACHED_PAGE_ROUND_TRIPS, calls


async def test_a_change_costs_the_check_and_what_it_reloads(counted, app):
    """After a new post, the page reloads what reads the posts behind one check; the
    reader's row, which reads only the users table, stays (www/db/versions.py)."""
    client, trips = counted
    auth = Auth(client, app)
    user = await auth.login_as("reader")
    await count(client, trips, "/", seen="Log out")
    await make_post(app, user, title="Fresh")
    calls = await count(client, trips, "/", seen="Fresh")
    assert calls.count("table_versions") == 1
    assert sum("users" in call for call in calls) == 1  # the posts' authors, not the reader


async def test_a_comment_reloads_its_posts_comments_not_the_post(counted, app):
    """A post's page is cached as two entries, the post (its author, tags and HTML) and a
    page of its comments: after a new comment, the page reloads the comments alone, behind
    the one check of the counters."""
    client, trips = counted
    auth = Auth(client, app)
    user = await auth.login_as("reader")
    post = await make_post(app, user, title="A post")
    path = f"/posts/{post.id}"
    await count(client, trips, path, seen="A post")  # fills the cache, saves its HTML
    await count(client, trips, path, seen="A post")
    await Comment.create(app[DB], post_id=post.id, user_id=user.id, content="Fresh words")
    calls = await count(client, trips, path, seen="Fresh words")
    assert calls.count("table_versions") == 1, calls
    reloads = [call.split() for call in calls if call.startswith("read ")]
    assert len(reloads) == 1, calls
    assert any(name.startswith("comments") for name in reloads[0]), calls
    assert not {"posts", "post_html", "tags"} & set(reloads[0]), calls


async def test_with_the_data_cache_off_a_post_page_reads_in_one_trip(settings, aiohttp_client):
    """cache.data false: the post, its HTML and its comments in one db.read()."""
    off = settings.model_copy(update={"cache": settings.cache.model_copy(update={"data": False})})
    app = with_tables(create_app(off))
    client, trips = await counted_client(app, aiohttp_client)
    user = await Auth(client, app).create_user("author")
    post = await make_post(app, user, title="A post")
    await Comment.create(app[DB], post_id=post.id, user_id=user.id, content="Some words")
    path = f"/posts/{post.id}"
    await count(client, trips, path, seen="Some words")  # saves its HTML
    calls = await count(client, trips, path, seen="Some words")
    reads = [call.split() for call in calls if call.startswith("read ")]
    assert len(reads) == 1, calls
    assert {"posts", "post_html"} <= set(reads[0]), calls
    assert any(name.startswith("comments") for name in reads[0]), calls
