"""The ``Authenticator`` seam in the ASGI and WSGI middlewares, through the frameworks' test clients.

A custom authenticator (API keys) is allowed, refused, and finds no credentials with and without
optional mode; ``verifier=`` and ``authenticator=`` exclude each other; a ``BearerAuthenticator``
behaves exactly as ``verifier=`` does, fast path included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from werkzeug.test import Client

from jwt_middleware import (
    Authenticator,
    BearerAuthenticator,
    Claims,
    ConfigurationError,
    InvalidRequestError,
    JWTAuthMiddleware,
    JWTMiddlewareError,
    JWTUser,
    JWTVerifier,
    RequestView,
    WSGIJWTMiddleware,
    require_scopes,
)
from jwt_middleware.request_view import ASGIRequestView
from jwt_middleware.testing import LocalIssuer

from ..authenticators import GOOD_KEY, UNAVAILABLE_KEY, ApiKeys, ChallengingApiKeys, api_key
from .conftest import TokenFactory

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


async def me(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse(
        {
            "authenticated": user.is_authenticated,
            "sub": user.identity if isinstance(user, JWTUser) else None,
            "scopes": sorted(request.auth.scopes),
        }
    )


@require_scopes("orders:write")
async def write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("written")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.display_name)
    await websocket.close()


ROUTES = [Route("/me", me), Route("/health", me), Route("/write", write), WebSocketRoute("/ws", echo)]


def asgi(authenticator: Authenticator, **options: Any) -> TestClient:
    middleware = Middleware(
        JWTAuthMiddleware, authenticator=authenticator, exclude_paths=["/health"], **options
    )
    return TestClient(Starlette(routes=ROUTES, middleware=[middleware]))


def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    claims = environ["jwt_middleware.claims"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"sub": claims.subject if claims else None}).encode()]


def wsgi(authenticator: Authenticator, **options: Any) -> Client:
    return Client(
        WSGIJWTMiddleware(wsgi_app, authenticator=authenticator, exclude_paths=["/health"], **options)
    )


# -- a custom authenticator, ASGI -----------------------------------------------------------------


def test_asgi_allowed() -> None:
    keys = ApiKeys()
    response = asgi(keys).get("/me", headers=api_key())
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "sub": "alice",
        "scopes": ["authenticated", "orders:read"],
    }


def test_asgi_refused_with_a_library_error() -> None:
    response = asgi(ApiKeys()).get("/me", headers=api_key("key-mallory"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The API key is not accepted"'
    )
    assert response.json() == {"error": "invalid_token", "error_description": "The API key is not accepted"}


def test_asgi_server_side_refusal_is_a_503() -> None:
    response = asgi(ApiKeys()).get("/me", headers=api_key(UNAVAILABLE_KEY))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert "www-authenticate" not in response.headers


def test_asgi_no_credentials_is_a_bare_challenge_unless_optional() -> None:
    response = asgi(ApiKeys()).get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    anonymous = asgi(ApiKeys(), optional=True).get("/me")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"authenticated": False, "sub": None, "scopes": []}
    # Optional mode admits the anonymous, never the refused.
    assert asgi(ApiKeys(), optional=True).get("/me", headers=api_key("key-mallory")).status_code == 401


def test_asgi_excluded_paths_never_reach_the_authenticator() -> None:
    keys = ApiKeys()
    assert asgi(keys).get("/health", headers=api_key("key-mallory")).status_code == 200
    assert keys.calls == 0


def test_asgi_authenticator_sees_the_request() -> None:
    keys = ApiKeys()
    asgi(keys).post("/me?tag=a&tag=b", headers={**api_key(), "Cookie": "theme=dark"})
    (view,) = keys.seen
    assert isinstance(view, RequestView)
    assert (view.method, view.path, view.query("tag"), view.cookie("theme")) == (
        "POST",
        "/me",
        ["a", "b"],
        "dark",
    )
    assert view.url == "http://testserver/me?tag=a&tag=b"
    assert view.raw["type"] == "http"


def test_asgi_websockets_go_through_the_authenticator() -> None:
    client = asgi(ApiKeys())
    with client.websocket_connect("/ws", headers=api_key()) as websocket:
        assert websocket.receive_text() == "alice"
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers=api_key("key-mallory")):
        pass


def test_asgi_an_authenticator_shapes_every_challenge_guards_included() -> None:
    client = asgi(ChallengingApiKeys())
    refused = client.get("/me", headers=api_key("key-mallory"))
    assert refused.headers["www-authenticate"] == (
        'ApiKey realm="api", Bearer realm="api", error="invalid_token", '
        'error_description="The API key is not accepted"'
    )
    assert client.get("/me").headers["www-authenticate"] == 'ApiKey realm="api", Bearer realm="api"'
    forbidden = client.get("/write", headers=api_key())
    assert forbidden.status_code == 403
    assert forbidden.headers["www-authenticate"].startswith(
        'ApiKey realm="api", Bearer realm="api", error="insufficient_scope"'
    )
    # The default stays RFC 6750's alone.
    assert (
        asgi(ApiKeys())
        .get("/write", headers=api_key())
        .headers["www-authenticate"]
        .startswith('Bearer realm="api", error="insufficient_scope"')
    )


# -- a custom authenticator, WSGI -----------------------------------------------------------------


def test_wsgi_allowed_refused_and_anonymous() -> None:
    keys = ApiKeys()
    client = wsgi(keys)
    assert client.get("/me", headers=api_key()).json == {"sub": "alice"}
    refused = client.get("/me", headers=api_key("key-mallory"))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    missing = client.get("/me")
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, 'Bearer realm="api"')
    assert wsgi(ApiKeys(), optional=True).get("/me").json == {"sub": None}
    unavailable = client.get("/me", headers=api_key(UNAVAILABLE_KEY))
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "7")


def test_wsgi_exclusions_and_what_the_authenticator_sees() -> None:
    keys = ApiKeys()
    client = wsgi(keys)
    assert client.get("/health", headers=api_key("key-mallory")).status_code == 200
    assert keys.calls == 0
    client.set_cookie("theme", "dark")
    client.delete("/me?tag=a&tag=b", headers=api_key())
    (view,) = keys.seen
    assert (view.method, view.path, view.query("tag"), view.cookie("theme")) == (
        "DELETE",
        "/me",
        ["a", "b"],
        "dark",
    )
    assert view.url == "http://localhost/me?tag=a&tag=b"
    assert view.raw["REQUEST_METHOD"] == "DELETE"


def test_wsgi_an_authenticator_shapes_its_challenges() -> None:
    refused = wsgi(ChallengingApiKeys()).get("/me")
    assert refused.headers["WWW-Authenticate"] == 'ApiKey realm="api", Bearer realm="api"'


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("middleware", [JWTAuthMiddleware, WSGIJWTMiddleware])
def test_exactly_one_of_verifier_and_authenticator(middleware: Any, verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        middleware(wsgi_app)
    with pytest.raises(ConfigurationError, match="exactly one"):
        middleware(wsgi_app, verifier=verifier, authenticator=ApiKeys())
    with pytest.raises(ConfigurationError, match="exactly one"):
        middleware(wsgi_app, authenticator=ApiKeys(), verifier_for=lambda raw: verifier)
    with pytest.raises(ConfigurationError, match="BearerAuthenticator"):
        middleware(wsgi_app, authenticator=ApiKeys(), cookie="at")
    with pytest.raises(ConfigurationError, match="authenticate"):
        middleware(wsgi_app, authenticator=object())
    with pytest.raises(ConfigurationError, match="JWTVerifier"):
        middleware(wsgi_app, verifier=lambda request: verifier)


def test_bearer_authenticator_refuses_what_is_not_a_verifier() -> None:
    with pytest.raises(ConfigurationError):
        BearerAuthenticator("https://issuer.example")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        BearerAuthenticator(lambda request: None, header="x-token", cookie="at")


# -- BearerAuthenticator: what verifier= means ----------------------------------------------------


def test_a_bearer_authenticator_is_what_verifier_means(
    verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    token = make_token(sub="bob")
    for client in (
        asgi(BearerAuthenticator(verifier, query_parameter="access_token")),
        TestClient(
            JWTAuthMiddleware(Starlette(routes=ROUTES), verifier=verifier, query_parameter="access_token")
        ),
    ):
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["sub"] == "bob"
        assert client.get(f"/me?access_token={token}").json()["sub"] == "bob"
        both = client.get(f"/me?access_token={token}", headers={"Authorization": f"Bearer {token}"})
        assert both.status_code == 400
        assert client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_bearer_authenticator_chooses_a_verifier_per_request(
    verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    def tenant(request: RequestView) -> JWTVerifier | None:
        return verifier if request.header("host") == ["tenant-a.test"] else None

    client = asgi(BearerAuthenticator(tenant))
    headers = {"Authorization": f"Bearer {make_token()}"}
    assert client.get("/me", headers={**headers, "Host": "tenant-a.test"}).status_code == 200
    other = client.get("/me", headers={**headers, "Host": "tenant-b.test"})
    assert other.status_code == 401
    assert other.json()["error_description"] == "No token issuer is accepted for this request"


class CountingVerifier(JWTVerifier):
    """Counts the verifications that reach the verifier (a recalled request never does)."""

    calls = 0

    async def verify(self, token: str) -> Claims:
        self.calls += 1
        return await super().verify(token)

    def verify_sync(self, token: str) -> Claims:
        self.calls += 1
        return super().verify_sync(token)


class StricterBearer(BearerAuthenticator):
    """A subclass that checks more than the token: a middleware must never answer it from memory."""

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        if request.header("x-required") != ["yes"]:
            raise ConfigurationError("unreachable in these tests")
        return super().authenticate_sync(request)

    async def authenticate(self, request: RequestView) -> Claims | None:
        return self.authenticate_sync(request)


@pytest.fixture
def issuer() -> Iterable[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


def counting_verifier(issuer: LocalIssuer) -> CountingVerifier:
    return CountingVerifier(issuer=issuer.issuer, audience="api", jwks=issuer.jwks())


def test_repeated_authorization_values_are_recalled_with_verifier_or_bearer_authenticator(
    issuer: LocalIssuer,
) -> None:
    headers = {"Authorization": f"Bearer {issuer.mint(sub='alice')}"}
    for options in ("verifier", "authenticator"):
        verifier = counting_verifier(issuer)
        given: dict[str, Any] = (
            {"verifier": verifier}
            if options == "verifier"
            else {"authenticator": BearerAuthenticator(verifier)}
        )
        client = TestClient(JWTAuthMiddleware(Starlette(routes=ROUTES), **given))
        wsgi_client = Client(WSGIJWTMiddleware(wsgi_app, **given))
        for _ in range(5):
            assert client.get("/me", headers=headers).json()["sub"] == "alice"
            assert wsgi_client.get("/me", headers=headers).json == {"sub": "alice"}
        # One full verification per middleware; the other eight requests were recalled.
        assert verifier.calls == 2, options


def test_a_subclass_of_bearer_authenticator_is_never_recalled(issuer: LocalIssuer) -> None:
    verifier = counting_verifier(issuer)
    client = Client(WSGIJWTMiddleware(wsgi_app, authenticator=StricterBearer(verifier)))
    headers = {"Authorization": f"Bearer {issuer.mint(sub='alice')}", "X-Required": "yes"}
    for _ in range(3):
        assert client.get("/me", headers=headers).json == {"sub": "alice"}
    assert verifier.calls == 3
    assert not StricterBearer(verifier).recallable
    assert BearerAuthenticator(verifier).recallable
    assert not BearerAuthenticator(verifier, cookie="at").recallable
    assert not BearerAuthenticator(lambda request: verifier).recallable


def test_the_lifespan_loads_the_bearer_authenticators_keys(issuer: LocalIssuer) -> None:
    app = JWTAuthMiddleware(
        Starlette(routes=ROUTES),
        authenticator=BearerAuthenticator(JWTVerifier(issuer=issuer.issuer, audience="api")),
    )
    with TestClient(app) as client:
        assert issuer.jwks_requests == 1  # at startup, before any request
        assert client.get("/me", headers={"Authorization": f"Bearer {issuer.mint()}"}).status_code == 200
    assert issuer.jwks_requests == 1


def test_a_custom_authenticators_verifiers_are_managed_when_listed(issuer: LocalIssuer) -> None:
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api")
    app = JWTAuthMiddleware(Starlette(routes=ROUTES), authenticator=ApiKeys(), verifiers=[verifier])
    with TestClient(app):
        assert issuer.jwks_requests == 1
    assert GOOD_KEY  # the authenticator itself needs no keys


# -- BearerAuthenticator: handed the Authorization values -----------------------------------------


def _view(*authorization: str) -> ASGIRequestView:
    headers = [(b"host", b"api.test"), *((b"authorization", value.encode()) for value in authorization)]
    return ASGIRequestView(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "path": "/me",
            "query_string": b"",
            "headers": headers,
            "server": ("api.test", 80),
        }
    )


async def _outcome(call: Any) -> tuple[str, str | None]:
    try:
        claims = await call
    except JWTMiddlewareError as error:
        return type(error).__name__, error.description
    return "claims", claims.subject if claims is not None else None


@pytest.mark.anyio
async def test_the_authorization_values_answer_as_the_view_does(
    verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    token = make_token(sub="bob")
    bearer = BearerAuthenticator(verifier)
    # Each with whether a view is needed: only for DPoP, several values or none.
    cases = [
        ((), True),
        ((f"Bearer {token}",), False),
        ((f"  bearer   {token}",), False),
        (("Basic dXNlcjpwYXNz",), False),
        ((f"Bearer {token}", f"Bearer {token}"), True),
        (("Bearer",), False),
        ((f"Bearer {token}x,y",), False),
        ((f"Basic x, Bearer {token}",), False),
        ((f"DPoP {token}",), True),  # no proof: a refusal read from the view
        ((f"DPoP x, Bearer {token}",), True),
        ((f"DPoPx {token}",), True),
    ]
    for authorization, needs_view in cases:
        view = _view(*authorization)
        built: list[RequestView] = []

        def build(view: RequestView = view, built: list[RequestView] = built) -> RequestView:
            built.append(view)
            return view

        expected = await _outcome(bearer.authenticate(view))
        handed = await _outcome(bearer.authenticate_authorization(view.header("authorization"), build))
        assert handed == expected, authorization
        assert bool(built) == needs_view, authorization
    assert await _outcome(bearer.authenticate(_view(f"Bearer {token}"))) == ("claims", "bob")


@pytest.mark.anyio
async def test_only_an_authenticator_reading_authorization_alone_is_handed_its_values(
    verifier: JWTVerifier,
) -> None:
    assert BearerAuthenticator(verifier).reads_authorization_only
    assert BearerAuthenticator(lambda request: verifier).reads_authorization_only
    for other in (
        BearerAuthenticator(verifier, cookie="at"),
        BearerAuthenticator(verifier, query_parameter="access_token"),
        BearerAuthenticator(verifier, header="x-token"),
    ):
        assert not other.reads_authorization_only
        with pytest.raises(ConfigurationError):
            await other.authenticate_authorization([], _view)


class HeaderGatedBearer(BearerAuthenticator):
    """A subclass with its own ``authenticate``: the ASGI middleware must ask it, not read around it."""

    async def authenticate(self, request: RequestView) -> Claims | None:
        if request.header("x-required") != ["yes"]:
            raise InvalidRequestError("The request lacks X-Required")
        return await super().authenticate(request)


def test_a_subclass_of_bearer_authenticator_authenticates_its_own_way(
    verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    client = asgi(HeaderGatedBearer(verifier))
    headers = {"Authorization": f"Bearer {make_token(sub='bob')}"}
    assert client.get("/me", headers=headers).status_code == 400
    assert client.get("/me", headers={**headers, "X-Required": "yes"}).json()["sub"] == "bob"
