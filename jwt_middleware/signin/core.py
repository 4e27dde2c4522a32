"""``SignIn``: browser sign-in with the authorization code flow and PKCE, tokens kept in cookies.

The protocol work (the authorization request, the code exchange, refresh, RFC 7009 revocation and
client authentication) is Authlib's OAuth 2.0 client over httpx2; every token that comes back is
checked by our own ``JWTVerifier`` (the ID token with its ``nonce``, the session token with the
app's verifier) before it is stored. Nothing here imports ``authlib.jose``.

The four routes are written once, framework-free: each takes a ``RequestView`` and returns a
``SignInResponse``; ``starlette.py``, ``flask.py`` and ``django.py`` only translate. The protocol
steps are async (Authlib's ``AsyncOAuth2Client``); the sync entry points run the same code on a
private event loop, as the JWKS cache does, so both paths share one implementation.

A sign-in keeps its ``state``, ``nonce``, PKCE verifier and ``next`` in a short-lived login
cookie between ``/login`` and ``/callback``, so no server-side store is needed and any replica can
finish a sign-in that another started.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import anyio
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from jwt_middleware import b64
from jwt_middleware.claims import Claims
from jwt_middleware.cognito import parse_cognito_issuer
from jwt_middleware.csrf import CrossSiteRequestError, OriginPolicy
from jwt_middleware.errors import (
    BlockingCallError,
    ConfigurationError,
    InvalidTokenError,
    JWTMiddlewareError,
    TemporarilyUnavailableError,
)
from jwt_middleware.fetching import FetchError, check_url, fetch_json
from jwt_middleware.network import NetworkSettings, client_options, prepare_ssl_context
from jwt_middleware.request_view import RequestView
from jwt_middleware.signin.cookies import CookieNames, CookieTooLargeError, CookieWriter, read_split
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "ProviderMetadata",
    "SessionExpiredError",
    "SignIn",
    "SignInResponse",
    "SignInUnavailableError",
    "TokenSet",
]

logger = logging.getLogger("jwt_middleware.signin")

T = TypeVar("T")

#: A sign-in must finish within this long of ``/login`` (the login cookie's lifetime).
LOGIN_LIFETIME: Final = 600
_DISCOVERY_MAX_BYTES: Final = 256 * 1024
#: Token endpoint errors that end a session (RFC 6749 5.2): the refresh token is no longer good.
_SESSION_OVER: Final = frozenset({"invalid_grant", "invalid_scope"})
#: How long a failed discovery is remembered before the provider is asked again.
_DISCOVERY_RETRY: Final = 5.0
_HTML: Final = "text/html; charset=utf-8"


class SessionExpiredError(InvalidTokenError):
    """401: the session's tokens are no longer usable and could not be refreshed."""

    default_description = "The session has expired"


class SignInUnavailableError(TemporarilyUnavailableError):
    """503: the identity provider cannot be reached (discovery, token or revocation endpoint)."""

    default_description = "The identity provider is temporarily unavailable"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The endpoints ``SignIn`` uses, from the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None
    userinfo_endpoint: str | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any], issuer: str) -> ProviderMetadata:
        if document.get("issuer") != issuer:
            raise FetchError("discovery document names a different issuer")

        def endpoint(name: str, *, required: bool = False) -> str | None:
            value = document.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str):
                raise FetchError(f"discovery document has no {name}")
            try:
                return check_url(value, what=name)
            except ConfigurationError:
                raise FetchError(f"discovery document's {name} is not https") from None

        authorization = endpoint("authorization_endpoint", required=True)
        token = endpoint("token_endpoint", required=True)
        assert authorization is not None
        assert token is not None
        return cls(
            issuer=issuer,
            authorization_endpoint=authorization,
            token_endpoint=token,
            revocation_endpoint=endpoint("revocation_endpoint"),
            end_session_endpoint=endpoint("end_session_endpoint"),
            userinfo_endpoint=endpoint("userinfo_endpoint"),
        )


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What the token endpoint answered, once verified: never logged, never in a repr."""

    session_token: str
    claims: Claims
    refresh_token: str | None
    id_token: str | None

    def __repr__(self) -> str:
        return f"TokenSet(sub={self.claims.subject!r}, refresh={'yes' if self.refresh_token else 'no'})"


@dataclass(slots=True)
class SignInResponse:
    """A framework-neutral HTTP response; ``headers`` may repeat a name (``Set-Cookie``)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def redirect(cls, location: str, cookies: Iterable[str] = (), *, status: int = 303) -> SignInResponse:
        headers = [("Location", location), ("Cache-Control", "no-store")]
        headers.extend(("Set-Cookie", cookie) for cookie in cookies)
        return cls(status, headers)

    @classmethod
    def page(cls, status: int, title: str, text: str, cookies: Iterable[str] = ()) -> SignInResponse:
        """A small HTML page; ``title`` and ``text`` are fixed strings of ours, never request data."""
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><p>{text}</p></body></html>"
        ).encode()
        headers = [("Content-Type", _HTML), ("Cache-Control", "no-store")]
        headers.extend(("Set-Cookie", cookie) for cookie in cookies)
        return cls(status, headers, body)

    @property
    def cookies(self) -> list[str]:
        return [value for name, value in self.headers if name == "Set-Cookie"]


def _local_path(value: str | None) -> str:
    """``next`` as a path on this site; anything that could leave it becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 0x20 or character == "\\" for character in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _encode_login(values: Mapping[str, str]) -> str:
    return b64.encode(json.dumps(values, separators=(",", ":")).encode())


def _decode_login(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        document = json.loads(b64.decode(value))
    except ValueError:
        return None
    if not isinstance(document, dict) or not all(isinstance(item, str) for item in document.values()):
        return None
    return document


def _is_cognito(issuer: str) -> bool:
    return parse_cognito_issuer(issuer) is not None


def run_blocking(operation: Callable[[], Awaitable[T]]) -> T:
    """Run an async step of ours from sync code (a Flask or Django view), on a private loop.

    Refuses with ``BlockingCallError`` on a thread whose event loop is running: blocking it would
    stall every other request on that loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(operation)
    raise BlockingCallError("the sync sign-in path would block a running event loop; use the async one")


class SignIn:
    """Sign-in for browser apps against ``issuer`` (any OpenID provider, Cognito included).

    ``verifier`` checks the session token (the access token, or the ID token with
    ``session_token="id"``) on every request, as it would a bearer token. ``client_secret=None``
    makes this a public client (PKCE only); otherwise it authenticates with ``auth_method``
    (``client_secret_basic`` or ``client_secret_post``). ``redirect_uri=None`` derives
    ``{origin}{prefix}/callback`` from the request. ``secure_cookies=False`` is only for plain-http
    loopback development and tests. ``trusted_origins`` are other origins whose unsafe requests
    may use the session cookie (see ``jwt_middleware.csrf``), ``csrf_header`` adds the
    double-submit check. ``network`` says how the provider's endpoints are reached (proxy, CA
    bundle, client certificate, ``trust_env``): a ``NetworkSettings``, or the ``CacheSettings``
    the verifier's keys are fetched with.
    """

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        verifier: JWTVerifier,
        scopes: Iterable[str] = ("openid",),
        redirect_uri: str | None = None,
        prefix: str = "/auth",
        secure_cookies: bool = True,
        trusted_origins: Iterable[str] = (),
        auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        session_token: Literal["access", "id"] = "access",
        discovery_url: str | None = None,
        id_token_verifier: JWTVerifier | None = None,
        post_logout_redirect_uri: str | None = None,
        csrf_header: str | None = None,
        cookie_name: str = "jwt",
        session_max_age: int | None = None,
        refresh_grace: float = 30.0,
        timeout: float = 10.0,
        redirect_navigations: bool = True,
        network: NetworkSettings | None = None,
    ) -> None:
        if not isinstance(verifier, JWTVerifier):
            raise ConfigurationError("SignIn needs verifier=JWTVerifier(...) for the session token")
        if not client_id:
            raise ConfigurationError("SignIn needs the client_id of its app client")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ConfigurationError("auth_method must be 'client_secret_basic' or 'client_secret_post'")
        if session_token not in ("access", "id"):
            raise ConfigurationError("session_token must be 'access' or 'id'")
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ConfigurationError("prefix must be a path such as '/auth' (no trailing slash)")
        self.scopes = tuple(scopes.split() if isinstance(scopes, str) else scopes)
        if session_token == "id" and "openid" not in self.scopes:
            raise ConfigurationError("session_token='id' needs the 'openid' scope")
        self.issuer = check_url(issuer, what="issuer")
        self.client_id = client_id
        self._client_secret = client_secret
        self.auth_method = auth_method if client_secret is not None else "none"
        self.verifier = verifier
        self.redirect_uri = check_url(redirect_uri, what="redirect_uri") if redirect_uri is not None else None
        self.prefix = prefix
        self.secure_cookies = secure_cookies
        self.session_token = session_token
        self.discovery_url = check_url(
            discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration",
            what="discovery_url",
        )
        self.id_token_verifier = id_token_verifier or JWTVerifier(
            issuer=list(verifier.issuers),
            audience=client_id,
            jwks_cache=verifier.key_sources,
            algorithms=verifier.algorithms,
        )
        self.post_logout_redirect_uri = post_logout_redirect_uri
        self.cookie_names = CookieNames.for_prefix(cookie_name, secure=secure_cookies)
        self.cookies = CookieWriter(secure=secure_cookies)
        self.session_max_age = session_max_age
        self.timeout = timeout
        self.redirect_navigations = redirect_navigations
        self.network = network.network if network is not None else NetworkSettings()
        prepare_ssl_context(self.network)  # off the event loop, before the first sign-in needs it
        #: The cross-origin rule for everything that uses the session cookie.
        self.origin_policy = OriginPolicy(
            trusted_origins,
            csrf_header=csrf_header,
            csrf_cookie=self.cookie_names.csrf if csrf_header is not None else None,
        )
        self.is_cognito = _is_cognito(self.issuer)
        self._metadata: ProviderMetadata | None = None
        self._metadata_failed_at = 0.0
        self._metadata_lock = threading.Lock()
        from jwt_middleware.signin.session import RefreshFlights, SessionAuthenticator

        self._flights = RefreshFlights(grace=refresh_grace)
        #: The ``Authenticator`` the middlewares and dependencies take.
        self.authenticator = SessionAuthenticator(self)

    # -- paths ----------------------------------------------------------------------------------------

    @property
    def login_path(self) -> str:
        return self.prefix + "/login"

    @property
    def callback_path(self) -> str:
        return self.prefix + "/callback"

    @property
    def logout_path(self) -> str:
        return self.prefix + "/logout"

    @property
    def refresh_path(self) -> str:
        return self.prefix + "/refresh"

    def redirect_uri_for(self, request: RequestView) -> str:
        return self.redirect_uri or _origin_of(request.url) + self.callback_path

    # -- the provider -------------------------------------------------------------------------------

    def _client(self, **options: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=self.auth_method,
            revocation_endpoint_auth_method=self.auth_method,
            timeout=self.timeout,
            **client_options(self.network),
            **options,
        )

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints (discovered once, then kept; a failure is retried after 5 s)."""
        cached = self._metadata
        if cached is not None:
            return cached
        if time.monotonic() - self._metadata_failed_at < _DISCOVERY_RETRY:
            raise SignInUnavailableError()
        try:
            async with httpx2.AsyncClient(**client_options(self.network)) as client:
                fetched = await fetch_json(
                    client, self.discovery_url, timeout=self.timeout, max_bytes=_DISCOVERY_MAX_BYTES
                )
            metadata = ProviderMetadata.from_document(fetched.body, self.issuer)
        except FetchError as exc:
            logger.warning("sign-in: discovery at %s failed (%s)", self.discovery_url, exc.code)
            with self._metadata_lock:
                self._metadata_failed_at = time.monotonic()
            raise SignInUnavailableError() from None
        with self._metadata_lock:
            self._metadata = metadata
        return metadata

    async def _exchange(
        self, metadata: ProviderMetadata, code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        async with self._client() as client:
            token: dict[str, Any] = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
            )
        return token

    async def _refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        metadata = await self.metadata()
        async with self._client() as client:
            token: dict[str, Any] = await client.refresh_token(
                metadata.token_endpoint, refresh_token=refresh_token
            )
        return token

    async def verify_tokens(self, token: Mapping[str, Any], *, nonce: str | None) -> TokenSet:
        """Check what the token endpoint returned with our verifiers; ``InvalidTokenError`` if not."""
        id_token = token.get("id_token")
        if "openid" in self.scopes and nonce is not None:
            if not isinstance(id_token, str):
                raise InvalidTokenError("The provider returned no ID token")
            id_claims = await self.id_token_verifier.verify(id_token)
            found = id_claims.get("nonce")
            if not isinstance(found, str) or not hmac.compare_digest(found.encode(), nonce.encode()):
                raise InvalidTokenError("The ID token's nonce does not match the sign-in")
        session = id_token if self.session_token == "id" else token.get("access_token")
        if not isinstance(session, str):
            raise InvalidTokenError("The provider returned no session token")
        claims = await self.verifier.verify(session)
        refresh = token.get("refresh_token")
        return TokenSet(
            session_token=session,
            claims=claims,
            refresh_token=refresh if isinstance(refresh, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Redeem ``refresh_token`` once per process however many requests ask at the same time.

        Raises ``SessionExpiredError`` when the provider refuses it, ``SignInUnavailableError``
        when the provider cannot answer.
        """

        async def redeem() -> TokenSet:
            try:
                token = await self._refresh_grant(refresh_token)
            except OAuthError as error:
                if error.error in _SESSION_OVER:
                    raise SessionExpiredError() from None
                # invalid_client, server_error...: this app's problem or the provider's, not the
                # session's. Signing everyone out would not help: answer 503 and keep the cookies.
                logger.warning("sign-in: the provider refused the refresh (%s)", error.error)
                raise SignInUnavailableError() from None
            except (httpx2.HTTPError, ValueError) as exc:
                logger.warning("sign-in: refresh failed (%s)", type(exc).__name__)
                raise SignInUnavailableError() from None
            tokens = await self.verify_tokens(token, nonce=None)
            if tokens.refresh_token is None:
                # Providers that do not rotate (Cognito) keep the refresh token valid.
                tokens = TokenSet(tokens.session_token, tokens.claims, refresh_token, tokens.id_token)
            return tokens

        return await self._flights.run(refresh_token, redeem)

    # -- cookies ------------------------------------------------------------------------------------

    def session_cookies(self, tokens: TokenSet) -> list[str]:
        """``Set-Cookie`` values storing a session; ``CookieTooLargeError`` if a token cannot fit."""
        names = self.cookie_names
        cookies = self.cookies.split(names.session, tokens.session_token, max_age=self.session_max_age)
        if tokens.refresh_token is not None:
            cookies.append(
                self.cookies.set(names.refresh, tokens.refresh_token, max_age=self.session_max_age)
            )
        return cookies

    def clear_session_cookies(self) -> list[str]:
        names = self.cookie_names
        return [*self.cookies.clear_split(names.session), self.cookies.clear(names.refresh)]

    def _csrf_cookie(self) -> str:
        # Readable by the page's scripts: echoing it in csrf_header is the double-submit check.
        return self.cookies.set(self.cookie_names.csrf, secrets.token_urlsafe(24), http_only=False)

    # -- the routes ---------------------------------------------------------------------------------

    async def login(self, request: RequestView) -> SignInResponse:
        """``GET {prefix}/login?next=/path``: off to the provider's authorization endpoint."""
        metadata = await self.metadata()
        state, nonce, verifier = (
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
        )
        next_values = request.query("next")
        redirect_uri = self.redirect_uri_for(request)
        login = {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "redirect_uri": redirect_uri,
            "next": _local_path(next_values[0] if next_values else None),
        }
        url = prepare_grant_uri(
            metadata.authorization_endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(self.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        cookie = self.cookies.set(self.cookie_names.login, _encode_login(login), max_age=LOGIN_LIFETIME)
        return SignInResponse.redirect(url, [cookie], status=302)

    async def callback(self, request: RequestView) -> SignInResponse:
        """``GET {prefix}/callback?code=...&state=...``: exchange, verify, store, go ``next``."""
        login = _decode_login(request.cookie(self.cookie_names.login))
        clear_login = self.cookies.clear(self.cookie_names.login)
        if login is None:
            return SignInResponse.page(
                400, "Sign-in expired", "The sign-in took too long or cookies are off. Please sign in again."
            )
        states = request.query("state")
        if len(states) != 1 or not hmac.compare_digest(states[0].encode(), login.get("state", "").encode()):
            return SignInResponse.page(
                400, "Sign-in failed", "The sign-in response does not match this browser.", [clear_login]
            )
        if request.query("error"):
            return SignInResponse.page(
                401, "Sign-in refused", "The identity provider did not sign you in.", [clear_login]
            )
        codes = request.query("code")
        if len(codes) != 1 or not codes[0]:
            return SignInResponse.page(
                400, "Sign-in failed", "The sign-in response has no code.", [clear_login]
            )
        metadata = await self.metadata()
        try:
            token = await self._exchange(
                metadata, codes[0], login.get("verifier", ""), login.get("redirect_uri", "")
            )
        except OAuthError:
            return SignInResponse.page(
                401, "Sign-in failed", "The identity provider refused the sign-in.", [clear_login]
            )
        except (httpx2.HTTPError, ValueError) as exc:
            logger.warning("sign-in: code exchange failed (%s)", type(exc).__name__)
            raise SignInUnavailableError() from None
        try:
            tokens = await self.verify_tokens(token, nonce=login.get("nonce", ""))
        except TemporarilyUnavailableError:
            raise
        except JWTMiddlewareError as error:
            logger.warning("sign-in: the provider's token was refused (%s)", error.code)
            return SignInResponse.page(
                401, "Sign-in failed", "The identity provider's token is not accepted here.", [clear_login]
            )
        try:
            cookies = self.session_cookies(tokens)
        except CookieTooLargeError as error:
            logger.error("sign-in: %s", error)
            return SignInResponse.page(
                502, "Sign-in failed", "The identity provider's token is too large to keep.", [clear_login]
            )
        return SignInResponse.redirect(login.get("next", "/"), [clear_login, *cookies, self._csrf_cookie()])

    def _check_origin(self, request: RequestView) -> None:
        """The cross-origin rule, applied to every method: logout and refresh change state."""
        method = request.method if request.method not in ("GET", "HEAD") else "POST"
        self.origin_policy.check(method, request.url, request.header, request.cookie)

    async def refresh_route(self, request: RequestView) -> SignInResponse:
        """``POST {prefix}/refresh``: new tokens for the session (for scripts), 204 or 401."""
        try:
            self._check_origin(request)
        except CrossSiteRequestError:
            return SignInResponse.page(403, "Refused", "Cross-origin requests cannot refresh the session.")
        refresh_token = request.cookie(self.cookie_names.refresh)
        if refresh_token is None:
            return SignInResponse.page(401, "Not signed in", "There is no session to refresh.")
        try:
            tokens = await self.refresh(refresh_token)
        except SessionExpiredError:
            return SignInResponse.page(
                401, "Session expired", "Please sign in again.", self.clear_session_cookies()
            )
        response = SignInResponse(204, [("Cache-Control", "no-store")])
        response.headers.extend(("Set-Cookie", cookie) for cookie in self.session_cookies(tokens))
        return response

    async def logout(self, request: RequestView) -> SignInResponse:
        """``{prefix}/logout``: cookies cleared, refresh token revoked, then the provider's logout."""
        try:
            self._check_origin(request)
        except CrossSiteRequestError:
            return SignInResponse.page(403, "Refused", "Cross-origin requests cannot sign you out.")
        cookies = [*self.clear_session_cookies(), self.cookies.clear(self.cookie_names.csrf)]
        refresh_token = request.cookie(self.cookie_names.refresh)
        session_token = read_split(request.cookie, self.cookie_names.session)
        metadata: ProviderMetadata | None
        try:
            metadata = await self.metadata()
        except SignInUnavailableError:
            metadata = None
        if metadata is not None and refresh_token is not None:
            await self._revoke(metadata, refresh_token)
        if session_token is not None:
            await self._revoke_here(session_token)
        back = self.post_logout_redirect_uri or _origin_of(request.url) + "/"
        if metadata is None or metadata.end_session_endpoint is None:
            return SignInResponse.redirect(back, cookies)
        if self.is_cognito:
            params = {"client_id": self.client_id, "logout_uri": back}
        else:
            params = {"client_id": self.client_id, "post_logout_redirect_uri": back}
            if self.session_token == "id" and session_token is not None:
                params["id_token_hint"] = session_token
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return SignInResponse.redirect(metadata.end_session_endpoint + separator + urlencode(params), cookies)

    async def _revoke(self, metadata: ProviderMetadata, refresh_token: str) -> None:
        """RFC 7009 revocation of the refresh token; a failure is logged, never blocks the logout."""
        if metadata.revocation_endpoint is None:
            return
        try:
            async with self._client() as client:
                response = await client.revoke_token(
                    metadata.revocation_endpoint, token=refresh_token, token_type_hint="refresh_token"
                )
            if response.status_code != 200:
                logger.warning("sign-in: revocation answered HTTP %s", response.status_code)
        except (httpx2.HTTPError, OAuthError, ValueError) as exc:
            logger.warning("sign-in: revocation failed (%s)", type(exc).__name__)

    async def _revoke_here(self, session_token: str) -> None:
        """With ``JWTVerifier(revocations=...)``: refuse the session's token in every replica now,
        not when it expires (and, by ``origin_jti``, every token derived from the same sign-in)."""
        revocations = self.verifier.revocations
        if revocations is None:
            return
        try:
            claims = await self.verifier.verify(session_token)
        except JWTMiddlewareError:
            return  # expired, invalid or revoked already: nothing left to refuse
        try:
            await revocations.revoke_token(claims, include_origin=True)
        except (JWTMiddlewareError, ConfigurationError) as error:
            # A revocation store that is down must not keep anyone signed in on this browser.
            reason = type(error).__name__
            logger.warning("sign-in: the revocation list refused the logout's token (%s)", reason)

    # -- sync entry points (Flask, Django) --------------------------------------------------------

    def login_sync(self, request: RequestView) -> SignInResponse:
        return run_blocking(lambda: self.login(request))

    def callback_sync(self, request: RequestView) -> SignInResponse:
        return run_blocking(lambda: self.callback(request))

    def logout_sync(self, request: RequestView) -> SignInResponse:
        return run_blocking(lambda: self.logout(request))

    def refresh_route_sync(self, request: RequestView) -> SignInResponse:
        return run_blocking(lambda: self.refresh_route(request))

    # -- framework glue -----------------------------------------------------------------------------

    @property
    def routes(self) -> list[Any]:
        """Starlette routes for ``{prefix}/login``, ``/callback``, ``/logout`` and ``/refresh``."""
        from jwt_middleware.signin.starlette import routes

        return routes(self)

    def middleware(self, **options: Any) -> list[Any]:
        """Starlette ``Middleware`` entries: the session-cookie writer, then ``JWTAuthMiddleware``
        with ``signin.authenticator`` (``options`` go to it; the sign-in routes are excluded)."""
        from jwt_middleware.signin.starlette import middleware

        return middleware(self, **options)

    def init_app(self, app: Any) -> None:
        """Flask: register the sign-in blueprint and the session-cookie writer on ``app``."""
        from jwt_middleware.signin.flask import init_app

        init_app(self, app)

    @property
    def urls(self) -> list[Any]:
        """Django URL patterns, for ``path("auth/", include(signin.urls))`` under ``prefix``."""
        from jwt_middleware.signin.django import urlpatterns

        return urlpatterns(self)

    def swagger_ui_init_oauth(self, *, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """FastAPI's ``swagger_ui_init_oauth``: Swagger UI's Authorize signs in with code + PKCE."""
        return {
            "clientId": self.client_id,
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": " ".join(self.scopes if scopes is None else scopes),
        }

    def __repr__(self) -> str:
        return f"SignIn(issuer={self.issuer!r}, client_id={self.client_id!r}, prefix={self.prefix!r})"
