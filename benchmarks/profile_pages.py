"""Where a page's time goes in the scaffold: cProfile of the server under wrk, plus the
cost of each piece measured on its own (wall and CPU milliseconds).

    .venv/bin/python benchmarks/profile_pages.py [--path /] [--caches all|data|none]
        [--login user01@bench.example] [--seconds 5] [--top 25]

Seeds a temporary database with benchmarks/seed.py (or uses --db), builds the app with
create_app() and the benchmark settings (per_page 20, no access log), serves it in this
process on 127.0.0.1 (pinned to CPU 0, uvloop as in `python -m www`) and profiles it while
wrk (CPU 1, -t1 -c16) requests --path. cProfile sees the event-loop thread only (the
SQLite work runs on its reader threads) and slows Python code down about 2x, so read the
shares, not the absolute times. Then it times the pieces of the home and post pages in
isolation: the ORM queries, the same SQL on raw aiosqlite, the loaders of
www/posts/actions.py (query cache), the templates, the Markdown, and 40 links written with
the `url()` helper against the same links written out.
"""

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import aiohttp_jinja2  # noqa: E402
import aiosqlite  # noqa: E402
from aiohttp import web  # noqa: E402
from mixed import log_in  # noqa: E402  # benchmarks/mixed.py: logs in over HTTP

from www.accounts.models import User  # noqa: E402
from www.app import create_app  # noqa: E402
from www.keys import CONFIG, DB  # noqa: E402
from www.markdown import render_markdown  # noqa: E402
from www.posts import actions  # noqa: E402
from www.posts.models import Comment, Post  # noqa: E402
from www.posts.schemas import CommentIn  # noqa: E402
from www.schemas import form_attrs  # noqa: E402
from www.settings import load_settings  # noqa: E402

# Where a function's own time is spent, by the path of its file (first match wins).
AREAS = (
    ("jinja2 + markupsafe (templates)", ("jinja2", "markupsafe", "<template>", "templates/")),
    ("www ORM and db", ("www/orm/", "www/db/")),
    ("www other", ("/www/",)),
    ("aiohttp_session + cryptography", ("aiohttp_session", "cryptography")),
    ("aiosqlite (loop side)", ("aiosqlite",)),
    ("aiohttp", ("aiohttp",)),
    ("multidict/yarl", ("multidict", "yarl")),
    ("asyncio/uvloop", ("asyncio", "uvloop")),
    ("markdown-it", ("markdown_it",)),
)


def area(filename: str) -> str:
    if filename == "~":
        return "builtins (C)"
    for name, needles in AREAS:
        if any(needle in filename for needle in needles):
            return name
    return "other"


# --caches: which of the scaffold's caches the profiled server keeps (the bench's variants).
CACHES = {
    "all": {},
    "data": {"responses": False},
    "none": {"data": False, "responses": False},
}


def settings_for(db_path: Path, workdir: Path, caches: str = "all"):
    return load_settings(
        overrides={
            "db": {"url": f"sqlite:///{db_path}"},
            "blog": {"per_page": 20},
            "logging": {"level": "WARNING", "access_log": False},
            "session": {"secret": "profile-secret-" + "x" * 30, "secret_file": None},
            "uploads": {"directory": str(workdir / "uploads")},
            "cache": CACHES[caches],
        },
        environ={},
    )


async def profile_under_wrk(
    app: web.Application, path: str, seconds: int, login: str | None = None
) -> cProfile.Profile:
    """`login`: the email of a user (seed.py's password) whose session cookie wrk sends."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}{path}"
    try:
        headers = []
        if login:  # over HTTP as a browser would, from a thread: this loop serves it
            cookie = (await asyncio.to_thread(log_in, port, login))["cookie"]
            headers = ["-H", f"Cookie: {cookie}"]
        warm = await asyncio.create_subprocess_exec(
            "taskset", "-c", "1", "wrk", "-t1", "-c16", "-d1s", *headers, url,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(warm.wait(), 30)
        profile = cProfile.Profile()
        profile.enable()
        wrk = await asyncio.create_subprocess_exec(
            "taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", *headers, url,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(wrk.communicate(), seconds + 30)
        profile.disable()
        for line in out.decode().splitlines():
            if "Requests/sec" in line or "Non-2xx" in line:
                print(f"  wrk under cProfile: {line.strip()}")
    finally:
        await runner.cleanup()
    return profile


STAGES = (  # (label, file suffix, function name): cumulative time on the loop thread
    ("whole request (aiohttp _handle_request)", "web_protocol.py", "_handle_request"),
    ("  app: middlewares + view (web_app _handle)", "web_app.py", "_handle"),
    ("    templating.render (aiohttp_jinja2 + Jinja2)", "www/templating.py", "render"),
    ("      Jinja2 Template.render (the templates)", "jinja2/environment.py", "render"),
    (
        "      template lookup (get_template, auto_reload stat)",
        "jinja2/environment.py",
        "get_template",
    ),
)


def print_profile(profile: cProfile.Profile, top: int) -> None:
    stats = pstats.Stats(profile)
    cumulative = {}
    for (filename, _, name), (_, _, _, cumtime, _) in stats.stats.items():
        for label, suffix, function in STAGES:
            if name == function and filename.endswith(suffix):
                cumulative[label] = cumulative.get(label, 0.0) + cumtime
    whole = cumulative.get(STAGES[0][0]) or 1.0
    print("\nCPU time on the event-loop thread, by stage (cumulative):")
    for label, _, _ in STAGES:
        print(f"  {label:<58} {cumulative.get(label, 0.0) / whole:6.1%}")
    by_area: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_area[area(filename)] += tottime
        total += tottime
    print(f"\nown time by area (of {total:.2f} s on the event-loop thread):")
    for name, seconds in sorted(by_area.items(), key=lambda item: -item[1]):
        print(f"  {name:<32} {seconds / total:6.1%}")
    for sort in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats(sort).print_stats(top)
        text = buffer.getvalue()
        print(f"\ntop {top} by {sort}:")
        print(text[text.find("   ncalls") :].rstrip())


async def timed(label: str, fn, n: int) -> float:
    """Run `fn` n times; print wall time and CPU time (all threads of this process) each.

    CPU time is what a server pinned to one core pays per request, and it is far less
    disturbed than wall time by other work on the machine.
    """
    for _ in range(min(20, n)):
        await fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await fn()
    wall = (time.perf_counter() - wall) / n * 1000
    cpu = (time.process_time() - cpu) / n * 1000
    print(f"  {label:<56} {wall:7.3f} {cpu:7.3f}")
    return cpu


async def pieces(app: web.Application, post_id: int) -> None:
    """Each piece of the two pages alone (after app start-up, so the db is open)."""
    db = app[DB]
    env = app[aiohttp_jinja2.APP_KEY]
    per_page = 20
    print(f"\npieces, one at a time, sequential{'ms wall':>29} {'ms CPU':>7}")

    async def home_orm():
        page = await Post.select(db).order_by("-created_at", "-id").paginate(1, per_page)
        await User.get_many(db, (post.user_id for post in page.items))

    await timed("home: ORM page of 20 + count + authors (3 queries)", home_orm, 300)
    reader = await aiosqlite.connect(db.path)  # the same SQL without the ORM
    try:
        columns = ", ".join(f'"{name}"' for name in Post._meta.names)
        user_columns = ", ".join(f'"{name}"' for name in User._meta.names)

        async def home_raw():
            rows = await reader.execute_fetchall(
                f'SELECT {columns} FROM "posts" ORDER BY "created_at" DESC, "id" DESC '
                "LIMIT ? OFFSET ?",
                (per_page, 0),
            )
            await reader.execute_fetchall('SELECT COUNT(*) FROM "posts"')
            ids = list({row[1] for row in rows})
            marks = ", ".join("?" * len(ids))
            await reader.execute_fetchall(
                f'SELECT {user_columns} FROM "users" WHERE "id" IN ({marks})', ids
            )

        async def select_1():
            await reader.execute_fetchall("SELECT 1")

        await timed("home: same 3 queries on raw aiosqlite (tuples)", home_raw, 300)
        await timed("one aiosqlite round trip (SELECT 1)", select_1, 1000)
    finally:
        await reader.close()

    async def home_loader():
        await actions.posts_page(app, 1, per_page)

    await timed("home: actions.posts_page, as the page (query cache)", home_loader, 300)
    page = await actions.posts_page(app, 1, per_page)  # Posts with their .author
    context = {
        "request": None,
        "current_user": None,
        "csrf_token": None,
        "flashes": [],
        "page": page,
        "author": None,
    }

    async def render_home():
        env.get_template("posts/index.html").render(context)

    await timed("home: render posts/index.html (20 posts)", render_home, 300)
    template = env.get_template("posts/index.html")

    async def render_home_no_lookup():
        template.render(context)

    await timed("home: render, template object kept", render_home_no_lookup, 300)
    saved = env.auto_reload
    env.auto_reload = False
    await timed("home: render, auto_reload=False", render_home, 300)
    env.auto_reload = saved

    async def post_orm():
        post = await Post.get(db, post_id)
        comments = (
            await Comment.select(db).where(post_id=post.id).order_by("created_at", "id").all()
        )
        await User.get_many(db, [post.user_id, *(c.user_id for c in comments)])

    await timed("post: ORM post + comments + users (3 queries)", post_orm, 300)

    per_page = app[CONFIG].blog.comments_per_page

    async def post_loader():
        await asyncio.gather(
            actions.get_post(app, post_id), actions.comments_page(app, post_id, None, per_page)
        )

    await timed("post: actions.get_post + comments_page (query cache)", post_loader, 300)
    post = await actions.get_post(app, post_id)
    comments = await actions.comments_page(app, post_id, None, per_page)

    async def markdown():
        render_markdown(post.content)  # as saving a post does (with its size limit)

    # Pages show the HTML stored with the post: this is the cost of saving one.
    await timed(f"post: Markdown, at save ({len(post.content)} chars)", markdown, 100)
    post_context = {
        "request": None,
        "current_user": None,
        "csrf_token": None,
        "flashes": [],
        "post": post,
        "html": render_markdown(post.content),
        "comments": comments,
        "last_page": comments.page,
        "can_edit": False,
        "can_delete_comment": lambda comment: False,
        "comment_form": {"values": {}, "errors": {}},
        "attrs": form_attrs(CommentIn),
    }
    detail = env.get_template("posts/detail.html")

    async def render_post():
        detail.render(post_context)

    await timed(f"post: render posts/detail.html ({len(comments)} comments)", render_post, 300)

    ids = list(range(1, 41))  # the home page builds 46 links, 40 of them with an id
    by_url = env.from_string("{% for i in ids %}{{ 'posts.detail'|url(id=i) }}{% endfor %}")
    written = env.from_string("{% for i in ids %}/posts/{{ i }}{% endfor %}")

    async def links_url():
        by_url.render(ids=ids)

    async def links_written():
        written.render(ids=ids)

    await timed("40 links in a template: 'posts.detail'|url(id=i)", links_url, 1000)
    await timed("40 links in a template: /posts/{{ i }}", links_written, 1000)


async def main_async(args: argparse.Namespace, db_path: Path, workdir: Path) -> None:
    app = create_app(settings_for(db_path, workdir, args.caches))
    print(f"profiling GET {args.path} for {args.seconds}s (server on CPU 0, wrk -c16 on CPU 1)")
    profile = await profile_under_wrk(app, args.path, args.seconds, args.login)
    print_profile(profile, args.top)
    app = create_app(settings_for(db_path, workdir))
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup contexts' start-up: the database is open
    try:
        await pieces(app, args.post_id)
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default="/", help="the page to profile (default /)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    parser.add_argument("--db", type=Path, help="a database made by seed.py (default: new)")
    parser.add_argument("--post-id", type=int, default=500)
    parser.add_argument("--login", metavar="EMAIL", help="profile as this user, logged in")
    parser.add_argument(
        "--caches",
        choices=CACHES,
        default="all",
        help="the server's caches: all (default), data (no response cache), none",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {0})
    workdir = Path(tempfile.mkdtemp(prefix="www-profile-"))
    try:
        db_path = args.db or workdir / "bench.db"
        if args.db is None:
            subprocess.run(
                [sys.executable, str(BENCH / "seed.py"), "--db", str(db_path)],
                check=True,
                timeout=300,
            )
        try:
            import uvloop

            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        except ImportError:
            runner = asyncio.Runner()
        with runner:
            runner.run(main_async(args, db_path, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
