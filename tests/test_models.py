"""www.models: the blog's tables, their constraints and cascades (the `db` fixture is in
conftest.py: a fresh database with every table, on SQLite or PostgreSQL)."""

from datetime import UTC

import pytest

from tests.databases import column_names, index_names, sql
from www.accounts.models import User
from www.db import IntegrityError
from www.files.models import File
from www.models import MODELS
from www.orm import ValidationError
from www.posts.models import Comment, Post


async def make_user(db, name="alice", email=None, **values) -> User:
    email = email or f"{name}@example.com"
    return await User.create(db, name=name, email=email, password_hash="hash", **values)


def test_models_in_dependency_order():
    """Every foreign key refers to a model listed before its own (create_all's order)."""
    tables = [model._meta.table for model in MODELS]
    assert len(set(tables)) == len(tables)
    for position, model in enumerate(MODELS):
        for field in model._meta.fields:
            if field.references:
                assert field.references[0] in tables[: position + 1], (model, field)


async def test_every_model_has_its_table_and_columns(db):
    for model in MODELS:
        assert await column_names(db, model._meta.table) == list(model._meta.names), model


async def test_user_defaults(db):
    user = await make_user(db)
    loaded = await User.get(db, user.id)
    assert (loaded.is_admin, loaded.session_epoch) == (False, 0)
    assert loaded.created_at.tzinfo is UTC
    assert (loaded.name, loaded.email) == ("alice", "alice@example.com")


async def test_email_is_stored_lower_case_and_found_in_any_case(db):
    user = await make_user(db, email="  Alice.Smith@Example.COM ")
    assert user.email == "alice.smith@example.com"
    stored = await db.fetchone(sql(db, "SELECT email FROM users WHERE id = ?"), (user.id,))
    assert stored == ("alice.smith@example.com",)
    found = await User.select(db).where(email="ALICE.SMITH@example.com").first()
    assert found is not None and found.id == user.id
    user.email = "NEW@Example.com"
    await user.save(db)
    assert (await User.get(db, user.id)).email == "new@example.com"


async def test_email_is_unique_in_any_case(db):
    await make_user(db, "alice", "alice@example.com")
    with pytest.raises(IntegrityError, match=r"users[._]email"):
        await make_user(db, "bob", "ALICE@example.com")
    with pytest.raises(IntegrityError, match=r"users[._]email"):  # even if written directly
        await db.execute(
            "INSERT INTO users (name, email, password_hash, is_admin, session_epoch, created_at,"
            " name_key, email_key) VALUES ('carol', 'Alice@Example.com', 'h', FALSE, 0,"
            " '2024-01-01T00:00:00+00:00', 'carol', 'alice@example.com')"
        )


async def test_name_is_unique_in_any_case(db):
    await make_user(db, "Alice", "one@example.com")
    with pytest.raises(IntegrityError, match=r"users[._]name"):
        await make_user(db, "alice", "two@example.com")
    with pytest.raises(IntegrityError, match=r"users[._]name"):
        await make_user(db, " ALICE ", "three@example.com")  # stripped, then compared
    assert (await User.select(db).where(name="aLiCe").first()).name == "Alice"


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (User, {"name": "x" * 51, "email": "a@b.c", "password_hash": "h"}, "name"),
        (User, {"name": "x", "email": "e" * 250 + "@b.cd", "password_hash": "h"}, "email"),
        (User, {"name": "x", "email": "a@b.c"}, "password_hash"),
        (Post, {"user_id": 1, "title": "t" * 201}, "title"),
        (Post, {"user_id": 1, "title": "t", "summary": "s" * 501}, "summary"),
        (Post, {"user_id": 1, "title": "t", "content": "c" * 100_001}, "content"),
        (Post, {"title": "t"}, "user_id"),
        (Comment, {"post_id": 1, "user_id": 1, "content": "c" * 5001}, "content"),
        (
            File,
            {
                "user_id": 1,
                "original_name": "a",
                "stored_name": "b",
                "content_type": "c",
                "size": "big",
                "sha256": "0" * 64,
            },
            "size",
        ),
        (
            File,
            {
                "user_id": 1,
                "original_name": "a",
                "stored_name": "b",
                "content_type": "c",
                "size": 1,
                "sha256": "0" * 65,
            },
            "sha256",
        ),
    ],
)
async def test_limits(db, model, values, field):
    with pytest.raises(ValidationError) as info:
        await model.create(db, **values)
    assert info.value.field == field


async def test_blog_defaults(db):
    user = await make_user(db)
    post = await Post.create(db, user_id=user.id, title="Hello")
    loaded = await Post.get(db, post.id)
    assert (loaded.summary, loaded.content) == ("", "")
    assert loaded.created_at == loaded.updated_at  # so the post does not show as edited
    loaded.title = "Hello again"
    await loaded.save(db)
    edited = await Post.get(db, post.id)
    assert edited.updated_at > edited.created_at


async def test_indexes(db):
    assert {
        "ix_posts_created_at",
        "ix_posts_user_id",
        "ix_comments_post_id",
        "ix_comments_user_id",
        "ix_files_user_id",
    } <= await index_names(db)


async def test_deleting_a_user_deletes_their_posts_comments_and_files(db):
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    post = await Post.create(db, user_id=alice.id, title="Alice's post")
    other = await Post.create(db, user_id=bob.id, title="Bob's post")
    await Comment.create(db, post_id=post.id, user_id=bob.id, content="on alice's post")
    await Comment.create(db, post_id=other.id, user_id=alice.id, content="by alice")
    kept = await Comment.create(db, post_id=other.id, user_id=bob.id, content="by bob")
    await File.create(
        db,
        user_id=alice.id,
        original_name="a.png",
        stored_name="x1",
        content_type="image/png",
        size=3,
        sha256="0" * 64,
    )
    await alice.delete(db)
    assert [b.id for b in await Post.select(db).all()] == [other.id]
    assert [c.id for c in await Comment.select(db).all()] == [kept.id]
    assert await File.select(db).count() == 0


async def test_deleting_a_post_deletes_its_comments(db):
    user = await make_user(db)
    post = await Post.create(db, user_id=user.id, title="t")
    await Comment.insert_many(db, [{"post_id": post.id, "user_id": user.id, "content": "c"}] * 3)
    await post.delete(db)
    assert await Comment.select(db).count() == 0
    assert await User.get(db, user.id) is not None


async def test_dangling_foreign_keys_are_refused(db):
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        await Post.create(db, user_id=404, title="orphan")
    user = await make_user(db)
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        await Comment.create(db, post_id=404, user_id=user.id, content="orphan")


async def test_stored_names_are_unique(db):
    user = await make_user(db)
    values = {
        "user_id": user.id,
        "original_name": "a.txt",
        "content_type": "text/plain",
        "size": 1,
        "sha256": "0" * 64,
    }
    await File.create(db, stored_name="abc", **values)
    with pytest.raises(IntegrityError, match=r"files[._]stored_name"):
        await File.create(db, stored_name="abc", **values)


async def test_a_page_of_posts_with_their_authors(db):
    users = [await make_user(db, f"user{i}") for i in range(3)]
    await Post.insert_many(
        db, [{"user_id": users[i % 3].id, "title": f"post {i}"} for i in range(7)]
    )
    page = await Post.select(db).order_by("-created_at", "-id").paginate(1, 5)
    assert [post.title for post in page.items] == [f"post {i}" for i in (6, 5, 4, 3, 2)]
    assert page.total == 7
    authors = await User.get_many(db, (post.user_id for post in page.items))
    assert {post.title: authors[post.user_id].name for post in page.items} == {
        "post 6": "user0",
        "post 5": "user2",
        "post 4": "user1",
        "post 3": "user0",
        "post 2": "user2",
    }
