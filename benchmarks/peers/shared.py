"""What the peers share so that their HTML is the scaffold's, byte for byte: its templates
with its Jinja2 options and helpers, the context its views give, and its Markdown.

flask_app.py, fastapi_app.py and render_only.py import this module; each keeps its own
way of reaching the database (that is what they measure). The templates are the
scaffold's own (../../templates); `url()` is its own, built from its router with
`Urls(create_app(...))`, which opens no database and starts nothing; the date filter and
`static()` come from www/templating.py's `configure`.
"""

import functools
import sys
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from www.app import create_app  # noqa: E402
from www.auth import may_edit  # noqa: E402
from www.markdown import render_markdown  # noqa: E402
from www.posts.schemas import CommentIn  # noqa: E402
from www.routing import Urls  # noqa: E402
from www.schemas import form_attrs  # noqa: E402
from www.settings import load_settings  # noqa: E402
from www.templating import TEMPLATES_DIR, configure, static_urls  # noqa: E402

COMMENTS_PER_PAGE = 50  # the scaffold's blog.comments_per_page default
# The scaffold's Jinja2 options beyond autoescaping (www/templating.py's setup).
JINJA_OPTIONS = {"trim_blocks": True, "lstrip_blocks": True}


class Page(NamedTuple):
    """A page of rows, as the scaffold's www.orm.Page: what the templates read."""

    items: list
    page: int
    per_page: int
    total: int


def route_urls(name: str) -> Urls:
    """The scaffold's `url()` helper, made from its own router: creating the app opens no
    database and starts nothing. A fixed secret, so no session secret file is written."""
    settings = load_settings(
        overrides={
            "session": {"secret": f"{name}-peer-" + "x" * 32, "secret_file": None},
            "logging": {"level": "WARNING"},
        },
        environ={},
    )
    return Urls(create_app(settings))


def configure_env(env: jinja2.Environment, name: str) -> jinja2.Environment:
    """`env` with the scaffold's helpers: `url`, `date`, `datetime`, `static()`."""
    configure(env, route_urls(name), static_urls())
    return env


def environment(name: str) -> jinja2.Environment:
    """A Jinja2 environment on the scaffold's templates, set up as the scaffold's is."""
    loader = jinja2.FileSystemLoader(TEMPLATES_DIR)
    # auto_reload off, as the scaffold's default (templates.auto_reload): no stat per render.
    env = jinja2.Environment(loader=loader, autoescape=True, auto_reload=False, **JINJA_OPTIONS)
    return configure_env(env, name)


@functools.lru_cache(maxsize=1024)
def html_of(content: str) -> str:
    """The post's HTML, rendered once per text: the scaffold stores it when a post is
    saved (www/posts/actions.py), so neither side renders Markdown per view."""
    return render_markdown(content)


def page_context(request: Any, user: Any = None, csrf_token: Any = None) -> dict:
    """What the scaffold's `render` gives every template (www/templating.py): no flashes
    (the peers have none to show), `csrf_token()` only for a logged-in user."""
    return {"request": request, "current_user": user, "csrf_token": csrf_token, "flashes": []}


def last_comments(total: int) -> tuple[int, int]:
    """(number, offset) of the last page of a post's `total` comments: the post page shows
    it, where a new comment lands, as the scaffold's does."""
    last = max(1, -(-total // COMMENTS_PER_PAGE))
    return last, (last - 1) * COMMENTS_PER_PAGE


def detail_context(post: Any, comments: list, total: int, user: Any = None) -> dict:
    """The post page's context, as www/posts/pages.py's `detail` builds it. `post` has an
    `author`, a `content` and a `user_id`; each comment an `id` and a `user_id`."""
    last, _ = last_comments(total)
    can_edit = may_edit(user, post.user_id)
    deletable = (
        {c.id for c in comments if can_edit or may_edit(user, c.user_id)} if user else frozenset()
    )
    return {
        "post": post,
        "html": html_of(post.content),
        "comments": Page(comments, last, COMMENTS_PER_PAGE, total),
        "last_page": last,
        "can_edit": can_edit,
        "deletable": deletable,
        "comment_form": {"values": {}, "errors": {}},
        "attrs": form_attrs(CommentIn),
    }
