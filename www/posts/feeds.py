"""The Atom feeds of posts: the site's newest, each user's and each tag's (www/feeds.py
builds them)."""

from aiohttp import web

from ..accounts.models import User
from ..feeds import atom_response
from ..keys import CONFIG
from ..routing import get_or_404, url_for
from . import actions
from .schemas import tag_name


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


async def tag(request: web.Request) -> web.Response:
    """A tag's newest `feeds.entries` posts, as Atom. 404 for a tag no post has, as its
    page answers."""
    app, name = request.config_dict, tag_name(request.match_info["tag"])
    if name is None:
        raise web.HTTPNotFound(text="There is no such tag.")
    page = await actions.found_posts(app, 1, app[CONFIG].feeds.entries, tag=name)
    if not page.items:
        raise web.HTTPNotFound(text="There is no such tag.")
    return await atom_response(
        request,
        page.items,
        title=f"{app[CONFIG].feeds.title}: #{name}",
        self_url=url_for(request, "posts.tag_feed", tag=name),
        page_url=url_for(request, "posts.tag", tag=name),
    )
