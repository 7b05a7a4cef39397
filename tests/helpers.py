"""What several test modules share: the JSON API as a script uses it, and rows made directly."""

from www import DB
from www.posts.models import Post
from www.resources import modules
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
