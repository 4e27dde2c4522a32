"""Real-shaped API Gateway events (``events/*.json``) and loopback identity providers for the AWS tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import JWTVerifier
from jwt_middleware.testing import LocalALB, LocalIssuer

EVENTS = Path(__file__).parent / "events"

EventFactory = Callable[..., dict[str, Any]]


def load_event(name: str, token: str | None = None) -> dict[str, Any]:
    """An event from ``events/``, with every ``<token>`` placeholder replaced by ``token``."""
    text = (EVENTS / f"{name}.json").read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text.replace("<token>", token) if token is not None else text)
    return event


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    """An RS256 provider on loopback (discovery and JWKS), shared by a module's tests."""
    with LocalIssuer(audience="orders-api") as provider:
        yield provider


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> JWTVerifier:
    """Built once, like a module-level verifier in a Lambda: warm invocations reuse its keys."""
    return JWTVerifier.api_gateway(issuer=issuer.issuer, audience="orders-api")


@pytest.fixture
def alb() -> Iterator[LocalALB]:
    with LocalALB() as balancer:
        yield balancer
