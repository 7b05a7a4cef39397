"""Each error status becomes its exception, carrying the API's message (and fields): from
the real server where it can be provoked, from a tiny stand-in server for the rest."""

import pytest
from aiohttp import web

from tests.client.conftest import unique
from www import client as errors
from www.client import ApiError, Client

MAPPING = [
    (400, errors.BadRequest),
    (401, errors.Unauthorized),
    (403, errors.Forbidden),
    (404, errors.NotFound),
    (408, errors.RequestTimeout),
    (409, errors.Conflict),
    (413, errors.PayloadTooLarge),
    (415, errors.UnsupportedMediaType),
    (422, errors.ValidationFailed),
    (429, errors.RateLimited),
    (500, errors.ServerError),
    (502, errors.ServerError),
    (503, errors.ServiceUnavailable),
    (507, errors.InsufficientStorage),
    (418, errors.ApiError),  # a status without a class of its own: the base
]


async def test_real_errors_carry_the_apis_message(server, alice):
    _, bob = await server.user(unique("bob"))
    async with Client(server.url, token=alice[1]) as api:
        post = await api.posts.create(title="Mine")
        with pytest.raises(errors.ValidationFailed) as caught:
            await api.posts.create(title="")
        assert caught.value.status == 422
        assert caught.value.fields == {"title": "Title is required."}
        assert "Title is required." in str(caught.value)
        with pytest.raises(errors.NotFound, match=r"^There is nothing at this address"):
            await api.comments.add(999_999, "x")
    async with Client(server.url, token=bob) as other:
        with pytest.raises(errors.Forbidden) as caught:
            await other.posts.update(post.id, title="Theirs")
        assert caught.value.message == "You are not allowed to change this."
    async with Client(server.url, token="www_" + "x" * 43) as wrong:
        with pytest.raises(errors.Unauthorized, match="The API token is wrong"):
            await wrong.posts.list()
    async with Client(server.url) as anonymous:  # no token, no session: CSRF comes first
        with pytest.raises(errors.Forbidden, match="CSRF"):
            await anonymous.posts.create(title="x")
        with pytest.raises(errors.Unauthorized, match="You need to log in"):
            await anonymous.files.list()


@pytest.fixture
async def answering(aiohttp_server):
    """A server answering every request with the status in its path: /api/posts/<status>."""

    async def answer(request):
        status = int(request.match_info["status"])
        error = {"status": status, "message": f"Message {status}."}
        if status == 422:
            error["fields"] = {"title": "Title is required."}
        return web.json_response({"error": error}, status=status)

    app = web.Application()
    app.router.add_route("*", "/api/posts/{status}", answer)
    return str((await aiohttp_server(app)).make_url(""))


@pytest.mark.parametrize(("status", "cls"), MAPPING, ids=[str(s) for s, _ in MAPPING])
async def test_each_status_is_its_exception(answering, status, cls):
    async with Client(answering, retry=errors.Retry(attempts=1)) as api:
        with pytest.raises(ApiError) as caught:
            await api.posts.delete(status)  # DELETE: never retried without Retry-After
    assert type(caught.value) is cls
    assert (caught.value.status, caught.value.message) == (status, f"Message {status}.")
    assert caught.value.fields == ({"title": "Title is required."} if status == 422 else {})


async def test_an_error_that_is_not_the_apis_json(aiohttp_server):
    """A proxy's HTML page: the exception of its status, named by it."""

    async def bad_gateway(request):
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", bad_gateway)
    url = str((await aiohttp_server(app)).make_url(""))
    async with Client(url) as api:
        with pytest.raises(errors.ServerError) as caught:
            await api.posts.delete(1)
    assert (caught.value.status, caught.value.message) == (502, "HTTP 502")


async def test_a_success_that_is_not_the_apis_json(aiohttp_server):
    """A 200 from something else than the API (a captive portal, a proxy): its own error,
    never a pydantic traceback."""

    async def portal(request):
        return web.Response(text="<html>Log in to the Wi-Fi</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", portal)
    url = str((await aiohttp_server(app)).make_url(""))
    async with Client(url) as api:
        with pytest.raises(errors.UnexpectedAnswer, match="not a PostPage"):
            await api.posts.list()
