"""Every way a key fetch fails has a stable reason code, carried by the event and the 503 error.

Programs (metrics, alerts, the command line's explanations) read ``code``; ``reason`` stays the
short phrase for people, and the client-facing description never changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from jwt_middleware import CacheSettings, JWKSCache, JWTVerifier, KeysUnavailableError, reasons
from jwt_middleware.events import CacheEvent, FetchFailed
from jwt_middleware.testing import Fault, LocalIssuer, LoopbackServer

#: Every fault but the slow one answers at once, so nothing here should ever come near this deadline;
#: a tight one would turn a refusal or a 404 into "timed out" on a loaded machine.
SETTINGS = CacheSettings(timeout=30.0)
#: The slow case's own deadline: short, and still far below the delay it has to cut short.
SLOW_TIMEOUT = 0.5
SLOW_DELAY = 60.0

FaultFor = Callable[[LocalIssuer], tuple[str | None, Fault]]


def _jwks(fault: Fault) -> FaultFor:
    return lambda issuer: (issuer.jwks_path, fault)


def _discovery(document: Callable[[LocalIssuer], dict[str, object]]) -> FaultFor:
    return lambda issuer: (issuer.discovery_path, Fault.body(json.dumps(document(issuer))))


JWKS_CASES: list[tuple[str, FaultFor, str, str]] = [
    ("refused", lambda issuer: (None, Fault.refuse()), reasons.FETCH_CONNECT, "ConnectError"),
    ("404", _jwks(Fault.status(404)), reasons.FETCH_NOT_FOUND, "HTTP 404"),
    ("410", _jwks(Fault.status(410)), reasons.FETCH_NOT_FOUND, "HTTP 410"),
    ("500", _jwks(Fault.status(500)), reasons.FETCH_HTTP_STATUS, "HTTP 500"),
    ("redirect", _jwks(Fault.redirect("https://example.invalid/jwks")), reasons.FETCH_REDIRECT, "redirect"),
    ("huge", _jwks(Fault.huge(2 * 1024 * 1024)), reasons.FETCH_TOO_LARGE, "response too large"),
    ("slow", _jwks(Fault.delay(SLOW_DELAY)), reasons.FETCH_TIMEOUT, "timed out"),
    (
        "no usable key",
        _jwks(Fault.body('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')),
        reasons.JWKS_UNUSABLE,
        "",
    ),
    ("not JSON", _jwks(Fault.body("<html></html>", content_type="text/html")), reasons.JWKS_UNUSABLE, ""),
]

DISCOVERY_CASES: list[tuple[str, FaultFor, str]] = [
    (
        "another issuer",
        _discovery(lambda issuer: {"issuer": "https://evil.example", "jwks_uri": issuer.jwks_url}),
        reasons.DISCOVERY_ISSUER_MISMATCH,
    ),
    ("no jwks_uri", _discovery(lambda issuer: {"issuer": issuer.issuer}), reasons.DISCOVERY_NO_JWKS_URI),
    (
        "plain http jwks_uri",
        _discovery(lambda issuer: {"issuer": issuer.issuer, "jwks_uri": "http://example.invalid/jwks"}),
        reasons.DISCOVERY_INSECURE_JWKS_URI,
    ),
    (
        "not JSON",
        lambda issuer: (issuer.discovery_path, Fault.body("<html></html>", content_type="text/html")),
        reasons.FETCH_NOT_JSON,
    ),
]


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


def _refusal(cache: JWKSCache, issuer: LocalIssuer, fault: FaultFor) -> KeysUnavailableError:
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    path, chosen = fault(issuer)
    with issuer.server.fault(path, chosen), pytest.raises(KeysUnavailableError) as refused:
        verifier.verify_sync(issuer.mint())
    return refused.value


@pytest.mark.parametrize(
    ("fault", "code", "phrase"), [case[1:] for case in JWKS_CASES], ids=[c[0] for c in JWKS_CASES]
)
def test_a_failed_jwks_fetch_names_its_reason(
    issuer: LocalIssuer, fault: FaultFor, code: str, phrase: str
) -> None:
    events: list[CacheEvent] = []
    settings = CacheSettings(timeout=SLOW_TIMEOUT) if code == reasons.FETCH_TIMEOUT else SETTINGS
    cache = JWKSCache(issuer.jwks_url, settings=settings, on_event=events.append)
    error = _refusal(cache, issuer, fault)
    failed = [event for event in events if isinstance(event, FetchFailed)]
    assert [event.code for event in failed] == [code]
    assert phrase in failed[0].reason
    assert (error.code, error.fetch_reason) == (code, failed[0].reason)
    assert error.report.code == code
    # What the client sees is unchanged by the cause.
    assert error.description == KeysUnavailableError.default_description
    assert (error.status_code, error.error) == (503, "temporarily_unavailable")


@pytest.mark.parametrize(
    ("fault", "code"), [case[1:] for case in DISCOVERY_CASES], ids=[c[0] for c in DISCOVERY_CASES]
)
def test_a_failed_discovery_names_its_reason(issuer: LocalIssuer, fault: FaultFor, code: str) -> None:
    events: list[CacheEvent] = []
    cache = JWKSCache.from_issuer(issuer.issuer, settings=SETTINGS, on_event=events.append)
    error = _refusal(cache, issuer, fault)
    assert [event.code for event in events if isinstance(event, FetchFailed)] == [code]
    assert error.code == code


def test_a_server_that_is_gone_is_a_connect_failure() -> None:
    with LoopbackServer() as server:
        url = server.url_for("/jwks.json")
    events: list[CacheEvent] = []
    cache = JWKSCache(url, settings=SETTINGS, on_event=events.append)
    with pytest.raises(KeysUnavailableError) as refused:
        cache.hydrate_sync()
    assert refused.value.code == reasons.FETCH_CONNECT
    assert [event.code for event in events if isinstance(event, FetchFailed)] == [reasons.FETCH_CONNECT]
