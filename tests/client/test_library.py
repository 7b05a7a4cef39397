"""www.client.Client against a real server: every method, its typed results (the server's
own schemas, which the OpenAPI document describes), and what it sends."""

import hashlib

import jsonschema_rs
import pytest
from aiohttp import web

from tests.client.conftest import unique
from www.client import Client, NotFound
from www.files.schemas import FileOut, FilePage
from www.posts.schemas import CommentOut, CommentPage, PostOut, PostPage


@pytest.fixture
async def api(server, alice):
    async with Client(server.url, token=alice[1]) as api:
        yield api


async def test_posts_create_get_list_update_delete(api, alice):
    post = await api.posts.create(title="Hello", content="*Markdown*", summary="Hi")
    assert isinstance(post, PostOut)
    assert (post.title, post.summary, post.content) == ("Hello", "Hi", "*Markdown*")
    assert post.author.name == alice[0].name
    assert await api.posts.get(post.id) == post

    page = await api.posts.list(page=1, per_page=100)
    assert isinstance(page, PostPage) and post in page.items and page.per_page == 100

    changed = await api.posts.update(post.id, title="Changed")
    assert (changed.title, changed.content) == ("Changed", "*Markdown*")  # the rest kept
    assert changed.updated_at >= post.updated_at

    assert await api.posts.delete(post.id) is None
    with pytest.raises(NotFound) as caught:
        await api.posts.get(post.id)
    assert caught.value.message == "There is no such post."


async def test_tags_and_search(api):
    word = unique("zebra")  # the server is shared by the module's tests: a word of its own
    tagged = await api.posts.create(title=f"A {word}", content="x", tags=["Client-Tag", "two"])
    assert tagged.tags == ["client-tag", "two"]  # stored lower-case
    await api.posts.create(title="Untagged", content=f"no {word} tag here")
    assert [p.id for p in (await api.posts.list(tag="client-tag")).items] == [tagged.id]
    found = await api.posts.list(q=word)
    assert {p.title for p in found.items} == {f"A {word}", "Untagged"}
    both = await api.posts.list(tag="two", q=word)
    assert [p.id for p in both.items] == [tagged.id]
    changed = await api.posts.update(tagged.id, tags=[])
    assert changed.tags == [] and (await api.posts.list(tag="client-tag")).items == []


async def test_comments_add_list_and_page(api, server):
    post = await api.posts.create(title="Comments")
    _, bob = await server.user(unique("bob"))
    async with Client(server.url, token=bob) as other:
        added = [await other.comments.add(post.id, f"Comment {n}") for n in range(5)]
    assert all(isinstance(comment, CommentOut) for comment in added)
    assert [c.content for c in await api.comments.list(post.id, per_page=2)] == [
        f"Comment {n}" for n in range(5)
    ]  # read 2 at a time, oldest first
    page = await api.comments.page(post.id, 2, per_page=2)
    assert isinstance(page, CommentPage)
    assert (page.total, [c.id for c in page.items]) == (5, [added[2].id, added[3].id])


async def test_files_upload_get_list_download_delete(api, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"some notes\n" * 10_000)
    reported = []
    file = await api.files.upload(source, progress=lambda done, total: reported.append(done))
    assert isinstance(file, FileOut)
    assert (file.name, file.size) == ("notes.txt", source.stat().st_size)
    assert file.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert reported and reported[-1] == file.size  # progress as the bytes were read
    assert await api.files.get(file.id) == file
    listed = await api.files.list()
    assert isinstance(listed, FilePage) and listed.items == [file]

    folder = tmp_path / "downloads"
    folder.mkdir()
    saved = await api.files.download(file.id, folder)  # a folder: under the file's name
    assert saved == folder / "notes.txt"
    assert saved.read_bytes() == source.read_bytes()
    assert await api.files.download(file.id, tmp_path / "copy") == tmp_path / "copy"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no temporary left

    await api.files.delete(file.id)
    with pytest.raises(NotFound):
        await api.files.get(file.id)


async def test_results_match_the_openapi_document(api, server):
    """The client's models read what the document describes, and give it back the same."""
    async with api.http.session.get(f"{server.url}/api/openapi.json") as resp:
        document = await resp.json()
    post = await api.posts.create(title="Typed", content="x")
    comment = await api.comments.add(post.id, "typed")

    def check(value, method, path, status):
        operation = document["paths"][path][method]
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
        assert validator.is_valid(value.model_dump(mode="json")), (method, path)

    check(post, "get", "/api/posts/{id}", "200")
    check(await api.posts.list(), "get", "/api/posts", "200")
    check(comment, "post", "/api/posts/{id}/comments", "201")
    check(await api.comments.page(post.id, 1), "get", "/api/posts/{id}/comments", "200")
    check(await api.files.list(), "get", "/api/files", "200")


@pytest.fixture
async def recorder(aiohttp_server):
    """A tiny server that records each request and answers as the API would."""
    seen = []

    async def record(request):
        body = await request.json() if request.can_read_body else None
        seen.append((request.method, request.path, dict(request.query), body))
        post = {
            "id": 1,
            "title": "t",
            "summary": "",
            "content": "",
            "author": {"id": 1, "name": "a"},
            "tags": [],
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        }
        if request.path == "/api/posts" and request.method == "GET":
            return web.json_response({"items": [], "page": 1, "per_page": 10, "total": 0})
        return web.json_response(post, status=201 if request.method == "POST" else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = await aiohttp_server(app)
    return str(server.make_url("")), seen


async def test_tags_and_search_are_sent_only_when_given(recorder):
    """What the client sends for tags and search (test_tags_and_search: what they do)."""
    url, seen = recorder
    async with Client(url, token="www_x") as api:
        await api.posts.list()
        await api.posts.list(2, tag="python", q="async io")
        await api.posts.create(title="t")
        await api.posts.create(title="t", tags=["a", "b"])
        await api.posts.update(1, tags=["c"])
    assert seen == [
        ("GET", "/api/posts", {"page": "1"}, None),
        ("GET", "/api/posts", {"page": "2", "tag": "python", "q": "async io"}, None),
        ("POST", "/api/posts", {}, {"title": "t", "summary": "", "content": ""}),
        (
            "POST",
            "/api/posts",
            {},
            {"title": "t", "summary": "", "content": "", "tags": ["a", "b"]},
        ),
        ("PATCH", "/api/posts/1", {}, {"tags": ["c"]}),
    ]


async def test_the_client_is_used_inside_async_with(server):
    api = Client(server.url)
    with pytest.raises(RuntimeError, match="async with"):
        await api.posts.list()
    with pytest.raises(ValueError, match="http"):
        Client("ftp://example.com")
