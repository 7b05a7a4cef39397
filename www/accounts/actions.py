"""Registering, checking a password, and changing it: shared by the pages and the API.

Each function takes `app`, the application's keys (`request.config_dict` in a view), and
validated input (a schema from schemas.py); it raises Invalid with the form's messages
when the database says no (a name or email already taken, a wrong password).
"""

from collections.abc import Mapping
from typing import Any

from ..db import IntegrityError
from ..keys import CONFIG, DB, HASHING, QUERIES, RATE_LIMITS
from ..passwords import hash_password, verify_password
from ..schemas import Errors, Invalid
from ..text import BadAddress, canonical, email_key
from . import tokens
from .models import PasswordReset, User
from .schemas import Login, PasswordChange, Registration

WRONG_LOGIN = "Incorrect email or password."

App = Mapping[Any, Any]  # an Application, or a request's config_dict


# What a cached user row weighs (www/cache.py), about, besides its text.
USER_ROW_BYTES = 300


async def get_user(app: App, user_id: int) -> User | None:
    """The user `user_id`, or None: a new object each call, made from the row the query
    cache shares until the database changes (www/cache.py). So a logged-in request pays
    the cache's one version check instead of a query of its own, and a password change,
    a demotion or a deletion, by this process or another, is seen by the very next call.
    The caller may change and save what it gets: the cache holds only the row."""

    async def load() -> tuple | None:
        user = await User.get(app[DB], user_id)
        return None if user is None else user._saved

    row = await app[QUERIES].get(("user", user_id), load, _row_size)
    return None if row is None else User._from_rows([row])[0]


def _row_size(row: tuple | None) -> int:
    return USER_ROW_BYTES + sum(len(value) for value in row or () if isinstance(value, str))


async def register(app: App, values: Registration) -> User:
    """A new account. Raises Invalid when the name or email is taken: another has the same
    canonical key (in any letter case, width or Unicode form: www/text.py)."""
    db = app[DB]
    if errors := await _taken(db, values):
        raise Invalid(errors)
    password_hash = await hash_password(app[HASHING], app[CONFIG].passwords, values.password)
    try:
        return await User.create(
            db, name=values.name, email=values.email, password_hash=password_hash
        )
    except IntegrityError:  # registered by a concurrent request since the check
        raise Invalid(
            await _taken(db, values) or {"email": "Email is already registered."}
        ) from None


async def _taken(db, values: Registration) -> Errors:
    errors = {}
    if await User.select(db).where(name_key=canonical(values.name)).exists():
        errors["name"] = "Name is already taken."
    if await User.select(db).where(email_key=email_key(values.email)).exists():
        errors["email"] = "Email is already registered."
    return errors


async def authenticate(app: App, values: Login) -> User:
    """The account with this email and password. Raises Invalid with one message for an
    unknown email and a wrong password, which cost the same hashing time. A hash made
    with older parameters is replaced."""
    db, params = app[DB], app[CONFIG].passwords
    user = await find_by_email(db, values.email)
    ok, needs_rehash = await verify_password(
        app[HASHING], params, user.password_hash if user else None, values.password
    )
    if not ok or user is None:
        raise Invalid({"password": WRONG_LOGIN})
    if needs_rehash:
        user.password_hash = await hash_password(app[HASHING], params, values.password)
        await user.save(db)
    return user


async def authenticate_limited(app: App, values: Login) -> User:
    """authenticate() within the limit of failed logins per account (login_account): while
    it is used up, even the right password is refused (RateLimited, 429) until the window
    moves on by itself. Only a failure counts: a success leaves the budget to the next
    legitimate login. Attempts on one account take turns in a process, so that concurrent
    ones cannot all pass the check before the first failure is counted. (The views count
    every attempt per client address themselves.)"""
    limits, account = app[RATE_LIMITS], login_key(values.email)
    async with limits.one_at_a_time("login_account", account):
        await limits.check("login_account", account)  # before hashing: a locked one costs none
        try:
            return await authenticate(app, values)
        except Invalid:
            await limits.hit("login_account", account)
            raise


def login_key(email: str) -> str:
    """The account an attempt is counted against: the email key (however the address is
    written), or the lower-cased text when it is not a valid address."""
    try:
        return email_key(email)
    except BadAddress:
        return email.strip().lower()


async def find_by_email(db, email: str) -> User | None:
    """The account with this address, however it is written (`Émile@Example.com` is
    `émile@example.com`: the email key); None when none, or the domain is not valid."""
    try:
        key = email_key(email)
    except BadAddress:
        return None
    return await User.select(db).where(email_key=key).first()


async def change_password(app: App, user: User, values: PasswordChange) -> None:
    """Set a new password and end every session of the user (the caller logs the current
    one in again). Raises Invalid when the current password is wrong."""
    params = app[CONFIG].passwords
    ok, _ = await verify_password(app[HASHING], params, user.password_hash, values.current_password)
    if not ok:
        raise Invalid({"current_password": "Your current password is not right."})
    await set_password(app, user, values.new_password)


async def set_password(app: App, user: User, password: str) -> None:
    """Give `user` a new password: hashed (off the loop), then stored."""
    await store_password(
        app, user, await hash_password(app[HASHING], app[CONFIG].passwords, password)
    )


async def store_password(app: App, user: User, password_hash: str) -> None:
    """Store a new password hash and end everything the old password let in: every
    session (their epoch moves on), every API token and every password reset link, in one
    transaction (a savepoint of the caller's, when it is in one). Used by the password
    change and the reset."""
    user.password_hash = password_hash
    user.session_epoch += 1  # every session of this user stops working
    async with app[DB].transaction() as tx:
        await user.save(tx)
        await tokens.revoke_all(tx, user)
        await PasswordReset.select(tx).where(user_id=user.id).delete()
