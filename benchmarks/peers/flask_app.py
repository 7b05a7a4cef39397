"""The baseline: the scaffold's home and post pages as a minimal Flask app, on SQLite
(sqlite3) or on PostgreSQL (psycopg 3), for anonymous visitors and for a logged-in user.

    BENCH_DB=/path/bench.db gunicorn -w 1 -k sync -b 127.0.0.1:8000 \
        --chdir benchmarks/peers flask_app:app
    BENCH_DB_URL=postgresql://user:pw@127.0.0.1:5432/db BENCH_DB_SCHEMA=www_bench gunicorn ...

It renders the scaffold's own templates with the same Jinja2 options, helpers and context
(shared.py: `url()` built from the scaffold's own router, `static()`, the date filter,
Markdown through www/markdown.py), so the HTML is byte-for-byte the scaffold's. The SQL
is what the scaffold's ORM sends: the page of posts (all columns), their authors, the
count; the post, its comments, their users. One connection per worker process, opened
once: the fastest way to use either driver from Flask, so the baseline is not
handicapped. Only the connection, the placeholders and how timestamps arrive differ
between the two databases (``connect``, ``sql``, ``timestamp``): the pages are the same code.

Logged in, the textbook Flask way: ``POST /login`` (form ``email``, ``password``, checked
against the stored argon2 hash) puts the user's id and a CSRF token into Flask's signed
cookie session; each request then loads that user with one query (as Flask-Login's
user_loader does) and renders the page as the scaffold renders it for that user (their
name, the log-out form, the comment form, delete buttons on what they may delete). The
CSRF token is per session, as the scaffold's: the bench compares the HTML with it masked.
No CSRF check on the peer's one POST: it is measured on GETs only.
"""

import os
import secrets
import sqlite3
from datetime import UTC, datetime
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, g, redirect, render_template, request, session
from shared import (
    COMMENTS_PER_PAGE,
    JINJA_OPTIONS,
    ROOT,
    TEMPLATES_DIR,
    Page,
    configure_env,
    detail_context,
    last_comments,
    page_context,
)

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


app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=None)
app.jinja_options = {**app.jinja_options, **JINJA_OPTIONS}
configure_env(app.jinja_env, "flask")
# The signed session cookie's key: a fresh one each start (the bench logs in each run).
app.secret_key = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(32)

INDEX_SQL = sql(
    f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
)
POST_SQL = sql(f"SELECT {POST_COLUMNS} FROM posts WHERE id = ?")
USER_SQL = sql(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?")
LOGIN_SQL = sql(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?")
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


@app.before_request
def load_user() -> None:
    """The session's user, one query, or None: what Flask-Login's user_loader does."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        row = db().execute(USER_SQL, (user_id,)).fetchone()
        g.user = user_from(row) if row else None


def csrf_token() -> str:
    return session["csrf_token"]  # anonymous pages never call it


def context() -> dict:
    return page_context(request, g.user, csrf_token if g.user else None)


@app.post("/login")
def login():
    """Log in: the password checked against the stored hash, then a new session with the
    user's id and a fresh CSRF token. 400 for a wrong email or password."""
    row = db().execute(LOGIN_SQL, (request.form.get("email", ""),)).fetchone()
    try:
        PasswordHasher().verify(row[3] if row else "", request.form.get("password", ""))
    except (VerificationError, InvalidHashError):
        abort(400)
    session.clear()
    session["user_id"] = row[0]
    session["csrf_token"] = secrets.token_urlsafe(32)
    return redirect("/", code=303)


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
    page = Page(posts, number, PER_PAGE, total)
    return render_template("posts/index.html", **context(), page=page, author=None)


@app.get("/posts/<int:post_id>")
def post_page(post_id: int):
    row = db().execute(POST_SQL, (post_id,)).fetchone()
    if row is None:
        abort(404)
    total = db().execute(COMMENT_COUNT_SQL, (post_id,)).fetchone()[0]
    _, offset = last_comments(total)
    comment_rows = db().execute(COMMENTS_SQL, (post_id, COMMENTS_PER_PAGE, offset)).fetchall()
    users = users_by_id([row[1], *(c[2] for c in comment_rows)])  # the user_id columns
    post = post_from(row, users[row[1]])
    comments = [comment_from(c, users[c[2]]) for c in comment_rows]
    page = detail_context(post, comments, total, g.user)
    return render_template("posts/detail.html", **context(), **page)
