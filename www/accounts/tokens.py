"""Personal API tokens: making, listing and revoking them, and acting as their user.

A token is `www_` and 256 random bits (secrets.token_urlsafe(32)); it is shown to its
user once, and only its SHA-256 is stored. A request authenticates by hashing what it
sent and looking that hash up (one query on a unique index) every time: nothing valid is
cached in a process, so a revoked token stops working at once in every process.
`last_used_at` is written at most once per `accounts.token_last_used_interval` seconds,
so a script's every request does not write to the database.

Like actions.py, each function takes `app` (an Application, or a request's config_dict).
"""

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from ..keys import CONFIG, DB
from ..orm import utcnow
from ..schemas import Invalid
from .models import ApiToken, User
from .schemas import TokenIn

PREFIX = "www_"
MAX_LENGTH = 100  # longer than any token we make (47 characters): not worth hashing

App = Mapping[Any, Any]


def now() -> datetime:
    """The current time; tests move it (monkeypatch) instead of sleeping."""
    return utcnow()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def make(app: App, user: User, values: TokenIn) -> tuple[ApiToken, str]:
    """A new token for `user`: (its row, the token itself, to show once). The user's
    expired tokens go first; raises Invalid when `accounts.max_tokens_per_user` are live."""
    db, limit, current = app[DB], app[CONFIG].accounts.max_tokens_per_user, now()
    await ApiToken.select(db).where(user_id=user.id, expires_at__lte=current).delete()
    if await ApiToken.select(db).where(user_id=user.id).count() >= limit:
        raise Invalid({"name": f"You have {limit} tokens already: revoke one to make another."})
    token = PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(
        db,
        user_id=user.id,
        name=values.name,
        token_hash=hash_token(token),
        created_at=current,
        expires_at=current + timedelta(days=values.expires_days),
    )
    return row, token


async def user_tokens(app: App, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (expired ones too, until the next is made)."""
    return await ApiToken.select(app[DB]).where(user_id=user.id).order_by("-created_at").all()


async def revoke(app: App, user: User, token_id: int) -> None:
    """Delete the token `token_id`: 404 if there is none, 403 if it is someone else's (in
    the contract's order). It stops working at once: every request looks it up."""
    row = await ApiToken.get(app[DB], token_id)
    if row is None:
        raise web.HTTPNotFound(text="There is no such token.")
    if row.user_id != user.id:
        raise web.HTTPForbidden(text="This token is not yours.")
    await row.delete(app[DB])


async def authenticate(app: App, token: str) -> tuple[ApiToken, User] | None:
    """The token's row and user, or None when the token is unknown (wrong, revoked) or
    expired. Records the use, at most once per interval."""
    if not token.startswith(PREFIX) or len(token) > MAX_LENGTH:
        return None
    db, current = app[DB], now()
    row = await ApiToken.select(db).where(token_hash=hash_token(token)).first()
    if row is None or row.expires_at <= current:
        return None
    user = await User.get(db, row.user_id)
    if user is None:  # deleted meanwhile (its tokens go with it, by the foreign key)
        return None
    interval = timedelta(seconds=app[CONFIG].accounts.token_last_used_interval)
    if row.last_used_at is None or current - row.last_used_at >= interval:
        await ApiToken.select(db).where(id=row.id).update(last_used_at=current)
        row.last_used_at = current
    return row, user


async def revoke_all(db: Any, user: User) -> None:
    """Delete every token of `user` (`db`: a database, or a transaction to join)."""
    await ApiToken.select(db).where(user_id=user.id).delete()
