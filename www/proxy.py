"""Behind a reverse proxy: the client's address, scheme and host from X-Forwarded-*.

A proxy (nginx, deploy/nginx.conf) opens its own connection to the app, so every request
seems to come from the proxy's address, over plain HTTP, for whatever host the proxy
named: the CSRF Origin check refuses every form and the access log shows one visitor.
`behind_proxies(server.trusted_proxies)` believes X-Forwarded-For, -Proto and -Host when
the connection comes from one of those addresses, and ignores them from anyone else,
since anyone can send them. With no trusted proxies it adds nothing to the chain.

Why not aiohttp-remotes (its 1.4.0, tried against these cases):
- XForwardedRelaxed believes every peer;
- XForwardedFiltered never looks at the peer: a visitor who connects directly has their
  own X-Forwarded-For, -Proto and -Host believed;
- XForwardedStrict checks the peer but answers 400 to every request that does not hold
  exactly one X-Forwarded-For entry per configured hop: anything from another address,
  a health check from the proxy's machine without the header, and any visitor whose own
  X-Forwarded-For nginx extends ($proxy_add_x_forwarded_for);
- both answer 400 when any entry is not an address, and the entries left of the proxy's
  are the visitor's to write (Squid sends `unknown`);
- like any middleware they hand the rest of the chain a clone of the request, while
  aiohttp's access log and on_response_prepare get the request aiohttp made: the log
  would still show the proxy. Here the clone is kept on that request (FORWARDED) for them.

Scope: peers are IP addresses. Behind a Unix socket there is no address to trust, and the
headers are ignored.
"""

import re
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from .keys import FORWARDED

SCHEMES = frozenset({"http", "https"})
# A host name or IPv4 address, or an IPv6 address in brackets, and an optional port.
HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def behind_proxies(trusted: Sequence[IPv4Network | IPv6Network]) -> list[Middleware]:
    """The middleware believing X-Forwarded-* from `trusted` peers, or none at all."""
    if not trusted:
        return []
    networks = tuple(trusted)

    def is_trusted(address: IPv4Address | IPv6Address) -> bool:
        return any(address in network for network in networks)

    @web.middleware
    async def forwarded_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = parse_address(request.remote or "")
        if peer is None or not is_trusted(peer):
            return await handler(request)  # anyone may write these headers: ignored
        headers = request.headers
        # Each proxy appends the address it got the request from. Read from the right,
        # the first address that no trusted proxy stands for is the client; what lies to
        # its left the client wrote itself.
        client = peer
        for entry in reversed(values(headers, hdrs.X_FORWARDED_FOR)):
            address = parse_address(entry)
            if address is None:
                break  # not written by a proxy: believe nothing further left
            client = address
            if not is_trusted(address):
                break
        overrides = {"remote": str(client)}
        # Scheme and host as the nearest proxy wrote them (nginx replaces both headers).
        scheme = values(headers, hdrs.X_FORWARDED_PROTO)[-1].lower()
        if scheme in SCHEMES:
            overrides["scheme"] = scheme
        host = values(headers, hdrs.X_FORWARDED_HOST)[-1]
        if HOST.fullmatch(host):
            overrides["host"] = host
        forwarded = request.clone(**overrides)
        request[FORWARDED] = forwarded  # for the access log and on_response_prepare
        return await handler(forwarded)

    return [forwarded_headers]


def values(headers, name: str) -> list[str]:
    """The comma-separated values of every `name` header, in order; [""] when absent."""
    return [value.strip() for value in ",".join(headers.getall(name, ())).split(",")]


def parse_address(text: str) -> IPv4Address | IPv6Address | None:
    """An IP address, IPv4 also when a dual-stack socket writes it as ::ffff:a.b.c.d."""
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def forwarded(request: web.BaseRequest) -> web.BaseRequest:
    """The request as the trusted proxy described it, else `request` itself.

    For the code that aiohttp hands its own request rather than the middlewares' clone:
    on_response_prepare (for a response a view returned) and the access log.
    """
    return request.get(FORWARDED, request)
