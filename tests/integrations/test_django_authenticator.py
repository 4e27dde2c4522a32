"""Django and DRF: an ``AUTHENTICATOR`` from the settings, through Django's ``Client`` and ``AsyncClient``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.authenticators import SHARED_API_KEYS, UNAVAILABLE_KEY, ApiKeys, api_key
from tests.integrations.support import setup_django

setup_django()

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402

from jwt_middleware import BearerAuthenticator  # noqa: E402
from jwt_middleware.integrations.django import (  # noqa: E402
    DjangoRequestView,
    get_authenticator,
    get_verifier,
    jwt_settings,
)
from jwt_middleware.testing import LocalIssuer  # noqa: E402

REALM = "orders"


def keyed(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "AUTHENTICATOR": "tests.authenticators.SHARED_API_KEYS",
        "REALM": REALM,
        "EXCLUDE_PATHS": ["/public"],
        "EXCLUDE_PREFIXES": ["/api"],
    }
    settings.update(overrides)
    return settings


@pytest.fixture(autouse=True)
def fresh_keys() -> Iterator[None]:
    SHARED_API_KEYS.seen.clear()
    yield
    SHARED_API_KEYS.seen.clear()


@pytest.fixture
def site() -> Iterator[None]:
    with override_settings(JWT_MIDDLEWARE=keyed()):
        yield


def _json(response: Any) -> Any:
    return json.loads(response.content)


# -- the middleware and the decorators -------------------------------------------------------------


@pytest.mark.usefixtures("site")
def test_allowed_refused_and_missing_under_wsgi() -> None:
    client = Client()
    allowed = client.get("/me", headers=api_key())
    assert _json(allowed) == {"sub": "alice", "scopes": ["orders:read"], "username": "alice"}
    refused = client.get("/me", headers=api_key("key-mallory"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}", error="invalid_token", error_description="The API key is not accepted"'
    )
    missing = client.get("/me")
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, f'Bearer realm="{REALM}"')
    unavailable = client.get("/me", headers=api_key(UNAVAILABLE_KEY))
    assert (unavailable.status_code, unavailable["Retry-After"]) == (503, "7")
    assert client.get("/orders", headers=api_key()).status_code == 200  # alice has orders:read
    assert client.get("/audit", headers=api_key()).status_code == 200  # and is in admins


def test_optional_mode_admits_requests_without_credentials() -> None:
    with override_settings(JWT_MIDDLEWARE=keyed(OPTIONAL=True)):
        client = Client()
        assert _json(client.get("/hello")) == {"message": "hello, anonymous"}
        assert _json(client.get("/hello", headers=api_key())) == {"message": "hello, alice"}
        assert client.get("/hello", headers=api_key("key-mallory")).status_code == 401
        assert client.get("/me").status_code == 401  # the decorator still requires credentials


@pytest.mark.usefixtures("site")
def test_excluded_paths_never_reach_the_authenticator() -> None:
    assert Client().get("/public", headers=api_key("key-mallory")).status_code == 200
    assert SHARED_API_KEYS.calls == 0


@pytest.mark.anyio
@pytest.mark.usefixtures("site")
async def test_the_async_path_awaits_the_authenticator() -> None:
    client = AsyncClient()
    allowed = await client.get("/me/async", headers=api_key())
    assert _json(allowed) == {"sub": "alice", "username": "alice"}
    refused = await client.get("/me/async", headers=api_key("key-mallory"))
    assert refused.status_code == 401
    assert (await client.get("/me/async")).status_code == 401
    # The middleware itself refuses, before a view without a decorator runs.
    missing = await client.get("/hello")
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, f'Bearer realm="{REALM}"')


# -- the request view ------------------------------------------------------------------------------


@pytest.mark.usefixtures("site")
def test_the_request_view_under_wsgi() -> None:
    client = Client()
    client.cookies["theme"] = "dark"
    with override_settings(ALLOWED_HOSTS=["api.example.com"]):
        client.post("/me?x=1&x=2", headers=api_key(), HTTP_HOST="api.example.com")
    view = SHARED_API_KEYS.seen[-1]
    assert isinstance(view, DjangoRequestView)
    assert (view.method, view.path, view.url) == ("POST", "/me", "http://api.example.com/me?x=1&x=2")
    assert (view.query("x"), view.cookie("theme"), view.header("X-API-Key")) == (
        ["1", "2"],
        "dark",
        ["key-alice"],
    )
    assert view.raw["REQUEST_METHOD"] == "POST"  # the WSGI environ


@pytest.mark.anyio
@pytest.mark.usefixtures("site")
async def test_the_request_view_under_asgi() -> None:
    client = AsyncClient()
    client.cookies["theme"] = "dark"
    await client.get("/me/async?x=1&x=2", headers=api_key())
    view = SHARED_API_KEYS.seen[-1]
    assert (view.method, view.path, view.url) == ("GET", "/me/async", "http://testserver/me/async?x=1&x=2")
    assert (view.query("x"), view.cookie("theme")) == (["1", "2"], "dark")
    assert view.raw["type"] == "http"  # the ASGI scope


# -- DRF -------------------------------------------------------------------------------------------


def test_drf_authenticates_and_challenges_with_the_authenticator() -> None:
    with override_settings(JWT_MIDDLEWARE=keyed(AUTHENTICATOR="tests.authenticators.ChallengingApiKeys")):
        client = Client()
        assert _json(client.get("/api/me", headers=api_key())) == {"sub": "alice", "username": "alice"}
        assert _json(client.get("/api/orders", headers=api_key()))["owner"] == "alice"
        refused = client.get("/api/me", headers=api_key("key-mallory"))
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith(
            f'ApiKey realm="{REALM}", Bearer realm="{REALM}"'
        )
        assert _json(refused) == {"detail": "The API key is not accepted"}
        missing = client.get("/api/me")
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == f'ApiKey realm="{REALM}", Bearer realm="{REALM}"'


# -- settings --------------------------------------------------------------------------------------


def test_an_authenticator_may_be_an_instance_a_factory_or_a_dotted_path() -> None:
    for value in (
        "tests.authenticators.SHARED_API_KEYS",
        "tests.authenticators.ApiKeys",
        ApiKeys,
        SHARED_API_KEYS,
    ):
        with override_settings(JWT_MIDDLEWARE=keyed(AUTHENTICATOR=value)):
            assert isinstance(get_authenticator(), ApiKeys)
            assert Client().get("/me", headers=api_key()).status_code == 200
            with pytest.raises(ImproperlyConfigured, match="no single verifier"):
                get_verifier()


def test_a_bearer_authenticator_from_the_settings_keeps_its_verifier(jwt_session_issuer: LocalIssuer) -> None:
    authenticator = BearerAuthenticator(jwt_session_issuer.verifier())
    with override_settings(JWT_MIDDLEWARE=keyed(AUTHENTICATOR=lambda: authenticator)):
        assert get_authenticator() is authenticator
        assert get_verifier() is authenticator.verifier
        token = jwt_session_issuer.mint(sub="bob")
        assert _json(Client().get("/me", headers={"Authorization": f"Bearer {token}"}))["sub"] == "bob"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ISSUER": "https://issuer.example"}, "exactly one of ISSUER, COGNITO, VERIFIER or AUTHENTICATOR"),
        ({"COOKIE": "at"}, "configure COOKIE on the AUTHENTICATOR"),
        ({"JWKS_URL": "https://issuer.example/jwks"}, "configure JWKS_URL on the AUTHENTICATOR"),
        ({"AUTHENTICATOR": "tests.authenticators.GOOD_KEY"}, "AUTHENTICATOR must name an Authenticator"),
        ({"AUTHENTICATOR": lambda: "not one"}, "AUTHENTICATOR must name an Authenticator"),
        ({"AUTHENTICATOR": "tests.authenticators.Missing"}, "cannot be imported"),
    ],
)
def test_authenticator_settings_are_validated(overrides: dict[str, Any], message: str) -> None:
    with override_settings(JWT_MIDDLEWARE=keyed(**overrides)), pytest.raises(ImproperlyConfigured) as raised:
        jwt_settings()
    assert message in str(raised.value)
