"""Rate limits on posts and comments, per user, through the pages and the API alike, on
a fake clock: past the limit 429 with Retry-After, and nothing is saved."""

import limits

from tests.helpers import error_of, send
from www import CONFIG, DB
from www.posts.models import Comment, Post


def rate(app, name: str) -> limits.RateLimitItem:
    return limits.parse(getattr(app[CONFIG].rate_limits, name))


async def count(app, model) -> int:
    return len(await model.select(app[DB]).all())


async def test_posts_per_user_through_the_page_and_the_api(app, auth, client, clock):
    await auth.login_as("alice")
    item = rate(app, "post_user")
    for n in range(item.amount):  # one budget for both ways in
        if n % 2:
            resp = await send(client, "POST", "/api/posts", {"title": f"API post {n}"})
            assert resp.status == 201
        else:
            resp = await auth.post("/posts/new", {"title": f"Post {n}", "content": "hi"})
            assert resp.status == 303
    resp = await auth.post("/posts/new", {"title": "One more", "content": "hi"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "Too many attempts. Try again in" in await resp.text()
    error = await error_of(await send(client, "POST", "/api/posts", {"title": "x"}), 429)
    assert error["message"].startswith("Too many attempts.")
    assert await count(app, Post) == item.amount  # nothing saved past the limit
    clock.advance(item.get_expiry() + 1)
    assert (await send(client, "POST", "/api/posts", {"title": "Later"})).status == 201


async def test_an_invalid_post_uses_no_budget(app, auth, clock):
    await auth.login_as("alice")
    for _ in range(rate(app, "post_user").amount + 3):
        assert (await auth.post("/posts/new", {"title": ""})).status == 400
    assert (await auth.post("/posts/new", {"title": "Valid"})).status == 303


async def test_comments_per_user_through_the_page_and_the_api(app, auth, client, clock, post):
    alice = await auth.login_as("alice")
    item = rate(app, "comment_user")
    for n in range(item.amount):
        if n % 2:
            resp = await send(client, "POST", f"/api/posts/{post.id}/comments", {"content": "a"})
            assert resp.status == 201
        else:
            resp = await auth.post(f"/posts/{post.id}/comments", {"content": "b"})
            assert resp.status == 303
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": "c"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    resp = await send(client, "POST", f"/api/posts/{post.id}/comments", {"content": "d"})
    await error_of(resp, 429)
    assert "Retry-After" in resp.headers
    assert await count(app, Comment) == item.amount
    # Another user has a budget of their own.
    await auth.logout()
    await auth.login_as("bob")
    assert (await auth.post(f"/posts/{post.id}/comments", {"content": "e"})).status == 303
    await auth.logout()
    assert (await auth.login(alice.email)).status == 303
    clock.advance(item.get_expiry() + 1)
    assert (await auth.post(f"/posts/{post.id}/comments", {"content": "f"})).status == 303


async def test_a_comment_on_a_missing_post_is_404_not_429(app, auth, client, clock, post):
    await auth.login_as("alice")
    for _ in range(rate(app, "comment_user").amount):
        await auth.post(f"/posts/{post.id}/comments", {"content": "a"})
    assert (await auth.post("/posts/999999/comments", {"content": "a"})).status == 404
