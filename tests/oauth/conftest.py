"""A local issuer with machine clients, and a downstream API on loopback that checks every token."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest

from jwt_middleware.bearer import parse_authorization
from jwt_middleware.errors import InvalidRequestError, JWTMiddlewareError
from jwt_middleware.testing import LocalIssuer, LoopbackServer
from jwt_middleware.testing.server import Request, Response

#: Unique per run, so that a grep of every output for them can only find a leak.
CLIENT_ID = "billing"
CLIENT_SECRET = "billing-secret-" + secrets.token_hex(12)
RESOURCE_ID = "orders-api"
RESOURCE_SECRET = "orders-secret-" + secrets.token_hex(12)
AUDIENCE = "orders"


class Downstream:
    """The service called: it verifies each bearer token with the issuer's keys and records it.

    ``refuse`` holds tokens it answers 401 to (revoked, say); ``refuse_all`` refuses every one.
    """

    def __init__(self, issuer: LocalIssuer) -> None:
        self.server = LoopbackServer()
        self.verifier = issuer.verifier()
        self.tokens: list[str] = []
        self.refuse: set[str] = set()
        self.refuse_all = False
        self._lock = threading.Lock()
        self.server.route("/orders", self._orders)

    def _orders(self, request: Request) -> Response:
        try:
            token = parse_authorization(request.headers.get("authorization", ""))
        except InvalidRequestError:
            token = None
        if token is None:
            return Response.json({"error": "invalid_request"}, status=401)
        with self._lock:
            self.tokens.append(token)
        if self.refuse_all or token in self.refuse:
            return Response.json({"error": "invalid_token"}, status=401)
        try:
            claims = self.verifier.verify_sync(token)
        except JWTMiddlewareError:
            return Response.json({"error": "invalid_token"}, status=401)
        return Response.json(
            {"client_id": claims.client_id, "scope": claims.get("scope"), "body": request.body.decode()}
        )

    @property
    def url(self) -> str:
        return self.server.url + "/orders"

    def __enter__(self) -> Downstream:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as issuer:
        issuer.register_client(CLIENT_ID, CLIENT_SECRET, grant_types=["client_credentials"])
        issuer.register_client(RESOURCE_ID, RESOURCE_SECRET, grant_types=["client_credentials"])
        yield issuer


@pytest.fixture
def api(issuer: LocalIssuer) -> Iterator[Downstream]:
    with Downstream(issuer) as api:
        yield api
