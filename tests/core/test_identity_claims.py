"""Identity claims are what RFC 7519 says they are: a present ``sub`` (and its kin) is a non-empty string.

Before, ``sub: 123`` verified and read as "no subject", so every such token shared the identity
``""``. Now the verifier refuses it, as ``invalid_token`` naming the claim, and so does every
adapter, with a fixed description that never echoes the value.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import (
    Claims,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTAuthMiddleware,
    JWTUser,
    JWTVerifier,
)
from jwt_middleware.claims import IDENTITY_CLAIMS
from jwt_middleware.cognito import cognito_issuer
from tests.core.support import MARKER, OMIT, Clock, Keyring, claims, token, verifier

WRONG: dict[str, Any] = {
    "integer": 123,
    "zero": 0,
    "float": 1.5,
    "true": True,
    "false": False,
    "null": None,
    "empty": "",
    "list": [MARKER],
    "empty-list": [],
    "object": {"id": MARKER},
}


@pytest.mark.parametrize("claim", [name for name in IDENTITY_CLAIMS if name != "iss"])
@pytest.mark.parametrize("label", WRONG)
def test_a_present_identity_claim_of_the_wrong_type_is_refused(
    keyring: Keyring, claim: str, label: str
) -> None:
    check = verifier(keyring.jwks("ES256"))
    payload = claims(**{claim: WRONG[label]})
    with pytest.raises(InvalidClaimError) as caught:
        check.verify_sync(token(keyring["ES256"], payload))
    assert caught.value.claim == claim
    assert caught.value.status_code == 401
    assert caught.value.error == "invalid_token"
    assert caught.value.code == "identity.invalid"
    assert MARKER not in caught.value.description


def test_a_wrong_type_iss_never_matches_an_issuer(keyring: Keyring) -> None:
    """``iss`` is settled by the issuer rule, before the signature, and a wrong type never matches."""
    check = verifier(keyring.jwks("ES256"))
    for value in WRONG.values():
        with pytest.raises(InvalidIssuerError):
            check.verify_sync(token(keyring["ES256"], claims(iss=value)))


def test_absent_identity_claims_are_fine_and_read_as_none(keyring: Keyring) -> None:
    verified = verifier(keyring.jwks("ES256")).verify_sync(token(keyring["ES256"], claims(sub=OMIT)))
    assert verified.subject is None
    assert verified.username is None
    assert verified.client_id is None
    assert JWTUser(verified).identity == ""


def test_distinct_users_keep_distinct_identities(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("ES256"))
    identities = {
        JWTUser(check.verify_sync(token(keyring["ES256"], claims(sub=sub)))).identity
        for sub in ("a", "b", "c")
    }
    assert identities == {"a", "b", "c"}


def test_the_identity_rule_reports_after_the_rule_about_that_claim(keyring: Keyring) -> None:
    """Cognito's client rule names client_id itself; the identity rule only catches the rest."""
    pool = "eu-west-1_AbCdEf123"
    cognito = JWTVerifier.cognito(
        user_pool_id=pool,
        client_id="client",
        token_use="access",
        jwks=keyring.jwks("ES256"),
        algorithms=["ES256"],
        clock=Clock(),
    )
    payload = claims(iss=cognito_issuer(pool), token_use="access", client_id=5, aud=OMIT)
    with pytest.raises(InvalidAudienceError):
        cognito.verify_sync(token(keyring["ES256"], payload))


def test_middleware_answers_401_invalid_token_without_echoing(keyring: Keyring) -> None:
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"identity": request.user.identity})

    app = Starlette(routes=[Route("/", whoami)])
    app.add_middleware(JWTAuthMiddleware, verifier=verifier(keyring.jwks("ES256")))
    client = TestClient(app)
    good = client.get(
        "/", headers={"Authorization": f"Bearer {token(keyring['ES256'], claims(sub='alice'))}"}
    )
    assert good.json() == {"identity": "alice"}
    for value in (123, "", [MARKER]):
        signed = token(keyring["ES256"], claims(sub=value))
        response = client.get("/", headers={"Authorization": f"Bearer {signed}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        assert MARKER not in response.text
        assert MARKER not in response.headers["WWW-Authenticate"]


def test_claims_built_elsewhere_never_read_a_wrong_type_as_nothing() -> None:
    odd = Claims({"sub": 0})
    with pytest.raises(InvalidClaimError):
        JWTUser(odd).identity  # noqa: B018 - the property is the test
