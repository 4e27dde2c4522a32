"""Prometheus: a custom collector scraped from a real ``CollectorRegistry``, and nothing global."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jwt_middleware import ExpiredTokenError, KeysUnavailableError
from jwt_middleware.integrations.prometheus import collector
from jwt_middleware.telemetry import METRICS
from jwt_middleware.testing import Fault, LocalIssuer


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="api") as running:
        yield running


def _scrape(registry: CollectorRegistry) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(value for found, value in samples.get(name, []) if labels.items() <= found.items())


def test_a_scrape_reports_verifications_hits_durations_and_fetches(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    registry = CollectorRegistry()
    registry.register(collector(verifier))
    token = issuer.mint(sub="a-subject-that-must-not-leak")
    for _ in range(3):
        verifier.verify_sync(token)
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(issuer.mint_expired())
    scraped = _scrape(registry)
    name = "jwt_middleware_verifications_total"
    assert _value(scraped, name, outcome="accepted", issuer=issuer.issuer, error_type="") == 3
    assert _value(scraped, name, outcome="refused", error_type="exp.expired") == 1
    assert _value(scraped, "jwt_middleware_token_cache_hits_total", issuer=issuer.issuer) == 2
    assert _value(scraped, "jwt_middleware_verification_duration_seconds_count") == 2  # full only
    buckets = scraped["jwt_middleware_verification_duration_seconds_bucket"]
    assert any(labels["le"] == "+Inf" for labels, _ in buckets)
    fetches = "jwt_middleware_jwks_fetches_total"
    assert _value(scraped, fetches, outcome="success", url=issuer.jwks_url, trigger="cold") == 1
    assert _value(scraped, "jwt_middleware_jwks_fetch_duration_seconds_count", outcome="success") == 1
    assert _value(scraped, "jwt_middleware_jwks_keys", url=issuer.jwks_url) == 1
    text = generate_latest(registry).decode()
    assert "a-subject-that-must-not-leak" not in text
    assert token.split(".")[1] not in text


def test_failures_are_labelled_with_their_reason_code(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    registry = CollectorRegistry()
    registry.register(collector(verifier))
    with issuer.server.fault(issuer.jwks_path, Fault.status(503)), pytest.raises(KeysUnavailableError):
        verifier.verify_sync(issuer.mint())
    scraped = _scrape(registry)
    assert _value(scraped, "jwt_middleware_verifications_total", outcome="unavailable") == 1
    assert _value(scraped, "jwt_middleware_jwks_fetches_total", error_type="fetch.http_status") == 1


def test_every_family_is_described_before_anything_happened() -> None:
    with LocalIssuer() as issuer:
        described = {family.name for family in collector(issuer.verifier()).describe()}
    assert described == {metric.prometheus_name for metric in METRICS}
    assert "jwt_middleware_verification_duration_seconds" in described


def test_one_collector_for_several_verifiers_and_no_duplicate_names() -> None:
    with LocalIssuer(audience="web") as web_issuer, LocalIssuer(audience="api") as api_issuer:
        web, api = web_issuer.verifier(), api_issuer.verifier()
        registry = CollectorRegistry()
        both = collector([web, api])
        registry.register(both)
        web.verify_sync(web_issuer.mint())
        api.verify_sync(api_issuer.mint())
        scraped = _scrape(registry)
        for issuer in (web_issuer, api_issuer):
            assert _value(scraped, "jwt_middleware_verifications_total", issuer=issuer.issuer) == 1
        with pytest.raises(ValueError, match="Duplicated"):
            registry.register(collector(web))  # one collector per registry: give it every verifier
        both.close()
        web.verify_sync(web_issuer.mint())
        assert _value(_scrape(registry), "jwt_middleware_verifications_total", issuer=web_issuer.issuer) == 1


def test_importing_and_building_registers_nothing_globally() -> None:
    script = (
        "import prometheus_client\n"
        "from jwt_middleware.integrations.prometheus import collector\n"
        "from jwt_middleware.testing import LocalIssuer\n"
        "with LocalIssuer() as issuer:\n"
        "    verifier = issuer.verifier()\n"
        "    built = collector(verifier)\n"
        "    verifier.verify_sync(issuer.mint())\n"
        "names = {family.name for family in prometheus_client.REGISTRY.collect()}\n"
        "assert not any(name.startswith('jwt_middleware') for name in names), names\n"
        "print('clean')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
