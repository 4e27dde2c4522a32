"""The dev issuer's mint endpoint: how ``issuer mint`` gets a token out of a running ``issuer serve``.

Why an endpoint. The signing key of ``issuer serve`` exists only in that process's memory, and
it should stay there: writing it to disk (for ``mint`` to read) would leave a private key behind
in a temp folder, and printing tokens only at start-up gives tokens that expire and cannot carry
the claims the next test needs. So ``serve`` answers ``POST /_dev/mint`` and ``mint`` asks it;
the key never leaves the process that made it.

Why it is safe enough for a development tool:

* it exists only when the command line's ``serve`` installs it (``install``), never in
  ``LocalIssuer`` itself, so no test suite or app using the test kit grows a mint endpoint;
* the server binds 127.0.0.1 only, so nothing off the machine can reach it;
* a request must be a ``POST`` of ``application/json``, which a web page cannot send to another
  origin without a CORS preflight that this server never approves; must carry no ``Origin`` other
  than the server's own; and must name the server by a loopback ``Host``, which defeats DNS
  rebinding (a hostile page whose domain resolves to 127.0.0.1);
* what it mints is signed by a throwaway key created at start-up, trusted only by services
  configured with this issuer's URL or JWKS.

Any process on the machine can still mint: that is what a local development identity provider is
for, and why ``serve`` says "development only".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx2

from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import JWTMiddlewareException
from jwt_middleware.fetching import is_loopback_host
from jwt_middleware.safe_json import JSONError, parse_object

if TYPE_CHECKING:
    from jwt_middleware.testing.issuer import LocalIssuer
    from jwt_middleware.testing.server import Request, Response

__all__ = ["MINT_PATH", "MintError", "MintRequest", "install", "mint_url", "request_token"]

MINT_PATH: Final = "/_dev/mint"
#: Far more than any claim set needs; bounds what one request can make the server parse.
_MAX_BODY: Final = 64 * 1024
_FIELDS: Final = frozenset({"claims", "expires_in", "alg"})


class MintError(JWTMiddlewareException):
    """``issuer mint`` failed; ``unreachable`` when no dev issuer answered at all."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class MintRequest:
    """What to mint: claims layered over the issuer's defaults (``None`` removes one), lifetime, alg.

    ``expires_in`` ``None`` mints a token without ``exp``; negative values mint expired tokens.
    """

    claims: Mapping[str, Any] = field(default_factory=dict)
    expires_in: float | None = 300
    alg: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"claims": dict(self.claims), "expires_in": self.expires_in, "alg": self.alg}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> MintRequest:
        """Validate a request body; ``ValueError`` names the first problem."""
        unknown = set(document) - _FIELDS
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        claims = document.get("claims", {})
        if not isinstance(claims, Mapping):
            raise ValueError("claims must be a JSON object")
        expires_in = document.get("expires_in", 300)
        if expires_in is not None and (
            type(expires_in) not in (int, float) or abs(expires_in) > 10 * 365 * 86400
        ):
            raise ValueError("expires_in must be a number of seconds (at most ten years) or null")
        alg = document.get("alg")
        if alg is not None and alg not in ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(ALGORITHMS)}")
        return cls(claims=claims, expires_in=expires_in, alg=alg)


# -- server side --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _refusal(request: Request, port: int) -> _Refusal | None:
    """Why this request may not mint; ``None`` when it may."""
    if request.method != "POST":
        return _Refusal(405, "use POST with a JSON body", {"Allow": "POST"})
    own = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if request.headers.get("host", "").lower() not in own:
        return _Refusal(403, "the mint endpoint answers only requests addressed to 127.0.0.1 or localhost")
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in {f"http://{host}" for host in own}:
        return _Refusal(403, "the mint endpoint does not answer web pages")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _Refusal(415, "send Content-Type: application/json")
    if len(request.body) > _MAX_BODY:
        return _Refusal(413, "request body too large")
    return None


def install(issuer: LocalIssuer) -> None:
    """Add ``POST /_dev/mint`` to ``issuer``'s server (call before or after ``start``)."""
    # The test kit, imported here and only here: this runs inside `issuer serve`, the test kit's
    # front end. No other production code imports jwt_middleware.testing (tests/package/test_layers.py).
    from jwt_middleware.testing.server import Response

    def answer(status: int, document: Mapping[str, str], headers: Mapping[str, str] = {}) -> Response:
        return Response.json(dict(document), status=status, headers={**headers, "Cache-Control": "no-store"})

    def mint(request: Request) -> Response:
        refusal = _refusal(request, issuer.server.port)
        if refusal is not None:
            return answer(refusal.status, {"error": refusal.message}, refusal.headers)
        try:
            wanted = MintRequest.from_json(parse_object(request.body))
            token = issuer.mint(dict(wanted.claims), expires_in=wanted.expires_in, alg=wanted.alg)
        except JSONError:
            return answer(400, {"error": "the body must be a strict JSON object"})
        except ValueError as exc:
            return answer(400, {"error": str(exc)})
        return answer(200, {"token": token})

    issuer.server.route(MINT_PATH, mint)


# -- client side --------------------------------------------------------------------------------


def mint_url(base_url: str) -> str:
    """The mint endpoint of the dev issuer at ``base_url``; ``ValueError`` unless it is loopback http."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
        raise ValueError(f"{base_url!r} is not a loopback http URL; the dev issuer only runs on 127.0.0.1")
    if parts.username or parts.password:
        raise ValueError("the dev issuer's URL must not carry credentials")
    return f"http://{parts.netloc}{MINT_PATH}"


def request_token(base_url: str, wanted: MintRequest, *, timeout: float = 5.0) -> str:
    """Ask the dev issuer at ``base_url`` for a token; ``MintError`` explains any failure."""
    try:
        url = mint_url(base_url)
    except ValueError as exc:
        raise MintError(str(exc)) from None
    try:
        # No proxies from the environment: a proxy would not reach this machine's loopback.
        with httpx2.Client(trust_env=False, follow_redirects=False, timeout=timeout) as client:
            response = client.post(url, json=wanted.to_json())
    except httpx2.HTTPError as exc:
        raise MintError(
            f"no dev issuer answered at {base_url} ({type(exc).__name__}); "
            "start one with 'jwt-middleware issuer serve'",
            unreachable=True,
        ) from None
    if response.status_code == 404:
        raise MintError(f"{base_url} has no mint endpoint: it is not a running 'jwt-middleware issuer serve'")
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise MintError(f"{url} answered HTTP {response.status_code} without a JSON object")
    if response.status_code != 200 or not isinstance(document.get("token"), str):
        raise MintError(f"the dev issuer refused: {document.get('error', f'HTTP {response.status_code}')}")
    token: str = document["token"]
    return token
