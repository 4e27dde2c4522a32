"""How our client proves who it is to an authorization server (RFC 6749 2.3, RFC 7523).

``client_secret_basic`` and ``client_secret_post`` are Authlib's client authentication, exactly as
Authlib's OAuth client applies it (its ``OAuth2ClientAuth`` for httpx2). ``private_key_jwt`` plugs
into the same seam the way Authlib's client takes any method: a callable that adds the RFC 7523
client assertion to the form. Authlib's own assertion signer is built on a JOSE library; ours is
``jwt_middleware.signing``, so no ``authlib.jose`` (nor any other JOSE code) is ever imported.

The secret and the private key live in slots that no ``repr``, log line or error shows.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qsl, urlencode

from jwt_middleware.errors import ConfigurationError
from jwt_middleware.signing import (
    PrivateKey,
    algorithm_for,
    check_signing_key,
    encode_compact,
    load_private_key,
)

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "ASSERTION_LIFETIME",
    "CLIENT_ASSERTION_TYPE",
    "AuthMethod",
    "ClientAuthentication",
]

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
_METHODS: Final = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: RFC 7523 section 2.2.
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Seconds a client assertion is valid: long enough for a slow request, short enough to be useless
#: to anyone who records it (the server also refuses a ``jti`` it has seen).
ASSERTION_LIFETIME: Final = 60


class ClientAuthentication:
    """A confidential client's credentials and the method it presents them with.

    ``client_secret_basic`` (the default) and ``client_secret_post`` need ``client_secret``;
    ``private_key_jwt`` needs ``private_key`` (a ``cryptography`` private key or its PEM), signed
    with ``private_key_alg`` (by default RS256 for RSA, the curve's ES* for EC, EdDSA for Ed25519)
    and named by ``private_key_kid`` in the assertion's header when the server needs it to pick
    the key among several registered ones.
    """

    __slots__ = ("_alg", "_key", "_kid", "_secret", "client_id", "method")

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        private_key: PrivateKey | str | bytes | None = None,
        auth_method: str = "client_secret_basic",
        private_key_alg: str | None = None,
        private_key_kid: str | None = None,
        owner: str = "the OAuth client",
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError(f"{owner} needs a client_id")
        if auth_method not in _METHODS:
            raise ConfigurationError(f"{owner}: auth_method must be one of {', '.join(_METHODS)}")
        self.client_id = client_id
        self.method: AuthMethod = auth_method  # type: ignore[assignment]
        self._secret: str | None = None
        self._key: PrivateKey | None = None
        self._alg = ""
        self._kid = private_key_kid
        if auth_method == "private_key_jwt":
            if private_key is None or client_secret is not None:
                raise ConfigurationError(f"{owner}: private_key_jwt needs private_key (and no client_secret)")
            key = load_private_key(private_key)
            alg = private_key_alg or algorithm_for(key)
            check_signing_key(key, alg)
            self._key, self._alg = key, alg
        else:
            if not isinstance(client_secret, str) or not client_secret:
                raise ConfigurationError(f"{owner}: {auth_method} needs client_secret")
            if private_key is not None or private_key_alg is not None:
                raise ConfigurationError(f"{owner}: private_key belongs to auth_method='private_key_jwt'")
            self._secret = client_secret

    def assertion(self, audience: str, *, now: float | None = None) -> str:
        """An RFC 7523 client assertion for the endpoint ``audience`` (``private_key_jwt`` only).

        ``iss`` and ``sub`` are the client, ``aud`` the endpoint the request goes to (what
        Authlib's client sends and what Okta requires), ``jti`` random, valid for
        ``ASSERTION_LIFETIME`` seconds.
        """
        if self._key is None:
            raise ConfigurationError("client assertions need auth_method='private_key_jwt'")
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
        header: dict[str, Any] = {"alg": self._alg, "typ": "JWT"}
        if self._kid is not None:
            header["kid"] = self._kid
        return encode_compact(claims, self._key, header=header)

    def _add_assertion(
        self, auth: object, method: str, uri: str, headers: Mapping[str, str], body: str
    ) -> tuple[str, Mapping[str, str], str]:
        """Authlib's client-authentication hook: the form gains the assertion for ``uri``, and the
        ``client_id`` RFC 7521 4.2 allows (Entra ID requires it)."""
        fields = parse_qsl(body or "", keep_blank_values=True)
        if not any(name == "client_id" for name, _ in fields):
            fields.append(("client_id", self.client_id))
        fields += [
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", self.assertion(uri)),
        ]
        return uri, headers, urlencode(fields)

    def httpx_auth(self) -> httpx2.Auth:
        """An ``httpx2.Auth`` (Authlib's ``OAuth2ClientAuth``) that authenticates one form POST."""
        from authlib.integrations.httpx_client import OAuth2ClientAuth

        method: str | Callable[..., tuple[str, Mapping[str, str], str]]
        method = self._add_assertion if self.method == "private_key_jwt" else self.method
        auth: httpx2.Auth = OAuth2ClientAuth(self.client_id, self._secret, auth_method=method)
        return auth

    def __repr__(self) -> str:
        return f"ClientAuthentication(client_id={self.client_id!r}, method={self.method!r})"

    def __reduce__(self) -> Any:
        # A pickle (multiprocessing, a cache backend) would carry the secret or key wherever it goes.
        raise TypeError("ClientAuthentication holds credentials and cannot be pickled")
