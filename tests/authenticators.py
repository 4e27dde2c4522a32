"""Custom authenticators the adapter tests plug into every framework through the public seam."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.lowlevel

from jwt_middleware import Claims, InvalidTokenError, RequestView, TemporarilyUnavailableError
from jwt_middleware.challenge import Challenge, bearer_challenges
from jwt_middleware.errors import JWTMiddlewareError

#: The keys every test knows: one good, one whose lookup "fails on the server side".
GOOD_KEY = "key-alice"
UNAVAILABLE_KEY = "key-down"
ALICE = {"sub": "alice", "iss": "https://keys.example", "scope": "orders:read", "cognito:groups": ["admins"]}


class ApiKeys:
    """An API-key authenticator: ``X-API-Key`` must name a known key, else the request is refused.

    No ``X-API-Key`` header means "no credentials here" (``None``). It records the views it is
    given, so tests can check what each adapter hands over.
    """

    def __init__(self, keys: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.keys = {key: Claims(dict(claims)) for key, claims in (keys or {GOOD_KEY: ALICE}).items()}
        self.seen: list[RequestView] = []

    @property
    def calls(self) -> int:
        return len(self.seen)

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        self.seen.append(request)
        values = request.header("x-api-key")
        if not values:
            return None
        if values == [UNAVAILABLE_KEY]:
            raise TemporarilyUnavailableError("The key store is temporarily unavailable", retry_after=7)
        claims = self.keys.get(values[0]) if len(values) == 1 else None
        if claims is None:
            raise InvalidTokenError("The API key is not accepted")
        return claims

    async def authenticate(self, request: RequestView) -> Claims | None:
        await anyio.lowlevel.checkpoint()  # a real suspension point: the async path is the one exercised
        return self.authenticate_sync(request)


class ChallengingApiKeys(ApiKeys):
    """``ApiKeys`` that offers its own scheme next to ``Bearer`` in every challenge."""

    def challenges(self, error: JWTMiddlewareError, realm: str) -> Sequence[Challenge]:
        return (Challenge("ApiKey", (("realm", realm),)), *bearer_challenges(error, realm))


def api_key(key: str = GOOD_KEY) -> dict[str, str]:
    return {"X-API-Key": key}


#: For settings that name an authenticator by dotted path (Django's ``AUTHENTICATOR``).
SHARED_API_KEYS = ApiKeys()
