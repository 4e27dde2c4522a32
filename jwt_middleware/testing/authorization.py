"""The local issuer's OAuth 2.0 authorization server: clients, codes, token families, endpoints.

The protocol rules (request validation, client authentication, PKCE, error answers) are Authlib's
server-side grant machinery, bound here to the test kit's ``LoopbackServer`` requests; what this
module adds is the storage Authlib leaves to the application and the test kit's policy:

* PKCE is required for every authorization request, with ``S256`` only (RFC 9700 2.1.1).
* An authorization code is single-use; presenting it again revokes every token issued from it
  (RFC 6749 4.1.2).
* Refresh tokens rotate: each use returns a new one, and presenting a used one again is treated as
  theft and revokes its whole family, the tokens issued since the sign-in (RFC 9700 4.14.2).
* Revocation (RFC 7009) of a refresh token ends its family; revoked and expired tokens are
  inactive for ``userinfo`` and for the RFC 7662 introspection endpoint, which answers from the
  same store: the claims the access token carries, or carries for it when it is opaque.
* Confidential clients authenticate with their secret (``client_secret_basic``,
  ``client_secret_post``) or, when registered with a JWKS, with an RFC 7523 client assertion
  (``private_key_jwt``): verified by the library's own ``JWTVerifier`` against that JWKS, its
  ``iss`` and ``sub`` the client, its ``aud`` this server, each ``jti`` accepted once.

Tokens themselves are minted by the issuer (``TokenFactory``), so the Cognito preset shapes them
like Cognito while the machinery stays the same; with ``opaque_access_tokens`` the client gets a
random string instead and the claims stay here, for introspection. No ``authlib.jose`` module is
imported.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749 import grants as authlib_grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.jwk import KeySet
from jwt_middleware.jws import parse_compact
from jwt_middleware.safe_json import FrozenDict
from jwt_middleware.testing.server import Request, Response
from jwt_middleware.verifier import JWTVerifier, payload_claims

__all__ = [
    "AUTHORIZATION_CODE",
    "CLIENT_ASSERTION_TYPE",
    "CLIENT_CREDENTIALS",
    "REFRESH_TOKEN",
    "AuthorizationServerCore",
    "IssuedToken",
    "RegisteredClient",
    "SignedInUser",
    "TokenFactory",
    "TokenStore",
    "is_loopback_uri",
]

AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"  # noqa: S105 (a grant type name)
CLIENT_CREDENTIALS: Final = "client_credentials"
GRANT_TYPES: Final = frozenset({AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS})

#: True while this kit's authorization server answers a token request, in that request's context.
_issuing: contextvars.ContextVar[bool] = contextvars.ContextVar("jwt_middleware_kit_issuing", default=False)


class _QuietIssuance(logging.Filter):
    """Drops what Authlib's grants log while this kit issues tokens.

    Each grant logs the whole token response it issues ("Issue token %r to %r", access, refresh
    and ID token included) at DEBUG. Our code never logs a token, the test kit included, and a
    test run at DEBUG is exactly where such a log ends up in CI output. Only records made while
    the kit answers are dropped: an application's own Authlib server in the same process logs as
    Authlib decides.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _issuing.get()


_QUIET_ISSUANCE: Final = _QuietIssuance()
for _grant in (
    authlib_grants.AuthorizationCodeGrant,
    authlib_grants.RefreshTokenGrant,
    authlib_grants.ClientCredentialsGrant,
):
    logging.getLogger(_grant.__module__).addFilter(_QUIET_ISSUANCE)

#: Client authentication at the token, revocation and introspection endpoints: public clients
#: send only their ``client_id`` ("none"); confidential ones a secret, in the Basic header or in
#: the form, or a client assertion signed with a key of the JWKS they were registered with.
_SECRET_METHODS: Final = ("client_secret_basic", "client_secret_post")
PRIVATE_KEY_JWT: Final = "private_key_jwt"
_CONFIDENTIAL_METHODS: Final = (*_SECRET_METHODS, PRIVATE_KEY_JWT)
_ALL_METHODS: Final = (*_CONFIDENTIAL_METHODS, "none")
#: RFC 7523 section 2.2: the ``client_assertion_type`` of a JWT client assertion.
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The longest lifetime (``exp - now``) a client assertion may claim: RFC 7523 wants them short.
ASSERTION_MAX_LIFETIME: Final = 600.0

#: RFC 6749 4.1.2 recommends at most ten minutes; a test needs far less.
CODE_LIFETIME: Final = 300.0
#: How long a refresh token may be used (each rotation starts a new one).
REFRESH_LIFETIME: Final = 24 * 3600.0

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def is_loopback_uri(uri: str) -> bool:
    """``http(s)://`` on a loopback host, any port, no fragment: RFC 8252 7.3's redirect URIs."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS and not parts.fragment


@dataclass(frozen=True, slots=True)
class RegisteredClient(ClientMixin):  # type: ignore[misc]  # Authlib is untyped
    """One OAuth client; public when it has neither a secret nor a JWKS (then it must use PKCE
    and "none"). With ``jwks`` it may authenticate with ``private_key_jwt`` (RFC 7523)."""

    client_id: str
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = ()
    grant_types: frozenset[str] = frozenset({AUTHORIZATION_CODE, REFRESH_TOKEN})
    #: The default client accepts any loopback redirect URI (RFC 8252 7.3), as a native app would.
    any_loopback_redirect: bool = False
    #: The public keys its client assertions are signed with (RFC 7591's ``jwks``).
    jwks: KeySet | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id must be a non-empty string")
        unknown = self.grant_types - GRANT_TYPES
        if unknown:
            raise ValueError(f"unsupported grant types: {sorted(unknown)}")
        if self.is_public and CLIENT_CREDENTIALS in self.grant_types:
            raise ValueError("client_credentials needs a confidential client (a client_secret or jwks)")
        for uri in self.redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect URI {uri!r} must be an absolute http(s) URL without a fragment")

    @property
    def is_public(self) -> bool:
        return self.client_secret is None and self.jwks is None

    # -- Authlib's ClientMixin ----------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only an unambiguous registration may omit redirect_uri from the request.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        return self.any_loopback_redirect and is_loopback_uri(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None:
            return False
        return secrets.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        if method == PRIVATE_KEY_JWT:
            return self.jwks is not None
        return method in _SECRET_METHODS and self.client_secret is not None

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and AUTHORIZATION_CODE in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def __repr__(self) -> str:
        kind = "public" if self.is_public else "confidential"
        return f"RegisteredClient({self.client_id!r}, {kind}, grant_types={sorted(self.grant_types)})"


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who approved an authorization request, and what the tokens issued for it carry."""

    username: str
    claims: Mapping[str, Any]
    auth_time: int
    #: The authorization request's ``nonce``, echoed in the ID token of the code exchange only.
    nonce: str | None = None


class TokenFactory(Protocol):
    """What the issuer provides: signed tokens for a client, a user (``None`` for a machine
    client) and a scope. The Cognito preset shapes them like Cognito's."""

    def access_token_for(
        self, client_id: str, user: SignedInUser | None, scope: str, expires_in: int
    ) -> str: ...

    def id_token_for(self, client_id: str, user: SignedInUser, expires_in: int) -> str: ...

    def userinfo_for(self, user: SignedInUser) -> Mapping[str, Any]: ...


@dataclass(slots=True)
class _AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: SignedInUser
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False
    #: The token family the exchange started; revoked if the code is presented again.
    family: str | None = None

    # Authlib's AuthorizationCodeMixin
    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(slots=True)
class IssuedToken:
    """One token response: its access token and (for user grants) its refresh token."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user: SignedInUser | None
    scope: str
    family: str
    issued_at: float
    expires_at: float
    refresh_expires_at: float
    #: The refresh token was exchanged for a new one (presenting it again is reuse).
    rotated: bool = False
    #: Revoked at the revocation endpoint, or with the whole family.
    access_revoked: bool = False
    refresh_revoked: bool = False
    #: What the access token says (the JWT's claims, or an opaque token's), for introspection.
    claims: Mapping[str, Any] = field(default_factory=dict)

    # Authlib's TokenMixin
    def check_client(self, client: RegisteredClient) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - self.issued_at)

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        """Whether the access token is revoked (Authlib asks this of the token it looked up)."""
        return self.access_revoked

    def get_user(self) -> SignedInUser | None:
        return self.user

    def __repr__(self) -> str:
        # Tokens never go into reprs.
        revoked = self.access_revoked or self.refresh_revoked
        return f"IssuedToken(client_id={self.client_id!r}, family={self.family!r}, revoked={revoked})"


@dataclass
class TokenStore:
    """Codes and tokens in memory, one lock for all of them (the server serves on many threads)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _codes: dict[str, _AuthorizationCode] = field(default_factory=dict)
    _by_access: dict[str, IssuedToken] = field(default_factory=dict)
    _by_refresh: dict[str, IssuedToken] = field(default_factory=dict)
    _families: dict[str, list[IssuedToken]] = field(default_factory=dict)
    #: (client_id, jti) of accepted client assertions -> their ``exp``: each is accepted once.
    _assertions: dict[tuple[str, str], float] = field(default_factory=dict)

    def spend_assertion(self, client_id: str, jti: str, expires_at: float) -> bool:
        """Record a client assertion's ``jti``; false if that client used it before (a replay)."""
        now = time.time()
        with self._lock:
            for key in [key for key, exp in self._assertions.items() if exp < now]:
                del self._assertions[key]
            if (client_id, jti) in self._assertions:
                return False
            self._assertions[(client_id, jti)] = expires_at
            return True

    def save_code(self, code: _AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def code_for(self, code: str, client_id: str) -> _AuthorizationCode | None:
        """The unused, unexpired code issued to ``client_id``; a used one revokes what it issued."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                if record.family is not None:
                    self._revoke_family(record.family)
                return None
            if time.time() >= record.expires_at:
                return None
            return record

    def spend_code(self, record: _AuthorizationCode, family: str) -> bool:
        """Mark the code used; false if a concurrent exchange already spent it."""
        with self._lock:
            if record.used:
                return False
            record.used = True
            record.family = family
            return True

    def save(self, token: IssuedToken) -> None:
        with self._lock:
            self._by_access[token.access_token] = token
            if token.refresh_token is not None:
                self._by_refresh[token.refresh_token] = token
            family = self._families.setdefault(token.family, [])
            family.append(token)
            if family[0].refresh_revoked:
                # The family was revoked while this token was being issued.
                token.access_revoked = token.refresh_revoked = True

    def by_access_token(self, access_token: str) -> IssuedToken | None:
        with self._lock:
            return self._by_access.get(access_token)

    def by_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        """The live record of a refresh token; reuse of a rotated one revokes its family."""
        with self._lock:
            token = self._by_refresh.get(refresh_token)
            if token is None or token.refresh_revoked:
                return None
            if token.rotated:
                self._revoke_family(token.family)
                return None
            if time.time() >= token.refresh_expires_at:
                return None
            return token

    def rotate(self, token: IssuedToken) -> bool:
        """Claim a refresh token for one exchange; false (and the family revoked) if already claimed."""
        with self._lock:
            if token.rotated or token.refresh_revoked:
                self._revoke_family(token.family)
                return False
            token.rotated = True
            return True

    def lookup(self, value: str, hint: str | None = None) -> IssuedToken | None:
        """A token record by either of its tokens (``hint`` only orders the search, RFC 7009 2.1)."""
        with self._lock:
            tables = (self._by_refresh, self._by_access)
            if hint != "refresh_token":
                tables = (self._by_access, self._by_refresh)
            for table in tables:
                if (token := table.get(value)) is not None:
                    return token
            return None

    def revoke_family(self, family: str) -> None:
        with self._lock:
            self._revoke_family(family)

    def revoke_access_token(self, token: IssuedToken) -> None:
        with self._lock:
            token.access_revoked = True

    def _revoke_family(self, family: str) -> None:
        for token in self._families.get(family, ()):
            token.access_revoked = token.refresh_revoked = True

    def is_revoked(self, value: str) -> bool:
        """Whether an access or refresh token this server issued has been revoked."""
        with self._lock:
            if (token := self._by_access.get(value)) is not None:
                return token.access_revoked
            if (token := self._by_refresh.get(value)) is not None:
                return token.refresh_revoked
            return False


# -- binding Authlib to the loopback server's requests ------------------------------------------------


class _Headers(dict[str, str]):
    """The request's headers (stored lower-cased), looked up in any letter case, as Authlib does."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


def _form_fields(request: Request) -> dict[str, list[str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        return parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields
        self._data = {name: values[0] for name, values in fields.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._fields


class LoopbackOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """A ``LoopbackServer`` request as Authlib reads it: parameters from the query and the form."""

    def __init__(self, request: Request, base_url: str) -> None:
        uri = base_url + request.path + (f"?{request.query}" if request.query else "")
        super().__init__(request.method, uri, headers=_Headers(request.headers))
        self._args = parse_qs(request.query, keep_blank_values=True)
        self._form = _form_fields(request)
        merged: dict[str, list[str]] = {name: list(values) for name, values in self._args.items()}
        for name, values in self._form.items():
            merged.setdefault(name, []).extend(values)
        self.payload = _Payload(merged)

    @property
    def args(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._args.items()}

    @property
    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._form.items()}


# -- grants ---------------------------------------------------------------------------------------------


class _S256Required(CodeChallenge):  # type: ignore[misc]
    """PKCE on every authorization request, ``S256`` only: ``plain`` protects nothing."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported")
        super().validate_code_challenge(grant, redirect_uri)


def _store(grant: Any) -> TokenStore:
    server: AuthorizationServerCore = grant.server
    return server.store


class _AuthorizationCodeGrant(authlib_grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(_ALL_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        user: SignedInUser = request.user
        nonce = data.get("nonce")
        _store(self).save_code(
            _AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                user=SignedInUser(user.username, user.claims, user.auth_time, nonce),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=time.time() + CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> _AuthorizationCode | None:
        return _store(self).code_for(code, client.client_id)

    def delete_authorization_code(self, authorization_code: _AuthorizationCode) -> None:
        # Spent in save_token (so the family is known); kept, so that reuse is recognised.
        return None

    def authenticate_user(self, authorization_code: _AuthorizationCode) -> SignedInUser:
        return authorization_code.user


class _RefreshTokenGrant(authlib_grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(_ALL_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        return _store(self).by_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: IssuedToken) -> SignedInUser | None:
        user = refresh_token.user
        # A refreshed ID token carries no nonce (OIDC Core 12.2).
        return None if user is None else SignedInUser(user.username, user.claims, user.auth_time)

    def create_token_response(self) -> Any:
        # Claimed before anything is issued, so two concurrent uses cannot both succeed.
        if not _store(self).rotate(self.request.refresh_token):
            raise InvalidGrantError("The refresh token was already used")
        return super().create_token_response()

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        return None  # rotated in create_token_response


class _ClientCredentialsGrant(authlib_grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(_CONFIDENTIAL_METHODS)


class _RevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(_ALL_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return _store(self).lookup(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken, request: OAuth2Request) -> None:
        store = _store(self)
        if request.form.get("token") == token.refresh_token:
            # RFC 7009 2.1: revoking a refresh token ends the grant and its access tokens.
            store.revoke_family(token.family)
        else:
            store.revoke_access_token(token)


class _IntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662: any confidential client (a resource server) may ask about any access token."""

    CLIENT_AUTH_METHODS = list(_CONFIDENTIAL_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        # Only access tokens are described: a refresh token is never a resource server's concern.
        return _store(self).by_access_token(token_string)

    def check_permission(self, token: IssuedToken, client: RegisteredClient, request: OAuth2Request) -> bool:
        return True

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        return {**token.claims, "active": True, "token_type": "Bearer"}


# -- private_key_jwt ------------------------------------------------------------------------------------


def _endpoint_url(request: OAuth2Request) -> str:
    parts = urlsplit(str(request.uri))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _assertion_client(
    server: AuthorizationServerCore, query_client: Callable[[str], RegisteredClient | None], request: Any
) -> RegisteredClient | None:
    """RFC 7523 section 3 client authentication, checked by the library's own verifier.

    The assertion names its client in ``iss`` and ``sub`` (both must be the ``client_id``, which
    the form may repeat); its signature must verify with a key of that client's registered JWKS;
    its ``aud`` must name this server (its URL, its issuer, or the endpoint it was sent to); it must
    carry ``exp`` (at most ``ASSERTION_MAX_LIFETIME`` ahead) and a ``jti`` never used before.
    """
    form = request.form
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        return None
    assertion = form.get("client_assertion")
    if not isinstance(assertion, str) or not assertion:
        return None
    try:
        unverified = payload_claims(parse_compact(assertion))
    except JWTMiddlewareError:
        return None
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or form.get("client_id", client_id) != client_id:
        return None
    client = query_client(client_id)
    if client is None or client.jwks is None:
        return None
    verifier = JWTVerifier(
        issuer=client_id,
        audience=sorted(server.audiences_for(_endpoint_url(request))),
        jwks=client.jwks,
        token_cache_size=None,
        required_claims=("jti",),
    )
    try:
        claims = verifier.verify_sync(assertion)
    except JWTMiddlewareError:
        return None
    jti, exp = claims.get("jti"), claims.get("exp")
    if claims.subject != client_id or not isinstance(jti, str) or not isinstance(exp, int | float):
        return None
    if exp - time.time() > ASSERTION_MAX_LIFETIME:
        return None
    if not server.store.spend_assertion(client_id, jti, float(exp)):
        return None
    return client


# -- the server -----------------------------------------------------------------------------------------


class AuthorizationServerCore(AuthorizationServer):  # type: ignore[misc]
    """Authlib's ``AuthorizationServer`` over the issuer's clients, store and token factory."""

    def __init__(
        self,
        *,
        clients: Callable[[str], RegisteredClient | None],
        tokens: TokenFactory,
        base_url: Callable[[], str],
        access_token_lifetime: Callable[[], int],
        issuer: Callable[[], str] | None = None,
        opaque_access_tokens: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__()
        self.store = TokenStore()
        self._clients = clients
        self._tokens = tokens
        self._base_url = base_url
        self._issuer = issuer or base_url
        self._access_token_lifetime = access_token_lifetime
        self._opaque = opaque_access_tokens
        #: The claims of access tokens generated but not yet saved, by token (see ``save_token``).
        self._minted: dict[str, Mapping[str, Any]] = {}
        self._minted_lock = threading.Lock()
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method(
            PRIVATE_KEY_JWT, lambda query_client, request: _assertion_client(self, query_client, request)
        )
        self.register_grant(_AuthorizationCodeGrant, [_S256Required(required=True)])
        self.register_grant(_RefreshTokenGrant)
        self.register_grant(_ClientCredentialsGrant)
        self.register_endpoint(_RevocationEndpoint)
        self.register_endpoint(_IntrospectionEndpoint)

    def audiences_for(self, endpoint_url: str) -> set[str]:
        """What a client assertion's ``aud`` may name: this server, its issuer, or the endpoint."""
        return {self._base_url(), self._issuer(), endpoint_url}

    # -- Authlib's hooks ----------------------------------------------------------------------------

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients(client_id)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return LoopbackOAuth2Request(request, self._base_url())

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("the local issuer serves no JSON-bodied OAuth endpoint")

    def handle_response(self, status: int, body: Any, headers: Iterable[tuple[str, str]]) -> Response:
        merged = dict(headers)
        if isinstance(body, dict):
            return Response.json(body, status=status, headers=merged)
        return Response(status, str(body or "").encode(), merged)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        now = time.time()
        if request.authorization_code is not None:
            family = secrets.token_urlsafe(12)
            if not self.store.spend_code(request.authorization_code, family):
                raise InvalidGrantError("The authorization code was already used")
        elif request.refresh_token is not None:
            family = request.refresh_token.family
        else:
            family = secrets.token_urlsafe(12)
        with self._minted_lock:
            claims = self._minted.pop(token["access_token"], {})
        self.store.save(
            IssuedToken(
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                client_id=request.client.client_id,
                user=request.user,
                scope=token.get("scope", ""),
                family=family,
                issued_at=now,
                expires_at=now + int(token["expires_in"]),
                refresh_expires_at=now + REFRESH_LIFETIME,
                claims=claims,
            )
        )

    def _generate_token(
        self,
        grant_type: str,
        client: RegisteredClient,
        user: SignedInUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        lifetime = expires_in or self._access_token_lifetime()
        scope = scope or ""
        access_token = self._tokens.access_token_for(client.client_id, user, scope, lifetime)
        claims = dict(payload_claims(parse_compact(access_token)))
        if self._opaque():
            access_token = secrets.token_urlsafe(32)  # the claims stay here, for introspection
        with self._minted_lock:
            self._minted[access_token] = claims
        token: dict[str, Any] = {"token_type": "Bearer", "access_token": access_token, "expires_in": lifetime}
        if scope:
            token["scope"] = scope
        if user is not None and include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        if user is not None and "openid" in scope.split():
            token["id_token"] = self._tokens.id_token_for(client.client_id, user, lifetime)
        return token

    # -- what the issuer's routes call -----------------------------------------------------------------

    def token_response(self, request: Request) -> Response:
        issuing = _issuing.set(True)
        try:
            response: Response = self.create_token_response(request)
        finally:
            _issuing.reset(issuing)
        return response

    def revocation_response(self, request: Request) -> Response:
        response: Response = self.create_endpoint_response(_RevocationEndpoint.ENDPOINT_NAME, request)
        return response

    def introspection_response(self, request: Request) -> Response:
        response: Response = self.create_endpoint_response(_IntrospectionEndpoint.ENDPOINT_NAME, request)
        return response

    def issue_opaque(self, claims: Mapping[str, Any], *, client_id: str, expires_at: float) -> str:
        """Store an opaque access token carrying ``claims`` (for ``LocalIssuer.mint_opaque``)."""
        now = time.time()
        value = secrets.token_urlsafe(32)
        scope = claims.get("scope")
        self.store.save(
            IssuedToken(
                access_token=value,
                refresh_token=None,
                client_id=client_id,
                user=None,
                scope=scope if isinstance(scope, str) else "",
                family=secrets.token_urlsafe(12),
                issued_at=now,
                expires_at=expires_at,
                refresh_expires_at=now,
                claims=FrozenDict(claims),
            )
        )
        return value

    def consent_grant(self, request: LoopbackOAuth2Request) -> Any:
        """Validate an authorization request (raises Authlib's ``OAuth2Error``); returns the grant."""
        return self.get_consent_grant(request)

    def authorization_response(
        self, request: LoopbackOAuth2Request, grant: Any, user: SignedInUser
    ) -> Response:
        response: Response = self.create_authorization_response(request, grant_user=user, grant=grant)
        return response
