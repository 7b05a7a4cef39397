"""The session cookie: aiohttp-session's encrypted cookie (Fernet), read at less cost.

Every logged-in request carries the cookie, and reading it was a tenth of the cost of a
cached page: aiohttp parses every cookie of the header to find it (10 µs for one), and
Fernet checks and decrypts it (20 µs) although the same browser sends the same cookie
request after request. So:

- `cookie_value` finds the one cookie by its name in the raw header;
- `SessionCookies` keeps the plaintext of the cookies it decrypted lately (at most
  `session.cache_entries`, least recently used first out): a cookie seen again is not
  decrypted again. The key is the whole cookie, which Fernet authenticated when it was
  first decrypted, so only a cookie this server issued ever finds an entry; the session's
  age is checked on every request all the same (aiohttp-session's Session, from the
  `created` time inside). Logging out still ends every copy of a cookie: that is the
  user's `session_epoch` (www/auth.py), checked against the database on every request.
"""

import hashlib
import logging
from collections import OrderedDict

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_session import Session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import InvalidToken

from .settings import Settings, session_secret

log = logging.getLogger(__name__)


def sessions(config: Settings) -> Middleware:
    """The session middleware: an encrypted cookie (Fernet), HttpOnly and SameSite=Lax."""
    # Fernet wants 32 bytes; any secret of 32+ characters is stretched to exactly that.
    key = hashlib.sha256(session_secret(config).encode()).digest()
    storage = SessionCookies(
        key,
        cache_entries=config.session.cache_entries,
        cookie_name=config.session.cookie_name,
        max_age=config.session.max_age,
        secure=config.session.secure,
        httponly=True,
        samesite="Lax",
    )
    return session_middleware(storage)


def cookie_value(request: web.Request, name: str) -> str | None:
    """The value of the cookie `name` in the request's Cookie header (the last, if it is
    there twice, as aiohttp's `request.cookies` has it), without its quotes; None when
    absent. Values with escapes are left as they are: no cookie of ours has any."""
    header = request.headers.get("Cookie", "")
    if name not in header:  # most requests: no cookie, or not this one
        return None
    found = None
    for pair in header.split(";"):
        key, sign, value = pair.partition("=")
        if sign and key.strip() == name:
            found = value.strip()
    if found and len(found) > 1 and found[0] == found[-1] == '"':
        found = found[1:-1]
    return found


class SessionCookies(EncryptedCookieStorage):
    """EncryptedCookieStorage that finds its cookie with `cookie_value` and decrypts each
    cookie once while it is among the `cache_entries` seen last (0: every time)."""

    def __init__(self, secret_key: bytes, *, cache_entries: int, **kwargs) -> None:
        super().__init__(secret_key, **kwargs)
        self.cache_entries = cache_entries
        self._plaintexts: OrderedDict[str, bytes] = OrderedDict()

    def load_cookie(self, request: web.Request) -> str | None:
        return cookie_value(request, self.cookie_name)

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if cookie is None:
            return self._new()
        plaintext = self._plaintexts.get(cookie)
        if plaintext is not None:
            self._plaintexts.move_to_end(cookie)
        else:
            if not cookie.isascii():  # no token is: and encoding it would raise
                return self._new("Cannot decrypt the session cookie: not ASCII")
            try:
                plaintext = self._fernet.decrypt(cookie.encode(), ttl=self.max_age)
            except InvalidToken:
                return self._new("Cannot decrypt the session cookie: a new session starts")
            self._keep(cookie, plaintext)
        try:
            data = self._decoder(plaintext.decode("utf-8"))
        except ValueError:  # not ours: we encrypt JSON only
            return self._new("The session cookie does not hold JSON: a new session starts")
        # The Session drops the data when its `created` time is older than max_age.
        return Session(None, data=data, new=False, max_age=self.max_age)

    def _new(self, warning: str | None = None) -> Session:
        if warning:
            log.warning(warning)
        return Session(None, data=None, new=True, max_age=self.max_age)

    def _keep(self, cookie: str, plaintext: bytes) -> None:
        if self.cache_entries <= 0:
            return
        self._plaintexts[cookie] = plaintext
        while len(self._plaintexts) > self.cache_entries:
            self._plaintexts.popitem(last=False)
