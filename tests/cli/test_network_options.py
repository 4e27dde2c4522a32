"""``jwt-middleware verify`` reaches the keys as the library does: private CAs, proxies, the environment."""

from __future__ import annotations

import pytest

from jwt_middleware.testing import LocalCA, LocalIssuer, LocalProxy
from tests.cli.conftest import Run
from tests.private_network import ca, clean_environment, tls_issuer

__all__ = ["ca", "clean_environment", "tls_issuer"]


def test_an_untrusted_ca_is_explained_with_the_option_to_add(cli: Run, tls_issuer: LocalIssuer) -> None:
    result = cli("verify", tls_issuer.mint(), "--issuer", tls_issuer.issuer, "--audience", "orders-api")
    assert result.code == 3
    assert "failed (TLS: unable to get local issuer certificate)" in result.out
    assert "--ca-bundle" in result.out


def test_ca_bundle_and_proxy(cli: Run, ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    with LocalProxy() as proxy:
        result = cli(
            "verify",
            tls_issuer.mint(sub="alice"),
            "--issuer",
            tls_issuer.issuer,
            "--audience",
            "orders-api",
            "--ca-bundle",
            str(ca.bundle),
            "--proxy",
            proxy.url,
        )
        assert result.code == 0, result.out + result.err
        assert len(proxy.requests) == 2


def test_trust_env(cli: Run, ca: LocalCA, tls_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))
    args = ("verify", tls_issuer.mint(), "--issuer", tls_issuer.issuer, "--audience", "orders-api")
    assert cli(*args).code == 3
    assert cli(*args, "--trust-env").code == 0


def test_a_missing_ca_bundle_is_a_usage_error(cli: Run, tls_issuer: LocalIssuer) -> None:
    result = cli(
        "verify",
        tls_issuer.mint(),
        "--issuer",
        tls_issuer.issuer,
        "--no-audience",
        "--ca-bundle",
        "/nope.pem",
    )
    assert result.code == 2
    assert "ca_bundle: no file or directory" in result.err
