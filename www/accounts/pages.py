"""The account pages: register, log in, log out, change the password."""

from aiohttp import web

from .. import bodies
from ..auth import flash, log_in, log_out, login_required, safe_next
from ..keys import USER
from ..ratelimits import RateLimited, client_address, hit
from ..routing import see_other, url_for
from ..schemas import Invalid
from ..templating import form_page
from . import actions
from .schemas import Login, PasswordChange, Registration


async def register_page(request: web.Request) -> web.Response:
    return form_page(request, "accounts/register.html", Registration)


async def register(request: web.Request) -> web.Response:
    """Create an account, then 303 to /login. 400 with the form again when the input is
    invalid or the name or email is taken (in any letter case); 429 past
    rate_limits.register_address, counted before the password is hashed."""
    form = await bodies.form(request)
    try:
        values = Registration.parse(form, form=True)
        await hit(request, "register_address", client_address(request))  # before hashing
        await actions.register(request.config_dict, values)
    except Invalid as exc:
        return form_page(request, "accounts/register.html", Registration, form, exc.errors)
    except RateLimited as exc:
        return form_page(request, "accounts/register.html", Registration, form, refused=exc)
    flash(request, "Your account is ready. Log in to start writing.", "success")
    return see_other(url_for(request, "accounts.login"))


async def login_page(request: web.Request) -> web.Response:
    next_url = safe_next(request.query.get("next"))
    return form_page(request, "accounts/login.html", Login, next=next_url)


async def login(request: web.Request) -> web.Response:
    """Log in and 303 to `next` (a local path) or /; a new session is started. 400 with
    the same message for an unknown email and a wrong password. 429 (the form again,
    saying when the block lifts) after too many attempts from the client's address, or
    too many failures for the account: even the right password is refused meanwhile."""
    form = await bodies.form(request)
    next_url = safe_next(request.query.get("next"))
    try:
        await hit(request, "login_address", client_address(request))  # every attempt
        values = Login.parse(form, form=True)
        user = await actions.authenticate_limited(request.config_dict, values)
    except Invalid as exc:
        return form_page(request, "accounts/login.html", Login, form, exc.errors, next=next_url)
    except RateLimited as exc:
        return form_page(request, "accounts/login.html", Login, form, refused=exc, next=next_url)
    await log_in(request, user)
    return see_other(next_url)


@login_required
async def password_page(request: web.Request) -> web.Response:
    return form_page(request, "accounts/password.html", PasswordChange)


@login_required
async def change_password(request: web.Request) -> web.Response:
    """Change the password, end every other session, and 303 to the user's page. 400 with
    the form again when the current password is wrong or the new one is not valid; 429
    past rate_limits.password_change_user (each try of the current password counts)."""
    form = await bodies.form(request)
    user = request[USER]
    try:
        values = PasswordChange.parse(form, form=True)
        await hit(request, "password_change_user", str(user.id))  # before checking it
        await actions.change_password(request.config_dict, user, values)
    except Invalid as exc:
        return form_page(request, "accounts/password.html", PasswordChange, form, exc.errors)
    except RateLimited as exc:
        return form_page(request, "accounts/password.html", PasswordChange, form, refused=exc)
    await log_in(request, user)  # this session goes on, with the new epoch
    flash(request, "Your password was changed. Other sessions were logged out.", "success")
    return see_other(url_for(request, "posts.author", id=user.id))


async def logout(request: web.Request) -> web.Response:
    """End the session everywhere (old cookies stop working) and 303 to /."""
    await log_out(request)
    return see_other(url_for(request, "posts.index"))
