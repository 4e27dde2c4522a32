"""Django: the reference project through Django's ``Client`` (WSGI) and ``AsyncClient`` (ASGI).

Every test points ``JWT_MIDDLEWARE`` at a real local issuer with ``override_settings``, the way a
project's own tests would, and drives the real middleware, decorators and views.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.support import AUDIENCE, bearer, challenge, setup_django

setup_django()

from asgiref.sync import async_to_sync  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402

from jwt_middleware import Claims, JWTVerifier  # noqa: E402
from jwt_middleware.errors import JWTMiddlewareError  # noqa: E402
from jwt_middleware.integrations.django import (  # noqa: E402
    JWTRequiredMixin,
    JWTUser,
    get_verifier,
    jwt_settings,
)
from jwt_middleware.testing import Fault, LocalIssuer  # noqa: E402

REALM = "orders"
REQUIRED = {"error_description": "Authentication is required"}
MISSING_SCOPE = "The token lacks the required scope"

#: Set by tests that configure ``VERIFIER`` as a dotted path to this module.
SHARED_VERIFIER: JWTVerifier | None = None


def make_verifier() -> JWTVerifier:
    assert SHARED_VERIFIER is not None
    return SHARED_VERIFIER


def teapot(request: HttpRequest, error: JWTMiddlewareError) -> HttpResponse:
    """An ERROR_HANDLER: answers in its own shape, keeping the status."""
    return JsonResponse({"failure": error.error or "missing"}, status=error.status_code)


def site_settings(issuer: LocalIssuer, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "ISSUER": issuer.issuer,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": issuer.jwks_url,
        "REALM": REALM,
        "EXCLUDE_PATHS": ["/public"],
        "EXCLUDE_PREFIXES": ["/api"],
    }
    for name, value in overrides.items():
        if value is None:
            settings.pop(name, None)
        else:
            settings[name] = value
    return settings


@pytest.fixture
def site(jwt_session_issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    with override_settings(JWT_MIDDLEWARE=site_settings(jwt_session_issuer)):
        yield jwt_session_issuer


@pytest.fixture
def fresh_site(jwt_issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    """A site with its own issuer, for tests that count requests or break the issuer."""
    with override_settings(JWT_MIDDLEWARE=site_settings(jwt_issuer)):
        yield jwt_issuer


@pytest.fixture(scope="module")
def database() -> None:
    call_command("migrate", verbosity=0)


def _alice(issuer: LocalIssuer, scope: str = "orders:read", **claims: Any) -> dict[str, str]:
    return bearer(issuer.mint({"sub": "alice", "scope": scope}, **claims))


def _json(response: Any) -> Any:
    return json.loads(response.content)


# -- the middleware, sync (WSGI) ------------------------------------------------------------------


def test_valid_token_gives_the_view_its_claims_and_user(site: LocalIssuer) -> None:
    response = Client().get("/me", headers=_alice(site, scope="orders:read profile", username="alice.l"))
    assert response.status_code == 200
    assert _json(response) == {"sub": "alice", "scopes": ["orders:read", "profile"], "username": "alice.l"}


def test_missing_token_is_refused_by_the_middleware(site: LocalIssuer) -> None:
    response = Client().get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert _json(response) == REQUIRED


def test_bad_token_is_invalid_token(site: LocalIssuer) -> None:
    response = Client().get("/me", headers=bearer(site.mint_expired()))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM, "invalid_token", "The token has expired")
    assert _json(response) == {"error": "invalid_token", "error_description": "The token has expired"}


def test_two_authorization_schemes_in_one_header_are_invalid_request(site: LocalIssuer) -> None:
    response = Client().get("/me", headers={"Authorization": "Bearer a, Bearer b"})
    assert response.status_code == 400
    assert _json(response)["error"] == "invalid_request"


def test_excluded_path_is_public(site: LocalIssuer) -> None:
    response = Client().get("/public")
    assert response.status_code == 200
    assert _json(response) == {"message": "anyone may read this"}


def test_class_based_view_with_mixin(site: LocalIssuer) -> None:
    client = Client()
    assert client.get("/orders", headers=_alice(site)).status_code == 200
    denied = client.get("/orders", headers=_alice(site, scope="profile"))
    assert denied.status_code == 403
    assert denied.headers["WWW-Authenticate"] == challenge(
        REALM, "insufficient_scope", MISSING_SCOPE, scope="orders:read"
    )
    assert _json(denied) == {"error": "insufficient_scope", "error_description": MISSING_SCOPE}


def test_method_decorator_on_a_handler(site: LocalIssuer) -> None:
    client = Client()
    denied = client.post("/orders/new", headers=_alice(site))
    assert denied.status_code == 403
    assert 'scope="orders:write"' in denied.headers["WWW-Authenticate"]
    created = client.post("/orders/new", headers=_alice(site, scope="orders:write"))
    assert created.status_code == 201
    assert _json(created) == {"created": True, "by": "alice"}


def test_require_groups_any_of(site: LocalIssuer) -> None:
    client = Client()
    allowed = client.get("/audit", headers=_alice(site, groups=["auditors"]))
    assert allowed.status_code == 200
    assert _json(allowed) == {"groups": ["auditors"]}
    denied = client.get("/audit", headers=_alice(site, groups=["staff"]))
    assert denied.status_code == 403
    description = "The token lacks the required group membership"
    assert denied.headers["WWW-Authenticate"] == challenge(REALM, "insufficient_scope", description)


def test_sync_path_never_uses_the_async_verifier(site: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = get_verifier()

    async def forbidden(token: str) -> Claims:
        raise AssertionError("the WSGI path must verify with verify_sync")

    monkeypatch.setattr(verifier, "verify", forbidden)
    assert Client().get("/me", headers=_alice(site)).status_code == 200


# -- the middleware, async (ASGI) -----------------------------------------------------------------


@pytest.mark.anyio
async def test_async_views_through_the_async_client(
    site: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = get_verifier()

    def forbidden(token: str) -> Claims:
        raise AssertionError("the ASGI path must await verify")

    monkeypatch.setattr(verifier, "verify_sync", forbidden)
    client = AsyncClient()
    me = await client.get("/me/async", headers=_alice(site, username="alice.l"))
    assert me.status_code == 200
    assert _json(me) == {"sub": "alice", "username": "alice.l"}
    function_view = await client.get("/orders/async-fn", headers=_alice(site))
    assert function_view.status_code == 200
    assert _json(function_view)["owner"] == "alice"
    class_view = await client.get("/orders/async", headers=_alice(site))
    assert class_view.status_code == 200
    assert _json(class_view) == {"owner": "alice", "count": 2}
    sync_view = await client.get("/me", headers=_alice(site))
    assert sync_view.status_code == 200


@pytest.mark.anyio
async def test_async_refusals(site: LocalIssuer) -> None:
    client = AsyncClient()
    missing = await client.get("/me/async")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == challenge(REALM)
    assert _json(missing) == REQUIRED
    invalid = await client.get("/me/async", headers=bearer(site.mint_bad_signature()))
    assert invalid.status_code == 401
    assert invalid.headers["WWW-Authenticate"] == challenge(
        REALM, "invalid_token", "The token's signature is invalid"
    )
    for path in ("/orders/async", "/orders/async-fn"):
        denied = await client.get(path, headers=_alice(site, scope="profile"))
        assert denied.status_code == 403
        assert denied.headers["WWW-Authenticate"] == challenge(
            REALM, "insufficient_scope", MISSING_SCOPE, scope="orders:read"
        )


def test_middleware_marks_itself_async_for_an_async_chain() -> None:
    from asgiref.sync import iscoroutinefunction

    from jwt_middleware.integrations.django import JWTAuthenticationMiddleware

    async def downstream(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def downstream_sync(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert JWTAuthenticationMiddleware.sync_capable is True
    assert JWTAuthenticationMiddleware.async_capable is True
    assert iscoroutinefunction(JWTAuthenticationMiddleware(downstream))
    assert not iscoroutinefunction(JWTAuthenticationMiddleware(downstream_sync))


# -- optional mode and views without the middleware ------------------------------------------------


def test_optional_mode_lets_the_decorators_decide(jwt_session_issuer: LocalIssuer) -> None:
    issuer = jwt_session_issuer
    with override_settings(JWT_MIDDLEWARE=site_settings(issuer, OPTIONAL=True)):
        client = Client()
        assert _json(client.get("/hello")) == {"message": "hello, anonymous"}
        assert _json(client.get("/hello", headers=_alice(issuer))) == {"message": "hello, alice"}
        # The mixin and the decorators refuse anonymous callers themselves.
        for path in ("/orders", "/me"):
            refused = client.get(path)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == challenge(REALM)
        # A bad token is still refused by the middleware.
        invalid = client.get("/hello", headers=bearer(issuer.mint_expired()))
        assert invalid.status_code == 401
        assert "invalid_token" in invalid.headers["WWW-Authenticate"]


@pytest.mark.anyio
async def test_optional_mode_async(jwt_session_issuer: LocalIssuer) -> None:
    with override_settings(JWT_MIDDLEWARE=site_settings(jwt_session_issuer, OPTIONAL=True)):
        client = AsyncClient()
        assert _json(await client.get("/hello")) == {"message": "hello, anonymous"}
        for path in ("/orders/async", "/orders/async-fn", "/me/async"):
            refused = await client.get(path)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == challenge(REALM)
        allowed = await client.get("/orders/async-fn", headers=_alice(jwt_session_issuer))
        assert allowed.status_code == 200


def test_decorators_verify_on_their_own_without_the_middleware(site: LocalIssuer) -> None:
    with override_settings(MIDDLEWARE=[]):
        client = Client()
        assert _json(client.get("/me", headers=_alice(site)))["sub"] == "alice"
        refused = client.get("/me")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == challenge(REALM)
        assert client.get("/orders", headers=_alice(site, scope="x")).status_code == 403
        assert client.get("/public").status_code == 200


@pytest.mark.anyio
async def test_async_decorators_verify_on_their_own_without_the_middleware(site: LocalIssuer) -> None:
    with override_settings(MIDDLEWARE=[]):
        client = AsyncClient()
        assert _json(await client.get("/me/async", headers=_alice(site)))["sub"] == "alice"
        assert (await client.get("/orders/async", headers=_alice(site, scope="x"))).status_code == 403
        refused = await client.get("/orders/async-fn")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == challenge(REALM)


# -- the verifier and its keys ---------------------------------------------------------------------


def test_keys_are_fetched_once_across_many_requests(fresh_site: LocalIssuer) -> None:
    client, async_get = Client(), async_to_sync(AsyncClient().get)
    for number in range(8):
        headers = bearer(fresh_site.mint(sub=f"user-{number}", scope="orders:read"))
        assert client.get("/me", headers=headers).status_code == 200
        assert Client().get("/orders", headers=headers).status_code == 200
        assert async_get("/me/async", headers=headers).status_code == 200
        assert async_get("/orders/async", headers=headers).status_code == 200
    assert fresh_site.jwks_requests == 1


def test_verifier_is_built_once_per_process_and_rebuilt_when_settings_change(site: LocalIssuer) -> None:
    first = get_verifier()
    Client().get("/me", headers=_alice(site))
    Client().get("/me", headers=_alice(site))
    assert get_verifier() is first
    with override_settings(JWT_MIDDLEWARE=site_settings(site, REALM="other")):
        assert get_verifier() is not first
        assert jwt_settings().realm == "other"


def test_keys_unavailable_is_503_with_retry_after(fresh_site: LocalIssuer) -> None:
    fresh_site.server.set_fault(fresh_site.jwks_path, Fault.status(500))
    response = Client().get("/me", headers=bearer(fresh_site.mint()))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response.headers
    assert _json(response) == {
        "error": "temporarily_unavailable",
        "error_description": "The signing keys are temporarily unavailable",
    }


def test_verifier_from_a_dotted_path(jwt_session_issuer: LocalIssuer) -> None:
    global SHARED_VERIFIER
    SHARED_VERIFIER = jwt_session_issuer.verifier()
    try:
        for target in (f"{__name__}.SHARED_VERIFIER", f"{__name__}.make_verifier"):
            with override_settings(JWT_MIDDLEWARE={"VERIFIER": target, "REALM": REALM}):
                assert get_verifier() is SHARED_VERIFIER
                assert Client().get("/me", headers=_alice(jwt_session_issuer)).status_code == 200
    finally:
        SHARED_VERIFIER = None


def test_cognito_settings() -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_Orders1", client_id="orders-client") as pool:
        cognito = {
            "user_pool_id": "eu-west-1_Orders1",
            "client_id": "orders-client",
            "token_use": "access",
            "jwks_url": pool.jwks_url,
        }
        with override_settings(JWT_MIDDLEWARE={"COGNITO": cognito, "REALM": REALM}):
            token = pool.mint_access_token(username="carol", scopes=["orders:read"])
            response = Client().get("/orders", headers=bearer(token))
            assert response.status_code == 200
            assert _json(response)["owner"] == pool.subject_for("carol")
            refused = Client().get("/orders", headers=bearer(pool.mint_id_token(username="carol")))
            assert refused.status_code == 401


def test_error_handler_setting(site: LocalIssuer) -> None:
    with override_settings(JWT_MIDDLEWARE=site_settings(site, ERROR_HANDLER=f"{__name__}.teapot")):
        response = Client().get("/me", headers=bearer("not-a-jwt"))
        assert response.status_code == 401
        assert _json(response) == {"failure": "invalid_token"}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"AUDIENCE": "x"}, "give exactly one of ISSUER, COGNITO, VERIFIER or AUTHENTICATOR"),
        ({"ISSUER": "https://idp.example"}, "AUDIENCE is required with ISSUER"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "ISUER": 1}, "did you mean 'ISSUER'?"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "COGNITO": {}}, "(got ISSUER, COGNITO)"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "EXCLUDE_PATHS": "/health"}, "list of strings"),
        (
            {"ISSUER": "https://idp.example", "AUDIENCE": "x", "OPTIONAL": "yes"},
            "OPTIONAL must be True or False",
        ),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "LEEWAY": -1}, "LEEWAY must be a number"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "ALGORITHMS": ["HS256"]}, "HS256"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "REALM": 'a"b'}, "realm must be printable"),
        ({"ISSUER": "https://idp.example", "AUDIENCE": "x", "USER_MODEL_LOOKUP": "nickname"}, "not a field"),
        ({"VERIFIER": "no.such.module.verifier"}, "cannot be imported"),
        ({"VERIFIER": f"{__name__}.REQUIRED"}, "must name a JWTVerifier"),
        ({"VERIFIER": f"{__name__}.make_verifier", "LEEWAY": 5}, "configure LEEWAY on the VERIFIER itself"),
        ({"COGNITO": {"user_pool_id": "us-east-1_Pool"}}, "needs client_id and token_use"),
        ("not a dict", "must be a dict"),
    ],
)
def test_settings_are_validated_with_clear_errors(setting: Any, message: str) -> None:
    with override_settings(JWT_MIDDLEWARE=setting), pytest.raises(ImproperlyConfigured) as raised:
        jwt_settings()
    assert message in str(raised.value)
    assert str(raised.value).startswith("settings.JWT_MIDDLEWARE")


def test_missing_setting_is_reported() -> None:
    with (
        override_settings(JWT_MIDDLEWARE=None),
        pytest.raises(ImproperlyConfigured, match="JWT_MIDDLEWARE is missing"),
    ):
        jwt_settings()


def test_mixin_requirements_are_validated_when_the_class_is_defined() -> None:
    from jwt_middleware.errors import ConfigurationError

    with pytest.raises(ConfigurationError):

        class Broken(JWTRequiredMixin):
            required_scopes = "orders:read"


# -- users -----------------------------------------------------------------------------------------


def test_default_user_lives_in_the_token(site: LocalIssuer) -> None:
    claims = Claims({"iss": site.issuer, "sub": "alice", "scope": "a b", "groups": ["staff"]})
    user = JWTUser(claims)
    assert user.is_authenticated is True
    assert user.is_anonymous is False
    assert user.is_staff is False
    assert user.pk == user.id == f"{site.issuer}#alice"
    assert user.get_username() == "alice"
    assert user.has_perm("auth.view_user") is False
    assert user.get_all_permissions() == set()
    assert list(user.groups.all()) == []
    assert user.token_groups == frozenset({"staff"})
    assert user == JWTUser(Claims(dict(claims)))
    with pytest.raises(NotImplementedError):
        user.save()


def test_tokens_map_to_database_users(site: LocalIssuer, database: None) -> None:
    user_model = get_user_model()
    lookup = site_settings(site, USER_MODEL_LOOKUP="username")
    with override_settings(JWT_MIDDLEWARE=lookup):
        response = Client().get("/me", headers=_alice(site, sub="dora"))
        assert response.status_code == 200
        assert _json(response)["username"] == "dora"
        assert user_model.objects.filter(username="dora").count() == 1
        # The async path finds the same row, and creates new ones, through the async ORM.
        async_get = async_to_sync(AsyncClient().get)
        response = async_get("/me/async", headers=_alice(site, sub="dora"))
        assert _json(response) == {"sub": "dora", "username": "dora"}
        response = async_get("/me/async", headers=_alice(site, sub="erin"))
        assert _json(response) == {"sub": "erin", "username": "erin"}
        assert user_model.objects.filter(username__in=["dora", "erin"]).count() == 2


def test_unknown_or_inactive_database_users_are_refused(site: LocalIssuer, database: None) -> None:
    user_model = get_user_model()
    user_model.objects.update_or_create(username="frank", defaults={"is_active": False})
    lookup = site_settings(site, USER_MODEL_LOOKUP="username", USER_MODEL_CREATE=False)
    with override_settings(JWT_MIDDLEWARE=lookup):
        unknown = Client().get("/me", headers=_alice(site, sub="nobody-here"))
        assert unknown.status_code == 401
        assert unknown.headers["WWW-Authenticate"] == challenge(
            REALM, "invalid_token", "The token's user is not known"
        )
        inactive = Client().get("/me", headers=_alice(site, sub="frank"))
        assert inactive.status_code == 401
        assert _json(inactive)["error_description"] == "The token's user is not active"
    assert not user_model.objects.filter(username="nobody-here").exists()


@pytest.mark.anyio
async def test_method_decorator_on_an_async_handler(site: LocalIssuer) -> None:
    from django.test import AsyncRequestFactory
    from django.utils.decorators import method_decorator
    from django.views import View

    from jwt_middleware.integrations.django import require_scopes

    @method_decorator(require_scopes("orders:write"), name="post")
    class AsyncWrite(View):  # type: ignore[misc]
        async def post(self, request: HttpRequest) -> JsonResponse:
            return JsonResponse({"by": request.jwt_claims.subject}, status=201)

    view = AsyncWrite.as_view()
    factory = AsyncRequestFactory()
    created = await view(factory.post("/x", headers=_alice(site, scope="orders:write")))
    assert created.status_code == 201
    assert _json(created) == {"by": "alice"}
    denied = await view(factory.post("/x", headers=_alice(site)))
    assert denied.status_code == 403
    assert denied.headers["WWW-Authenticate"] == challenge(
        REALM, "insufficient_scope", MISSING_SCOPE, scope="orders:write"
    )
