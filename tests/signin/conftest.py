"""A local issuer, a ``SignIn`` against it and the sign-in reference app under a real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from integrations.signin_app import create_app
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer
from tests.middleware.test_uvicorn import RunningServer

CLIENT_ID = "web"
USERS = {"alice": {"email": "alice@example.com", "groups": ["staff"]}}


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=CLIENT_ID, auto_approve=True, users=USERS) as issuer:
        yield issuer


@pytest.fixture
def signin(issuer: LocalIssuer) -> SignIn:
    return SignIn(issuer=issuer.url, client_id=CLIENT_ID, verifier=issuer.verifier(), secure_cookies=False)


@pytest.fixture
def site(signin: SignIn) -> Iterator[RunningServer]:
    with RunningServer(create_app(signin)) as server:
        yield server


@pytest.fixture
def browser() -> Iterator[httpx2.Client]:
    """An HTTP client that follows redirects and keeps cookies, as a browser would."""
    with httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"}) as client:
        yield client
