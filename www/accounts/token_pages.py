"""The API tokens page (/account/tokens): list, make and revoke one's own tokens.

A new token is shown once: it waits in the session (the encrypted cookie) for the page
the 303 leads to, which pops it; a reload no longer shows it. Those pages are sent with
`Cache-Control: no-store`, so no cache keeps a copy.
"""

from aiohttp import web

from .. import bodies
from ..auth import flash, login_required
from ..keys import SESSION, USER
from ..ratelimits import hit
from ..routing import see_other, url_for
from ..schemas import Invalid, form_attrs
from ..templating import render
from . import tokens
from .schemas import TokenIn

SHOW_ONCE = "new_token"  # the session key holding the token to show once
NO_STORE = {"Cache-Control": "no-store"}


async def _page(request: web.Request, form=None, errors=None) -> web.Response:
    values = {k: v for k, v in (form or {}).items() if k in TokenIn.model_fields}
    context = {
        "tokens": await tokens.user_tokens(request.config_dict, request[USER]),
        "new_token": request[SESSION].pop(SHOW_ONCE, None),
        "now": tokens.now(),
        "values": values,
        "errors": errors or {},
        "attrs": form_attrs(TokenIn),
        "default_days": TokenIn.model_fields["expires_days"].default,
    }
    response = render(request, "accounts/tokens.html", context, status=400 if errors else 200)
    response.headers.update(NO_STORE)
    return response


@login_required
async def tokens_page(request: web.Request) -> web.Response:
    """The user's tokens, the form to make one, and a token just made (once)."""
    return await _page(request)


@login_required
async def make_token(request: web.Request) -> web.Response:
    """Make a token and 303 to /account/tokens, which shows it once. 400 with the form
    again when the input is invalid or the user has too many tokens; 429 past
    rate_limits.token_user."""
    form = await bodies.form(request)
    try:
        values = TokenIn.parse(form, form=True)
        await hit(request, "token_user", str(request[USER].id))  # a valid request only
        row, token = await tokens.make(request.config_dict, request[USER], values)
    except Invalid as exc:
        return await _page(request, form, exc.errors)
    request[SESSION][SHOW_ONCE] = {"name": row.name, "token": token}
    return see_other(url_for(request, "accounts.tokens"), headers=NO_STORE)


@login_required
async def delete_token(request: web.Request) -> web.Response:
    """Revoke a token (it stops working at once) and 303 to /account/tokens. 404 if
    missing, 403 if it is another user's."""
    await tokens.revoke(request.config_dict, request[USER], int(request.match_info["id"]))
    flash(request, "The token was revoked.", "success")
    return see_other(url_for(request, "accounts.tokens"))
