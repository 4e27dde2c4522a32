"""The FastAPI reference app: a public route, authenticated routes, scoped and role-guarded routes.

``create_app(verifier)`` is an app factory so that tests, the demo and ``__main__`` each hand it
their own verifier. The routes show each way FastAPI code meets ``JWTBearer``: ``Depends`` for any
valid token, ``Security(..., scopes=...)`` for a scope, the optional variant for routes that also
serve anonymous callers, ``auth.require_roles``/``auth.require_permissions`` for roles and
permissions (wherever the verifier's ``ClaimMapping`` finds them), and a plain ``def`` handler
(FastAPI runs it in a thread; the dependency still verifies on the event loop).

No ``from __future__ import annotations`` here: FastAPI resolves string annotations against the
module's globals, and the route parameters name ``auth``, a local of ``create_app``.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Security

from jwt_middleware.claims import Claims
from jwt_middleware.integrations.fastapi import JWTBearer
from jwt_middleware.verifier import JWTVerifier

__all__ = ["create_app"]

ORDERS: dict[str, dict[str, Any]] = {
    "1001": {"id": "1001", "item": "keyboard", "quantity": 1},
    "1002": {"id": "1002", "item": "monitor", "quantity": 2},
}


def create_app(verifier: JWTVerifier, *, swagger_client_id: str | None = None) -> FastAPI:
    """The orders API, trusting tokens that ``verifier`` accepts.

    ``swagger_client_id`` lets Swagger UI's Authorize button sign in with the authorization code
    flow and PKCE as that public client (the provider's discovery document must list its
    endpoints and allow CORS, as the local issuer's does).
    """
    auth = JWTBearer(verifier, description="A JWT access token from the orders identity provider")
    maybe_auth = auth.optional()
    init_oauth = (
        {"clientId": swagger_client_id, "usePkceWithAuthorizationCodeGrant": True, "scopes": "openid"}
        if swagger_client_id is not None
        else None
    )
    app = FastAPI(title="Orders API", lifespan=auth.lifespan, swagger_ui_init_oauth=init_oauth)

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"message": "anyone may read this"}

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, Any]:
        return {"sub": claims.subject, "scopes": sorted(claims.scopes)}

    @app.get("/hello")
    async def hello(claims: Annotated[Claims | None, Depends(maybe_auth)]) -> dict[str, str]:
        who = claims.subject if claims is not None else None
        return {"message": f"hello, {who or 'anonymous'}"}

    @app.get("/orders")
    async def list_orders(
        claims: Annotated[Claims, Security(auth, scopes=["orders:read"])],
    ) -> dict[str, Any]:
        return {"owner": claims.subject, "orders": list(ORDERS.values())}

    @app.get("/orders/{order_id}")
    def get_order(
        order_id: str, claims: Annotated[Claims, Security(auth, scopes=["orders:read"])]
    ) -> dict[str, Any]:
        # A plain def: FastAPI runs it in a worker thread.
        order = ORDERS.get(order_id)
        return {"owner": claims.subject, "order": order}

    @app.delete("/orders/{order_id}")
    async def cancel_order(
        order_id: str, claims: Annotated[Claims, Depends(auth.require_roles("orders.admin"))]
    ) -> dict[str, Any]:
        return {"cancelled": order_id, "by": claims.subject}

    @app.post("/refunds", dependencies=[Depends(auth.require_permissions("refund:orders", "read:orders"))])
    async def refund() -> dict[str, bool]:
        return {"refunded": True}

    @app.get("/support")
    async def support(
        claims: Annotated[Claims, Depends(auth.require_roles("support", "orders.admin", any_of=True))],
    ) -> dict[str, Any]:
        return {"roles": sorted(claims.roles)}

    return app
