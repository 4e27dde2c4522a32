"""URLs of the Django sign-in test: the sign-in routes under ``/auth/`` and two pages.

``SIGNIN`` is set by the test before Django resolves a URL (``urlpatterns`` is read lazily).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from jwt_middleware.signin import SignIn

SIGNIN: SignIn | None = None


def me(request: HttpRequest) -> JsonResponse:
    claims = request.jwt_claims  # type: ignore[attr-defined]
    return JsonResponse({"sub": claims.subject, "email": claims.get("email")})


def order(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"by": request.jwt_claims.subject}, status=201)  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        assert SIGNIN is not None, "set tests.signin.django_urls.SIGNIN first"
        return [path("auth/", include(SIGNIN.urls)), path("me", me), path("orders", order)]
    raise AttributeError(name)
