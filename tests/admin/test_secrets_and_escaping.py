"""Every admin page, CSV and audit row: secret fields (password and token hashes) never
appear, and every value is escaped (autoescaping; no |safe on data)."""

import secrets
from datetime import UTC, datetime, timedelta

from tests.helpers import make_post
from www import DB
from www.accounts.models import ApiToken, PasswordReset
from www.admin.registry import registry
from www.files.models import File
from www.posts.models import Comment

HOSTILE = '<script>alert("x")</script>'


async def every_admin_page(client, app) -> dict[str, str]:
    """The text of every admin page (lists, CSVs, each row's page and delete page)."""
    pages = {}
    for path in ["/admin/", "/admin/audit"]:
        pages[path] = await (await client.get(path)).text()
    for table, admin in registry().items():
        for suffix in ("/", "/export.csv"):
            resp = await client.get(f"/admin/{table}{suffix}")
            assert resp.status == 200, (table, suffix)
            pages[f"/admin/{table}{suffix}"] = await resp.text()
        for row in await admin.model.select(app[DB]).all():
            for suffix in ("", "/delete"):
                path = f"/admin/{table}/{row.id}{suffix}"
                resp = await client.get(path)
                assert resp.status == 200, path
                pages[path] = await resp.text()
    return pages


async def hostile_rows(app, auth, admin_user):
    later = datetime.now(UTC) + timedelta(days=1)
    user = await auth.create_user(HOSTILE[:40], email="hostile@example.com")
    post = await make_post(app, user, 1, title=HOSTILE, summary=HOSTILE, content=HOSTILE)
    await Comment.create(app[DB], post_id=post.id, user_id=user.id, content=HOSTILE)
    await File.create(
        app[DB],
        user_id=user.id,
        original_name=HOSTILE,
        stored_name="stored",
        content_type="text/html",
        size=1,
        sha256="0" * 64,
    )
    token_hash, reset_hash = secrets.token_hex(32), secrets.token_hex(32)
    await ApiToken.create(
        app[DB], user_id=user.id, name=HOSTILE, token_hash=token_hash, expires_at=later
    )
    await PasswordReset.create(app[DB], user_id=user.id, token_hash=reset_hash, expires_at=later)
    return user, post, [user.password_hash, admin_user.password_hash, token_hash, reset_hash]


async def test_secrets_never_appear(client, auth, app, admin_user):
    user, _, hashes = await hostile_rows(app, auth, admin_user)
    # Changes, so that the audit log has rows of users and tokens, deleted ones included.
    values = {"name": "renamed", "email": "renamed@example.com", "is_admin": "on"}
    assert (await auth.post(f"/admin/users/{user.id}", values)).status == 303
    token = await ApiToken.select(app[DB]).first()
    assert (await auth.post(f"/admin/api_tokens/{token.id}/delete")).status == 303
    for path, text in (await every_admin_page(client, app)).items():
        for secret in hashes:
            assert secret not in text, path
        assert "password_hash" not in text and "token_hash" not in text, path


async def test_every_value_is_escaped(client, auth, app, admin_user):
    _, post, _ = await hostile_rows(app, auth, admin_user)
    resp = await auth.post(
        f"/admin/posts/{post.id}", {"title": HOSTILE + "!", "summary": "", "content": HOSTILE}
    )
    assert resp.status == 303  # and so the audit log shows it too
    pages = await every_admin_page(client, app)
    for path, text in pages.items():
        if not path.endswith(".csv"):
            assert "<script" not in text, path
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages["/admin/posts/"]
    assert "&lt;script&gt;" in pages["/admin/audit"]
    assert "<script>" in pages["/admin/posts/export.csv"]  # CSV is data, not HTML


async def test_the_header_links_the_admin_for_administrators_only(client, auth, app):
    await auth.login_as("alice")
    assert 'href="/admin/"' not in await (await client.get("/")).text()
    await auth.logout()
    await auth.login_as("root", is_admin=True)
    assert 'href="/admin/"' in await (await client.get("/")).text()
