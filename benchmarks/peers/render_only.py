"""The render-only ceiling: plain aiohttp rendering the scaffold's home template.

    python benchmarks/peers/render_only.py --db /path/bench.db --port 8001 [--per-page 20]

The newest `--per-page` posts and their authors are read from the database once, at
start-up, and kept in memory: requests touch no database, no session, no middleware. The
Jinja2 environment is configured as in www/templating.py (its `url()` helper made from
the scaffold's own router) and the context is the one an anonymous visitor gets, so the
HTML is the scaffold's home page, byte for byte. What the scaffold's home page costs
beyond this is its database work and its middlewares.
"""

import argparse
import sqlite3
import sys
from datetime import datetime
from types import SimpleNamespace

from aiohttp import web
from shared import Page, environment

from www.__main__ import new_event_loop

POST_COLUMNS = "id, user_id, title, summary, content, created_at, updated_at"


def load_posts(db_path: str, per_page: int) -> tuple[list, int]:
    """The posts of the first page, each with its `author`, and the number of posts."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            f"SELECT {POST_COLUMNS} FROM posts ORDER BY created_at DESC, id DESC LIMIT ?",
            (per_page,),
        ).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        users = dict(conn.execute("SELECT id, name FROM users").fetchall())
    finally:
        conn.close()
    posts = []
    for id_, user_id, title, summary, content, created_at, updated_at in rows:
        post = SimpleNamespace(
            id=id_,
            user_id=user_id,
            title=title,
            summary=summary,
            content=content,
            created_at=datetime.fromisoformat(created_at),
            updated_at=datetime.fromisoformat(updated_at),
            author=SimpleNamespace(id=user_id, name=users[user_id]),
        )
        posts.append(post)
    return posts, total


def make_app(db_path: str, per_page: int) -> web.Application:
    env = environment("render-only")
    template = env.get_template("posts/index.html")
    posts, total = load_posts(db_path, per_page)
    page = Page(posts, 1, per_page, total)

    async def home(request: web.Request) -> web.Response:
        context = {
            "request": request,
            "current_user": None,
            "csrf_token": None,
            "flashes": [],
            "page": page,
            "author": None,
        }
        return web.Response(text=template.render(context), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", home)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="the seeded benchmark database")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--per-page", type=int, default=20)
    args = parser.parse_args()
    app = make_app(args.db, args.per_page)
    loop = new_event_loop()  # uvloop when installed, as `python -m www` does
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
