"""The Atom feeds of posts: the site's newest, and each user's (www/feeds.py builds them)."""

from aiohttp import web

from ..accounts.models import User
from ..feeds import atom_response
from ..keys import CONFIG
from ..routing import get_or_404, url_for
from . import actions


async def site(request: web.Request) -> web.Response:
    """The newest `feeds.entries` posts of every author, as Atom."""
    app = request.config_dict
    page = await actions.posts_page(app, 1, app[CONFIG].feeds.entries)
    return await atom_response(
        request,
        page.items,
        title=app[CONFIG].feeds.title,
        self_url=url_for(request, "posts.feed"),
        page_url=url_for(request, "posts.index"),
    )


async def author(request: web.Request) -> web.Response:
    """A user's newest `feeds.entries` posts, as Atom. 404 if the user does not exist."""
    app, user = request.config_dict, await get_or_404(User, request)
    page = await actions.posts_page(app, 1, app[CONFIG].feeds.entries, user.id)
    return await atom_response(
        request,
        page.items,
        title=f"{app[CONFIG].feeds.title}: {user.name}",
        self_url=url_for(request, "posts.author_feed", id=user.id),
        page_url=url_for(request, "posts.author", id=user.id),
        author=user,
        since=user.created_at,
    )
