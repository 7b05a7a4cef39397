"""Password reset links: asked for by email, mailed, used once.

A link is `<site.base_url>/password/reset/<token>`, the token random (256 bits); the
database holds only its SHA-256, so a copy of the table opens no account. A link works
for `accounts.reset_link_lifetime` seconds, once; asking for a newer one voids it, and so
does any change of the password (store_password() deletes the user's links).

Asking for a link only queues a job for the mailer (www/mail.py): looking the address
up, making the token and sending the mail all happen in the background, so a known and
an unknown address get the same answer in the same time.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial

from ..keys import CONFIG, DB, HASHING, MAILER, URLS
from ..orm import utcnow
from ..passwords import hash_password
from .actions import App, find_by_email, store_password
from .models import PasswordReset, User

SUBJECT = "Reset your password"
MAX_TOKEN_LENGTH = 100  # a token is 43 characters: anything much longer is not one


def now() -> datetime:
    """The time links are made and checked at (tests move it)."""
    return utcnow()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ask_for_link(app: App, email: str) -> None:
    """Have a link mailed to the account with this address, if there is one. Returns at
    once whatever the address: the rest happens in the mailer's task."""
    app[MAILER].submit(partial(_link_mail, app, email))


async def _link_mail(app: App, email: str) -> EmailMessage | None:
    user = await find_by_email(app[DB], email)
    if user is None:
        return None
    token = await make_link(app, user)
    link = app[CONFIG].site.base_url + app[URLS]("accounts.reset", token=token)
    minutes = round(app[CONFIG].accounts.reset_link_lifetime / 60)
    return app[MAILER].compose(
        user.email, SUBJECT, "password_reset", name=user.name, link=link, minutes=minutes
    )


async def make_link(app: App, user: User) -> str:
    """A new link for `user`, voiding their older ones; returns its token."""
    token = secrets.token_urlsafe(32)
    made = now()
    lifetime = timedelta(seconds=app[CONFIG].accounts.reset_link_lifetime)
    async with app[DB].transaction() as tx:
        await PasswordReset.select(tx).where(user_id=user.id).delete()
        await PasswordReset.create(
            tx,
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=made,
            expires_at=made + lifetime,
        )
    return token


async def find_link(app: App, token: str) -> PasswordReset | None:
    """The link with this token if it still works; None if it never did, has expired,
    was used, or was voided by a newer link or a password change."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    query = PasswordReset.select(app[DB]).where(token_hash=hash_token(token), expires_at__gt=now())
    return await query.first()


async def use_link(app: App, token: str, password: str) -> User | None:
    """Set the password of the link's user and end the link, every session of the user
    (and whatever else store_password() ends). None if the link does not work (any more):
    of two requests sending the same link at once, one only succeeds."""
    link = await find_link(app, token)
    if link is None:
        return None
    # Hashed before the link is spent: a full hashing queue (503) leaves it usable.
    password_hash = await hash_password(app[HASHING], app[CONFIG].passwords, password)
    async with app[DB].transaction() as tx:
        if not await PasswordReset.select(tx).where(id=link.id).delete():
            return None  # used or voided since it was found
        user = await User.get(tx, link.user_id)
        if user is None:  # deleted meanwhile
            return None
        await store_password(app, user, password_hash)
    return user
