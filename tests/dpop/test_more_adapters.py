"""DPoP where the request is not an HTTP server's own: a Lambda authorizer's event, and the
verification events (metrics) each DPoP refusal reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import JWTVerifier, reasons
from jwt_middleware.errors import DPoPBindingError, InvalidDPoPProofError
from jwt_middleware.events import ACCEPTED, REFUSED, VerificationEvent
from jwt_middleware.integrations.aws_lambda import lambda_authorizer
from jwt_middleware.testing import DPoPKey
from tests.dpop.conftest import AUDIENCE, ISSUER, URL, TokenFactory, request

EVENTS = Path(__file__).resolve().parent.parent / "aws" / "events"
HOST = "abcdef123.execute-api.eu-west-1.amazonaws.com"


def _http_api_event(headers: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(
        json.loads((EVENTS / "authorizer_http_v2_request.json").read_text())
    )
    event["headers"] = {"host": HOST, **{name.lower(): value for name, value in headers.items()}}
    event["identitySource"] = [headers["Authorization"]]
    return event


def test_a_lambda_authorizer_checks_dpop_proofs_in_http_api_events(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    authorize = lambda_authorizer(verifier)
    token = make_token(dpop_key)
    url = f"https://{HOST}/orders"
    headers = dpop_key.headers("GET", url, token)
    assert authorize(_http_api_event(headers), None)["isAuthorized"] is True
    assert authorize(_http_api_event(headers), None)["isAuthorized"] is False  # the same proof again
    elsewhere = dpop_key.headers("GET", f"https://{HOST}/admin", token)
    assert authorize(_http_api_event(elsewhere), None)["isAuthorized"] is False
    as_bearer = {"Authorization": f"Bearer {token}"}
    assert authorize(_http_api_event(as_bearer), None)["isAuthorized"] is False


def _observed(jwks: dict[str, Any], **options: Any) -> tuple[JWTVerifier, list[VerificationEvent]]:
    events: list[VerificationEvent] = []
    return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, on_event=events.append, **options), events


def test_each_presentation_is_one_verification_event(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    verifier, events = _observed(jwks)
    token = make_token(dpop_key)
    verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    with pytest.raises(DPoPBindingError):
        verifier.verify_sync(token)  # from the token cache, refused as a bearer token
    with pytest.raises(InvalidDPoPProofError):
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("POST", URL, token)]))
    other = make_token(DPoPKey.generate())
    with pytest.raises(DPoPBindingError):
        verifier.verify_dpop_sync(other, request(token=other, proofs=[dpop_key.proof("GET", URL, other)]))
    assert [(event.outcome, event.code) for event in events] == [
        (ACCEPTED, None),
        (REFUSED, reasons.TOKEN_SENDER_CONSTRAINED),
        (REFUSED, reasons.DPOP_HTM_MISMATCH),
        (REFUSED, reasons.DPOP_KEY_MISMATCH),
    ]
    assert [event.cached for event in events] == [False, True, False, False]


def test_required_mode_reports_its_refusals(jwks: dict[str, Any], make_token: TokenFactory) -> None:
    verifier, events = _observed(jwks, dpop="required")
    with pytest.raises(DPoPBindingError):
        verifier.verify_sync(make_token())
    assert [(event.outcome, event.code, event.issuer) for event in events] == [
        (REFUSED, reasons.DPOP_REQUIRED, ISSUER)
    ]
