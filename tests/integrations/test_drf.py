"""Django REST framework: ``JWTAuthentication`` and ``HasScopes``/``HasGroups`` on the reference API.

The reference settings exclude ``/api`` from the Django middleware, so these requests are
authenticated by DRF itself and answered by DRF's own exception handling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.support import AUDIENCE, bearer, challenge, setup_django

setup_django()

from django.test import Client, override_settings  # noqa: E402
from rest_framework import exceptions  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from jwt_middleware import Claims, ConfigurationError  # noqa: E402
from jwt_middleware.integrations import drf  # noqa: E402
from jwt_middleware.integrations.django import JWTUser, get_verifier  # noqa: E402
from jwt_middleware.integrations.drf import HasGroups, HasScopes, JWTAuthentication  # noqa: E402
from jwt_middleware.testing import Fault, LocalIssuer  # noqa: E402

REALM = "orders"


def _settings(issuer: LocalIssuer, **extra: Any) -> dict[str, Any]:
    return {
        "ISSUER": issuer.issuer,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": issuer.jwks_url,
        "REALM": REALM,
        "EXCLUDE_PATHS": ["/public"],
        "EXCLUDE_PREFIXES": ["/api"],
        **extra,
    }


@pytest.fixture
def api(jwt_session_issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    with override_settings(JWT_MIDDLEWARE=_settings(jwt_session_issuer)):
        yield jwt_session_issuer


def _alice(issuer: LocalIssuer, scope: str = "orders:read", **claims: Any) -> dict[str, str]:
    return bearer(issuer.mint({"sub": "alice", "scope": scope}, **claims))


def _json(response: Any) -> Any:
    return json.loads(response.content)


def test_valid_token_sets_user_and_auth(api: LocalIssuer) -> None:
    response = Client().get("/api/me", headers=_alice(api, username="alice.l"))
    assert response.status_code == 200
    assert _json(response) == {"sub": "alice", "username": "alice.l"}


def test_no_token_is_drf_401_with_a_bare_challenge(api: LocalIssuer) -> None:
    response = Client().get("/api/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM)
    assert _json(response) == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(
    ("make", "description"),
    [
        (lambda issuer: issuer.mint_expired(), "The token has expired"),
        (lambda issuer: issuer.mint_bad_signature(), "The token's signature is invalid"),
        (lambda issuer: issuer.mint(aud="someone-else"), "The token's audience is not accepted"),
    ],
)
def test_bad_token_is_drf_401_naming_the_failure(api: LocalIssuer, make: Any, description: str) -> None:
    response = Client().get("/api/me", headers=bearer(make(api)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM, "invalid_token", description)
    assert _json(response) == {"detail": description}


def test_malformed_header_is_400_invalid_request(api: LocalIssuer) -> None:
    response = Client().get("/api/me", headers={"Authorization": "Bearer"})
    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"] == challenge(
        REALM, "invalid_request", "The bearer token is missing"
    )
    assert _json(response) == {"detail": "The bearer token is missing"}


def test_missing_scope_is_403_insufficient_scope(api: LocalIssuer) -> None:
    response = Client().get("/api/orders", headers=_alice(api, scope="profile"))
    assert response.status_code == 403
    description = "The token lacks the required scope"
    assert response.headers["WWW-Authenticate"] == challenge(
        REALM, "insufficient_scope", description, scope="orders:read"
    )
    assert _json(response) == {"detail": description}


def test_scoped_view_serves_a_token_with_the_scope(api: LocalIssuer) -> None:
    response = Client().get("/api/orders", headers=_alice(api))
    assert response.status_code == 200
    assert _json(response)["owner"] == "alice"


def test_anonymous_request_to_a_scoped_view_is_401_not_403(api: LocalIssuer) -> None:
    response = Client().get("/api/orders")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM)


def test_keys_unavailable_is_503_with_retry_after(jwt_issuer: LocalIssuer) -> None:
    jwt_issuer.server.set_fault(jwt_issuer.jwks_path, Fault.status(500))
    with override_settings(JWT_MIDDLEWARE=_settings(jwt_issuer)):
        response = Client().get("/api/me", headers=bearer(jwt_issuer.mint()))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response.headers
    assert _json(response) == {"detail": "The signing keys are temporarily unavailable"}


def test_the_503_exception_keeps_its_former_name() -> None:
    assert drf.KeysUnavailable is drf.TemporarilyUnavailable
    assert issubclass(drf.TemporarilyUnavailable, exceptions.APIException)
    assert drf.TemporarilyUnavailable.status_code == 503


def test_claims_verified_by_the_middleware_are_reused(
    jwt_session_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(jwt_session_issuer)
    del settings["EXCLUDE_PREFIXES"]
    with override_settings(JWT_MIDDLEWARE=settings):
        verifier = get_verifier()
        calls = []
        verify_sync = verifier.verify_sync

        def counting(token: str) -> Claims:
            calls.append(token)
            return verify_sync(token)

        monkeypatch.setattr(verifier, "verify_sync", counting)
        response = Client().get("/api/orders", headers=_alice(jwt_session_issuer))
        assert response.status_code == 200
        assert len(calls) == 1


def test_keys_are_fetched_once_across_many_requests(jwt_issuer: LocalIssuer) -> None:
    with override_settings(JWT_MIDDLEWARE=_settings(jwt_issuer)):
        client = Client()
        for number in range(10):
            headers = bearer(jwt_issuer.mint(sub=f"user-{number}", scope="orders:read"))
            assert client.get("/api/orders", headers=headers).status_code == 200
    assert jwt_issuer.jwks_requests == 1


# -- the permission classes on their own views -----------------------------------------------------


class _ClaimsView(APIView):  # type: ignore[misc]
    authentication_classes = [JWTAuthentication]

    def get(self, request: Request) -> Response:
        assert isinstance(request.auth, Claims)
        assert isinstance(request.user, JWTUser)
        return Response({"sub": request.auth.subject})


class AnyScopeView(_ClaimsView):
    permission_classes = [HasScopes.require("orders:read", "orders:admin", any_of=True)]


class GroupsView(_ClaimsView):
    permission_classes = [HasGroups]
    required_groups = ["admins", "auditors"]
    any_group = True


class ComposedView(_ClaimsView):
    permission_classes = [HasScopes.require("orders:read") & HasGroups.require("admins")]


@pytest.mark.parametrize(
    ("view", "claims", "status"),
    [
        (AnyScopeView, {"scope": "orders:admin"}, 200),
        (AnyScopeView, {"scope": "profile"}, 403),
        (GroupsView, {"groups": ["auditors"]}, 200),
        (GroupsView, {"groups": ["staff"]}, 403),
        (ComposedView, {"scope": "orders:read", "groups": ["admins"]}, 200),
        (ComposedView, {"scope": "orders:read"}, 403),
    ],
)
def test_permission_classes(api: LocalIssuer, view: Any, claims: dict[str, Any], status: int) -> None:
    request = APIRequestFactory().get(
        "/x", HTTP_AUTHORIZATION=f"Bearer {api.mint({'sub': 'alice', **claims})}"
    )
    response = view.as_view()(request)
    assert response.status_code == status
    if status == 403:
        assert response["WWW-Authenticate"].startswith(f'Bearer realm="{REALM}", error="insufficient_scope"')


def test_permission_without_a_declaration_fails_loudly(api: LocalIssuer) -> None:
    class Undeclared(_ClaimsView):
        permission_classes = [HasScopes]

    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {api.mint()}")
    with pytest.raises(ConfigurationError, match="required_scopes"):
        Undeclared.as_view()(request)
