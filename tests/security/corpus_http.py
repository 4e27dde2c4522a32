"""Request shapes: every form of the Authorization header, and tokens in several places at once.

Run by ``test_http.py`` through both real middlewares (ASGI driven with raw scopes, WSGI with raw
environs), so no test client normalises a header first. ``T`` below is a genuine token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tests.security.catalogue import HttpCase

CATEGORY: Final = "HTTP: credentials in the request"
RUN_BY: Final = ("test_http.py",)

CASES: list[HttpCase] = []

INVALID_REQUEST: Final = "invalid_request"
INVALID_TOKEN: Final = "invalid_token"


def case(
    name: str,
    how: str,
    headers: Callable[[str], list[tuple[str, str]]],
    status: int,
    error: str | None,
    rule: str,
    **extra: Any,
) -> None:
    CASES.append(
        HttpCase(name=name, how=how, headers=headers, status=status, error=error, rule=rule, **extra)
    )


def authorization(template: str) -> Callable[[str], list[tuple[str, str]]]:
    return lambda token: [("authorization", template.replace("{t}", token))]


RFC6750: Final = "RFC 6750 §2.1"

for label, template in {
    "canonical": "Bearer {t}",
    "lower-case-scheme": "bearer {t}",
    "upper-case-scheme": "BEARER {t}",
    "mixed-case-scheme": "bEaReR {t}",
    "two-spaces": "Bearer  {t}",
    "leading-space": " Bearer {t}",
    "trailing-space": "Bearer {t} ",
}.items():
    case(f"authorization-{label}", repr(template), authorization(template), 200, None, RFC6750)

for label, template in {
    "bare-token": "{t}",
    "basic": "Basic dXNlcjpwYXNzd29yZA==",
    "token-scheme": "Token {t}",
    "jwt-scheme": "JWT {t}",
    "empty": "",
    "spaces-only": "   ",
}.items():
    case(
        f"authorization-{label}",
        f"{template!r}: no bearer credentials, so a bare challenge",
        authorization(template),
        401,
        None,
        "RFC 6750 §3.1",
    )

case(
    "authorization-dpop-scheme-without-proof",
    "'DPoP {t}' without a DPoP header: a DPoP request whose proof is missing",
    authorization("DPoP {t}"),
    401,
    "invalid_dpop_proof",
    "RFC 9449 §4.3",
)

for label, template in {
    "scheme-only": "Bearer",
    "scheme-and-space": "Bearer ",
    "tab-separator": "Bearer\t{t}",
    "no-separator": "Bearer{t}",
    "colon-separator": "Bearer:{t}",
    "two-tokens": "Bearer {t} {t}",
    "two-credentials-comma": "Bearer {t}, Bearer {t}",
    "trailing-comma": "Bearer {t},",
    "quoted-token": 'Bearer "{t}"',
    "token-with-space": "Bearer {t} x",
    "token-with-nul": "Bearer {t}\x00",
    "non-ascii": "Bearer {t}\u00e9",
    "json-polyglot": 'Bearer {"protected":"{t}"}',
    "nbsp-separator": "Bearer\u00a0{t}",
    "vertical-tab": "Bearer\x0b{t}",
}.items():
    case(f"authorization-{label}", repr(template), authorization(template), 400, INVALID_REQUEST, RFC6750)

case(
    "authorization-two-headers",
    "two Authorization headers, each with the genuine token",
    lambda token: [("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2; RFC 9110 §5.3",
)
case(
    "authorization-two-headers-one-basic",
    "a Basic and a Bearer Authorization header",
    lambda token: [("authorization", "Basic dXNlcjpwYXNz"), ("authorization", f"Bearer {token}")],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2",
)
case(
    "authorization-malformed-token",
    "Bearer with a b64token that is not a JWS",
    authorization("Bearer abc.def"),
    401,
    INVALID_TOKEN,
    "RFC 6750 §3.1",
)
case(
    "authorization-padded-token",
    "the genuine token with '==' appended (valid b64token, not canonical base64url)",
    authorization("Bearer {t}=="),
    401,
    INVALID_TOKEN,
    "RFC 7515 §2",
)
case(
    "authorization-oversized",
    "a 1 MB b64token",
    authorization("Bearer " + "A" * 1_000_000),
    401,
    INVALID_TOKEN,
    "bounded input",
)
case(
    "no-credentials",
    "no Authorization header at all",
    lambda token: [],
    401,
    None,
    "RFC 6750 §3.1",
)

# -- other token locations -----------------------------------------------------------------------

_QUERY: Final = {"query_parameter": "access_token"}
_COOKIE: Final = {"cookie": "at"}
case(
    "query-ignored-when-disabled",
    "token only in ?access_token= while the query location is off",
    lambda token: [],
    401,
    None,
    "RFC 6750 §2.3 (off by default); RFC 8725 §3.10",
    query=lambda token: f"access_token={token}",
)
case(
    "query-only-when-enabled",
    "token only in ?access_token= with the query location on",
    lambda token: [],
    200,
    None,
    "RFC 6750 §2.3",
    query=lambda token: f"access_token={token}",
    options=_QUERY,
)
case(
    "query-plus-header",
    "the token in the header and in the query string",
    authorization("Bearer {t}"),
    400,
    INVALID_REQUEST,
    "RFC 6750 §2 (one method only)",
    query=lambda token: f"access_token={token}",
    options=_QUERY,
)
case(
    "query-twice",
    "?access_token=T&access_token=T",
    lambda token: [],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2.3",
    query=lambda token: f"access_token={token}&access_token={token}",
    options=_QUERY,
)
case(
    "query-empty",
    "?access_token= (empty)",
    lambda token: [],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2.3",
    query=lambda token: "access_token=",
    options=_QUERY,
)
case(
    "cookie-plus-header",
    "the token in the header and in the cookie",
    lambda token: [("authorization", f"Bearer {token}"), ("cookie", f"at={token}")],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2",
    options=_COOKIE,
)
case(
    "cookie-twice",
    "two cookies with the token's name",
    lambda token: [("cookie", f"at={token}; at={token}")],
    400,
    INVALID_REQUEST,
    "RFC 6750 §2",
    options=_COOKIE,
)
case(
    "cookie-only",
    "the token only in the cookie (cookie location on)",
    lambda token: [("cookie", f"other=1; at={token}")],
    200,
    None,
    "positive control",
    options=_COOKIE,
)
case(
    "cookie-ignored-when-disabled",
    "the token only in a cookie while the cookie location is off",
    lambda token: [("cookie", f"at={token}")],
    401,
    None,
    "RFC 6750 §2 (cookies off by default)",
)
