"""The resources' own admin.py: deletes go through their actions (a file's bytes go with
its row), and the registry lists every model, declared or not."""

import pytest

from tests.files.test_pages import on_disk, rows, upload
from www.accounts.models import User
from www.admin.options import ModelAdmin
from www.admin.registry import registry
from www.models import MODELS
from www.posts.models import Post


async def test_a_file_deleted_in_the_admin_leaves_no_bytes(auth, client, app, settings):
    await auth.login_as("root", is_admin=True)
    assert (await upload(auth)).status == 303
    [file] = await rows(app)
    assert on_disk(settings) == [file.stored_name]
    resp = await auth.post(f"/admin/files/{file.id}/delete")
    assert resp.status == 303
    assert await rows(app) == [] and on_disk(settings) == []


def test_every_model_is_listed_unless_it_opts_out():
    tables = {model._meta.table for model in MODELS}
    assert set(registry()) == tables - {"post_html", "admin_changes"}
    assert registry()["broker_messages"].schema is None  # no admin.py: a default, read-only


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"list_display": ("nosuch",)}, "no field"),
        ({"search_fields": ("user_id",)}, "only text fields"),
        ({"per_page": 0}, "per_page"),
    ],
)
def test_mistakes_in_an_admin_py_fail_at_import(options, message):
    with pytest.raises(ValueError, match=message):
        ModelAdmin(Post, **options)


def test_a_secret_field_cannot_be_shown():
    with pytest.raises(ValueError, match="secret"):
        ModelAdmin(User, list_display=("password_hash",))
    assert "password_hash" not in {field.name for field in ModelAdmin(User).fields}
