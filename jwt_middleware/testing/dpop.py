"""``DPoPKey``: a client's DPoP key pair for tests, making proofs the way RFC 9449 section 4 says.

A test binds a token to the key (``LocalIssuer.mint(dpop_key=key)``) and sends it with a fresh
proof per request, by hand (``key.proof(...)``, ``key.headers(...)``) or through ``key.auth(token)``,
an ``httpx2.Auth`` that signs a proof for every request and retries once with the server's nonce
when asked (``use_dpop_nonce``). Proofs are signed by the test kit's ``SigningKey``, so they are
byte for byte what a conforming client sends.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from jwt_middleware import b64
from jwt_middleware.dpop.proof import PROOF_TYPE, access_token_hash
from jwt_middleware.jwk import THUMBPRINT_MEMBERS, jwk_thumbprint
from jwt_middleware.testing.keys import SigningKey

if TYPE_CHECKING:
    from jwt_middleware.testing.dpop_auth import DPoPAuth

__all__ = ["DPoPKey"]

#: The default proof algorithm: ES256, what most DPoP clients use.
DEFAULT_PROOF_ALGORITHM: Final = "ES256"


def _without_query(url: str) -> str:
    """RFC 9449 ``htu``: the request URL without its query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


class DPoPKey:
    """A DPoP key pair: ``jwk`` (public), ``thumbprint`` (``cnf.jkt``), and proofs made with it."""

    __slots__ = ("jwk", "signing_key", "thumbprint")

    def __init__(self, signing_key: SigningKey) -> None:
        self.signing_key = signing_key
        full = signing_key.public_jwk(include_alg=False, use=None)
        #: The public key as it goes into a proof's header: its required members only.
        self.jwk: dict[str, Any] = {name: full[name] for name in THUMBPRINT_MEMBERS[full["kty"]]}
        #: Its RFC 7638 SHA-256 thumbprint, what a token bound to it holds in ``cnf.jkt``.
        self.thumbprint = jwk_thumbprint(self.jwk)

    @classmethod
    def generate(cls, alg: str = DEFAULT_PROOF_ALGORITHM) -> DPoPKey:
        """A fresh key for ``alg`` (any asymmetric JWS algorithm)."""
        return cls(SigningKey.generate(alg))

    @property
    def alg(self) -> str:
        return self.signing_key.alg

    @property
    def confirmation(self) -> dict[str, str]:
        """The ``cnf`` claim of a token bound to this key."""
        return {"jkt": self.thumbprint}

    def proof(
        self,
        method: str,
        url: str,
        access_token: str | None = None,
        nonce: str | None = None,
        *,
        iat: float | None = None,
        jti: str | None = None,
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A DPoP proof for one request: ``htm`` ``method``, ``htu`` ``url`` without its query.

        ``access_token`` adds ``ath``, ``nonce`` the server's nonce. ``iat``, ``jti``, ``claims``
        and ``headers`` change or add members (``None`` in ``claims``/``headers`` removes one),
        for tests that make broken proofs on purpose.
        """
        header: dict[str, Any] = {"typ": PROOF_TYPE, "alg": self.alg, "jwk": dict(self.jwk)}
        payload: dict[str, Any] = {
            "jti": jti if jti is not None else secrets.token_urlsafe(16),
            "htm": method,
            "htu": _without_query(url),
            "iat": int(time.time()) if iat is None else iat,
        }
        if access_token is not None:
            payload["ath"] = access_token_hash(access_token)
        if nonce is not None:
            payload["nonce"] = nonce
        for target, changes in ((header, headers), (payload, claims)):
            for name, value in (changes or {}).items():
                if value is None:
                    target.pop(name, None)
                else:
                    target[name] = value
        signing_input = ".".join(
            b64.encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
        )
        signature = self.signing_key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64.encode(signature)}"

    def headers(self, method: str, url: str, access_token: str, nonce: str | None = None) -> dict[str, str]:
        """``Authorization: DPoP <token>`` and a fresh ``DPoP`` proof, for a test client's request."""
        return {"Authorization": f"DPoP {access_token}", "DPoP": self.proof(method, url, access_token, nonce)}

    def auth(self, access_token: str) -> DPoPAuth:
        """An ``httpx2.Auth`` sending ``access_token`` with a fresh proof on every request.

        It keeps the last ``DPoP-Nonce`` each server sent and retries a request once when the
        answer is ``use_dpop_nonce``.
        """
        from jwt_middleware.testing.dpop_auth import DPoPAuth

        return DPoPAuth(self, access_token)

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self.alg!r}, thumbprint={self.thumbprint!r})"
