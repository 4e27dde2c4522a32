"""The verifier's observation hook: one ``VerificationEvent`` per verification, and nothing without a hook.

Events carry the outcome, the reason code, the configured issuer and the duration; never a token
or a claim. A token-cache hit reports a shared event and is not timed. A hook that raises is
logged and never changes a verification's result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import anyio
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import (
    BlockingCallError,
    ExpiredTokenError,
    InvalidIssuerError,
    JWTAuthMiddleware,
    JWTVerifier,
    KeysUnavailableError,
    MalformedTokenError,
    UnknownKeyError,
    WSGIJWTMiddleware,
)
from jwt_middleware.errors import RevokedTokenError
from jwt_middleware.events import ACCEPTED, REFUSED, UNAVAILABLE, VerificationEvent
from jwt_middleware.issuer_template import IssuerTemplate
from jwt_middleware.reasons import EXP_EXPIRED, ISS_MISMATCH
from jwt_middleware.testing import Fault, LocalIssuer

SECRET_SUBJECT = "subject-that-must-not-leak-7f3a"


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="api") as running:
        yield running


def _observed(issuer: LocalIssuer, **options: object) -> tuple[JWTVerifier, list[VerificationEvent]]:
    events: list[VerificationEvent] = []
    verifier = issuer.verifier(on_event=events.append, **options)
    return verifier, events


def test_one_event_per_verification_with_the_outcome(issuer: LocalIssuer) -> None:
    verifier, events = _observed(issuer)
    token = issuer.mint(sub=SECRET_SUBJECT)
    verifier.verify_sync(token)
    verifier.verify_sync(token)  # token-cache hit
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(issuer.mint_expired())
    with pytest.raises(MalformedTokenError):
        verifier.verify_sync("abc.def.ghi")
    full, cached, expired, malformed = events
    assert (full.outcome, full.cached, full.code, full.issuer) == (ACCEPTED, False, None, issuer.issuer)
    assert full.duration is not None
    assert 0 < full.duration < 10
    assert (cached.outcome, cached.cached, cached.duration) == (ACCEPTED, True, None)
    assert (expired.outcome, expired.code, expired.error) == (REFUSED, EXP_EXPIRED, "invalid_token")
    assert expired.issuer == issuer.issuer
    assert malformed.outcome == REFUSED
    assert malformed.issuer == issuer.issuer  # a single-issuer verifier's refusals are its issuer's
    for event in events:
        assert SECRET_SUBJECT not in repr(event)
        assert token not in repr(event)


def test_cache_hits_share_one_event_per_issuer(issuer: LocalIssuer) -> None:
    verifier, events = _observed(issuer)
    first, second = issuer.mint(sub="a"), issuer.mint(sub="b")
    for token in (first, second, first, second, first):
        verifier.verify_sync(token)
    hits = [event for event in events if event.cached]
    assert len(hits) == 3
    assert all(hit is hits[0] for hit in hits)  # nothing allocated per hit


def test_unavailable_keys_are_an_unavailable_outcome(issuer: LocalIssuer) -> None:
    verifier, events = _observed(issuer)
    with issuer.server.fault(issuer.jwks_path, Fault.status(503)), pytest.raises(KeysUnavailableError):
        verifier.verify_sync(issuer.mint())
    (event,) = events
    assert (event.outcome, event.error, event.issuer) == (
        UNAVAILABLE,
        "temporarily_unavailable",
        issuer.issuer,
    )
    assert event.code.startswith("fetch.")  # type: ignore[union-attr]


def test_a_crashing_custom_check_is_unavailable_not_refused(issuer: LocalIssuer) -> None:
    def broken(header: object, claims: object, key: object) -> bool:
        raise RuntimeError("revocation store down")

    verifier, events = _observed(issuer, custom_check=broken)
    with pytest.raises(KeysUnavailableError.__mro__[1]):  # TemporarilyUnavailableError
        verifier.verify_sync(issuer.mint())
    assert [event.outcome for event in events] == [UNAVAILABLE]


def test_issuer_as_configured(issuer: LocalIssuer) -> None:
    events: list[VerificationEvent] = []
    several = JWTVerifier(
        issuer=[issuer.issuer, "https://other.example"],
        audience=None,
        jwks_url={issuer.issuer: issuer.jwks_url, "https://other.example": issuer.jwks_url},
        on_event=events.append,
    )
    with pytest.raises(InvalidIssuerError):
        several.verify_sync(issuer.mint_wrong_issuer())
    assert (events[-1].code, events[-1].issuer) == (ISS_MISMATCH, None)  # which one is unknown
    several.verify_sync(issuer.mint())
    assert events[-1].issuer == issuer.issuer

    template = IssuerTemplate("https://login.example/{tid}/v2.0", allowed=["t-123", "t-456"])
    tenants: list[VerificationEvent] = []
    templated = JWTVerifier(issuer=template, audience=None, jwks=issuer.jwks(), on_event=tenants.append)
    for tenant in ("t-123", "t-456"):
        templated.verify_sync(issuer.mint(iss=f"https://login.example/{tenant}/v2.0", tid=tenant))
    # The template as configured, never a tenant's own URL: one series, whatever the tenants.
    assert {event.issuer for event in tenants} == {"https://login.example/{tid}/v2.0"}


def test_no_event_for_what_is_not_a_verification(issuer: LocalIssuer) -> None:
    verifier, events = _observed(issuer)

    async def on_a_loop() -> None:
        with pytest.raises(BlockingCallError):
            verifier.verify_sync(issuer.mint())  # keys not loaded: would block the loop

    anyio.run(on_a_loop)
    assert events == []


def test_async_verify_reports_the_same(issuer: LocalIssuer) -> None:
    verifier, events = _observed(issuer)
    token = issuer.mint()

    async def main() -> None:
        await verifier.verify(token)
        await verifier.verify(token)
        with pytest.raises(UnknownKeyError):
            await verifier.verify(issuer.mint_unknown_key())

    anyio.run(main)
    assert [(event.outcome, event.cached) for event in events] == [
        (ACCEPTED, False),
        (ACCEPTED, True),
        (REFUSED, False),
    ]


def test_without_a_hook_nothing_is_timed(issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = issuer.verifier()
    assert verifier.event_hook is None
    verifier.hydrate_sync()  # the keys' fetch times itself; verifications must not

    def no_clock() -> float:
        raise AssertionError("timed a verification nobody observes")

    monkeypatch.setattr(time, "perf_counter", no_clock)
    token = issuer.mint()
    verifier.verify_sync(token)
    verifier.verify_sync(token)
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(issuer.mint_expired())


def test_hooks_added_and_removed_later(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    first: list[VerificationEvent] = []
    second: list[VerificationEvent] = []
    verifier.add_event_hook(first.append)
    verifier.add_event_hook(second.append)
    verifier.verify_sync(issuer.mint())
    verifier.remove_event_hook(first.append)
    verifier.verify_sync(issuer.mint())
    assert (len(first), len(second)) == (1, 2)
    verifier.remove_event_hook(second.append)
    assert verifier.event_hook is None


def test_a_failing_hook_is_logged_and_changes_nothing(
    issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: VerificationEvent) -> None:
        raise ValueError("exporter bug")

    seen: list[VerificationEvent] = []
    verifier = issuer.verifier(on_event=broken)
    verifier.add_event_hook(seen.append)
    with caplog.at_level(logging.ERROR, logger="jwt_middleware"):
        assert verifier.verify_sync(issuer.mint(sub="ok")).subject == "ok"
        with pytest.raises(ExpiredTokenError):
            verifier.verify_sync(issuer.mint_expired())
    assert len(seen) == 2  # the next hook still ran
    assert "verification event hook raised" in caplog.text


def test_middlewares_report_the_tokens_they_recall(issuer: LocalIssuer) -> None:
    """A repeated Authorization value skips verify(); it is still a verification, and reported."""
    verifier, events = _observed(issuer)

    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/", hello)], middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)])
    headers = {"Authorization": f"Bearer {issuer.mint()}"}
    with TestClient(app) as client:
        for _ in range(4):
            assert client.get("/", headers=headers).status_code == 200
    assert [event.cached for event in events] == [False, True, True, True]

    wsgi_events: list[VerificationEvent] = []
    wsgi_verifier = issuer.verifier(on_event=wsgi_events.append)

    def wsgi_app(environ: object, start_response: object) -> list[bytes]:
        start_response("200 OK", [])  # type: ignore[operator]
        return [b"hi"]

    from werkzeug.test import Client

    wsgi = Client(WSGIJWTMiddleware(wsgi_app, verifier=wsgi_verifier))
    for _ in range(3):
        assert wsgi.get("/", headers=headers).status_code == 200
    assert [event.cached for event in wsgi_events] == [False, True, True]


def test_a_token_revoked_after_it_was_cached_is_a_cached_refusal(issuer: LocalIssuer) -> None:
    from jwt_middleware.revocation import RevocationList

    revocations = RevocationList()
    verifier, events = _observed(issuer, revocations=revocations)
    token = issuer.mint()
    claims = verifier.verify_sync(token)
    verifier.verify_sync(token)
    revocations.revoke_token_sync(claims)
    with pytest.raises(RevokedTokenError) as refused:
        verifier.verify_sync(token)
    full, hit, revoked = events
    assert (full.cached, hit.cached) == (False, True)
    assert (revoked.outcome, revoked.cached, revoked.issuer) == (REFUSED, True, issuer.issuer)
    assert revoked.code == refused.value.code
