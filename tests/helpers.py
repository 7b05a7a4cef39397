"""What several test modules share: the JSON API as a script uses it, and rows made directly."""

import contextlib
import itertools
from collections.abc import Iterator

from www import DB
from www.orm import ForeignKey, TextField, utcnow
from www.posts.models import Post
from www.resources import models, modules
from www.settings_schema import RateLimitSettings

COOKIE = "www_session"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def token(client) -> str:
    resp = await client.get("/api/session")
    assert resp.status == 200
    return (await resp.json())["csrf_token"]


async def send(client, method, path, body=None, **kwargs):
    """An unsafe request with this session's X-CSRF-Token header."""
    headers = {"X-CSRF-Token": await token(client), **kwargs.pop("headers", {})}
    return await client.request(method, path, json=body, headers=headers, **kwargs)


async def error_of(resp, status: int) -> dict:
    """The `error` object of a JSON error response, after checking its status and shape."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error


async def make_post(app, user, n=1, **values):
    values = {"title": f"Post {n}", "summary": f"Summary {n}", "content": "Body", **values}
    return await Post.create(app[DB], user_id=user.id, **values)


def cookie_value(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def replay(client, cookie: str) -> None:
    """Send `cookie` as the session cookie from now on, as an attacker with a copy would."""
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({COOKIE: cookie})


def api_routes(unsafe: bool = True):
    """(method, path, handler) of every API route of every resource, read from their
    routes.py (paths under /api, with {id} still to fill in)."""
    return [
        (route.method, "/api" + route.path.replace("{id:[0-9]{1,18}}", "{id}"), route.handler)
        for module in modules("routes")
        for route in getattr(module, "API", ())
        if not unsafe or route.method in UNSAFE_METHODS
    ]


class FakeClock:
    """A clock that moves only when told: the in-memory rate limits' `clock` (the
    `clock` fixture). Starts on a whole hour, so every window starts with it."""

    START = 1_800_000_000.0

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# For tests that send many requests from one client on purpose (fuzzing): the rate limits
# stay on, but far out of the way, so that the inputs reach the code under test.
GENEROUS_LIMITS = {
    name: "100000 per hour" for name in RateLimitSettings.model_fields if name != "max_keys"
}


_rows = itertools.count(1)


async def make_row(db, model, **values):
    """A row of any model, saved directly: each required field not given gets a value of
    its type (unique text, a foreign key a new row of its own). For tests of code
    that only needs some row to refer to, as the resources www.scaffold generates."""
    for field in model._meta.fields[1:]:
        if field.name in values or field.null or field.default is not None:
            continue
        if isinstance(field, ForeignKey):
            values[field.name] = (await make_row(db, field.model)).id
        elif isinstance(field, TextField):
            text = f"{field.name}{next(_rows)}@example.com"  # fits an email address too
            values[field.name] = text[: field.max_length] if field.max_length else text
        else:
            values[field.name] = {
                "integer": 1,
                "float": 1.0,
                "boolean": False,
                "datetime": utcnow(),
            }[field.kind]
    return await model.create(db, **values)


async def id_for(app, path: str, post) -> int:
    """What fills an API path's {id} in tests of every route: `post` for the posts'
    routes, else a new row of the table the path names (/api/bookmarks/{id}: a bookmark),
    so that a resource added later (www.scaffold) is tested as the posts are."""
    table = path.removeprefix("/api/").split("/")[0].replace("-", "_")
    model = next((m for m in models() if m._meta.table == table), Post)
    return post.id if model is Post else (await make_row(app[DB], model)).id


@contextlib.contextmanager
def statements_read(db) -> Iterator[list[str]]:
    """The SQL of every read `db` runs inside the block, in order, however it runs them:
    one call each, or several in one `db.read()` on SQLite's reader thread. The engines
    note each read in `db.reads` (for the caches), which this listens to."""
    seen: list[str] = []
    note = db.reads.note

    def listening(sql: str, scoped: str | None = None) -> None:
        seen.append(sql)
        note(sql, scoped)

    db.reads.note = listening
    try:
        yield seen
    finally:
        db.reads.note = note
