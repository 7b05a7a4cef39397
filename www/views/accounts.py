"""Register, log in, log out."""

from aiohttp import web

from ..auth import flash, log_in, log_out, login_required, safe_next
from ..db import IntegrityError
from ..forms import clean_login, clean_password_change, clean_registration
from ..keys import CONFIG, DB, USER
from ..models import User
from ..passwords import hash_password, verify_password
from ..templating import render

WRONG_LOGIN = "Incorrect email or password."


async def register_page(request: web.Request) -> web.Response:
    return render(request, "register.html", {"values": {}, "errors": {}})


async def register(request: web.Request) -> web.Response:
    """Create an account, then 303 to /login.

    Renders the form again with 400 and the messages when the input is invalid or the
    name or email is taken (in any letter case).
    """
    values, errors = clean_registration(await request.post())
    db = request.app[DB]
    if not errors:
        errors = await _taken(db, values)
    if not errors:
        password_hash = await hash_password(request.app[CONFIG].passwords, values["password"])
        try:
            await User.create(
                db, name=values["name"], email=values["email"], password_hash=password_hash
            )
        except IntegrityError:  # registered by a concurrent request since the check
            errors = await _taken(db, values) or {"email": "Email is already registered."}
    if errors:
        kept = {"name": values["name"], "email": values["email"]}  # never the password
        return render(request, "register.html", {"values": kept, "errors": errors}, status=400)
    flash(request, "Your account is ready. Log in to start writing.", "success")
    raise web.HTTPSeeOther("/login")


async def _taken(db, values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if await User.select(db).where(name=values["name"]).exists():
        errors["name"] = "Name is already taken."
    if await User.select(db).where(email=values["email"]).exists():
        errors["email"] = "Email is already registered."
    return errors


async def login_page(request: web.Request) -> web.Response:
    context = {"values": {}, "errors": {}, "next": safe_next(request.query.get("next"))}
    return render(request, "login.html", context)


async def login(request: web.Request) -> web.Response:
    """Log in and 303 to `next` (a local path) or /; a new session is started.

    Renders the form again with 400 and the same message for an unknown email and a
    wrong password.
    """
    user, values, errors = await authenticate(request, await request.post())
    next_url = safe_next(request.query.get("next"))
    if user is None:
        context = {"values": {"email": values["email"]}, "errors": errors, "next": next_url}
        return render(request, "login.html", context, status=400)
    await log_in(request, user)
    raise web.HTTPSeeOther(next_url)


async def authenticate(request: web.Request, data) -> tuple[User | None, dict, dict]:
    """Check an email and password; returns (user or None, clean values, errors).

    An unknown email costs the same hashing time as a wrong password, and gets the same
    message. A hash made with older parameters is replaced on success.
    """
    values, errors = clean_login(data)
    if errors:
        return None, values, errors
    db, params = request.app[DB], request.app[CONFIG].passwords
    user = await User.select(db).where(email=values["email"]).first()
    ok, needs_rehash = await verify_password(
        params, user.password_hash if user else None, values["password"]
    )
    if not ok or user is None:
        return None, values, {"password": WRONG_LOGIN}
    if needs_rehash:
        user.password_hash = await hash_password(params, values["password"])
        await user.save(db)
    return user, values, {}


@login_required
async def password_page(request: web.Request) -> web.Response:
    return render(request, "password.html", {"errors": {}})


@login_required
async def change_password(request: web.Request) -> web.Response:
    """Change the password, end every other session, and 303 to the user's page.

    Renders the form again with 400 when the current password is wrong or the new one
    is not 8 to 128 characters.
    """
    values, errors = clean_password_change(await request.post())
    user, params = request[USER], request.app[CONFIG].passwords
    if "current_password" not in errors:
        ok, _ = await verify_password(params, user.password_hash, values["current_password"])
        if not ok:
            errors["current_password"] = "Your current password is not right."  # noqa: S105 (a message)
    if errors:
        return render(request, "password.html", {"errors": errors}, status=400)
    user.password_hash = await hash_password(params, values["new_password"])
    user.session_epoch += 1  # every other session of this user stops working
    await user.save(request.app[DB])
    await log_in(request, user)  # this one goes on, with the new epoch
    flash(request, "Your password was changed. Other sessions were logged out.", "success")
    raise web.HTTPSeeOther(f"/users/{user.id}")


async def logout(request: web.Request) -> web.Response:
    """End the session everywhere (old cookies stop working) and 303 to /."""
    await log_out(request)
    raise web.HTTPSeeOther("/")
