"""``LocalIssuer``: a fake identity provider on loopback, for the test suites of apps we protect.

It does what a provider does, over real HTTP, so that an app's tests exercise the same code paths
as production: OIDC discovery, the JWKS fetch and its caching, key rotation, and tokens that are
expired, forged, or signed by a key nobody published. Nothing is patched and no verification step
is skipped, so a test that passes here has proved the app's configuration, not a mock's.

It is also a real OAuth 2.0 authorization server (``endpoints.py``, ``authorization.py``): a
sign-in page, the authorization code grant with PKCE, refresh-token rotation, client credentials
(with a secret or an RFC 7523 client assertion), revocation, RFC 7662 introspection, opaque access
tokens, ``userinfo`` and logout, so browser sign-in and service-to-service flows are tested end to
end against it.

Keys are generated when the issuer starts (RSA costs ~50 ms); the URL, and with it the default
``iss``, exists only once the server listens, so minting needs a started issuer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import anyio.to_thread
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jwt_middleware import b64
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.cognito import cognito_issuer, global_cognito_issuer, parse_user_pool_id
from jwt_middleware.jwk import KeySet
from jwt_middleware.jwks_state import CacheSettings
from jwt_middleware.testing.authorization import (
    AUTHORIZATION_CODE,
    REFRESH_TOKEN,
    RegisteredClient,
    SignedInUser,
)
from jwt_middleware.testing.endpoints import (
    COGNITO_PATHS,
    DEFAULT_PATHS,
    EndpointPaths,
    OAuthEndpoints,
    with_cors,
)
from jwt_middleware.testing.keys import SigningKey, encode_compact
from jwt_middleware.testing.server import LoopbackServer, Request, Response
from jwt_middleware.testing.tls import LocalCA
from jwt_middleware.verifier import JWTVerifier

if TYPE_CHECKING:
    from jwt_middleware.testing.dpop import DPoPKey
    from jwt_middleware.testing.providers import (
        LocalAuth0Issuer,
        LocalEntraIssuer,
        LocalFirebaseIssuer,
        LocalGoogleIssuer,
        LocalKeycloakIssuer,
        LocalOktaIssuer,
    )

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SUBJECT",
    "DISCOVERY_PATH",
    "LocalCognitoIssuer",
    "LocalIssuer",
    "RegisteredClient",
]

#: The ``sub`` of minted tokens unless given, and the user ``auto_approve`` signs in by default.
DEFAULT_SUBJECT: Final = "user-123"
#: Seconds from ``iat`` to ``exp`` of a minted token unless told otherwise.
DEFAULT_LIFETIME: Final = 300
#: The default public client's ``client_id`` when the issuer has no audience to name it after.
DEFAULT_CLIENT_ID: Final = "local-client"
#: Claims the token endpoint sets itself: a user's configured claims cannot override them.
_PROTOCOL_CLAIMS: Final = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "nonce", "auth_time", "azp"}
)
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
_JWKS_PATH: Final = "/.well-known/jwks.json"


def _merge(defaults: Mapping[str, Any], *layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later layers override earlier ones; a ``None`` value removes the claim altogether."""
    claims = dict(defaults)
    for layer in layers:
        for name, value in (layer or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
    return claims


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> int:
    return int(time.time())


def _lifetime(expires_in: float, now: int) -> tuple[int, int]:
    """``(iat, exp)`` of a token that expires ``expires_in`` seconds from ``now``.

    A negative ``expires_in`` mints a token that expired that long ago and was issued
    ``DEFAULT_LIFETIME`` before it expired, as real tokens are: an ``iat`` after its ``exp`` would
    be a second defect hiding the one asked for.
    """
    exp = int(now + expires_in)
    return (exp - DEFAULT_LIFETIME if expires_in < 0 else now), exp


def _string_tuple(values: str | Iterable[str]) -> tuple[str, ...]:
    return tuple(values.split()) if isinstance(values, str) else tuple(values)


class LocalIssuer:
    """An OpenID provider on ``http://127.0.0.1:{port}``: discovery document, JWKS, and ``mint``.

    Use it as ``with LocalIssuer() as issuer:`` or ``async with LocalIssuer() as issuer:``.
    ``issuer`` overrides the ``iss`` it mints and its discovery document reports (tokens "from"
    a production URL, keys from here: point the verifier's ``jwks_url`` at ``jwks_url``).

    As an authorization server: ``users`` maps usernames to the claims their tokens carry (``None``:
    any username signs in, with ``sub`` set to it); ``auto_approve=True`` signs in without showing
    the sign-in page (as the ``login_hint`` user, else the first user, else ``DEFAULT_SUBJECT``);
    ``access_token_lifetime`` is the ``expires_in`` of issued access and ID tokens;
    ``opaque_access_tokens=True`` makes the token endpoint hand out random strings that only its
    introspection endpoint can describe (``mint_opaque`` makes one directly). A public client
    named after ``audience`` (``DEFAULT_CLIENT_ID`` without one) exists from the start and accepts
    any loopback redirect URI; ``register_client`` adds others.

    ``tls=LocalCA()`` serves ``https://127.0.0.1:{port}`` under a certificate of that private CA
    (``verifier()`` then trusts it through ``CacheSettings(ca_bundle=...)``); a server-side
    ``ssl.SSLContext`` serves https with whatever it holds.
    """

    #: Where the OAuth endpoints are served; the Cognito preset uses the hosted UI's paths.
    ENDPOINT_PATHS: EndpointPaths = DEFAULT_PATHS
    #: Who ``auto_approve`` signs in when no user is configured and no ``login_hint`` is given.
    DEFAULT_USERNAME: str = DEFAULT_SUBJECT

    def __init__(
        self,
        *,
        alg: str = "RS256",
        audience: str | None = None,
        port: int = 0,
        cache_control: str | None = "max-age=300",
        issuer: str | None = None,
        jwks_path: str = _JWKS_PATH,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        auto_approve: bool = False,
        access_token_lifetime: int = 300,
        tls: LocalCA | ssl.SSLContext | None = None,
        opaque_access_tokens: bool = False,
    ) -> None:
        if alg not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {alg!r}")
        if not jwks_path.startswith("/") or jwks_path == DISCOVERY_PATH:
            raise ValueError("jwks_path must start with '/' and differ from the discovery path")
        self.alg = alg
        self.audience = audience
        #: Sent as ``Cache-Control`` with the JWKS (``None``: no header); may be changed at any time.
        self.cache_control = cache_control
        self.jwks_path = jwks_path
        self.discovery_path = DISCOVERY_PATH
        # No keep-alive: verifiers made here often outlive the event loop of the test that used
        # them, and a pooled connection left on a closed loop is reported as a ResourceWarning.
        #: The CA whose certificate the issuer serves under, when ``tls`` was a ``LocalCA``.
        self.ca = tls if isinstance(tls, LocalCA) else None
        context = tls.server_context() if isinstance(tls, LocalCA) else tls
        self.server = LoopbackServer(port, keep_alive=False, tls=context)
        self._issuer = issuer
        self._lock = threading.Lock()
        self._published: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._outsiders: dict[str, SigningKey] = {}
        self.server.route(self.jwks_path, with_cors(self._serve_jwks, ("GET", "HEAD")))
        self.server.route(
            self.discovery_path,
            with_cors(lambda _request: Response.json(self.discovery_document()), ("GET", "HEAD")),
        )
        if not (isinstance(access_token_lifetime, int) and access_token_lifetime > 0):
            raise ValueError("access_token_lifetime must be a positive number of seconds")
        #: The authorization server: clients, users, sessions and the token store.
        self.oauth = OAuthEndpoints(
            self.server,
            self,
            paths=self.ENDPOINT_PATHS,
            users=users,
            default_username=self.DEFAULT_USERNAME,
            auto_approve=auto_approve,
            access_token_lifetime=access_token_lifetime,
            issuer=lambda: self.issuer,
            opaque_access_tokens=opaque_access_tokens,
        )
        self.oauth.register(RegisteredClient(self.default_client_id, any_loopback_redirect=True))

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Generate the first key (before listening, so the JWKS is never empty) and listen."""
        if self._current is None:
            key = self.generate_key(self.alg)
            with self._lock:
                if self._current is None:
                    self._current = key
                    self._published[key.kid] = key
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Key generation and binding block briefly; keep them off the event loop.
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await anyio.to_thread.run_sync(self.stop)

    # -- addresses and counters ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:{port}``."""
        try:
            return self.server.url
        except RuntimeError:
            raise RuntimeError("start the issuer first: 'with LocalIssuer() as issuer:'") from None

    @property
    def issuer(self) -> str:
        """The ``iss`` it mints and its discovery document names: its URL unless overridden."""
        return self._issuer if self._issuer is not None else self.url

    @property
    def jwks_url(self) -> str:
        return self.url + self.jwks_path

    @property
    def discovery_url(self) -> str:
        return self.url + self.discovery_path

    @property
    def jwks_requests(self) -> int:
        """JWKS requests received so far (faulted ones included)."""
        return self.server.requests(self.jwks_path)

    @property
    def discovery_requests(self) -> int:
        return self.server.requests(self.discovery_path)

    @property
    def authorization_endpoint(self) -> str:
        return self.url + self.ENDPOINT_PATHS.authorization

    @property
    def token_endpoint(self) -> str:
        return self.url + self.ENDPOINT_PATHS.token

    @property
    def revocation_endpoint(self) -> str:
        return self.url + self.ENDPOINT_PATHS.revocation

    @property
    def userinfo_endpoint(self) -> str:
        return self.url + self.ENDPOINT_PATHS.userinfo

    @property
    def end_session_endpoint(self) -> str:
        return self.url + self.ENDPOINT_PATHS.end_session

    @property
    def introspection_endpoint(self) -> str:
        """Where RFC 7662 introspection is served (the Cognito preset has none, as Cognito)."""
        path = self.ENDPOINT_PATHS.introspection
        if path is None:
            raise RuntimeError(f"{type(self).__name__} has no introspection endpoint")
        return self.url + path

    @property
    def token_requests(self) -> int:
        """Token endpoint requests received so far."""
        return self.server.requests(self.ENDPOINT_PATHS.token)

    @property
    def introspection_requests(self) -> int:
        """Introspection requests received so far (faulted ones included)."""
        path = self.ENDPOINT_PATHS.introspection
        return 0 if path is None else self.server.requests(path)

    # -- the authorization server -------------------------------------------------------------------

    @property
    def default_client_id(self) -> str:
        """The public client that exists from the start: named after the audience."""
        return self.audience or DEFAULT_CLIENT_ID

    @property
    def auto_approve(self) -> bool:
        """Whether the authorization endpoint signs in without showing its page."""
        return self.oauth.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool) -> None:
        self.oauth.auto_approve = bool(value)

    @property
    def access_token_lifetime(self) -> int:
        return self.oauth.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: int) -> None:
        if not (isinstance(seconds, int) and seconds > 0):
            raise ValueError("access_token_lifetime must be a positive number of seconds")
        self.oauth.access_token_lifetime = seconds

    @property
    def opaque_access_tokens(self) -> bool:
        """Whether the token endpoint hands out opaque access tokens (for introspection)."""
        return self.oauth.opaque_access_tokens

    @opaque_access_tokens.setter
    def opaque_access_tokens(self, value: bool) -> None:
        self.oauth.opaque_access_tokens = bool(value)

    def register_client(
        self,
        client_id: str,
        client_secret: str | None = None,
        redirect_uris: Iterable[str] = (),
        grant_types: Iterable[str] = (AUTHORIZATION_CODE, REFRESH_TOKEN),
        *,
        jwks: Mapping[str, Any] | None = None,
    ) -> RegisteredClient:
        """Add (or replace) a client. Without a secret or ``jwks`` it is public: PKCE and ``none``.

        Confidential clients authenticate with ``client_secret_basic`` or ``client_secret_post``,
        and, when registered with ``jwks`` (public keys, as RFC 7591 registers them), with
        ``private_key_jwt`` client assertions signed by one of those keys; ``grant_types`` may
        include ``client_credentials`` for them. Redirect URIs match exactly. Any confidential
        client may call the introspection endpoint.
        """
        client = RegisteredClient(
            client_id,
            client_secret,
            tuple(_string_tuple(redirect_uris)),
            frozenset(_string_tuple(grant_types)),
            jwks=KeySet.from_jwks(jwks) if jwks is not None else None,
        )
        return self.oauth.register(client)

    def mint_opaque(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        client_id: str = "test-client",
        scope: str | Iterable[str] | None = None,
        expires_in: float = DEFAULT_LIFETIME,
        **extra_claims: Any,
    ) -> str:
        """An opaque access token: a random string that introspection describes with these claims.

        The claims default as ``mint``'s do (``iss``, ``sub``, ``aud``, ``iat``, ``exp``, ``jti``),
        plus ``client_id`` and, when given, ``scope`` (a string or a list); ``None`` removes one.
        A negative ``expires_in`` makes a token that introspection already calls inactive.
        """
        defaults = self._default_claims(expires_in, _now())
        defaults["client_id"] = client_id
        if scope is not None:
            defaults["scope"] = " ".join(_string_tuple(scope))
        payload = _merge(defaults, claims, extra_claims)
        exp = payload.get("exp")
        expires_at = float(exp) if isinstance(exp, int | float) else time.time() + DEFAULT_LIFETIME
        return self.oauth.core.issue_opaque(payload, client_id=client_id, expires_at=expires_at)

    def revoke(self, token: str) -> None:
        """Revoke an access token issued here, as the revocation endpoint would (for tests)."""
        record = self.oauth.store.by_access_token(token)
        if record is None:
            raise KeyError("no access token issued here matches")
        self.oauth.store.revoke_access_token(record)

    def add_user(self, username: str, **claims: Any) -> None:
        """Let ``username`` sign in, with ``claims`` in its tokens (e.g. ``email``, ``groups``)."""
        self.oauth.add_user(username, claims)

    def is_revoked(self, token: str) -> bool:
        """Whether an access or refresh token the token endpoint issued has been revoked here."""
        return self.oauth.store.is_revoked(token)

    def _subject(self, user: SignedInUser) -> str:
        sub = user.claims.get("sub")
        return sub if isinstance(sub, str) and sub else user.username

    def _user_claims(self, user: SignedInUser) -> dict[str, Any]:
        return {name: value for name, value in user.claims.items() if name not in _PROTOCOL_CLAIMS}

    def access_token_for(self, client_id: str, user: SignedInUser | None, scope: str, expires_in: int) -> str:
        """The RFC 9068 access token the token endpoint issues (``user=None``: client credentials)."""
        now = _now()
        claims: dict[str, Any] = {"iss": self.issuer}
        claims |= self._user_claims(user) if user is not None else {}
        claims["sub"] = self._subject(user) if user is not None else client_id
        if self.audience is not None:
            claims["aud"] = self.audience
        claims |= {"client_id": client_id, "iat": now, "exp": now + expires_in, "jti": _new_id()}
        if scope:
            claims["scope"] = scope
        if user is not None:
            claims["auth_time"] = user.auth_time
        return encode_compact(claims, self.current_key, headers={"typ": "at+jwt"})

    def id_token_for(self, client_id: str, user: SignedInUser, expires_in: int) -> str:
        """The OpenID Connect ID token of a sign-in: ``aud`` is the client, ``nonce`` echoed."""
        now = _now()
        claims: dict[str, Any] = {"iss": self.issuer, **self._user_claims(user)}
        claims |= {"sub": self._subject(user), "aud": client_id, "azp": client_id}
        claims |= {"iat": now, "exp": now + expires_in, "auth_time": user.auth_time, "jti": _new_id()}
        if user.nonce is not None:
            claims["nonce"] = user.nonce
        return encode_compact(claims, self.current_key)

    def userinfo_for(self, user: SignedInUser) -> Mapping[str, Any]:
        """What the userinfo endpoint answers for a signed-in user."""
        return {**self._user_claims(user), "sub": self._subject(user)}

    # -- keys ---------------------------------------------------------------------------------------

    def generate_key(self, alg: str, *, kid: str | None = None) -> SigningKey:
        """A new key of ``alg`` as this provider makes them (its ``kid`` shape); not yet published."""
        return SigningKey.generate(alg, kid=kid)

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The published keys, oldest first."""
        with self._lock:
            return tuple(self._published.values())

    @property
    def current_key(self) -> SigningKey:
        """The key ``mint`` signs with unless told otherwise."""
        current = self._current
        if current is None:
            raise RuntimeError("start the issuer first: 'with LocalIssuer() as issuer:'")
        return current

    def add_key(
        self, alg: str | None = None, *, kid: str | None = None, make_current: bool = False
    ) -> SigningKey:
        """Generate and publish another key (default: the current key's algorithm)."""
        key = self.generate_key(alg or self.current_key.alg, kid=kid)
        with self._lock:
            if key.kid in self._published:
                raise ValueError(f"a published key already has kid {key.kid!r}")
            self._published[key.kid] = key
            if make_current:
                self._current = key
        return key

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """Publish a new key of the current key's algorithm and sign with it from now on.

        With ``keep_old=False`` the previous current key leaves the JWKS at the same moment, as
        in an emergency rotation; other published keys stay.
        """
        previous = self.current_key
        key = self.generate_key(previous.alg)
        with self._lock:
            self._published[key.kid] = key
            self._current = key
            if not keep_old:
                self._published.pop(previous.kid, None)
        return key

    def unpublish(self, kid: str) -> SigningKey:
        """Remove a key from the JWKS. Unpublishing the current key does not stop ``mint`` from
        signing with it: the tokens are then signed by a key the JWKS does not hold."""
        with self._lock:
            try:
                return self._published.pop(kid)
            except KeyError:
                raise KeyError(f"no published key has kid {kid!r}") from None

    def jwks(self) -> dict[str, Any]:
        """The JWKS document as served right now."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    def discovery_document(self) -> dict[str, Any]:
        """The OIDC discovery document: keys, and every endpoint of the authorization server."""
        algorithms = sorted({key.alg for key in self.keys}) or [self.alg]
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algorithms,
            **self.oauth.metadata(),
        }

    def _serve_jwks(self, _request: Request) -> Response:
        cache_control = self.cache_control
        headers = {"Cache-Control": cache_control} if cache_control else None
        return Response.json(self.jwks(), headers=headers)

    def _select_key(self, alg: str | None, kid: str | None) -> SigningKey:
        current = self.current_key
        with self._lock:
            if kid is not None:
                key = self._published.get(kid) or (current if current.kid == kid else None)
                if key is None:
                    raise ValueError(f"no published key has kid {kid!r}")
                if alg is not None and key.alg != alg:
                    raise ValueError(f"key {kid!r} is a {key.alg} key, not {alg}")
                return key
            if alg is None or current.alg == alg:
                return current
            for key in reversed(self._published.values()):
                if key.alg == alg:
                    return key
        if alg not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {alg!r}")
        return self.add_key(alg)

    def _outsider(self, alg: str) -> SigningKey:
        """A key of ``alg`` that is never published (one per algorithm, made on first use)."""
        with self._lock:
            key = self._outsiders.get(alg)
        if key is None:
            key = SigningKey.generate(alg)
            with self._lock:
                key = self._outsiders.setdefault(alg, key)
        return key

    # -- minting ------------------------------------------------------------------------------------

    def _default_claims(self, expires_in: float | None, now: int) -> dict[str, Any]:
        claims: dict[str, Any] = {"iss": self.issuer, "sub": DEFAULT_SUBJECT}
        if self.audience is not None:
            claims["aud"] = self.audience
        claims["iat"] = now
        if expires_in is not None:
            claims["iat"], claims["exp"] = _lifetime(expires_in, now)
        claims["jti"] = _new_id()
        return claims

    def mint(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        expires_in: float | None = DEFAULT_LIFETIME,
        alg: str | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        dpop_key: DPoPKey | None = None,
        **extra_claims: Any,
    ) -> str:
        """A signed token with ``iss``, ``sub``, ``aud`` (if the issuer has one), ``iat``, ``exp``, ``jti``.

        ``claims`` then ``extra_claims`` override the defaults; ``None`` removes a claim.
        ``expires_in`` may be negative (expired) or ``None`` (no ``exp``). ``alg`` signs with a
        published key of that algorithm, generating and publishing one if needed; ``kid`` picks a
        published key; ``headers`` adds or overrides header parameters (``None`` removes one).
        ``dpop_key`` binds the token to a ``DPoPKey`` (``cnf.jkt``, RFC 9449 section 6).
        """
        key = self._select_key(alg, kid)
        defaults = self._default_claims(expires_in, _now())
        if dpop_key is not None:
            defaults["cnf"] = dpop_key.confirmation
        payload = _merge(defaults, claims, extra_claims)
        return encode_compact(payload, key, headers=headers)

    # -- deliberately broken tokens -----------------------------------------------------------------

    def mint_expired(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        expired_for: float = 60,
        alg: str | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra_claims: Any,
    ) -> str:
        """Valid in every way except that ``exp`` passed ``expired_for`` seconds ago."""
        return self.mint(claims, expires_in=-expired_for, alg=alg, kid=kid, headers=headers, **extra_claims)

    def mint_not_yet_valid(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        starts_in: float = 300,
        alg: str | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra_claims: Any,
    ) -> str:
        """Valid except that ``nbf`` is ``starts_in`` seconds from now."""
        nbf = int(_now() + starts_in)
        return self.mint(
            _merge({"nbf": nbf, "exp": nbf + 300}, claims), alg=alg, kid=kid, headers=headers, **extra_claims
        )

    def mint_wrong_issuer(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        wrong_issuer: str = "https://wrong-issuer.invalid",
        alg: str | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra_claims: Any,
    ) -> str:
        """Signed by this issuer's published key, but naming another issuer in ``iss``."""
        return self.mint(
            _merge({"iss": wrong_issuer}, claims), alg=alg, kid=kid, headers=headers, **extra_claims
        )

    def mint_bad_signature(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        how: Literal["flip", "other_key"] = "flip",
        alg: str | None = None,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra_claims: Any,
    ) -> str:
        """Well-formed, naming a published key, with a signature that does not verify.

        ``flip`` flips one bit of a genuine signature (tampering); ``other_key`` signs with an
        unpublished key under the published key's ``kid`` (forgery).
        """
        if how == "flip":
            token = self.mint(claims, alg=alg, kid=kid, headers=headers, **extra_claims)
            signing_input, _, signature = token.rpartition(".")
            raw = bytearray(b64.decode(signature))
            raw[-1] ^= 0x01
            return f"{signing_input}.{b64.encode(bytes(raw))}"
        if how != "other_key":
            raise ValueError("how must be 'flip' or 'other_key'")
        genuine = self._select_key(alg, kid)
        forger = SigningKey(self._outsider(genuine.alg).private_key, alg=genuine.alg, kid=genuine.kid)
        payload = _merge(self._default_claims(DEFAULT_LIFETIME, _now()), claims, extra_claims)
        return encode_compact(payload, forger, headers=headers)

    def mint_unknown_key(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        alg: str | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra_claims: Any,
    ) -> str:
        """Signed by a key this issuer never publishes, under that key's own ``kid``.

        A verifier answers it by refetching the JWKS once (the ``kid`` might be a rotation), so it
        costs a JWKS request and starts the verifier's unknown-``kid`` cooldown.
        """
        key = self._outsider(alg or self.current_key.alg)
        payload = _merge(self._default_claims(DEFAULT_LIFETIME, _now()), claims, extra_claims)
        return encode_compact(payload, key, headers=headers)

    def mint_unsigned(self, claims: Mapping[str, Any] | None = None, **extra_claims: Any) -> str:
        """``alg: none`` with an empty signature: the oldest JWT attack; it must never verify."""
        payload = _merge(self._default_claims(DEFAULT_LIFETIME, _now()), claims, extra_claims)
        header = b64.encode(b'{"alg":"none","typ":"JWT"}')
        body = b64.encode(json.dumps(payload, separators=(",", ":")).encode())
        return f"{header}.{body}."

    # -- other token profiles -----------------------------------------------------------------------

    def mint_access_token_rfc9068(
        self,
        *,
        subject: str = DEFAULT_SUBJECT,
        client_id: str = "test-client",
        scope: str | Iterable[str] | None = None,
        audience: str | None = None,
        expires_in: float = 300,
        alg: str | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """An RFC 9068 JWT access token: ``typ: at+jwt`` and ``iss exp aud sub client_id iat jti``.

        ``audience`` defaults to the issuer's; the RFC requires one, so one of them must be set.
        ``scope`` (string or list) becomes the space-delimited ``scope`` claim.
        """
        aud = audience if audience is not None else self.audience
        if aud is None:
            raise ValueError("RFC 9068 access tokens need an audience: pass one or give the issuer one")
        iat, exp = _lifetime(expires_in, _now())
        defaults: dict[str, Any] = {
            "iss": self.issuer,
            "exp": exp,
            "aud": aud,
            "sub": subject,
            "client_id": client_id,
            "iat": iat,
            "jti": _new_id(),
        }
        if scope is not None:
            defaults["scope"] = " ".join(_string_tuple(scope))
        key = self._select_key(alg, kid)
        return encode_compact(_merge(defaults, claims), key, headers={"typ": "at+jwt"})

    # -- verifying ----------------------------------------------------------------------------------

    def verifier(self, **options: Any) -> JWTVerifier:
        """A ``JWTVerifier`` that trusts this issuer and fetches keys from ``jwks_url``.

        ``audience`` defaults to the issuer's (``None``: any audience). Pass ``jwks_url=None`` to
        go through OIDC discovery instead (only when ``issuer`` is this server's URL), or
        ``jwks=``/``jwks_cache=`` to bring your own keys; other options go to ``JWTVerifier``.
        """
        options.setdefault("issuer", self.issuer)
        options.setdefault("audience", self.audience)
        if not any(name in options for name in ("jwks_url", "jwks", "jwks_cache")):
            options["jwks_url"] = self.jwks_url
        if self.ca is not None and "cache_settings" not in options:
            options["cache_settings"] = CacheSettings(ca_bundle=str(self.ca.bundle))
        return JWTVerifier(**options)

    # -- presets ------------------------------------------------------------------------------------

    @classmethod
    def cognito(
        cls,
        user_pool_id: str = "us-east-1_TestPool1",
        client_id: str = "test-client",
        **options: Any,
    ) -> LocalCognitoIssuer:
        """A stand-in for an Amazon Cognito user pool; see ``LocalCognitoIssuer``."""
        return LocalCognitoIssuer(user_pool_id=user_pool_id, client_id=client_id, **options)

    # The other providers' stand-ins live in ``testing.providers``, which imports this module.

    @classmethod
    def auth0(cls, **options: Any) -> LocalAuth0Issuer:
        """An Auth0 tenant (``domain=``, ``audience=``, ``client_id=``); see ``LocalAuth0Issuer``."""
        from jwt_middleware.testing.providers import LocalAuth0Issuer

        return LocalAuth0Issuer(**options)

    @classmethod
    def entra(cls, **options: Any) -> LocalEntraIssuer:
        """A Microsoft Entra tenant (``tenant_id=``, ``client_id=``); see ``LocalEntraIssuer``."""
        from jwt_middleware.testing.providers import LocalEntraIssuer

        return LocalEntraIssuer(**options)

    @classmethod
    def keycloak(cls, **options: Any) -> LocalKeycloakIssuer:
        """A Keycloak realm (``realm=``, ``client_id=``); see ``LocalKeycloakIssuer``."""
        from jwt_middleware.testing.providers import LocalKeycloakIssuer

        return LocalKeycloakIssuer(**options)

    @classmethod
    def okta(cls, **options: Any) -> LocalOktaIssuer:
        """An Okta custom authorization server; see ``LocalOktaIssuer``."""
        from jwt_middleware.testing.providers import LocalOktaIssuer

        return LocalOktaIssuer(**options)

    @classmethod
    def google(cls, **options: Any) -> LocalGoogleIssuer:
        """Google ID tokens for an OAuth client (``client_id=``); see ``LocalGoogleIssuer``."""
        from jwt_middleware.testing.providers import LocalGoogleIssuer

        return LocalGoogleIssuer(**options)

    @classmethod
    def firebase(cls, **options: Any) -> LocalFirebaseIssuer:
        """Firebase Authentication (``project_id=``); see ``LocalFirebaseIssuer``."""
        from jwt_middleware.testing.providers import LocalFirebaseIssuer

        return LocalFirebaseIssuer(**options)

    def __repr__(self) -> str:
        where = self.server.url if self.server.running else "not started"
        return f"{type(self).__name__}({where}, alg={self.alg!r}, keys={len(self.keys)})"


class LocalCognitoIssuer(LocalIssuer):
    """A Cognito user pool: AWS-form ``iss``, keys served locally, tokens shaped like Cognito's.

    Claim sets (as Cognito issues them with token revocation enabled, the default for new pools;
    ``cognito:groups`` only when groups are given; headers carry only ``kid`` and ``alg``):

    * ID token: ``sub aud token_use=id cognito:username auth_time event_id origin_jti jti iss iat
      exp``, plus ``email email_verified`` when ``email`` is given.
    * access token: ``sub client_id token_use=access scope username auth_time event_id origin_jti
      jti version=2 iss iat exp``; no ``aud``.
    * M2M (client credentials) access token: ``sub=client_id client_id token_use=access scope
      auth_time jti version=2 iss iat exp``; no ``username``, no ``aud``.

    ``sub`` is a UUID derived from the username (``subject_for``), so the ID and access tokens of
    one user agree. Like a real pool, it publishes two RS256 keys and signs ID tokens with one
    (``id_token_key``) and access tokens with the other (``access_token_key``, the ``current_key``
    that ``mint`` uses too), so a verifier that only knew one of them fails here as in production.
    Their key ids have Cognito's shape: 44 characters of standard base64 (``+``, ``/``, a final
    ``=``), here the SHA-256 digest of the public key.

    ``updated_issuer=True`` mints the ``issuer-cognito-idp`` form of ``iss``, as a pool whose
    ``IssuerConfiguration`` is ``UPDATED`` does.

    Its authorization server answers at the hosted UI's paths (``/oauth2/authorize``,
    ``/oauth2/token``, ``/oauth2/revoke``, ``/oauth2/userInfo``, ``/logout``) and issues tokens of
    the shapes above; the app client ``client_id`` is its default public client. A user's
    ``cognito:groups`` and ``email`` claims go where Cognito puts them.
    """

    ENDPOINT_PATHS = COGNITO_PATHS
    DEFAULT_USERNAME = "alice"

    def __init__(
        self,
        *,
        user_pool_id: str = "us-east-1_TestPool1",
        client_id: str = "test-client",
        updated_issuer: bool = False,
        **options: Any,
    ) -> None:
        if "issuer" in options or "audience" in options:
            raise TypeError("the Cognito preset derives issuer and audience from the pool and client")
        self.region = parse_user_pool_id(user_pool_id)
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._id_key: SigningKey | None = None
        issuer = global_cognito_issuer(user_pool_id) if updated_issuer else cognito_issuer(user_pool_id)
        super().__init__(issuer=issuer, **options)

    @property
    def default_client_id(self) -> str:
        return self.client_id

    def generate_key(self, alg: str, *, kid: str | None = None) -> SigningKey:
        key = SigningKey.generate(alg, kid=kid)
        if kid is None:
            der = key.private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            digest = hashlib.sha256(der).digest()
            key = SigningKey(key.private_key, alg=alg, kid=base64.b64encode(digest).decode())
        return key

    def start(self) -> Self:
        """Generate the pool's ID-token key, then (in ``LocalIssuer.start``) its access-token key."""
        if self._id_key is None:
            key = self.generate_key(self.alg)
            with self._lock:
                if self._id_key is None:
                    self._id_key = key
                    self._published[key.kid] = key
        return super().start()

    @property
    def id_token_key(self) -> SigningKey:
        """The key ID tokens are signed with (published next to ``access_token_key``)."""
        if self._id_key is None:
            raise RuntimeError("start the issuer first: 'with LocalIssuer.cognito() as pool:'")
        return self._id_key

    @property
    def access_token_key(self) -> SigningKey:
        """The key access tokens (user and M2M) are signed with: the ``current_key``."""
        return self.current_key

    def access_token_for(self, client_id: str, user: SignedInUser | None, scope: str, expires_in: int) -> str:
        if user is None:
            return self.mint_m2m_access_token(
                scopes=scope, expires_in=expires_in, client_id=client_id, sub=client_id
            )
        return self.mint_access_token(
            username=user.username,
            scopes=scope,
            groups=_string_tuple(user.claims.get("cognito:groups", ())),
            expires_in=expires_in,
            client_id=client_id,
            auth_time=user.auth_time,
        )

    def id_token_for(self, client_id: str, user: SignedInUser, expires_in: int) -> str:
        extra = {
            name: value
            for name, value in user.claims.items()
            if name not in _PROTOCOL_CLAIMS and name not in ("sub", "cognito:groups", "email")
        }
        if user.nonce is not None:
            extra["nonce"] = user.nonce
        email = user.claims.get("email")
        return self.mint_id_token(
            username=user.username,
            groups=_string_tuple(user.claims.get("cognito:groups", ())),
            email=email if isinstance(email, str) else None,
            expires_in=expires_in,
            aud=client_id,
            auth_time=user.auth_time,
            **extra,
        )

    def userinfo_for(self, user: SignedInUser) -> Mapping[str, Any]:
        info = {**self._user_claims(user), "sub": self.subject_for(user.username), "username": user.username}
        info.pop("cognito:groups", None)
        return info

    def subject_for(self, username: str) -> str:
        """The stable ``sub`` (a UUID, as Cognito's) of ``username`` in this pool."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/users/{username}"))

    def _cognito_token(self, claims: dict[str, Any], overrides: Mapping[str, Any], key: SigningKey) -> str:
        # Cognito's header is {"kid", "alg"}: no "typ".
        return encode_compact(_merge(claims, overrides), key, headers={"typ": None})

    def mint_id_token(
        self,
        *,
        username: str = "alice",
        groups: Iterable[str] = (),
        email: str | None = None,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """An ID token for ``username`` issued to this pool's app client (``aud``)."""
        iat, exp = _lifetime(expires_in, _now())
        token: dict[str, Any] = {"sub": self.subject_for(username)}
        if groups := _string_tuple(groups):
            token["cognito:groups"] = list(groups)
        if email is not None:
            token["email_verified"] = True
        token |= {
            "iss": self.issuer,
            "cognito:username": username,
            "origin_jti": _new_id(),
            "aud": self.client_id,
            "event_id": _new_id(),
            "token_use": "id",
            "auth_time": iat,
            "exp": exp,
            "iat": iat,
            "jti": _new_id(),
        }
        if email is not None:
            token["email"] = email
        return self._cognito_token(token, claims, self.id_token_key)

    def mint_access_token(
        self,
        *,
        username: str = "alice",
        scopes: str | Iterable[str] = ("openid", "email"),
        groups: Iterable[str] = (),
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """A user's access token: the app client in ``client_id``, no ``aud``."""
        iat, exp = _lifetime(expires_in, _now())
        token: dict[str, Any] = {"sub": self.subject_for(username)}
        if groups := _string_tuple(groups):
            token["cognito:groups"] = list(groups)
        token |= {
            "iss": self.issuer,
            "version": 2,
            "client_id": self.client_id,
            "origin_jti": _new_id(),
            "event_id": _new_id(),
            "token_use": "access",
            "scope": " ".join(_string_tuple(scopes)),
            "auth_time": iat,
            "exp": exp,
            "iat": iat,
            "jti": _new_id(),
            "username": username,
        }
        return self._cognito_token(token, claims, self.access_token_key)

    def mint_m2m_access_token(
        self,
        *,
        scopes: str | Iterable[str] = ("api/read",),
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """A client-credentials access token: the app client is the subject; custom scopes only."""
        iat, exp = _lifetime(expires_in, _now())
        token: dict[str, Any] = {
            "sub": self.client_id,
            "token_use": "access",
            "scope": " ".join(_string_tuple(scopes)),
            "auth_time": iat,
            "iss": self.issuer,
            "exp": exp,
            "iat": iat,
            "version": 2,
            "jti": _new_id(),
            "client_id": self.client_id,
        }
        return self._cognito_token(token, claims, self.access_token_key)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.cognito`` for this pool and client, with keys from ``jwks_url``.

        ``token_use`` must still be chosen (``"id"``, ``"access"`` or ``None``), as in production.
        """
        options.setdefault("client_id", self.client_id)
        if not any(name in options for name in ("jwks_url", "jwks", "jwks_cache")):
            options["jwks_url"] = self.jwks_url
        return JWTVerifier.cognito(user_pool_id=self.user_pool_id, **options)
