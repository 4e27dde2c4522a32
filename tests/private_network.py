"""Fixtures for tests of proxies and private CAs: a clean environment, a private CA, an https issuer.

Test modules import the fixtures they use (``from tests.private_network import ca, ...``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jwt_middleware.network
from jwt_middleware.testing import LocalCA, LocalIssuer

#: Every variable httpx2 or the trust store would read.
ENVIRONMENT = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or trust-store variable set, and no TLS context built yet: as in a fresh process."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(jwt_middleware.network, "_contexts", {})


@pytest.fixture(scope="module")
def ca() -> Iterator[LocalCA]:
    with LocalCA() as authority:
        yield authority


@pytest.fixture(scope="module")
def tls_issuer(ca: LocalCA) -> Iterator[LocalIssuer]:
    """An issuer on ``https://127.0.0.1`` under a certificate of ``ca`` (audience ``orders-api``)."""
    with LocalIssuer(tls=ca, audience="orders-api") as issuer:
        yield issuer
