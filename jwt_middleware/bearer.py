"""Finding the bearer token in a request, per RFC 6750 section 2. Framework-free.

Every adapter (ASGI, WSGI, Django, Flask, FastAPI, Lambda) hands this module the raw header,
query and cookie values it has, so all of them accept and refuse exactly the same requests:

* ``Authorization: Bearer <b64token>``, scheme case-insensitive, one or more spaces;
* no credentials, or another scheme (``Basic``): no token (a bare 401 challenge, or anonymous in
  optional mode);
* anything ambiguous is a 400 ``invalid_request``: several ``Authorization`` headers, a token
  with spaces or commas in it, ``Bearer`` without a token, or a token in more than one place
  (RFC 6750 section 2: clients MUST NOT use more than one method).

Query-string (``access_token``, RFC 6750 2.3) and cookie tokens are off unless enabled. A custom
header carrying the raw token (AWS ALB's ``x-amzn-oidc-data``) replaces all of them when configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs

from jwt_middleware.challenge import HTTP_TOKEN
from jwt_middleware.errors import ConfigurationError, InvalidRequestError
from jwt_middleware.request_view import cookie_values

__all__ = [
    "TokenLocations",
    "check_header_name",
    "extract_header_token",
    "extract_token",
    "is_b64token",
    "parse_authorization",
    "parse_dpop_authorization",
    "parse_raw_token",
]

#: RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN_CHARACTERS: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"


def is_b64token(token: str) -> bool:
    """Whether ``token`` matches RFC 6750's b64token.

    Deleting the allowed bytes and checking nothing is left is the grammar above, at half the
    cost of a regex over a kilobyte-long token: this runs on every request.
    """
    try:
        body = token.encode("latin-1").rstrip(b"=")
    except UnicodeEncodeError:
        return False
    return bool(body) and not body.translate(None, _B64TOKEN_CHARACTERS)


#: A second credential with the Bearer scheme after a comma: repeated headers folded into one.
_FOLDED_BEARER: Final = re.compile(r",[ \t]*bearer(?:[ \t,]|$)", re.IGNORECASE)
#: A raw token in a header of its own: b64token characters, with ``=`` allowed anywhere because AWS
#: ALB pads every segment (``header==.payload=.signature==``). Strict parsing happens later.
_RAW_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/=]+")


@dataclass(frozen=True, slots=True)
class TokenLocations:
    """Where a request's token may come from: the ``Authorization`` header, and optionally more.

    ``query_parameter`` and ``cookie`` add RFC 6750's query parameter and a cookie (both off by
    default; a token in two places is refused). A token in the query string is written to every
    access log on its way (uvicorn, gunicorn, proxies log the URL): RFC 6750 section 2.3 keeps it
    for clients that cannot send a header. ``header`` names a header carrying the raw token
    instead (AWS ALB's ``x-amzn-oidc-data``): it is then the only place a token is read from, so
    that no second credential can stand in for it.
    """

    query_parameter: str | None = None
    cookie: str | None = None
    header: str | None = None

    def __post_init__(self) -> None:
        if self.query_parameter is not None and not self.query_parameter:
            raise ConfigurationError("query_parameter must be a non-empty name")
        if self.cookie is not None and not (
            isinstance(self.cookie, str) and HTTP_TOKEN.fullmatch(self.cookie)
        ):
            raise ConfigurationError("cookie must be a valid cookie name")
        if self.header is not None:
            if self.query_parameter or self.cookie:
                raise ConfigurationError("a token header cannot be combined with query_parameter or cookie")
            # Header names are case-insensitive: kept lower-cased, as ASGI servers deliver them.
            object.__setattr__(self, "header", check_header_name(self.header))

    @property
    def bearer_only(self) -> bool:
        """Whether a token can come from nowhere but one ``Authorization`` header."""
        return self.query_parameter is None and self.cookie is None and self.header is None

    def read(self, header: Callable[[str], Sequence[str]], query_string: Callable[[], str]) -> str | None:
        """The request's token, ``None`` when it carries none; raises ``InvalidRequestError``.

        ``header(name)`` returns every value of a request header and ``query_string()`` the raw
        query; only what these locations look at is read.
        """
        if self.header is not None:
            return extract_header_token(header(self.header))
        return extract_token(
            header("authorization"),
            locations=self,
            query_string=query_string() if self.query_parameter else "",
            cookie_headers=header("cookie") if self.cookie else (),
        )


def parse_authorization(value: str) -> str | None:
    """The bearer token in one ``Authorization`` value; ``None`` for another scheme."""
    value = value.strip(" \t")
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "bearer":
        if value[:6].lower() == "bearer":
            # "Bearer" glued to something by a tab, comma or nothing: a broken bearer credential.
            raise InvalidRequestError("The Authorization header is malformed")
        if _FOLDED_BEARER.search(value):
            # "Basic x, Bearer y": a WSGI server folded two Authorization headers into one value.
            raise InvalidRequestError("The request has more than one Authorization header")
        return None
    token = rest.lstrip(" ")
    if not token:
        raise InvalidRequestError("The bearer token is missing")
    if not is_b64token(token):
        raise InvalidRequestError("The Authorization header is malformed")
    return token


def parse_dpop_authorization(value: str) -> str | None:
    """The token in one ``Authorization: DPoP <token>`` value (RFC 9449 section 7.1); ``None`` otherwise.

    The same grammar as ``Bearer``: scheme case-insensitive, then spaces and a b64token.
    """
    value = value.strip(" \t")
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "dpop":
        if value[:4].lower() == "dpop" and not value[4:5].isalnum():
            raise InvalidRequestError("The Authorization header is malformed")
        return None
    token = rest.lstrip(" ")
    if not token:
        raise InvalidRequestError("The DPoP token is missing")
    if not is_b64token(token):
        raise InvalidRequestError("The Authorization header is malformed")
    return token


def _single(values: Sequence[str], what: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequestError(f"The request has more than one {what}")
    return values[0]


def extract_token(
    authorization: Sequence[str],
    *,
    locations: TokenLocations | None = None,
    query_string: str = "",
    cookie_headers: Sequence[str] = (),
) -> str | None:
    """The request's bearer token, ``None`` when it carries none; raises ``InvalidRequestError``.

    ``authorization`` holds every ``Authorization`` header value of the request (servers that fold
    repeated headers into one comma-joined value are covered too: a comma is never valid in a
    token). A ``header`` in ``locations`` is not looked at here: ``TokenLocations.read`` chooses.
    """
    # One header is the common case; _single words the refusal of several.
    if len(authorization) == 1:
        header_value: str | None = authorization[0]
    else:
        header_value = _single(authorization, "Authorization header")
    token = parse_authorization(header_value) if header_value is not None else None
    if locations is None or (locations.query_parameter is None and locations.cookie is None):
        return token

    found = [token] if token is not None else []
    if locations.query_parameter is not None and query_string:
        query_values = parse_qs(query_string, keep_blank_values=True).get(locations.query_parameter, [])
        query_token = _single(query_values, "access token in the query string")
        if query_token is not None:
            found.append(query_token)
    if locations.cookie is not None and cookie_headers:
        cookie_token = _single(cookie_values(cookie_headers, locations.cookie), "token cookie")
        if cookie_token is not None:
            found.append(cookie_token)
    if len(found) > 1:
        raise InvalidRequestError("The request carries a token in more than one place")
    if not found:
        return None
    # A header token was held to the b64token grammar by parse_authorization already.
    if token is None and not is_b64token(found[0]):
        raise InvalidRequestError("The token is malformed")
    return found[0]


def check_header_name(name: str) -> str:
    """Validate a configured token header name; header names are case-insensitive, so lower-case it."""
    if not isinstance(name, str) or HTTP_TOKEN.fullmatch(name) is None:
        raise ConfigurationError("header must be a valid HTTP header name")
    if name.lower() == "authorization":
        raise ConfigurationError("the Authorization header is read by default; header names another one")
    return name.lower()


def parse_raw_token(value: str) -> str:
    """A token sent as a header's whole value (no scheme); raises ``InvalidRequestError``."""
    token = value.strip(" \t")
    if not token:
        raise InvalidRequestError("The token header is empty")
    if _RAW_TOKEN.fullmatch(token) is None:
        raise InvalidRequestError("The token header is malformed")
    return token


def extract_header_token(values: Sequence[str]) -> str | None:
    """The raw token in a custom header, ``None`` when the header is absent.

    ``values`` holds every value of that header; more than one is a 400, as with ``Authorization``
    (a comma, which servers use to fold repeated headers, is never valid in a token).
    """
    value = _single(values, "token header")
    return parse_raw_token(value) if value is not None else None
