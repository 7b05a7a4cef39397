"""The blog through HTTP: home page, posts, comments, permissions and escaping."""

import gc
import re
import types
from pathlib import Path

import pytest

import www
from tests.helpers import statements_read
from www import DB
from www.posts import pages
from www.posts.models import Comment, Post

WWW = str(Path(www.__file__).parent)

XSS = '<script>alert("x")</script>'


async def make_post(app, user, n=1, **values):
    values = {"title": f"Post {n}", "summary": f"Summary {n}", "content": "Body", **values}
    return await Post.create(app[DB], user_id=user.id, **values)


# --- home page and pagination -------------------------------------------------------


async def test_home_lists_newest_first_with_authors(auth, client, app):
    alice = await auth.create_user("alice")
    bob = await auth.create_user("bob")
    await make_post(app, alice, 1)
    await make_post(app, bob, 2)
    body = await (await client.get("/")).text()
    assert body.index("Post 2") < body.index("Post 1")
    assert 'href="/posts/' in body and "Summary 1" in body
    assert ">alice</a>" in body and ">bob</a>" in body


async def test_home_pages(auth, client, app, settings):
    alice = await auth.create_user()
    per_page = settings.blog.per_page
    for n in range(per_page + 1):
        await make_post(app, alice, n)
    first = await (await client.get("/")).text()
    assert first.count('class="card post-summary"') == per_page
    assert 'href="/?page=2"' in first
    resp = await client.get("/?page=2")
    assert resp.status == 200
    second = await resp.text()
    assert second.count('class="card post-summary"') == 1
    assert "Post 0" in second  # the oldest
    assert 'href="/?page=1"' in second


@pytest.mark.parametrize("page", ["0", "-1", "abc", "2", "1.5", "99999999999999999999"])
async def test_home_bad_or_missing_page_is_404(auth, client, app, page):
    await make_post(app, await auth.create_user())
    resp = await client.get(f"/?page={page}")
    assert resp.status == 404


async def test_empty_blog(client):
    resp = await client.get("/")
    assert resp.status == 200
    assert "No posts yet." in await resp.text()


async def test_authors_of_a_page_load_in_one_query(auth, client, app):
    for name in ("a1", "a2", "a3"):
        user = await auth.create_user(name)
        await make_post(app, user)
    with statements_read(app[DB]) as queries:
        assert (await client.get("/")).status == 200
    user_queries = [q for q in queries if '"users"' in q]
    assert len(user_queries) == 1, queries


# --- reading a post -----------------------------------------------------------------


async def test_post_page_renders_markdown_and_comments(auth, client, app):
    alice = await auth.create_user("alice")
    bob = await auth.create_user("bob")
    post = await make_post(
        app, alice, content="# Heading\n\nSome *text* and [a link](https://example.com)."
    )
    first = await Comment.create(app[DB], post_id=post.id, user_id=bob.id, content="First!")
    second = await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="Second")
    resp = await client.get(f"/posts/{post.id}")
    assert resp.status == 200
    body = await resp.text()
    assert "<h2>Heading</h2>" in body
    assert "<em>text</em>" in body
    assert 'rel="nofollow noopener ugc"' in body
    assert f'id="comment-{first.id}"' in body and f'id="comment-{second.id}"' in body
    assert body.index("First!") < body.index("Second")  # oldest first
    assert "Log in</a> to comment" in body


async def test_missing_post_is_404(client):
    assert (await client.get("/posts/12345")).status == 404
    assert (await client.get("/posts/abc")).status == 404
    assert (await client.get("/posts/999999999999999999999999")).status == 404


async def test_user_profile(auth, client, app):
    alice = await auth.create_user("alice")
    await make_post(app, alice, title="Alice's post")
    body = await (await client.get(f"/users/{alice.id}")).text()
    assert "Alice&#39;s post" in body
    assert (await client.get("/users/999")).status == 404


# --- escaping -----------------------------------------------------------------------


async def test_xss_is_escaped_everywhere(auth, client, app):
    evil = await auth.login_as(XSS[:50])
    post = await make_post(
        app, evil, title=XSS, summary=XSS, content=XSS + "\n\n[x](javascript:alert(1))"
    )
    await Comment.create(app[DB], post_id=post.id, user_id=evil.id, content=XSS)
    for path in ("/", f"/posts/{post.id}", f"/users/{evil.id}", f"/posts/{post.id}/edit"):
        body = await (await client.get(path)).text()
        assert "<script>alert" not in body, path
        assert "&lt;script&gt;" in body, path
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert 'href="javascript:' not in body


# --- writing posts ------------------------------------------------------------------


async def test_create_post(auth, client, app):
    await auth.login_as()
    assert (await client.get("/posts/new")).status == 200
    resp = await auth.post("/posts/new", {"title": "Hello", "summary": "S", "content": "# Hi"})
    assert resp.status == 303
    post = await Post.select(app[DB]).first()
    assert resp.headers["Location"] == f"/posts/{post.id}"
    assert (post.title, post.summary, post.content) == ("Hello", "S", "# Hi")
    assert "Your post is published." in await (await client.get(resp.headers["Location"])).text()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": ""}, "Title is required."),
        ({"title": "t" * 201}, "Title must be at most 200 characters."),
        ({"summary": "s" * 501}, "Summary must be at most 500 characters."),
        ({"content": "c" * 100_001}, "Content must be at most 100000 characters."),
    ],
)
async def test_create_post_validation(auth, app, values, message):
    await auth.login_as()
    data = {"title": "Kept title", "summary": "Kept summary", "content": "Kept content", **values}
    resp = await auth.post("/posts/new", data)
    assert resp.status == 400
    body = await resp.text()
    assert message in body
    kept = [v for k, v in data.items() if k not in values]
    assert all(v in body for v in kept)
    assert await Post.select(app[DB]).count() == 0


async def test_edit_post(auth, client, app):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    page = await (await client.get(f"/posts/{post.id}/edit")).text()
    assert 'value="Post 1"' in page
    resp = await auth.post(
        f"/posts/{post.id}/edit", {"title": "New", "summary": "", "content": "x"}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == f"/posts/{post.id}"
    saved = await Post.get(app[DB], post.id)
    assert saved.title == "New"
    assert saved.updated_at >= saved.created_at


async def test_edit_post_validation(auth, app):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    resp = await auth.post(f"/posts/{post.id}/edit", {"title": "", "content": "kept"})
    assert resp.status == 400
    assert "Title is required." in await resp.text()
    assert (await Post.get(app[DB], post.id)).title == "Post 1"


async def test_delete_post_deletes_comments(auth, app):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="c")
    resp = await auth.post(f"/posts/{post.id}/delete")
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    assert await Post.get(app[DB], post.id) is None
    assert await Comment.select(app[DB]).count() == 0


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_another_users_post_is_403(auth, client, app, action):
    bob = await auth.create_user("bob")
    post = await make_post(app, bob)
    await auth.login_as("alice")
    if action == "edit":
        assert (await client.get(f"/posts/{post.id}/edit")).status == 403
    resp = await auth.post(f"/posts/{post.id}/{action}", {"title": "Hacked"})
    assert resp.status == 403
    assert (await Post.get(app[DB], post.id)).title == "Post 1"


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_missing_post_edit_delete_is_404(auth, action):
    await auth.login_as()
    resp = await auth.post(f"/posts/4242/{action}", {"title": "x"})
    assert resp.status == 404


async def test_admin_may_edit_and_delete_any_post(auth, client, app):
    bob = await auth.create_user("bob")
    post = await make_post(app, bob)
    await auth.login_as("root", is_admin=True)
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert f'action="/posts/{post.id}/delete"' in body
    resp = await auth.post(f"/posts/{post.id}/edit", {"title": "Moderated"})
    assert resp.status == 303
    assert (await auth.post(f"/posts/{post.id}/delete")).status == 303


async def test_edit_controls_only_for_those_allowed(auth, client, app):
    bob = await auth.create_user("bob")
    post = await make_post(app, bob)
    await auth.login_as("alice")
    body = await (await client.get(f"/posts/{post.id}")).text()
    assert f"/posts/{post.id}/edit" not in body
    assert f"/posts/{post.id}/delete" not in body


# --- comments -----------------------------------------------------------------------


async def test_add_comment(auth, client, app):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": "Nice post"})
    assert resp.status == 303
    comment = await Comment.select(app[DB]).first()
    assert resp.headers["Location"] == f"/posts/{post.id}#comment-{comment.id}"
    assert comment.content == "Nice post" and comment.user_id == alice.id


async def test_a_comment_leaves_nothing_for_the_garbage_collector(auth, app):
    """Its 303 is returned, not raised (see_other, www/routing.py): a raised HTTPException
    is held in a reference cycle by the frames that catch it, and each comment's request
    would wait, with all it holds, for the garbage collector."""
    alice = await auth.login_as()
    post = await make_post(app, alice)
    await auth.post(f"/posts/{post.id}/comments", {"content": "First"})  # what is made once
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection frees is kept in gc.garbage
    try:
        resp = await auth.post(f"/posts/{post.id}/comments", {"content": "Second"})
        gc.collect()
        ours = [
            found.f_code.co_name
            for found in gc.garbage
            if isinstance(found, types.FrameType) and found.f_code.co_filename.startswith(WWW)
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert resp.status == 303
    assert ours == []


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "Comment is required."), ("c" * 5001, "Comment must be at most 5000 characters.")],
)
async def test_comment_validation(auth, app, content, message):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": content})
    assert resp.status == 400
    body = await resp.text()
    assert message in body
    assert content in body
    assert await Comment.select(app[DB]).count() == 0


@pytest.mark.parametrize("content", ["x", ""])  # a comment, then one the form refuses
async def test_comment_on_missing_post_is_404(auth, app, content):
    await auth.login_as()
    assert (await auth.post("/posts/777/comments", {"content": content})).status == 404
    assert await Comment.select(app[DB]).count() == 0


async def make_comment(app, auth):
    alice = await auth.create_user("alice")
    bob = await auth.create_user("bob")
    post = await make_post(app, alice)
    comment = await Comment.create(app[DB], post_id=post.id, user_id=bob.id, content="c")
    return post, comment


@pytest.mark.parametrize("who", ["bob", "alice"])  # the comment's author, the post's author
async def test_delete_comment_allowed(auth, app, who):
    post, comment = await make_comment(app, auth)
    assert (await auth.login(f"{who}@example.com")).status == 303
    resp = await auth.post(f"/comments/{comment.id}/delete")
    assert resp.status == 303
    assert resp.headers["Location"] == f"/posts/{post.id}"
    assert await Comment.get(app[DB], comment.id) is None


async def test_delete_comment_by_someone_else_is_403(auth, app):
    _, comment = await make_comment(app, auth)
    await auth.login_as("carol")
    assert (await auth.post(f"/comments/{comment.id}/delete")).status == 403
    assert await Comment.get(app[DB], comment.id) is not None


async def test_delete_missing_comment_is_404(auth):
    await auth.login_as()
    assert (await auth.post("/comments/999/delete")).status == 404


# --- login required -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/posts/new", "/posts/1/edit"])
async def test_pages_redirect_visitors_to_login(client, path):
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "path",
    ["/posts/new", "/posts/1/edit", "/posts/1/delete", "/posts/1/comments", "/comments/1/delete"],
)
async def test_forms_redirect_visitors_to_login(auth, path):
    resp = await auth.post(path, {"title": "x", "content": "x"})
    assert resp.status == 303
    assert re.fullmatch(r"/login(\?next=.*)?", resp.headers["Location"])


async def test_logout_as_visitor(auth):
    resp = await auth.logout()
    assert resp.status == 303 and resp.headers["Location"] == "/"


async def test_post_deleted_meanwhile_is_404_not_500(auth, app, monkeypatch):
    alice = await auth.login_as()
    post = await make_post(app, alice)
    original_get = Post.get

    async def get_then_vanish(db, pk):
        found = await original_get(db, pk)
        await Post.select(db).where(id=pk).delete()  # another request deletes it now
        return found

    token = await auth.token()
    monkeypatch.setattr(Post, "get", get_then_vanish)
    data = {"title": "t", "content": "c", "csrf_token": token}
    assert (await auth.post(f"/posts/{post.id}/edit", data)).status == 404
    # A comment reads no post first: deleted between its form and its INSERT.
    post = await make_post(app, alice)
    original_hit = pages.hit

    async def vanish_then_hit(request, *args):
        await Post.select(app[DB]).where(id=post.id).delete()
        await original_hit(request, *args)

    monkeypatch.setattr(pages, "hit", vanish_then_hit)
    assert (await auth.post(f"/posts/{post.id}/comments", data)).status == 404
