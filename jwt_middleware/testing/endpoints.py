"""The local issuer's OAuth and OpenID endpoints, served on its ``LoopbackServer``.

``OAuthEndpoints`` puts the authorization server (``authorization.py``) on the wire: the sign-in
page behind the authorization endpoint, the token, revocation and introspection endpoints,
``userinfo`` and RP-initiated logout, each with CORS headers where a browser script calls it
(Swagger UI's token exchange, a single-page app's ``userinfo``). Navigations (sign-in, logout)
need no CORS, and introspection is for resource servers only.

The sign-in page is deliberately minimal, a username field and a button, so a browser test can
drive it; ``auto_approve=True`` skips it. A successful sign-in also opens a session at the issuer
(a cookie), as a real provider's single sign-on does, so a second authorization request signs in
without the page until the session ends at the end-session endpoint.
"""

from __future__ import annotations

import contextlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from authlib.oauth2 import OAuth2Error

from jwt_middleware import b64
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.bearer import parse_authorization
from jwt_middleware.errors import InvalidRequestError as BearerRequestError
from jwt_middleware.testing.authorization import (
    AuthorizationServerCore,
    LoopbackOAuth2Request,
    RegisteredClient,
    SignedInUser,
    TokenFactory,
    TokenStore,
)
from jwt_middleware.testing.server import Handler, LoopbackServer, Request, Response

__all__ = ["COGNITO_PATHS", "DEFAULT_PATHS", "EndpointPaths", "OAuthEndpoints", "with_cors"]


@dataclass(frozen=True, slots=True)
class EndpointPaths:
    """Where each endpoint is served (the discovery document lists them as absolute URLs)."""

    authorization: str
    token: str
    revocation: str
    userinfo: str
    end_session: str
    #: RFC 7662 token introspection; ``None`` where the provider has none (Cognito).
    introspection: str | None = "/introspect"


DEFAULT_PATHS: Final = EndpointPaths(
    authorization="/authorize",
    token="/token",  # noqa: S106 (a path)
    revocation="/revoke",
    userinfo="/userinfo",
    end_session="/logout",
)
#: Cognito's hosted-UI paths (its user pool domain serves them); Cognito has no introspection.
COGNITO_PATHS: Final = EndpointPaths(
    authorization="/oauth2/authorize",
    token="/oauth2/token",  # noqa: S106 (a path)
    revocation="/oauth2/revoke",
    userinfo="/oauth2/userInfo",
    end_session="/logout",
    introspection=None,
)

_CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    # X-Requested-With: Swagger UI sends it on the token exchange.
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Requested-With",
    "Access-Control-Max-Age": "600",
}
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: The sign-in page and its session cookie: never framed, never cached.
_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # No form-action: browsers apply it to the redirect back to the client after the post.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}


def with_cors(handler: Handler, methods: Iterable[str]) -> Handler:
    """Answer CORS preflights and add ``Access-Control-Allow-Origin`` to ``handler``'s answers.

    ``*`` is right for these endpoints: they take no cookies, so no origin gains anything from
    the browser that it could not send itself. Other methods than ``methods`` get a 405.
    """
    allowed = ", ".join(sorted({*methods, "OPTIONS"}))

    def answer(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(204, b"", {**_CORS_HEADERS, "Access-Control-Allow-Methods": allowed})
        if request.method not in allowed.split(", "):
            return Response.json(
                {"error": "invalid_request", "error_description": "Method not allowed"},
                status=405,
                headers={**_CORS_HEADERS, "Allow": allowed},
            )
        response = handler(request)
        return Response(response.status, response.body, {**response.headers, **_CORS_HEADERS})

    return answer


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _params(request: Request) -> dict[str, str]:
    """The request's parameters: the query, then (for a POSTed form) the form fields."""
    fields = parse_qs(request.query, keep_blank_values=True)
    if request.method == "POST" and request.body:
        with contextlib.suppress(UnicodeDecodeError):
            fields |= parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _cookie(request: Request, name: str) -> str | None:
    for pair in request.headers.get("cookie", "").split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value
    return None


def _unverified_audience(id_token: str) -> str | None:
    """The ``aud`` of an ID token hint, only to pick the client whose logout URIs apply.

    Not a verification: the redirect that follows still has to be registered for that client, so
    a forged hint gains nothing.
    """
    try:
        payload = json.loads(b64.decode(id_token.split(".")[1]))
    except (IndexError, ValueError):
        return None
    audience = payload.get("aud") if isinstance(payload, dict) else None
    if isinstance(audience, list) and audience:
        audience = audience[0]
    return audience if isinstance(audience, str) else None


_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: local issuer</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto}}
input,button{{font-size:1rem;padding:.4rem}} .error{{color:#b00}}</style></head>
<body><h1>Sign in</h1><p>Local development issuer at {issuer}. No password: pick a user.</p>
{error}<form method="post" action="{action}">{hidden}
<label for="username">Username</label>
<input id="username" name="username" value="{username}" autocomplete="username" required autofocus>
<button id="sign-in" type="submit">Sign in</button></form>{users}</body></html>
"""

_SIGNED_OUT: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><h1>Signed out</h1><p>Your session at the local issuer has ended.</p></body></html>
"""


class OAuthEndpoints:
    """The issuer's OAuth routes, its clients, its users and its sign-in sessions."""

    def __init__(
        self,
        server: LoopbackServer,
        tokens: TokenFactory,
        *,
        paths: EndpointPaths = DEFAULT_PATHS,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        default_username: str,
        auto_approve: bool = False,
        access_token_lifetime: int = 300,
        issuer: Callable[[], str] | None = None,
        opaque_access_tokens: bool = False,
    ) -> None:
        self.server = server
        self.paths = paths
        self.auto_approve = auto_approve
        #: Seconds an issued access (and ID) token lives; may be changed at any time.
        self.access_token_lifetime = access_token_lifetime
        #: Hand out opaque access tokens (random strings, described only by introspection).
        self.opaque_access_tokens = opaque_access_tokens
        self._users = None if users is None else {name: dict(claims) for name, claims in users.items()}
        self._default_username = default_username
        self._tokens = tokens
        self._lock = threading.Lock()
        self._clients: dict[str, RegisteredClient] = {}
        self._sessions: dict[str, str] = {}
        self.core = AuthorizationServerCore(
            clients=self.client,
            tokens=tokens,
            base_url=lambda: self.server.url,
            access_token_lifetime=lambda: self.access_token_lifetime,
            issuer=issuer,
            opaque_access_tokens=lambda: self.opaque_access_tokens,
        )
        server.route(paths.authorization, self._authorize)
        server.route(paths.token, with_cors(self.core.token_response, ("POST",)))
        server.route(paths.revocation, with_cors(self.core.revocation_response, ("POST",)))
        if paths.introspection is not None:
            # No CORS: introspection is for resource servers, never for a browser's scripts.
            server.route(paths.introspection, self._introspect)
        server.route(paths.userinfo, with_cors(self._userinfo, ("GET", "POST")))
        server.route(paths.end_session, self._end_session)

    # -- clients and users --------------------------------------------------------------------------

    def register(self, client: RegisteredClient) -> RegisteredClient:
        with self._lock:
            self._clients[client.client_id] = client
        return client

    def client(self, client_id: str) -> RegisteredClient | None:
        with self._lock:
            return self._clients.get(client_id)

    def add_user(self, username: str, claims: Mapping[str, Any]) -> None:
        with self._lock:
            if self._users is None:
                self._users = {}
            self._users[username] = dict(claims)

    def user(self, username: str) -> SignedInUser | None:
        """The user who signs in as ``username``; with no users configured, anyone may."""
        if not username:
            return None
        with self._lock:
            if self._users is None:
                claims: dict[str, Any] = {}
            elif username in self._users:
                claims = self._users[username]
            else:
                return None
        return SignedInUser(username, claims, int(time.time()))

    def _approving_user(self, params: Mapping[str, str]) -> SignedInUser | None:
        hint = params.get("login_hint")
        if hint:
            return self.user(hint)
        with self._lock:
            first = next(iter(self._users), None) if self._users else None
        return self.user(first or self._default_username)

    @property
    def store(self) -> TokenStore:
        return self.core.store

    def _introspect(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.json(
                {"error": "invalid_request", "error_description": "Method not allowed"},
                status=405,
                headers={"Allow": "POST"},
            )
        response = self.core.introspection_response(request)
        return Response(response.status, response.body, {**response.headers, **_NO_STORE})

    # -- discovery ----------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery entries of these endpoints (RFC 8414 and OpenID Connect Discovery)."""
        base = self.server.url
        confidential = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        metadata: dict[str, Any] = {
            "authorization_endpoint": base + self.paths.authorization,
            "token_endpoint": base + self.paths.token,
            "revocation_endpoint": base + self.paths.revocation,
            "userinfo_endpoint": base + self.paths.userinfo,
            "end_session_endpoint": base + self.paths.end_session,
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [*confidential, "none"],
            "token_endpoint_auth_signing_alg_values_supported": sorted(ALGORITHMS),
            "revocation_endpoint_auth_methods_supported": [*confidential, "none"],
            "response_modes_supported": ["query"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "email"],
        }
        if self.paths.introspection is not None:
            metadata["introspection_endpoint"] = base + self.paths.introspection
            metadata["introspection_endpoint_auth_methods_supported"] = confidential
        return metadata

    # -- the authorization endpoint -----------------------------------------------------------------

    @property
    def _session_cookie(self) -> str:
        # Browsers share cookies between ports of one host: name the cookie after this port.
        return f"local_issuer_session_{self.server.port}"

    def _session_user(self, request: Request) -> SignedInUser | None:
        sid = _cookie(request, self._session_cookie)
        with self._lock:
            username = self._sessions.get(sid) if sid else None
        return self.user(username) if username else None

    def _open_session(self, user: SignedInUser) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[sid] = user.username
        return f"{self._session_cookie}={sid}; Path=/; HttpOnly; SameSite=Lax"

    def _authorize(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response.text("method not allowed", status=405, headers={"Allow": "GET, POST"})
        oauth_request = LoopbackOAuth2Request(request, self.server.url)
        try:
            grant = self.core.consent_grant(oauth_request)
        except OAuth2Error as refused:
            # Redirected to the client when it and its redirect URI are known, else shown here.
            refusal: Response = self.core.handle_error_response(oauth_request, refused)
            return refusal
        params = _params(request)
        submitted = request.method == "POST" and "username" in params
        set_cookie: str | None = None
        error = ""
        user: SignedInUser | None = None
        if submitted:
            user = self.user(params["username"].strip())
            if user is None:
                error = "That user does not exist here."
            else:
                set_cookie = self._open_session(user)
        elif params.get("prompt") != "login":
            user = self._session_user(request)
            if user is None and self.auto_approve:
                user = self._approving_user(params)
        if user is None and params.get("prompt") == "none":
            user_error = OAuth2Error(error="login_required", redirect_uri=grant.redirect_uri)
            user_error.state = params.get("state")
            login_required: Response = self.core.handle_error_response(oauth_request, user_error)
            return login_required
        if user is None:
            return self._page(request, params, error)
        response = self.core.authorization_response(oauth_request, grant, user)
        headers = dict(response.headers)
        if set_cookie:
            headers["Set-Cookie"] = set_cookie
        return Response(response.status, response.body, {**headers, **_NO_STORE})

    def _page(self, request: Request, params: Mapping[str, str], error: str) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
            if name != "username"
        )
        with self._lock:
            names = list(self._users or ())
        users = ""
        if names:
            users = "<p>Users: " + ", ".join(f"<code>{html.escape(name)}</code>" for name in names) + "</p>"
        page = _PAGE.format(
            issuer=html.escape(self.server.url),
            action=html.escape(request.path),
            hidden=hidden,
            username=html.escape(params.get("username") or params.get("login_hint") or ""),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            users=users,
        )
        status = 401 if error else 200
        return Response.text(
            page, status=status, content_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
        )

    # -- userinfo -----------------------------------------------------------------------------------

    def _userinfo(self, request: Request) -> Response:
        def refuse(status: int, error: str, description: str) -> Response:
            challenge = f'Bearer error="{error}", error_description="{description}"'
            return Response.json(
                {"error": error, "error_description": description},
                status=status,
                headers={"WWW-Authenticate": challenge},
            )

        try:
            token = parse_authorization(request.headers.get("authorization", ""))
        except BearerRequestError:
            return refuse(400, "invalid_request", "The Authorization header is malformed")
        if token is None:
            return Response.json(
                {"error": "invalid_token", "error_description": "No access token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        record = self.store.by_access_token(token)
        if record is None or record.is_revoked() or record.is_expired():
            return refuse(401, "invalid_token", "The access token is not active")
        if record.user is None or "openid" not in record.scope.split():
            return refuse(403, "insufficient_scope", "The access token was not issued for userinfo")
        claims = dict(self._tokens.userinfo_for(record.user))
        return Response.json(claims, headers=_NO_STORE)

    # -- end session --------------------------------------------------------------------------------

    def _end_session(self, request: Request) -> Response:
        """OpenID RP-initiated logout (``post_logout_redirect_uri``) and Cognito's ``logout_uri``."""
        if request.method not in ("GET", "POST"):
            return Response.text("method not allowed", status=405, headers={"Allow": "GET, POST"})
        params = _params(request)
        sid = _cookie(request, self._session_cookie)
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)
        headers = {
            "Set-Cookie": f"{self._session_cookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
            **_NO_STORE,
        }
        target = params.get("post_logout_redirect_uri") or params.get("logout_uri")
        if not target:
            return Response.text(_SIGNED_OUT, content_type="text/html; charset=utf-8", headers=headers)
        client_id = params.get("client_id") or _unverified_audience(params.get("id_token_hint", ""))
        client = self.client(client_id) if client_id else None
        if client is None or not client.check_redirect_uri(target):
            return Response.text(
                "the logout redirect is not registered for this client", status=400, headers=_NO_STORE
            )
        if params.get("state"):
            target = _with_query(target, {"state": params["state"]})
        return Response(302, b"", {"Location": target, **headers})
