"""The JSON shapes of the public contract, shared by the API and the live comments."""

from typing import Any

from .models import Blog, Comment, User


def user_json(user: User) -> dict[str, Any]:
    """A user as others see them: never an email, never a password hash."""
    return {"id": user.id, "name": user.name}


def post_json(post: Blog, author: User) -> dict[str, Any]:
    return {
        "id": post.id,
        "title": post.title,
        "summary": post.summary,
        "content": post.content,
        "author": user_json(author),
        "created_at": post.created_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
    }


def comment_json(comment: Comment, author: User) -> dict[str, Any]:
    return {
        "id": comment.id,
        "post_id": comment.blog_id,
        "content": comment.content,
        "author": user_json(author),
        "created_at": comment.created_at.isoformat(),
    }
