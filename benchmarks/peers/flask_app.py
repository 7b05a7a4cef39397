"""The baseline: the scaffold's home and post pages as a minimal Flask + sqlite3 app.

    BENCH_DB=/path/bench.db gunicorn -w 1 -k sync -b 127.0.0.1:8000 \
        --chdir benchmarks/peers flask_app:app

It renders the scaffold's own templates (../../templates) with the same Jinja2 options,
the same helpers (www.templating.configure) and the same context an anonymous visitor
gets (current_user None, csrf_token, flashes []), and Markdown through www/markdown.py,
so the HTML is byte-for-byte the scaffold's. The SQL is what the scaffold's ORM sends:
the page of posts (all columns), their authors, the count; the post, its comments, their
users. One sqlite3 connection per worker process, opened once: the fastest way to use
sqlite3 from Flask, so the baseline is not handicapped.
"""

import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from flask import Flask, abort, render_template, request

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

# The scaffold's own template helpers and Markdown renderer: the same work per page.
from www.markdown import render_markdown  # noqa: E402
from www.templating import TEMPLATES_DIR as TEMPLATES  # noqa: E402
from www.templating import configure, static_urls  # noqa: E402

DB_PATH = os.environ.get("BENCH_DB", str(ROOT / "data" / "www.db"))
PER_PAGE = int(os.environ.get("BENCH_PER_PAGE", "20"))

BLOG_COLUMNS = "id, user_id, title, summary, content, created_at, updated_at"
USER_COLUMNS = "id, name, email, password_hash, is_admin, session_epoch, created_at"
COMMENT_COLUMNS = "id, blog_id, user_id, content, created_at"


class Post(NamedTuple):
    id: int
    user_id: int
    title: str
    summary: str
    content: str
    created_at: datetime
    updated_at: datetime


class User(NamedTuple):
    id: int
    name: str
    email: str
    password_hash: str
    is_admin: bool
    session_epoch: int
    created_at: datetime


class Comment(NamedTuple):
    id: int
    blog_id: int
    user_id: int
    content: str
    created_at: datetime


class Page(NamedTuple):
    items: list
    page: int
    per_page: int
    total: int


def post_from(row) -> Post:
    return Post(*row[:5], datetime.fromisoformat(row[5]), datetime.fromisoformat(row[6]))


def user_from(row) -> User:
    return User(*row[:4], bool(row[4]), row[5], datetime.fromisoformat(row[6]))


def comment_from(row) -> Comment:
    return Comment(*row[:4], datetime.fromisoformat(row[4]))


app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
app.jinja_options = {**app.jinja_options, "trim_blocks": True, "lstrip_blocks": True}
configure(app.jinja_env, static_urls())

_conn: sqlite3.Connection | None = None


def db() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = sqlite3.connect(DB_PATH, isolation_level=None, check_same_thread=False)
        _conn.execute("PRAGMA query_only=ON")
    return _conn


def users_by_id(ids) -> dict[int, User]:
    ids = list(set(ids))
    marks = ", ".join("?" * len(ids))
    rows = db().execute(f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", ids)
    return {user.id: user for user in map(user_from, rows)}


def csrf_token() -> str:
    return ""  # anonymous pages never call it (the scaffold's do only for a logged-in user)


def page_context() -> dict:
    return {"request": request, "current_user": None, "csrf_token": csrf_token, "flashes": []}


@app.get("/")
def index():
    number = request.args.get("page", "1")
    if not (number.isascii() and number.isdigit() and 1 <= int(number) <= 9_999_999):
        abort(404)
    number = int(number)
    offset = (number - 1) * PER_PAGE
    rows = db().execute(
        f"SELECT {BLOG_COLUMNS} FROM blogs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (PER_PAGE, offset),
    )
    posts = [post_from(row) for row in rows]
    if number > 1 and not posts:
        abort(404)
    if 0 < len(posts) < PER_PAGE or (number == 1 and not posts):
        total = offset + len(posts)
    else:
        total = db().execute("SELECT COUNT(*) FROM blogs").fetchone()[0]
    authors = users_by_id(post.user_id for post in posts)
    return render_template(
        "index.html",
        **page_context(),
        posts=[(post, authors[post.user_id]) for post in posts],
        page=Page(posts, number, PER_PAGE, total),
    )


@app.get("/posts/<int:post_id>")
def post_page(post_id: int):
    row = db().execute(f"SELECT {BLOG_COLUMNS} FROM blogs WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        abort(404)
    post = post_from(row)
    rows = db().execute(
        f"SELECT {COMMENT_COLUMNS} FROM comments WHERE blog_id = ? ORDER BY created_at, id",
        (post.id,),
    )
    comments = [comment_from(row) for row in rows]
    users = users_by_id([post.user_id, *(c.user_id for c in comments)])
    return render_template(
        "post.html",
        **page_context(),
        post=post,
        author=users[post.user_id],
        html=render_markdown(post.content),
        comments=[(c, users[c.user_id]) for c in comments],
        can_edit=False,
        can_delete_comment=lambda comment: False,
        comment_form={"values": {}, "errors": {}},
    )
