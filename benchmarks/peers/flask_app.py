"""The baseline: the scaffold's home and post pages as a minimal Flask + sqlite3 app.

    BENCH_DB=/path/bench.db gunicorn -w 1 -k sync -b 127.0.0.1:8000 \
        --chdir benchmarks/peers flask_app:app

It renders the scaffold's own templates (../../templates) with the same Jinja2 options,
the same helpers (www.templating.configure: `url()` built from the scaffold's own router,
`static()`, the date filter) and the same context an anonymous visitor gets (current_user
None, csrf_token, flashes []), and Markdown through www/markdown.py, so the HTML is
byte-for-byte the scaffold's. The SQL is what the scaffold's ORM sends: the page of posts
(all columns), their authors, the count; the post, its comments, their users. One sqlite3
connection per worker process, opened once: the fastest way to use sqlite3 from Flask, so
the baseline is not handicapped.
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
from www.app import create_app  # noqa: E402
from www.markdown import render_markdown  # noqa: E402
from www.posts.schemas import CommentIn  # noqa: E402
from www.routing import Urls  # noqa: E402
from www.schemas import form_attrs  # noqa: E402
from www.settings import load_settings  # noqa: E402
from www.templating import TEMPLATES_DIR as TEMPLATES  # noqa: E402
from www.templating import configure, static_urls  # noqa: E402

DB_PATH = os.environ.get("BENCH_DB", str(ROOT / "data" / "www.db"))
PER_PAGE = int(os.environ.get("BENCH_PER_PAGE", "20"))

POST_COLUMNS = "id, user_id, title, summary, content, created_at, updated_at"
USER_COLUMNS = "id, name, email, password_hash, is_admin, session_epoch, created_at"
COMMENT_COLUMNS = "id, post_id, user_id, content, created_at"


class User(NamedTuple):
    id: int
    name: str
    email: str
    password_hash: str
    is_admin: bool
    session_epoch: int
    created_at: datetime


class Post(NamedTuple):
    id: int
    user_id: int
    title: str
    summary: str
    content: str
    created_at: datetime
    updated_at: datetime
    author: User


class Comment(NamedTuple):
    id: int
    post_id: int
    user_id: int
    content: str
    created_at: datetime
    author: User


class Page(NamedTuple):
    items: list
    page: int
    per_page: int
    total: int


def user_from(row) -> User:
    return User(*row[:4], bool(row[4]), row[5], datetime.fromisoformat(row[6]))


def post_from(row, author: User) -> Post:
    created, updated = datetime.fromisoformat(row[5]), datetime.fromisoformat(row[6])
    return Post(*row[:5], created, updated, author)


def comment_from(row, author: User) -> Comment:
    return Comment(*row[:4], datetime.fromisoformat(row[4]), author)


def route_urls() -> Urls:
    """The scaffold's `url()` helper, made from its own router: creating the app opens no
    database and starts nothing. A fixed secret, so no session secret file is written."""
    settings = load_settings(
        overrides={
            "session": {"secret": "flask-peer-" + "x" * 32, "secret_file": None},
            "logging": {"level": "WARNING"},
        },
        environ={},
    )
    return Urls(create_app(settings))


app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
app.jinja_options = {**app.jinja_options, "trim_blocks": True, "lstrip_blocks": True}
configure(app.jinja_env, route_urls(), static_urls())

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
    sql = f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    rows = db().execute(sql, (PER_PAGE, offset)).fetchall()
    if number > 1 and not rows:
        abort(404)
    if 0 < len(rows) < PER_PAGE or (number == 1 and not rows):
        total = offset + len(rows)
    else:
        total = db().execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    authors = users_by_id(row[1] for row in rows)  # the user_id column
    posts = [post_from(row, authors[row[1]]) for row in rows]
    return render_template(
        "posts/index.html",
        **page_context(),
        page=Page(posts, number, PER_PAGE, total),
        author=None,
    )


@app.get("/posts/<int:post_id>")
def post_page(post_id: int):
    row = db().execute(f"SELECT {POST_COLUMNS} FROM posts WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        abort(404)
    sql = f"SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = ? ORDER BY created_at, id"
    comment_rows = db().execute(sql, (post_id,)).fetchall()
    users = users_by_id([row[1], *(c[2] for c in comment_rows)])  # the user_id columns
    post = post_from(row, users[row[1]])
    return render_template(
        "posts/detail.html",
        **page_context(),
        post=post,
        html=render_markdown(post.content),
        comments=[comment_from(c, users[c[2]]) for c in comment_rows],
        can_edit=False,
        can_delete_comment=lambda comment: False,
        comment_form={"values": {}, "errors": {}},
        attrs=form_attrs(CommentIn),
    )
