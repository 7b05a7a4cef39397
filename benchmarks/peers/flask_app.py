"""The baseline: the scaffold's home and post pages as a minimal Flask app, on SQLite
(sqlite3) or on PostgreSQL (psycopg 3).

    BENCH_DB=/path/bench.db gunicorn -w 1 -k sync -b 127.0.0.1:8000 \
        --chdir benchmarks/peers flask_app:app
    BENCH_DB_URL=postgresql://user:pw@127.0.0.1:5432/db BENCH_DB_SCHEMA=www_bench gunicorn ...

It renders the scaffold's own templates (../../templates) with the same Jinja2 options,
the same helpers (www.templating.configure: `url()` built from the scaffold's own router,
`static()`, the date filter) and the same context an anonymous visitor gets (current_user
None, csrf_token, flashes []), and Markdown through www/markdown.py, so the HTML is
byte-for-byte the scaffold's. The SQL is what the scaffold's ORM sends: the page of posts
(all columns), their authors, the count; the post, its comments, their users. One
connection per worker process, opened once: the fastest way to use either driver from
Flask, so the baseline is not handicapped. Only the connection, the placeholders and how
timestamps arrive differ between the two databases (``connect``, ``sql``, ``timestamp``):
the pages are the same code.
"""

import functools
import os
import sqlite3
import sys
from datetime import UTC, datetime
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
DB_URL = os.environ.get("BENCH_DB_URL", "")  # postgresql://...: PostgreSQL instead
DB_SCHEMA = os.environ.get("BENCH_DB_SCHEMA", "public")  # its schema holding the tables
PER_PAGE = int(os.environ.get("BENCH_PER_PAGE", "20"))
ON_POSTGRES = DB_URL.startswith("postgresql://")
MARK = "%s" if ON_POSTGRES else "?"  # the driver's placeholder

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


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# sqlite3 returns the ORM's UTC ISO text; psycopg a datetime in the session's time zone
# (UTC, set in connect()), converted to the very tzinfo the scaffold's ORM produces.
timestamp = _utc if ON_POSTGRES else datetime.fromisoformat


def sql(text: str) -> str:
    """A statement written with sqlite3's `?` placeholders, for the driver in use."""
    return text.replace("?", MARK)


def user_from(row) -> User:
    return User(*row[:4], bool(row[4]), row[5], timestamp(row[6]))


def post_from(row, author: User) -> Post:
    return Post(*row[:5], timestamp(row[5]), timestamp(row[6]), author)


def comment_from(row, author: User) -> Comment:
    return Comment(*row[:4], timestamp(row[4]), author)


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

INDEX_SQL = sql(
    f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
)
POST_SQL = sql(f"SELECT {POST_COLUMNS} FROM posts WHERE id = ?")
COMMENTS_PER_PAGE = 50  # the scaffold's blog.comments_per_page default
COMMENT_COUNT_SQL = sql("SELECT COUNT(*) FROM comments WHERE post_id = ?")
COMMENTS_SQL = sql(  # a page of them: the post page shows the last, as the scaffold's does
    f"SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = ? ORDER BY created_at, id"
    " LIMIT ? OFFSET ?"
)

_conn = None  # sqlite3's or psycopg's connection: both have execute() -> cursor


def connect():
    """Read-only and without transactions (each statement commits alone), as the scaffold
    reads outside a transaction."""
    if ON_POSTGRES:
        import psycopg  # only the PostgreSQL peer needs it (benchmarks/requirements.txt)

        conn = psycopg.connect(DB_URL, autocommit=True)
        conn.execute("SELECT set_config('search_path', %s, false)", (DB_SCHEMA,))
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET default_transaction_read_only = on")
        return conn
    conn = sqlite3.connect(DB_PATH, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn


def db():
    global _conn
    if _conn is None:
        _conn = connect()
    return _conn


def users_by_id(ids) -> dict[int, User]:
    ids = list(set(ids))
    marks = ", ".join([MARK] * len(ids))
    rows = db().execute(f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", ids)
    return {user.id: user for user in map(user_from, rows)}


def csrf_token() -> str:
    return ""  # anonymous pages never call it (the scaffold's do only for a logged-in user)


@functools.lru_cache(maxsize=1024)
def html_of(content: str) -> str:
    """The post's HTML, rendered once per text: the scaffold stores it when a post is
    saved (www/posts/actions.py), so neither side renders Markdown per view."""
    return render_markdown(content)


def page_context() -> dict:
    return {"request": request, "current_user": None, "csrf_token": csrf_token, "flashes": []}


@app.get("/")
def index():
    number = request.args.get("page", "1")
    if not (number.isascii() and number.isdigit() and 1 <= int(number) <= 9_999_999):
        abort(404)
    number = int(number)
    offset = (number - 1) * PER_PAGE
    rows = db().execute(INDEX_SQL, (PER_PAGE, offset)).fetchall()
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
    row = db().execute(POST_SQL, (post_id,)).fetchone()
    if row is None:
        abort(404)
    total = db().execute(COMMENT_COUNT_SQL, (post_id,)).fetchone()[0]
    last = max(1, -(-total // COMMENTS_PER_PAGE))
    window = (post_id, COMMENTS_PER_PAGE, (last - 1) * COMMENTS_PER_PAGE)
    comment_rows = db().execute(COMMENTS_SQL, window).fetchall()
    users = users_by_id([row[1], *(c[2] for c in comment_rows)])  # the user_id columns
    post = post_from(row, users[row[1]])
    comments = [comment_from(c, users[c[2]]) for c in comment_rows]
    return render_template(
        "posts/detail.html",
        **page_context(),
        post=post,
        html=html_of(post.content),
        comments=Page(comments, last, COMMENTS_PER_PAGE, total),
        last_page=last,
        can_edit=False,
        deletable=frozenset(),
        comment_form={"values": {}, "errors": {}},
        attrs=form_attrs(CommentIn),
    )
