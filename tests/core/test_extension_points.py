"""The verifier's public extension points: the key source selector, header-aware checks, padding.

They are what verifiers for other token shapes (AWS ALB's) are built from, so they must refuse
before any key is fetched, keep the fault rules (a plugged-in selector that crashes is the
service's 503, never a 401), and see exactly what the token carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
    MalformedTokenError,
    TemporarilyUnavailableError,
    b64,
)
from jwt_middleware.jwk import KeySet
from jwt_middleware.keysource import KeySource, StaticKeySource
from tests.core.support import (
    AUDIENCE,
    ISSUER,
    Clock,
    Keyring,
    claims,
    dumps,
    header_for,
    signed_segments,
    token,
)


class CountingSource(StaticKeySource):
    """A static source that counts the keys asked of it."""

    def __init__(self, key_set: KeySet) -> None:
        super().__init__(key_set)
        self.requests = 0

    def get_key_sync(self, kid: Any, algorithm: Any) -> Any:
        self.requests += 1
        return super().get_key_sync(kid, algorithm)


def test_a_selector_chooses_the_key_source_from_the_header(keyring: Keyring) -> None:
    tenants = {
        "tenant-a": CountingSource(KeySet.from_jwks(keyring.jwks("ES256"))),
        "tenant-b": CountingSource(KeySet.from_jwks(keyring.jwks("RS256"))),
    }
    seen: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []

    def by_tenant(header: Mapping[str, Any], payload: Mapping[str, Any]) -> KeySource:
        seen.append((header, payload))
        source = tenants.get(header.get("tenant"))  # type: ignore[arg-type]
        if source is None:
            raise InvalidIssuerError("The token's tenant is not accepted", claim="tenant")
        return source

    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks={"keys": []}, key_source_selector=by_tenant, clock=Clock()
    )
    assert verifier.verify_sync(token(keyring["ES256"], tenant="tenant-a")).subject == "user-1"
    assert seen[0][0]["tenant"] == "tenant-a"
    assert seen[0][1]["iss"] == ISSUER
    assert (tenants["tenant-a"].requests, tenants["tenant-b"].requests) == (1, 0)
    with pytest.raises(InvalidIssuerError) as refused:
        verifier.verify_sync(token(keyring["ES256"], tenant="tenant-x"))
    assert refused.value.claim == "tenant"
    assert (tenants["tenant-a"].requests, tenants["tenant-b"].requests) == (1, 0)  # refused, nothing fetched


def test_without_a_selector_keys_are_chosen_by_issuer(keyring: Keyring) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("ES256"), clock=Clock())
    source = verifier.select_key_source({"alg": "ES256"}, claims())
    assert source is verifier.key_sources[ISSUER]
    with pytest.raises(InvalidIssuerError):
        verifier.select_key_source({"alg": "ES256"}, claims(iss="https://other.example"))


@pytest.mark.anyio
async def test_a_crashing_selector_is_the_services_failure(keyring: Keyring) -> None:
    def broken(header: Mapping[str, Any], payload: Mapping[str, Any]) -> KeySource:
        raise ConnectionError("tenant directory down")

    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks={"keys": []}, key_source_selector=broken, clock=Clock()
    )
    with pytest.raises(TemporarilyUnavailableError) as failed:
        verifier.verify_sync(token(keyring["ES256"]))
    assert failed.value.status_code == 503
    assert "tenant directory" not in str(failed.value)
    with pytest.raises(TemporarilyUnavailableError):
        await verifier.verify(token(keyring["ES256"]))


def test_a_selector_must_be_callable() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks={"keys": []}, key_source_selector="tenant")  # type: ignore[arg-type]


def test_checks_see_the_protected_header(keyring: Keyring) -> None:
    def header_names_the_service(header: Mapping[str, Any], payload: Mapping[str, Any], now: float) -> None:
        if header.get("svc") != "orders":
            raise InvalidClaimError("The token is not for this service", claim="svc")

    verifier = JWTVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=keyring.jwks("ES256"),
        checks=[header_names_the_service],
        clock=Clock(),
    )
    assert verifier.verify_sync(token(keyring["ES256"], svc="orders"))
    with pytest.raises(InvalidClaimError) as refused:
        verifier.verify_sync(token(keyring["ES256"], svc="billing"))
    assert refused.value.claim == "svc"


def _padded(data: bytes) -> str:
    segment = b64.encode(data)
    return segment + "=" * (-len(segment) % 4)


def test_padding_is_refused_unless_allowed(keyring: Keyring) -> None:
    unpadded = token(keyring["ES256"])
    header = dumps(header_for(keyring["ES256"], pad="x"))  # sized so that both segments need padding
    payload = dumps(claims(pad="xx"))
    padded = signed_segments(keyring["ES256"], _padded(header), _padded(payload))
    assert "=" in padded
    strict = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("ES256"), clock=Clock())
    with pytest.raises(MalformedTokenError):
        strict.verify_sync(padded)
    lenient = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("ES256"), allow_padding=True, clock=Clock()
    )
    assert lenient.verify_sync(padded).subject == "user-1"
    assert lenient.verify_sync(unpadded).subject == "user-1"
