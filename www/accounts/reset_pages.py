"""The password reset pages: ask for a link (/password/forgot), use it (/password/reset/<token>).

The reset pages are never cached (they carry the token), and the Referer they send holds
the site's origin only, never the token.
"""

from aiohttp import web

from .. import bodies
from ..auth import flash
from ..keys import SESSION, USER
from ..ratelimits import RateLimited, client_address, hit
from ..routing import see_other, url_for
from ..schemas import Invalid
from ..templating import form_page, render
from . import resets
from .actions import login_key
from .schemas import ForgotPassword, PasswordResetIn

SENT = (
    "If an account has this address, a link to choose a new password is on its way to it."
    " It works once, within the hour."
)
EXPIRED = "This link has expired or was already used."
# No Referer with the path (the token) from these pages; "no-referrer" would also make
# the browser send "Origin: null" with the form, which the CSRF check refuses.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "strict-origin"}


async def forgot_page(request: web.Request) -> web.Response:
    return form_page(request, "accounts/forgot.html", ForgotPassword)


async def forgot(request: web.Request) -> web.Response:
    """Have a link mailed, then 303 to /login with the same message whether the address
    is known or not (the mail is made in the background). 400 with the form again when
    the address is not valid; 429 past rate_limits.reset_address (this client) or
    reset_email (this address, known or not: the answer tells nothing of the account)."""
    form = await bodies.form(request)
    try:
        values = ForgotPassword.parse(form, form=True)
        await hit(request, "reset_address", client_address(request))
        await hit(request, "reset_email", login_key(values.email))
    except Invalid as exc:
        return form_page(request, "accounts/forgot.html", ForgotPassword, form, exc.errors)
    except RateLimited as exc:
        return form_page(request, "accounts/forgot.html", ForgotPassword, form, refused=exc)
    resets.ask_for_link(request.config_dict, values.email)
    flash(request, SENT, "info")
    return see_other(url_for(request, "accounts.login"))


async def reset_page(request: web.Request) -> web.Response:
    """The form for a new password, or a 400 page if the link no longer works."""
    token = request.match_info["token"]
    if await resets.find_link(request.config_dict, token) is None:
        return _expired(request)
    response = form_page(request, "accounts/reset.html", PasswordResetIn, token=token)
    response.headers.extend(PRIVATE)
    return response


async def reset(request: web.Request) -> web.Response:
    """Set the new password, end every session of the user, and 303 to /login. 400 with
    the form again for a password that breaks the rules, or the 400 page if the link no
    longer works."""
    token = request.match_info["token"]
    form = await bodies.form(request)
    try:
        values = PasswordResetIn.parse(form, form=True)
    except Invalid as exc:
        if await resets.find_link(request.config_dict, token) is None:
            return _expired(request)
        response = form_page(
            request, "accounts/reset.html", PasswordResetIn, form, exc.errors, token=token
        )
        response.headers.extend(PRIVATE)
        return response
    user = await resets.use_link(request.config_dict, token, values.password)
    if user is None:
        return _expired(request)
    if (current := request[USER]) is not None and current.id == user.id:
        request[SESSION].clear()  # its epoch is past: anonymous now, but keep the flash
        request[USER] = None
    flash(request, "Your password was changed. Log in with the new one.", "success")
    return see_other(url_for(request, "accounts.login"), headers=PRIVATE)


def _expired(request: web.Request) -> web.Response:
    page = {"status": 400, "title": "This link cannot be used", "message": EXPIRED}
    response = render(request, "error.html", page, status=400)
    response.headers.extend(PRIVATE)
    return response
