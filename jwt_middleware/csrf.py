"""Cross-site request forgery protection for tokens that the browser sends on its own: cookies.

A bearer header is never sent by a browser unless a script of the page's own origin adds it, so
it cannot be forged cross-site. A cookie is ambient: a form on ``https://evil.example`` that posts
to the app makes the browser attach it. So a request authenticated by a cookie and using an
unsafe method (anything but GET, HEAD, OPTIONS) must come from the app's own origin. The rule is
the one Go's ``net/http.CrossOriginProtection`` uses, which needs no token and no state:

1. ``Sec-Fetch-Site`` (sent by every current browser): ``same-origin`` and ``none`` (the user
   typed the URL or used a bookmark) pass; anything else (``same-site``, ``cross-site``) is
   refused unless the ``Origin`` is one of ``trusted_origins``.
2. Without it, ``Origin`` (older browsers): passes when its host equals the request's own host
   (the ``Host`` header, as Go compares it: a TLS-terminating proxy changes the scheme, not the
   host), or when it is one of ``trusted_origins``; any other value, ``null`` included, is refused.
3. Neither header: not a browser's cross-site request (browsers send one or the other for every
   cross-origin unsafe request), so it passes.

``same-site`` is refused on purpose: a sibling subdomain, or another port of the same host, is
another origin, and a cookie the app set is sent to it too.

Optionally, a double-submit token as well (``csrf_header``): the request must echo, in that
header, the value of a cookie set at sign-in (compared in constant time). Only the page's own
scripts can read that cookie, so only they can send the header.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from jwt_middleware import reasons
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError

__all__ = ["SAFE_METHODS", "CrossSiteRequestError", "OriginPolicy", "normalize_origin"]

#: The methods a cross-site request may use with a cookie: they must not change anything.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_TRUSTED_FETCH_SITES: Final = frozenset({"same-origin", "none"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class CrossSiteRequestError(JWTMiddlewareError):
    """403: an unsafe request from another origin tried to use the cookie that carries the token."""

    status_code = 403
    error = "invalid_request"
    default_description = "Cross-origin requests cannot use the session cookie"
    default_code = reasons.REQUEST_CROSS_SITE


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, the default port dropped; ``ValueError`` otherwise."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{origin!r} is not an origin") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _host_of(url: str) -> str | None:
    """``host[:port]`` of an absolute URL, lower-cased, the default port dropped."""
    parts = urlsplit(url)
    try:
        return normalize_origin(f"{parts.scheme}://{parts.netloc}").split("://", 1)[1]
    except ValueError:
        return None


class OriginPolicy:
    """The cross-origin rule above, with the app's ``trusted_origins`` and optional double submit.

    ``csrf_header`` and ``csrf_cookie`` go together: the header the page's scripts send, and the
    cookie whose value they echo (``SignIn`` sets it at sign-in).
    """

    __slots__ = ("csrf_cookie", "csrf_header", "trusted_origins")

    def __init__(
        self,
        trusted_origins: Iterable[str] = (),
        *,
        csrf_header: str | None = None,
        csrf_cookie: str | None = None,
    ) -> None:
        if isinstance(trusted_origins, str):
            trusted_origins = (trusted_origins,)
        try:
            self.trusted_origins = frozenset(normalize_origin(origin) for origin in trusted_origins)
        except ValueError as exc:
            raise ConfigurationError(f"trusted_origins: {exc}") from None
        if (csrf_header is None) != (csrf_cookie is None):
            raise ConfigurationError("csrf_header and csrf_cookie are set together")
        self.csrf_header = csrf_header.lower() if csrf_header is not None else None
        self.csrf_cookie = csrf_cookie

    def _trusted(self, origin: str | None) -> bool:
        if origin is None:
            return False
        try:
            return normalize_origin(origin) in self.trusted_origins
        except ValueError:
            return False

    def check(
        self,
        method: str,
        url: str,
        header: Callable[[str], Sequence[str]],
        cookie: Callable[[str], str | None],
    ) -> None:
        """Raise ``CrossSiteRequestError`` for an unsafe request from another origin."""
        if method.upper() in SAFE_METHODS:
            return
        origins = header("origin")
        if len(origins) > 1:
            raise CrossSiteRequestError()
        origin = origins[0].strip() if origins else None
        fetch_site = header("sec-fetch-site")
        if fetch_site:
            if fetch_site[0].strip().lower() not in _TRUSTED_FETCH_SITES and not self._trusted(origin):
                raise CrossSiteRequestError()
        elif origin is not None:
            own_host = _host_of(url)
            try:
                origin_host = normalize_origin(origin).split("://", 1)[1]
            except ValueError:
                origin_host = None
            if (origin_host is None or origin_host != own_host) and not self._trusted(origin):
                raise CrossSiteRequestError()
        if self.csrf_header is not None and self.csrf_cookie is not None:
            echoed = header(self.csrf_header)
            expected = cookie(self.csrf_cookie)
            if (
                len(echoed) != 1
                or not expected
                or not hmac.compare_digest(echoed[0].encode(), expected.encode())
            ):
                raise CrossSiteRequestError("The CSRF token is missing or does not match")

    def __repr__(self) -> str:
        return (
            f"OriginPolicy(trusted_origins={sorted(self.trusted_origins)}, csrf_header={self.csrf_header!r})"
        )
