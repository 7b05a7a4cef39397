"""A post's HTML: rendered when saved, off the event loop, stored, and rendered again when
stale; a page read never renders on the loop."""

import asyncio
import hashlib
import threading

import pytest

from tests.conftest import overrides_for
from tests.helpers import error_of, make_post, send
from tests.test_markdown import AMPLIFIED, Spy, wait_for
from www import DB
from www.keys import MARKDOWN
from www.markdown import RENDERER_VERSION, render_markdown
from www.posts.models import Post, PostHtml
from www.settings import load_settings

SOURCE = "# Hello\n\nSome *Markdown* with [a link](/x).\n"
PATHOLOGICAL = "[" * 90_000  # seconds of markdown-it-py (and 90 KB of HTML)


@pytest.fixture
def settings(tmp_path, db_url):
    """The suite's settings with the smallest HTML bound, one thread and one place in its
    queue (overrides conftest's fixture)."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["markdown"] = {"max_html": 100_000, "threads": 1, "queue": 1}
    return load_settings(overrides=overrides, environ={})


@pytest.fixture
def spy(monkeypatch):
    return Spy(monkeypatch)


async def row(app, post_id) -> Post:
    return await Post.get(app[DB], post_id)


async def stored(app, post_id) -> tuple[str, int, str] | None:
    """(html, version, source_hash) as stored for the post, or None."""
    found = await PostHtml.select(app[DB]).where(post_id=post_id).first()
    return found and (found.html, found.version, found.source_hash)


def fresh(html: str, content: str) -> tuple[str, int, str]:
    """What `stored` gives for `html` made now from `content`."""
    return html, RENDERER_VERSION, hashlib.sha256(content.encode()).hexdigest()


def in_markdown_threads(spy) -> bool:
    return bool(spy.threads) and all(t.name.startswith("markdown") for t in spy.threads)


async def test_a_new_post_stores_its_html_rendered_off_the_loop(auth, client, app, spy):
    await auth.login_as()
    form = {"title": "T", "content": SOURCE}
    resp = await auth.post("/posts/new", form)
    assert resp.status == 303
    post = (await Post.select(app[DB]).all())[0]
    assert await stored(app, post.id) == fresh(render_markdown(SOURCE), SOURCE)
    assert in_markdown_threads(spy)
    spy.threads.clear()
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert render_markdown(SOURCE) in body
    assert spy.threads == []  # read as stored


async def test_an_edit_renders_again(auth, client, app, spy):
    alice = await auth.login_as()
    post = await make_post(app, alice, content="old")
    resp = await auth.post(f"/posts/{post.id}/edit", {"title": "T", "content": "**new**"})
    assert resp.status == 303
    assert await stored(app, post.id) == fresh("<p><strong>new</strong></p>\n", "**new**")
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"content": "_api_"})
    assert resp.status == 200
    assert await stored(app, post.id) == fresh("<p><em>api</em></p>\n", "_api_")
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"title": "Only the title"})
    assert resp.status == 200
    assert await stored(app, post.id) == fresh("<p><em>api</em></p>\n", "_api_")
    assert in_markdown_threads(spy)
    assert "<em>api</em>" in await (await client.get(f"/posts/{post.id}")).text()


@pytest.mark.parametrize(
    "stale",
    [
        None,  # posts from before the migration, or made by a script
        {"version": RENDERER_VERSION - 1},  # by an older renderer
        {"source_hash": "0" * 64},  # from other content: an edit around the actions
    ],
)
async def test_stale_html_is_rendered_again_when_read(auth, client, app, spy, stale):
    post = await make_post(app, await auth.create_user(), content="*fresh*")
    if stale is not None:
        values = {"source_hash": fresh("", "*fresh*")[2], "version": RENDERER_VERSION, **stale}
        await PostHtml.create(app[DB], post_id=post.id, html="<p>stale</p>", **values)
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert "<em>fresh</em>" in body and "stale" not in body
    assert in_markdown_threads(spy)
    assert await stored(app, post.id) == fresh("<p><em>fresh</em></p>\n", "*fresh*")
    assert (await row(app, post.id)).updated_at == post.updated_at  # no edit
    spy.threads.clear()
    assert "<em>fresh</em>" in await (await client.get(f"/posts/{post.id}")).text()
    assert spy.threads == []  # saved: rendered once


async def test_deleting_a_post_deletes_its_html(auth, app):
    post = await make_post(app, await auth.login_as())
    await auth.client.get(f"/posts/{post.id}")  # rendered and stored
    assert await stored(app, post.id)
    assert (await auth.post(f"/posts/{post.id}/delete")).status == 303
    assert await PostHtml.select(app[DB]).count() == 0


async def test_content_saved_without_its_html_is_rendered_when_read(auth, client, app):
    """An edit that bypasses the actions (the admin, a script) leaves no stale HTML."""
    post = await make_post(app, await auth.create_user(), content="first")
    assert "<p>first</p>" in await (await client.get(f"/posts/{post.id}")).text()
    post = await row(app, post.id)
    post.content = "second"
    await post.save(app[DB])
    assert "<p>second</p>" in await (await client.get(f"/posts/{post.id}")).text()


async def test_a_newer_renderers_html_is_kept(auth, client, app, spy):
    """During a rolling deploy, a worker not yet restarted shows what a newer one saved."""
    post = await make_post(app, await auth.create_user())
    digest = fresh("", post.content)[2]
    newer = {"version": RENDERER_VERSION + 1, "source_hash": digest}
    await PostHtml.create(app[DB], post_id=post.id, html="<p>newer</p>", **newer)
    assert "<p>newer</p>" in await (await client.get(f"/posts/{post.id}")).text()
    assert spy.threads == []


async def test_content_that_renders_too_long_is_refused(auth, client, app):
    alice = await auth.login_as()
    resp = await auth.post("/posts/new", {"title": "Big", "content": AMPLIFIED})
    assert resp.status == 400
    body = await resp.text()
    assert "too long a page" in body and "x" * 1000 in body  # the message, the input kept
    resp = await send(client, "POST", "/api/posts", {"title": "Big", "content": AMPLIFIED})
    error = await error_of(resp, 422)
    assert "too long a page" in error["fields"]["content"]
    post = await make_post(app, alice, content="fine")
    resp = await auth.post(f"/posts/{post.id}/edit", {"title": "T", "content": AMPLIFIED})
    assert resp.status == 400
    assert (await row(app, post.id)).content == "fine"
    assert await Post.select(app[DB]).count() == 1


async def test_a_stale_post_too_long_to_render_shows_its_source(auth, client, app):
    post = await make_post(app, await auth.create_user(), content=AMPLIFIED)  # not rendered
    resp = await client.get(f"/posts/{post.id}")
    assert resp.status == 200
    body = await resp.text()
    assert '<pre class="markdown-source">[a]: /xxx' in body
    assert len(body) < 200_000


async def test_the_loop_answers_while_a_pathological_post_is_saved(auth, client, app, monkeypatch):
    spy = Spy(monkeypatch, hold=True)
    await auth.login_as()
    saving = asyncio.create_task(
        auth.post("/posts/new", {"title": "Slow", "content": PATHOLOGICAL})
    )
    try:
        await wait_for(spy.started)  # the render has begun, and waits for us
        async with asyncio.timeout(10):  # generous: it takes milliseconds
            resp = await client.get("/healthz")
        assert resp.status == 200
        assert not saving.done()
    finally:
        spy.release.set()  # then the real render (seconds), in the markdown thread
    assert (await saving).status == 303
    assert spy.threads[0] is not threading.main_thread()
    assert in_markdown_threads(spy)
    post = await Post.select(app[DB]).first()
    assert (await stored(app, post.id))[0] == f"<p>{PATHOLOGICAL}</p>\n"  # as rendered


async def fill_the_pool(auth, app, settings, spy) -> list[asyncio.Task]:
    """New posts, as many as the Markdown pool runs and queues, their renders held by
    `spy`: the pool is full when this returns. Their tasks (each ends in 303)."""
    room = settings.markdown.threads + settings.markdown.queue
    busy = [
        asyncio.create_task(auth.post("/posts/new", {"title": "T", "content": f"{n}"}))
        for n in range(room)
    ]
    await wait_for(spy.started)
    async with asyncio.timeout(10):
        while len(app[MARKDOWN]._running) < room:  # each has reached the pool
            await asyncio.sleep(0.01)
    return busy


async def test_renders_waiting_past_the_queue_are_503(auth, client, app, monkeypatch, settings):
    spy = Spy(monkeypatch, hold=True)
    await auth.login_as()
    try:
        busy = await fill_the_pool(auth, app, settings, spy)
        resp = await auth.post("/posts/new", {"title": "T", "content": "one too many"})
        assert resp.status == 503
        assert resp.headers["Retry-After"]
    finally:
        spy.release.set()
    assert [r.status for r in await asyncio.gather(*busy)] == [303] * len(busy)


async def test_a_reader_of_a_stale_post_waits_for_room_rather_than_503(
    auth, client, app, monkeypatch, settings
):
    """Every post is stale once (after migration 0003, or a renderer change): a burst of
    first views waits its turn in the pool, where a writer would get 503 at once."""
    post = await make_post(app, await auth.create_user("author"), content="*first view*")
    spy = Spy(monkeypatch, hold=True)
    await auth.login_as()
    try:
        busy = await fill_the_pool(auth, app, settings, spy)
        reading = asyncio.create_task(client.get(f"/posts/{post.id}"))
        await asyncio.sleep(0.2)  # it is turned away from the full pool, and tries again
        assert not reading.done()
    finally:
        spy.release.set()
    resp = await reading
    assert resp.status == 200
    assert "<em>first view</em>" in await resp.text()
    assert [r.status for r in await asyncio.gather(*busy)] == [303] * len(busy)
