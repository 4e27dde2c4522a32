"""``DPoPAuth``: the ``httpx2.Auth`` behind ``DPoPKey.auth`` (here so that ``httpx2`` loads on use)."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx2

if TYPE_CHECKING:
    from jwt_middleware.testing.dpop import DPoPKey

__all__ = ["DPoPAuth"]


class DPoPAuth(httpx2.Auth):
    """Adds ``Authorization: DPoP`` and a fresh proof to each request; follows ``DPoP-Nonce``.

    A ``401`` whose challenge says ``use_dpop_nonce`` is retried once with the nonce it carries;
    a nonce on any answer is kept (per origin) for the next request, as RFC 9449 section 8 says.
    """

    requires_request_body = True

    def __init__(self, key: DPoPKey, access_token: str) -> None:
        self.key = key
        self.access_token = access_token
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _origin(request: httpx2.Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"

    def _sign(self, request: httpx2.Request) -> None:
        with self._lock:
            nonce = self._nonces.get(self._origin(request))
        request.headers["Authorization"] = f"DPoP {self.access_token}"
        request.headers["DPoP"] = self.key.proof(request.method, str(request.url), self.access_token, nonce)

    def _learn(self, request: httpx2.Request, response: httpx2.Response) -> bool:
        """Keep the answer's nonce; whether the request must be sent again with it."""
        nonce = response.headers.get("dpop-nonce")
        if nonce is None:
            return False
        with self._lock:
            self._nonces[self._origin(request)] = nonce
        challenge = response.headers.get("www-authenticate", "")
        return response.status_code == 401 and 'error="use_dpop_nonce"' in challenge

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        self._sign(request)
        response = yield request
        if self._learn(request, response):
            self._sign(request)
            response = yield request
            self._learn(request, response)
