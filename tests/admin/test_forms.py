"""Create and edit through the admin: the resource's own schema decides, so the admin
refuses what the app's forms and API refuse, with the same messages (derived here from
the schema, not written down); the form comes back with 400 and the input kept."""

import html
import re
from datetime import UTC, datetime
from typing import Annotated, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import MultiDict
from pydantic import AfterValidator, BeforeValidator, Field

from tests.helpers import make_post, send
from www import DB
from www.accounts.admin import UserAdminIn
from www.accounts.models import User
from www.accounts.schemas import Registration
from www.admin.forms import form_fields, submitted
from www.admin.options import ModelAdmin
from www.orm import BooleanField, DateTimeField, FloatField, IntegerField, Model, TextField
from www.posts.models import Post, PostHtml
from www.posts.schemas import PostIn
from www.schemas import Invalid, Schema, blank_is_none, in_utc, limit, text

MESSAGES = re.compile(r'<div class="errors" role="alert">\s*<ul>(.*?)</ul>', re.S)
VALID_POST = {"title": "A title", "summary": "", "content": "Some *Markdown*"}


def invalid_values(schema) -> list[tuple[str, str]]:
    """(field, value) pairs that break `schema`'s rules: from its lengths and requirements;
    for a list (a post's tags, comma-separated in a form), too many items and a bad one."""
    cases = []
    for name, field in schema.model_fields.items():
        if get_origin(field.annotation) is list:
            most = (field.json_schema_extra or {}).get("maxItems", 100)
            many = ", ".join(f"item{n}" for n in range(most + 1))
            cases += [(name, many), (name, "fine, not fine"), (name, "x" * 1000)]
        for rule in field.metadata:
            if getattr(rule, "max_length", None):
                cases.append((name, "x" * (rule.max_length + 1)))
        if field.is_required():
            cases += [(name, ""), (name, " \u200b ")]
        if field.annotation is str:
            cases.append((name, "nul \x00 inside"))
    return cases


def as_json(schema, values: dict) -> dict:
    """A form's values as the API takes them: a list field's text as its items."""
    return {
        name: [item.strip() for item in value.split(",") if item.strip()]
        if get_origin(schema.model_fields[name].annotation) is list
        else value
        for name, value in values.items()
    }


def shown_messages(page: str) -> list[str]:
    found = MESSAGES.search(page)
    assert found, page[-2000:]
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


@pytest.mark.parametrize(("name", "value"), invalid_values(PostIn))
async def test_posts_are_refused_as_the_api_refuses_them(client, auth, admin_user, name, value):
    values = {**VALID_POST, name: value}
    resp = await auth.post("/admin/posts/new", values)
    assert resp.status == 400
    page = await resp.text()
    api = await send(client, "POST", "/api/posts", as_json(PostIn, values))
    assert api.status == 422
    assert shown_messages(page) == list((await api.json())["error"]["fields"].values())
    if "\x00" not in value and len(value) < 1000:  # the input is kept
        assert html.escape(value, quote=True) in page or value.strip() == ""


@pytest.mark.parametrize(("name", "value"), invalid_values(UserAdminIn))
async def test_users_are_refused_as_registration_refuses_them(auth, admin_user, name, value):
    other = await auth.create_user("bob")
    values = {"name": "bob", "email": "bob@example.com", name: value}
    resp = await auth.post(f"/admin/users/{other.id}", values)
    assert resp.status == 400
    with pytest.raises(Invalid) as refused:
        Registration.parse({**values, "password": "a long password"})
    assert shown_messages(await resp.text()) == list(refused.value.errors.values())


async def test_post_created_with_the_apps_action(client, auth, app, admin_user):
    resp = await auth.post("/admin/posts/new", VALID_POST)
    assert resp.status == 303
    post = await Post.select(app[DB]).first()
    assert resp.headers["Location"] == f"/admin/posts/{post.id}"
    assert (post.title, post.user_id) == ("A title", admin_user.id)
    stored = await PostHtml.select(app[DB]).where(post_id=post.id).first()
    assert "<em>Markdown</em>" in stored.html  # rendered as publish_post does


async def test_post_edited(client, auth, app, admin_user):
    post = await make_post(app, await auth.create_user("author"))
    form = await (await client.get(f"/admin/posts/{post.id}")).text()
    assert 'name="title"' in form and 'maxlength="200"' in form and "required" in form
    resp = await auth.post(f"/admin/posts/{post.id}", {**VALID_POST, "title": "New"})
    assert resp.status == 303
    assert (await Post.get(app[DB], post.id)).title == "New"


async def test_user_edited_never_the_password(client, auth, app, admin_user):
    bob = await auth.create_user("bob")
    page = await (await client.get(f"/admin/users/{bob.id}")).text()
    assert 'name="is_admin"' in page and "password" not in page.lower()
    values = {"name": "Bobby", "email": "BOBBY@example.com", "is_admin": "on"}
    resp = await auth.post(f"/admin/users/{bob.id}", values)
    assert resp.status == 303
    saved = await User.get(app[DB], bob.id)
    assert (saved.name, saved.email, saved.is_admin) == ("Bobby", "bobby@example.com", True)
    assert saved.password_hash == bob.password_hash and saved.email_key == "bobby@example.com"
    resp = await auth.post(f"/admin/users/{bob.id}", {"name": "Bobby", "email": "b@example.com"})
    assert resp.status == 303 and not (await User.get(app[DB], bob.id)).is_admin  # unticked


async def test_a_taken_name_is_a_form_error(client, auth, app, admin_user):
    bob = await auth.create_user("bob")
    resp = await auth.post(f"/admin/users/{bob.id}", {"name": "ROOT", "email": "b@example.com"})
    assert resp.status == 400
    assert "must be unique is taken" in await resp.text()
    assert (await User.get(app[DB], bob.id)).name == "bob"


async def test_read_only_tables_have_no_form(client, auth, app, admin_user):
    post = await make_post(app, admin_user)
    assert (await client.get("/admin/comments/new")).status == 404
    assert (await client.get("/admin/users/new")).status == 404  # a user needs a password
    resp = await auth.post(f"/admin/post_html/{post.id}", {})
    assert resp.status == 404  # not in the admin at all


async def test_an_administrator_cannot_demote_or_delete_themselves(client, auth, app, admin_user):
    values = {"name": "root", "email": "root@example.com"}  # is_admin unticked
    resp = await auth.post(f"/admin/users/{admin_user.id}", values)
    assert resp.status == 400 and "another administrator" in await resp.text()
    resp = await auth.post(f"/admin/users/{admin_user.id}/delete")
    assert resp.status == 400
    assert (await User.get(app[DB], admin_user.id)).is_admin
    other = await auth.create_user("deputy", is_admin=True)
    resp = await auth.post(f"/admin/users/{other.id}", {"name": "d", "email": "d@example.com"})
    assert (
        resp.status == 303
    )  # another administrator may be demoted and not (await User.get(app[DB], other.id)).is_admin


class Gadget(Model):
    name = TextField(max_length=80)
    notes = TextField(null=True)
    count = IntegerField(default=0)
    weight = FloatField(default=0.0)
    shown = BooleanField(default=True)
    rank = IntegerField(null=True)
    due = DateTimeField(null=True)


class GadgetIn(Schema):
    name: str = text("Name", min_length=1, max_length=limit(Gadget, "name"))
    notes: str = text("Notes")
    count: int = Field(0, ge=0, le=10)
    weight: float = 0.0
    shown: bool = True
    rank: Annotated[int | None, BeforeValidator(blank_is_none)] = None
    due: Annotated[datetime | None, BeforeValidator(blank_is_none), AfterValidator(in_utc)] = None


def test_each_type_gets_its_input():
    admin = ModelAdmin(Gadget, schema=GadgetIn, readonly_fields=("count",))
    due = datetime(2026, 12, 24, 18, 30, 5, tzinfo=UTC)
    values = {"shown": "on", "weight": 1.5, "due": due}
    fields = {f["name"]: f for f in form_fields(admin, values, {})}
    kinds = {name: field["kind"] for name, field in fields.items()}
    assert kinds == {
        "name": "text",
        "notes": "textarea",  # no limit: long text
        "weight": "decimal",
        "shown": "checkbox",
        "rank": "number",  # optional: the same input, not a textarea
        "due": "datetime-local",
    }  # count is read-only
    assert str(fields["name"]["attrs"]) == 'maxlength="80" required'
    assert fields["shown"]["checked"] and fields["weight"]["value"] == "1.5"
    # A datetime as the browser's input takes it, in UTC, and read back as the same.
    assert fields["due"]["value"] == "2026-12-24T18:30:05" and fields["due"]["label"] == "Due (UTC)"
    assert GadgetIn.parse({"name": "n", "due": fields["due"]["value"]}, form=True).due == due
    unticked = submitted(admin, MultiDict({"name": "n"}), None)
    assert unticked == {"name": "n", "shown": False}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_random_input_in_the_admin_forms_never_5xx(client, auth, app, admin_user, data):
    """Random text in every field of the users' and posts' forms: a 303 or the form again."""
    post = await make_post(app, admin_user)
    other = await auth.create_user(f"user{post.id}")
    action, schema = data.draw(
        st.sampled_from(
            [
                ("/admin/posts/new", PostIn),
                (f"/admin/posts/{post.id}", PostIn),
                (f"/admin/users/{other.id}", UserAdminIn),
            ]
        ),
        "form",
    )
    form = data.draw(
        st.fixed_dictionaries({name: st.text(max_size=300) for name in schema.model_fields}),
        "values",
    )
    resp = await auth.post(action, form)
    assert resp.status in (303, 400), (action, form, resp.status)
