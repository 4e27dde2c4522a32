"""JWTAuthMiddleware through Starlette's own TestClient: statuses, challenges, scope contents."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from jwt_middleware import (
    ConfigurationError,
    JWTAuthMiddleware,
    JWTMiddlewareError,
    JWTUser,
    JWTVerifier,
    KeysUnavailableError,
    require_groups,
    require_scopes,
)
from jwt_middleware.testing import SigningKey, encode_compact
from tests.integrations.support import DPOP_CHALLENGE

from .conftest import AUDIENCE, ISSUER, TokenFactory

pytestmark = pytest.mark.usefixtures("test_client_loop")


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, JWTUser) or not user.is_authenticated
    return JSONResponse(
        {
            "authenticated": user.is_authenticated,
            "identity": user.identity if user.is_authenticated else None,
            "auth_scopes": sorted(request.auth.scopes),
            "claims": request.scope["jwt_middleware.claims"],
        }
    )


@requires("orders:read")
async def starlette_guarded(request: Request) -> PlainTextResponse:
    return PlainTextResponse("starlette-requires-ok")


@require_scopes("orders:write")
async def needs_write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("write-ok")


@require_scopes("orders:write", "orders:read", any_of=True)
async def needs_read_or_write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("any-ok")


@require_scopes("orders:read", "profile")
def needs_both_sync(request: Request) -> PlainTextResponse:
    return PlainTextResponse("both-ok")


@require_groups("admins")
async def admins_only(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin-ok")


class Orders(HTTPEndpoint):
    @require_scopes("orders:read")
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("endpoint-ok")


async def echo_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": websocket.scope["jwt_middleware.claims"]["sub"]})
    await websocket.close()


def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


ROUTES = [
    Route("/me", whoami),
    Route("/starlette", starlette_guarded),
    Route("/write", needs_write),
    Route("/any", needs_read_or_write),
    Route("/both", needs_both_sync),
    Route("/admin", admins_only),
    Route("/orders", Orders),
    Route("/health", health),
    Route("/public/{rest:path}", health),
    WebSocketRoute("/ws", echo_socket),
]


def make_app(verifier: JWTVerifier, **options: Any) -> Starlette:
    return Starlette(routes=ROUTES, middleware=[Middleware(JWTAuthMiddleware, verifier=verifier, **options)])


@pytest.fixture
def client(verifier: JWTVerifier) -> TestClient:
    return TestClient(make_app(verifier, exclude_paths=["/health"], exclude_prefixes=["/public"]))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_challenge(response: Any, status: int, error: str | None, **attributes: str) -> None:
    assert response.status_code == status
    challenge = response.headers["www-authenticate"]
    if error is None:
        assert challenge == f'Bearer realm="api", {DPOP_CHALLENGE}'
    else:
        assert challenge.startswith(f'Bearer realm="api", error="{error}", error_description="')
    for name, value in attributes.items():
        assert f'{name}="{value}"' in challenge
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    if error is not None:
        assert body["error"] == error
    assert body["error_description"]


class TestSuccess:
    def test_valid_token_reaches_the_app_with_claims_user_and_scopes(
        self, client: TestClient, make_token: TokenFactory
    ) -> None:
        response = client.get("/me", headers=bearer(make_token(sub="alice")))
        assert response.status_code == 200
        body = response.json()
        assert body["authenticated"] is True
        assert body["identity"] == "alice"
        assert body["auth_scopes"] == ["authenticated", "orders:read", "profile"]
        assert body["claims"]["sub"] == "alice"
        assert body["claims"]["iss"] == ISSUER

    def test_starlette_requires_uses_the_token_scopes(
        self, client: TestClient, make_token: TokenFactory
    ) -> None:
        assert client.get("/starlette", headers=bearer(make_token())).text == "starlette-requires-ok"
        assert client.get("/starlette", headers=bearer(make_token(scope="profile"))).status_code == 403

    def test_excluded_exact_and_prefix_paths_skip_authentication(self, client: TestClient) -> None:
        assert client.get("/health").text == "ok"
        assert client.get("/public/docs/index").text == "ok"
        assert client.get("/me").status_code == 401

    def test_excluded_path_still_gets_an_anonymous_user(self, verifier: JWTVerifier) -> None:
        app = Starlette(
            routes=[Route("/open", whoami)],
            middleware=[Middleware(JWTAuthMiddleware, verifier=verifier, exclude_paths=["/open"])],
        )
        body = TestClient(app).get("/open").json()
        assert body == {"authenticated": False, "identity": None, "auth_scopes": [], "claims": None}


class TestFailures:
    def test_no_credentials_is_a_bare_401_challenge(self, client: TestClient) -> None:
        assert_challenge(client.get("/me"), 401, None)

    def test_another_scheme_is_a_bare_401_challenge(self, client: TestClient) -> None:
        assert_challenge(client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, None)

    @pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer a,b", 'Bearer "x"'])
    def test_malformed_header_is_400_invalid_request(self, client: TestClient, value: str) -> None:
        assert_challenge(client.get("/me", headers={"Authorization": value}), 400, "invalid_request")

    def test_two_authorization_headers_are_400(self, client: TestClient, make_token: TokenFactory) -> None:
        token = make_token()
        response = client.get(
            "/me", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
        )
        assert_challenge(response, 400, "invalid_request")

    @pytest.mark.parametrize(
        ("claims", "description"),
        [
            ({"exp": int(time.time()) - 10}, "The token has expired"),
            ({"iss": ISSUER + "/"}, "The token's issuer is not accepted"),
            ({"aud": "other-api"}, "The token's audience is not accepted"),
            ({"nbf": int(time.time()) + 3600}, "The token is not yet valid"),
        ],
    )
    def test_claim_failures_are_401_invalid_token_with_a_fixed_description(
        self, client: TestClient, make_token: TokenFactory, claims: dict[str, Any], description: str
    ) -> None:
        response = client.get("/me", headers=bearer(make_token(**claims)))
        assert_challenge(response, 401, "invalid_token", error_description=description)

    def test_bad_signature_is_401_invalid_token(self, client: TestClient, make_token: TokenFactory) -> None:
        header, payload, signature = make_token().split(".")
        forged = f"{header}.{payload}.{signature[::-1]}"
        assert_challenge(client.get("/me", headers=bearer(forged)), 401, "invalid_token")

    def test_token_from_an_unknown_key_is_401(self, client: TestClient) -> None:
        stranger = SigningKey.generate("ES256", kid="stranger")
        token = encode_compact({"iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60}, stranger)
        assert_challenge(client.get("/me", headers=bearer(token)), 401, "invalid_token")

    def test_description_never_echoes_the_token(self, client: TestClient, make_token: TokenFactory) -> None:
        token = make_token(sub="MARKER-1234", aud="MARKER-AUD")
        response = client.get("/me", headers=bearer(token))
        assert response.status_code == 401
        assert "MARKER" not in response.headers["www-authenticate"]
        assert "MARKER" not in response.text

    def test_insufficient_scope_is_403_naming_the_scope(
        self, client: TestClient, make_token: TokenFactory
    ) -> None:
        response = client.get("/write", headers=bearer(make_token()))
        assert_challenge(response, 403, "insufficient_scope", scope="orders:write")

    def test_any_of_and_all_of_scope_forms(self, client: TestClient, make_token: TokenFactory) -> None:
        assert client.get("/any", headers=bearer(make_token(scope="orders:read"))).text == "any-ok"
        assert client.get("/any", headers=bearer(make_token(scope="profile"))).status_code == 403
        assert client.get("/both", headers=bearer(make_token(scope="orders:read profile"))).text == "both-ok"
        response = client.get("/both", headers=bearer(make_token(scope="orders:read")))
        assert_challenge(response, 403, "insufficient_scope", scope="orders:read profile")

    def test_scope_substrings_do_not_match(self, client: TestClient, make_token: TokenFactory) -> None:
        assert (
            client.get("/write", headers=bearer(make_token(scope="orders:writer orders:wri"))).status_code
            == 403
        )

    def test_group_requirement(self, client: TestClient, make_token: TokenFactory) -> None:
        token = make_token(**{"cognito:groups": ["admins", "staff"]})
        assert client.get("/admin", headers=bearer(token)).text == "admin-ok"
        response = client.get("/admin", headers=bearer(make_token(**{"cognito:groups": ["staff"]})))
        assert_challenge(response, 403, "insufficient_scope")

    def test_guard_on_an_http_endpoint_method(self, client: TestClient, make_token: TokenFactory) -> None:
        assert client.get("/orders", headers=bearer(make_token())).text == "endpoint-ok"
        assert client.get("/orders", headers=bearer(make_token(scope="profile"))).status_code == 403


class TestOptionalMode:
    @pytest.fixture
    def client(self, verifier: JWTVerifier) -> TestClient:
        return TestClient(make_app(verifier, optional=True))

    def test_anonymous_requests_pass_without_claims(self, client: TestClient) -> None:
        body = client.get("/me").json()
        assert body["authenticated"] is False
        assert body["claims"] is None

    def test_valid_tokens_still_attach_claims(self, client: TestClient, make_token: TokenFactory) -> None:
        assert client.get("/me", headers=bearer(make_token(sub="bob"))).json()["identity"] == "bob"

    def test_invalid_tokens_are_still_rejected(self, client: TestClient, make_token: TokenFactory) -> None:
        assert client.get("/me", headers=bearer(make_token(exp=1))).status_code == 401
        assert client.get("/me", headers={"Authorization": "Bearer a b"}).status_code == 400

    def test_guards_answer_anonymous_requests_with_a_bare_challenge(self, client: TestClient) -> None:
        assert_challenge(client.get("/write"), 401, None)


class TestTokenLocations:
    def test_query_and_cookie_are_off_by_default(self, client: TestClient, make_token: TokenFactory) -> None:
        token = make_token()
        assert client.get(f"/me?access_token={token}").status_code == 401
        assert client.get("/me", headers={"Cookie": f"access_token={token}"}).status_code == 401

    def test_query_parameter_when_enabled(self, verifier: JWTVerifier, make_token: TokenFactory) -> None:
        client = TestClient(make_app(verifier, query_parameter="access_token"))
        token = make_token()
        assert client.get(f"/me?access_token={token}").status_code == 200
        assert client.get(f"/me?access_token={token}", headers=bearer(token)).status_code == 400

    def test_cookie_when_enabled(self, verifier: JWTVerifier, make_token: TokenFactory) -> None:
        client = TestClient(make_app(verifier, cookie="session_token"))
        token = make_token()
        assert client.get("/me", headers={"Cookie": f"session_token={token}"}).status_code == 200
        assert (
            client.get("/me", headers={"Cookie": f"session_token={token}", **bearer(token)}).status_code
            == 400
        )


class TestWebsockets:
    def test_valid_token_is_accepted(self, client: TestClient, make_token: TokenFactory) -> None:
        with client.websocket_connect("/ws", headers=bearer(make_token(sub="ws-user"))) as socket:
            assert socket.receive_json() == {"sub": "ws-user"}

    def test_denied_with_an_http_response_when_the_server_supports_it(self, client: TestClient) -> None:
        from starlette.testclient import WebSocketDenialResponse

        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
            pass
        assert denied.value.status_code == 401
        assert denied.value.headers["www-authenticate"] == f'Bearer realm="api", {DPOP_CHALLENGE}'

    @pytest.mark.anyio
    async def test_closed_with_1008_before_accept_without_the_denial_extension(
        self, verifier: JWTVerifier
    ) -> None:
        reached: list[Scope] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            reached.append(scope)

        middleware = JWTAuthMiddleware(app, verifier=verifier)
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "websocket.connect"}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b""}
        await middleware(scope, receive, send)
        assert reached == []
        assert sent == [{"type": "websocket.close", "code": 1008, "reason": "Authentication is required"}]

    def test_guarded_websocket_endpoint_closes_with_1008(
        self, verifier: JWTVerifier, make_token: TokenFactory
    ) -> None:
        @require_scopes("chat")
        async def chat(websocket: WebSocket) -> None:
            await websocket.accept()

        app = Starlette(
            routes=[WebSocketRoute("/chat", chat)],
            middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)],
        )
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            TestClient(app).websocket_connect("/chat", headers=bearer(make_token())),
        ):
            pass
        assert closed.value.code == 1008


class TestOptions:
    def test_error_hook_customises_the_response(self, verifier: JWTVerifier) -> None:
        def on_error(connection: HTTPConnection, error: JWTMiddlewareError) -> Response:
            return JSONResponse(
                {"detail": error.description, "path": connection.url.path}, status_code=error.status_code
            )

        client = TestClient(make_app(verifier, on_error=on_error))
        response = client.get("/me")
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication is required", "path": "/me"}

    def test_async_error_hook(self, verifier: JWTVerifier) -> None:
        async def on_error(connection: HTTPConnection, error: JWTMiddlewareError) -> Response:
            return PlainTextResponse("custom", status_code=418)

        assert TestClient(make_app(verifier, on_error=on_error)).get("/me").status_code == 418

    def test_verifier_per_request(self, verifier: JWTVerifier, make_token: TokenFactory) -> None:
        def choose(scope: Scope) -> JWTVerifier | None:
            host = dict(scope["headers"]).get(b"host", b"")
            return verifier if host == b"tenant-a.test" else None

        app = Starlette(routes=ROUTES, middleware=[Middleware(JWTAuthMiddleware, verifier_for=choose)])
        client = TestClient(app)
        token = make_token()
        assert client.get("/me", headers={**bearer(token), "Host": "tenant-a.test"}).status_code == 200
        response = client.get("/me", headers={**bearer(token), "Host": "tenant-b.test"})
        assert_challenge(response, 401, "invalid_token")

    def test_custom_realm(self, verifier: JWTVerifier) -> None:
        response = TestClient(make_app(verifier, realm="orders")).get("/me")
        assert response.headers["www-authenticate"] == f'Bearer realm="orders", {DPOP_CHALLENGE}'

    def test_exactly_one_verifier_source_is_required(self, verifier: JWTVerifier) -> None:
        with pytest.raises(ConfigurationError):
            JWTAuthMiddleware(health)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            JWTAuthMiddleware(health, verifier=verifier, verifier_for=lambda scope: verifier)  # type: ignore[arg-type]

    def test_guard_without_middleware_fails_closed(self) -> None:
        app = Starlette(routes=[Route("/write", needs_write)])
        with pytest.raises(RuntimeError, match="JWTAuthMiddleware"):
            TestClient(app).get("/write")


class _Unavailable:
    """A key source whose provider is down with nothing cached."""

    async def get_key(self, kid: str | None, algorithm: object) -> Any:
        raise KeysUnavailableError(retry_after=7)

    def get_key_sync(self, kid: str | None, algorithm: object) -> Any:
        raise KeysUnavailableError(retry_after=7)

    async def hydrate(self) -> None: ...
    def hydrate_sync(self) -> None: ...
    async def aclose(self) -> None: ...
    def close(self) -> None: ...


def test_keys_unavailable_is_503_with_retry_after(make_token: TokenFactory) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_cache=_Unavailable())
    response = TestClient(make_app(verifier)).get("/me", headers=bearer(make_token()))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert "www-authenticate" not in response.headers
    assert json.loads(response.text)["error"] == "temporarily_unavailable"
