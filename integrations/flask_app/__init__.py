"""The Flask reference app: an app factory with public, authenticated and scoped routes.

``create_app(verifier)`` uses the extension the way a Flask factory does: one module-level
``JWTAuth``, ``init_app`` per app. It shows the decorators on sync and ``async def`` views,
``current_claims``, and a blueprint protected as a whole with ``auth.protect``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g

from jwt_middleware.claims import Claims
from jwt_middleware.integrations.flask import (
    JWTAuth,
    current_claims,
    jwt_required,
    require_groups,
    require_permissions,
    require_roles,
    require_scopes,
)
from jwt_middleware.verifier import JWTVerifier

__all__ = ["auth", "create_app"]

ORDERS = [{"id": "1001", "item": "keyboard"}, {"id": "1002", "item": "monitor"}]

auth = JWTAuth()


def _admin_blueprint() -> Blueprint:
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    # Every view of the blueprint needs the orders:admin scope; no per-view decorator to forget.
    auth.protect(admin, scopes=["orders:admin"])

    @admin.get("/stats")
    def stats() -> dict[str, Any]:
        return {"orders": len(ORDERS), "by": current_claims.subject}

    return admin


def _support_blueprint() -> Blueprint:
    desk = Blueprint("desk", __name__, url_prefix="/desk")
    # Roles and permissions protect a blueprint the same way.
    auth.protect(desk, roles=["support", "orders.admin"], any_role=True, permissions=["read:orders"])

    @desk.get("/queue")
    def queue() -> dict[str, Any]:
        return {"queue": [], "by": current_claims.subject}

    return desk


def create_app(verifier: JWTVerifier) -> Flask:
    """The orders app, trusting tokens that ``verifier`` accepts."""
    app = Flask(__name__)
    app.config["JWT_REALM"] = "orders"
    auth.init_app(app, verifier=verifier)

    @app.get("/public")
    def public() -> dict[str, str]:
        return {"message": "anyone may read this"}

    @app.get("/me")
    @jwt_required()
    def me() -> dict[str, Any]:
        claims: Claims = g.jwt_claims  # also reachable as current_claims
        return {"sub": claims.subject, "scopes": sorted(claims.scopes)}

    @app.get("/hello")
    @jwt_required(optional=True)
    def hello() -> dict[str, str]:
        # Anonymous callers get here too: the proxy is then falsy.
        who = current_claims.subject if current_claims else None
        return {"message": f"hello, {who or 'anonymous'}"}

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders() -> dict[str, Any]:
        return {"owner": current_claims.subject, "orders": ORDERS}

    @app.get("/orders/async")
    @require_scopes("orders:read")
    async def orders_async() -> dict[str, Any]:
        return {"owner": current_claims.subject, "count": len(ORDERS)}

    @app.get("/audit")
    @require_groups("admins", "auditors", any_of=True)
    def audit() -> dict[str, Any]:
        return {"groups": sorted(current_claims.groups)}

    @app.post("/orders/<order_id>/cancel")
    @require_roles("orders.admin")
    def cancel(order_id: str) -> dict[str, Any]:
        return {"cancelled": order_id, "by": current_claims.subject}

    @app.post("/refunds")
    @require_permissions("refund:orders", "read:orders")
    async def refund() -> dict[str, Any]:
        return {"refunded": True}

    @app.get("/support")
    @require_roles("support", "orders.admin", any_of=True)
    def support() -> dict[str, Any]:
        return {"roles": sorted(current_claims.roles)}

    app.register_blueprint(_admin_blueprint())
    app.register_blueprint(_support_blueprint())
    return app
