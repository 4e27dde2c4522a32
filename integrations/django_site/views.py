"""Views of the reference project, one per way Django code meets the adapter.

With the middleware in its default (non-optional) mode every view below ``/public`` and ``/api``
only runs with a valid token; the decorators and the mixin add scope and group requirements, and
keep the views safe in ``OPTIONAL`` mode too, where anonymous requests reach them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwt_middleware.integrations.django import (
    JWTRequiredMixin,
    jwt_required,
    require_groups,
    require_permissions,
    require_roles,
    require_scopes,
)
from jwt_middleware.integrations.drf import HasPermissions, HasRoles, HasScopes

ORDERS = [{"id": "1001", "item": "keyboard"}, {"id": "1002", "item": "monitor"}]


def public(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "anyone may read this"})


@jwt_required
def me(request: HttpRequest) -> JsonResponse:
    claims = request.jwt_claims
    return JsonResponse(
        {"sub": claims.subject, "scopes": sorted(claims.scopes), "username": request.user.get_username()}
    )


@jwt_required
async def me_async(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    claims = request.jwt_claims
    return JsonResponse({"sub": claims.subject, "username": user.get_username()})


def hello(request: HttpRequest) -> JsonResponse:
    """Serves anonymous callers in OPTIONAL mode; greets by name when a token came with the call."""
    claims = request.jwt_claims
    return JsonResponse({"message": f"hello, {claims.subject if claims is not None else 'anonymous'}"})


@require_scopes("orders:read")
async def orders_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"owner": request.jwt_claims.subject, "orders": ORDERS})


@require_groups("admins", "auditors", any_of=True)
def audit(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"groups": sorted(request.jwt_claims.groups)})


@require_roles("orders.admin")
def cancel(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"cancelled": True, "by": request.jwt_claims.subject})


@require_permissions("refund:orders", "read:orders")
async def refund(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"refunded": True})


class SupportView(JWTRequiredMixin, View):  # type: ignore[misc]
    """The mixin with roles (any one) and permissions (all)."""

    required_roles = ["support", "orders.admin"]
    any_role = True
    required_permissions = ["read:orders"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"roles": sorted(request.user.roles)})


class OrdersView(JWTRequiredMixin, View):  # type: ignore[misc]
    """A class-based view: the mixin checks the token and ``required_scopes`` before ``get``."""

    required_scopes = ["orders:read"]

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"owner": request.jwt_claims.subject, "orders": ORDERS})


class AsyncOrdersView(JWTRequiredMixin, View):  # type: ignore[misc]
    """The same for an async class-based view: the mixin awaits the async verification path."""

    required_scopes = ["orders:read"]

    async def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"owner": request.jwt_claims.subject, "count": len(ORDERS)})


@method_decorator(require_scopes("orders:write"), name="post")
class OrderWriteView(View):  # type: ignore[misc]
    """``method_decorator`` on the handler method: works for sync and async handlers alike."""

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"created": True, "by": request.jwt_claims.subject}, status=201)


class ApiMeView(APIView):  # type: ignore[misc]
    """DRF: ``JWTAuthentication`` (the default class in settings) and ``IsAuthenticated``."""

    def get(self, request: Request) -> Response:
        return Response({"sub": request.auth.subject, "username": request.user.get_username()})


class ApiOrdersView(APIView):  # type: ignore[misc]
    """DRF with a scope: ``HasScopes`` reads ``required_scopes``."""

    permission_classes = [HasScopes]
    required_scopes = ["orders:read"]

    def get(self, request: Request) -> Response:
        payload: dict[str, Any] = {"owner": request.auth.subject, "orders": ORDERS}
        return Response(payload)


class ApiRefundsView(APIView):  # type: ignore[misc]
    """DRF with roles and permissions: ``HasRoles`` reads ``required_roles``, ``HasPermissions`` is
    declared inline."""

    permission_classes = [HasRoles, HasPermissions.require("refund:orders")]
    required_roles = ["support", "orders.admin"]
    any_role = True

    def post(self, request: Request) -> Response:
        return Response({"refunded": True, "by": request.auth.subject})
