"""Who may call what, and the headers every answer carries.

Every route is registered through ``route(role, handler)``; the middleware refuses a route
without a role, so a new route cannot be public by accident. Roles are ordered
``agent < supervisor < admin``; ``public`` needs no session (sign-in page, liveness, ops).

Sessions are server-side (``cti.auth.users.SessionStore``) behind an HttpOnly, SameSite=Strict
cookie. Every state-changing request, the public sign-in included (login CSRF), is refused
when the browser says it comes from another site (``Sec-Fetch-Site``) or sends an ``Origin``
other than this very host; websockets too (cross-site websocket hijacking). With a session,
a change must also carry the session's CSRF token in ``X-CSRF-Token``.

Behind a reverse proxy every request comes from the proxy's address. Only when the peer is
one of ``http_trusted_proxies`` do its ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count:
the client is the last hop not written by a trusted proxy (hops to its left are whatever the
client chose to send, so they are never believed).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from cti.auth.users import Session
from cti.database import DatabaseUnavailable
from cti.keys import SESSIONS, SETTINGS
from cti.settings import SettingsError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_ATTRIBUTE = "cti_role"
SESSION_COOKIE = "cti_session"
SESSION_KEY = web.RequestKey("cti_session", Session)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sec-Fetch-Site values of a request this site's own pages (or a typed URL) made.
OWN_SITE = frozenset({"same-origin", "none"})
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SECURITY_HEADERS = {
    # Caller ID is attacker-controlled: the panel renders it as text, and the CSP makes
    # sure no injected markup could run script even if a mistake slipped through.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def route(role: str, handler: Handler) -> Handler:
    """Declare who may call ``handler``: public, agent, supervisor or admin."""
    setattr(handler, ROLE_ATTRIBUTE, role)
    return handler


def session_of(request: web.Request) -> Session:
    session = request[SESSION_KEY]
    return session


def _same_origin(request: web.Request) -> bool:
    # "same-site" is refused too: a sibling subdomain may be someone else's.
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in OWN_SITE:
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser cross-site request (curl, same-origin GET)
    return urlsplit(origin).netloc == request.host


@functools.cache
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    """The networks of ``http_trusted_proxies``; SettingsError names a malformed item."""
    networks = []
    for item in proxies:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"CTI_HTTP_TRUSTED_PROXIES: {item!r} is not an IP address or network (CIDR); "
                "list the reverse proxies' addresses, comma-separated, e.g. 10.0.0.5,10.1.0.0/24"
            ) from None
    return tuple(networks)


def _address(text: str) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


def _from_trusted_proxy(request: web.Request) -> bool:
    networks = trusted_networks(request.app[SETTINGS].http_trusted_proxies)
    peer = _address(request.remote or "")
    return peer is not None and any(peer in network for network in networks)


def client_address(request: web.Request) -> str:
    """The client's address: the peer's, or behind a trusted proxy the last hop of
    X-Forwarded-For that no trusted proxy wrote."""
    peer = request.remote or "unknown"
    if not _from_trusted_proxy(request):
        return peer
    networks = trusted_networks(request.app[SETTINGS].http_trusted_proxies)
    hops = [
        hop for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")
    ]
    client = None
    for hop in reversed(hops):
        client = _address(hop)
        if client is None:
            return peer  # not an address where a proxy writes one: misconfigured, lump
        if not any(client in network for network in networks):
            return str(client)
    return str(client) if client is not None else peer  # only proxies: the first of them


def is_https(request: web.Request) -> bool:
    """Whether the browser talks HTTPS to us, directly or to a trusted proxy in front."""
    if request.secure:
        return True
    if not _from_trusted_proxy(request):
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")
    return forwarded[-1].strip().lower() == "https"


def _wants_html(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:  # 404/405: nothing to authorize
        raise match.http_exception
    role = getattr(match.handler, ROLE_ATTRIBUTE, None)
    if role is None:
        raise web.HTTPForbidden(text="route has no declared role")
    upgrading = request.headers.get("Upgrade", "").lower() == "websocket"
    if (request.method not in SAFE_METHODS or upgrading) and not _same_origin(request):
        raise web.HTTPForbidden(
            text="cross-site request refused; use the panel's own pages on this address"
        )
    if role == "public":
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        session = await request.app[SESSIONS].lookup(token) if token else None
    except DatabaseUnavailable:
        raise web.HTTPServiceUnavailable(text="the database is unavailable; try again") from None
    if session is None:
        if _wants_html(request):
            raise web.HTTPSeeOther("/login")
        raise web.HTTPUnauthorized(text="sign in first")
    if not session.user.may(role):
        raise web.HTTPForbidden(text=f"this needs the {role} role")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
    request[SESSION_KEY] = session
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
