"""The access log: one line per request, with the client's real address and no secrets.

aiohttp logs the request it made, so two things are put right here, for `python -m www`,
gunicorn's worker and the test server alike (the app's handler_args name this class):
- behind a trusted proxy, the address, scheme and host the proxy gave (www/proxy.py);
- a path that carries a secret (a password reset link's `{token}`) is logged with the
  secret replaced: whoever reads the logs must not be able to reset someone's password.
"""

from typing import Any

from aiohttp import web
from aiohttp.web_log import AccessLogger
from yarl import URL

from .proxy import forwarded

SECRET_SEGMENTS = ("token",)  # route variables whose value never reaches a log
REDACTED = "REDACTED"  # a path segment that needs no quoting


class Redacted:
    """A request as the log may show it: its path given (the secrets replaced, no query,
    which could hold more of them), everything else the request's own. Not a clone: a
    request whose body a view has read cannot be cloned."""

    def __init__(self, request: web.BaseRequest, path: str) -> None:
        self._request, self.rel_url = request, URL.build(path=path)
        self.path = self.path_qs = self.raw_path = path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def loggable(request: web.BaseRequest) -> web.BaseRequest | Redacted:
    """`request` as it may be logged: without its secrets when its route has a secret
    segment, else itself."""
    try:
        match_info = request.match_info  # type: ignore[attr-defined] (a web.Request's)
    except (AttributeError, AssertionError):  # one the parser refused was never routed
        return request
    secrets = [match_info[name] for name in SECRET_SEGMENTS if match_info and name in match_info]
    if not any(secrets):
        return request
    path = request.path
    for secret in secrets:
        path = path.replace(secret, REDACTED)
    return Redacted(request, path)


class AccessLog(AccessLogger):
    """aiohttp's access log, with the forwarded client and without secrets in paths."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        super().log(loggable(forwarded(request)), response, time)
