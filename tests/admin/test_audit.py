"""The audit log: every create, update and delete made through the admin, with who, when
and the old and new values of the changed fields, written by the change's transaction."""

import json

import pytest

from tests.helpers import make_post
from www import DB
from www.admin import writes
from www.admin.models import AdminChange
from www.posts.models import Comment, Post

VALID_POST = {"title": "A title", "summary": "", "content": "Text"}


async def changes(app) -> list[AdminChange]:
    return await AdminChange.select(app[DB]).order_by("id").all()


async def test_create_update_delete_are_recorded(client, auth, app, admin_user):
    resp = await auth.post("/admin/posts/new", VALID_POST)
    assert resp.status == 303
    post = await Post.select(app[DB]).first()
    await auth.post(f"/admin/posts/{post.id}", {**VALID_POST, "title": "Renamed"})
    await auth.post(f"/admin/posts/{post.id}", {**VALID_POST, "title": "Renamed"})  # no change
    await auth.post(f"/admin/posts/{post.id}/delete")
    created, updated, deleted = await changes(app)
    assert [(c.action, c.table_name, c.row_id, c.user_id) for c in (created, updated, deleted)] == [
        ("create", "posts", post.id, admin_user.id),
        ("update", "posts", post.id, admin_user.id),
        ("delete", "posts", post.id, admin_user.id),
    ]
    assert json.loads(created.old_values) == {}
    assert json.loads(created.new_values)["title"] == "A title"
    old, new = json.loads(updated.old_values), json.loads(updated.new_values)
    assert old["title"] == "A title" and new["title"] == "Renamed"
    assert set(old) == set(new) == {"title", "updated_at"}  # only the changed fields
    assert json.loads(deleted.old_values)["title"] == "Renamed"
    assert json.loads(deleted.new_values) == {}


async def test_the_audit_page_lists_them_newest_first(client, auth, app, admin_user):
    bob = await auth.create_user("bob")
    await auth.post(f"/admin/users/{bob.id}", {"name": "bobby", "email": "bob@example.com"})
    await auth.post(f"/admin/users/{bob.id}", {"name": "robert", "email": "bob@example.com"})
    page = await (await client.get("/admin/audit")).text()
    # Newest first: bobby -> robert, then bob -> bobby.
    assert page.index(">robert</td>") < page.index(">bob</td>")
    assert f'<a href="/admin/users/{bob.id}">users #{bob.id}</a>' in page
    assert "password" not in page


async def test_audit_pages(client, auth, app, admin_user):
    post = await make_post(app, admin_user)
    for n in range(51):  # audit_per_page is 50
        await auth.post(f"/admin/posts/{post.id}", {**VALID_POST, "title": f"T{n}"})
    assert "Page 1 of 2" in await (await client.get("/admin/audit")).text()
    assert "T0" in await (await client.get("/admin/audit?page=2")).text()
    assert (await client.get("/admin/audit?page=3")).status == 404


async def test_a_failed_change_leaves_no_audit_row(client, auth, app, admin_user):
    bob = await auth.create_user("bob")
    resp = await auth.post(f"/admin/users/{bob.id}", {"name": "root", "email": "b@example.com"})
    assert resp.status == 400  # the name is taken: the UPDATE fails
    assert await changes(app) == []


async def test_an_audit_that_fails_undoes_the_change(client, auth, app, admin_user, monkeypatch):
    post = await make_post(app, admin_user, title="Before")
    await Comment.create(app[DB], post_id=post.id, user_id=admin_user.id, content="Hi")

    async def failing(*args, **kwargs):
        raise RuntimeError("the audit row could not be written")

    monkeypatch.setattr(writes.audit, "record", failing)
    resp = await auth.post(f"/admin/posts/{post.id}", {**VALID_POST, "title": "After"})
    assert resp.status == 500
    assert (await Post.get(app[DB], post.id)).title == "Before"
    resp = await auth.post(f"/admin/posts/{post.id}/delete")
    assert resp.status == 500
    assert await Post.get(app[DB], post.id) is not None
    assert await Comment.select(app[DB]).count() == 1


@pytest.mark.parametrize("bulk", [False, True])
async def test_delete_says_what_goes_with_it(client, auth, app, admin_user, bulk):
    posts = [await make_post(app, admin_user, n) for n in range(3)]
    for post in posts[:2]:
        for _ in range(2):
            await Comment.create(app[DB], post_id=post.id, user_id=admin_user.id, content="c")
    targets = posts[:2] if bulk else posts[:1]
    query = "&".join(f"id={p.id}" for p in targets)
    path = f"/admin/posts/delete?{query}" if bulk else f"/admin/posts/{posts[0].id}/delete"
    page = await (await client.get(path)).text()
    assert f"{2 * len(targets)} of comments (by post_id): deleted too" in page
    action = "/admin/posts/delete" if bulk else path
    form = [("csrf_token", await auth.token()), *(("id", str(p.id)) for p in targets)]
    resp = await client.post(action, data=form, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/posts/"
    assert [p.id for p in await Post.select(app[DB]).all()] == [p.id for p in posts[len(targets) :]]
    assert [c.row_id for c in await changes(app)] == [p.id for p in targets]
