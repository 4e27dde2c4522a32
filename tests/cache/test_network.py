"""Proxies and private CAs: key fetches through a real proxy to an issuer served over real TLS.

The issuer runs on 127.0.0.1 under a certificate of a private CA (``LocalCA``), the proxy is the
test kit's ``LocalProxy`` (CONNECT tunnels and plain-http forwarding), and nothing is mocked:
whether a fetch went through the proxy is what the proxy saw, whether a CA is trusted is what
the TLS handshake decided.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwt_middleware import CacheSettings, ConfigurationError, JWKSCache, JWTVerifier, KeysUnavailableError
from jwt_middleware.fetching import default_client_factory
from jwt_middleware.reasons import FETCH_NETWORK, FETCH_PROXY, FETCH_TLS
from jwt_middleware.testing import LocalCA, LocalIssuer, LocalProxy
from tests.private_network import ca, clean_environment, tls_issuer

__all__ = ["ca", "clean_environment", "tls_issuer"]


@pytest.fixture
def proxy() -> Iterator[LocalProxy]:
    with LocalProxy() as running:
        yield running


def _verifier(issuer: LocalIssuer, **settings: object) -> JWTVerifier:
    """A verifier that discovers ``issuer``'s keys (discovery and JWKS: two fetches)."""
    return JWTVerifier(
        issuer=issuer.issuer,
        audience=None,
        cache_settings=CacheSettings(**settings),  # type: ignore[arg-type]
    )


def _refusal_code(verifier: JWTVerifier, issuer: LocalIssuer) -> str | None:
    with pytest.raises(KeysUnavailableError) as refused:
        verifier.verify_sync(issuer.mint())
    return refused.value.code


def _tunnels(issuer: LocalIssuer) -> list[str]:
    """What a proxy records for one discovery and one JWKS fetch of ``issuer`` over https."""
    return [f"CONNECT 127.0.0.1:{issuer.server.port}"] * 2


# -- private CAs ------------------------------------------------------------------------------------


def test_a_private_ca_is_not_trusted_by_default(tls_issuer: LocalIssuer) -> None:
    assert tls_issuer.issuer.startswith("https://127.0.0.1:")
    assert _refusal_code(_verifier(tls_issuer), tls_issuer) == FETCH_TLS


def test_ca_bundle_trusts_the_private_ca(ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    verifier = _verifier(tls_issuer, ca_bundle=str(ca.bundle))
    assert verifier.verify_sync(tls_issuer.mint(sub="alice")).subject == "alice"


def test_ca_bundle_may_be_a_hashed_directory_or_a_path(ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    verifier = _verifier(tls_issuer, ca_bundle=ca.hashed_directory())
    assert verifier.verify_sync(tls_issuer.mint(sub="bob")).subject == "bob"


def test_ca_bundle_replaces_the_system_store_and_trusts_only_its_own_ca(tls_issuer: LocalIssuer) -> None:
    with LocalCA("another CA") as other:
        assert _refusal_code(_verifier(tls_issuer, ca_bundle=str(other.bundle)), tls_issuer) == FETCH_TLS


def test_the_issuer_certificate_must_name_the_host(ca: LocalCA) -> None:
    wrong_name = ca.issue("auth.example.com").server_context()
    with LocalIssuer(tls=wrong_name) as issuer:
        assert _refusal_code(_verifier(issuer, ca_bundle=str(ca.bundle)), issuer) == FETCH_TLS


def test_the_local_issuer_verifier_trusts_its_ca(tls_issuer: LocalIssuer) -> None:
    assert tls_issuer.verifier().verify_sync(tls_issuer.mint(sub="carol")).subject == "carol"


@pytest.mark.anyio
async def test_async_verification_uses_the_same_trust(ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    async with _verifier(tls_issuer, ca_bundle=str(ca.bundle)) as verifier:
        assert (await verifier.verify(tls_issuer.mint(sub="dave"))).subject == "dave"
    async with _verifier(tls_issuer) as untrusting:
        with pytest.raises(KeysUnavailableError) as refused:
            await untrusting.verify(tls_issuer.mint())
        assert refused.value.code == FETCH_TLS


# -- client certificates (mutual TLS) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mtls_issuer(ca: LocalCA) -> Iterator[LocalIssuer]:
    with LocalIssuer(tls=ca.server_context(require_client_certificate=True)) as issuer:
        yield issuer


def test_a_client_certificate_is_presented_when_given(ca: LocalCA, mtls_issuer: LocalIssuer) -> None:
    client = ca.issue("orders-api", client=True)
    verifier = _verifier(
        mtls_issuer, ca_bundle=str(ca.bundle), client_cert=str(client.certificate), client_key=str(client.key)
    )
    assert verifier.verify_sync(mtls_issuer.mint(sub="erin")).subject == "erin"


def test_a_server_that_wants_a_client_certificate_refuses_without_one(
    ca: LocalCA, mtls_issuer: LocalIssuer
) -> None:
    # TLS 1.3 refuses the client's certificate after the client's side of the handshake is done:
    # the client then reads either the server's alert (fetch.tls) or a connection already cut.
    refused_codes = {FETCH_TLS, FETCH_NETWORK}
    assert _refusal_code(_verifier(mtls_issuer, ca_bundle=str(ca.bundle)), mtls_issuer) in refused_codes
    with LocalCA("another CA") as other:
        stranger = other.issue("intruder", client=True)
        refused = _verifier(
            mtls_issuer,
            ca_bundle=str(ca.bundle),
            client_cert=str(stranger.certificate),
            client_key=str(stranger.key),
        )
        assert _refusal_code(refused, mtls_issuer) in refused_codes


def test_certificate_and_key_in_one_file(ca: LocalCA, mtls_issuer: LocalIssuer, tmp_path: Path) -> None:
    client = ca.issue("orders-api", client=True)
    combined = tmp_path / "client.pem"
    combined.write_bytes(client.certificate.read_bytes() + client.key.read_bytes())
    verifier = _verifier(mtls_issuer, ca_bundle=str(ca.bundle), client_cert=str(combined))
    assert verifier.verify_sync(mtls_issuer.mint(sub="frank")).subject == "frank"


# -- an explicit proxy ------------------------------------------------------------------------------


def test_an_explicit_proxy_tunnels_every_fetch(
    ca: LocalCA, tls_issuer: LocalIssuer, proxy: LocalProxy
) -> None:
    verifier = _verifier(tls_issuer, ca_bundle=str(ca.bundle), proxy=proxy.url)
    assert verifier.verify_sync(tls_issuer.mint(sub="gina")).subject == "gina"
    assert proxy.requests == _tunnels(tls_issuer)


def test_a_plain_http_issuer_is_forwarded_through_the_proxy(proxy: LocalProxy) -> None:
    with LocalIssuer() as issuer:
        verifier = _verifier(issuer, proxy=proxy.url)
        assert verifier.verify_sync(issuer.mint(sub="hal")).subject == "hal"
        assert proxy.requests == [
            f"GET {issuer.discovery_url}",
            f"GET {issuer.jwks_url}",
        ]


def test_proxy_credentials(ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    with LocalProxy(credentials=("svc", "s3cret")) as guarded:
        refused = _verifier(tls_issuer, ca_bundle=str(ca.bundle), proxy=guarded.url)
        assert _refusal_code(refused, tls_issuer) == FETCH_PROXY
        settings = CacheSettings(ca_bundle=str(ca.bundle), proxy=guarded.url_with_credentials)
        assert "s3cret" not in repr(settings)
        verifier = JWTVerifier(issuer=tls_issuer.issuer, audience=None, cache_settings=settings)
        assert verifier.verify_sync(tls_issuer.mint(sub="ida")).subject == "ida"
        assert guarded.requests[0].endswith("(refused: 407)")
        assert guarded.requests[-2:] == _tunnels(tls_issuer)


# -- the environment, only when trusted -------------------------------------------------------------


def test_the_environment_is_ignored_by_default(
    ca: LocalCA, tls_issuer: LocalIssuer, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))
    assert _refusal_code(_verifier(tls_issuer), tls_issuer) == FETCH_TLS  # SSL_CERT_FILE unused
    assert proxy.requests == []  # and the fetch went direct


def test_trust_env_honours_https_proxy_and_ssl_cert_file(
    ca: LocalCA, tls_issuer: LocalIssuer, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))
    verifier = _verifier(tls_issuer, trust_env=True)
    assert verifier.verify_sync(tls_issuer.mint(sub="jo")).subject == "jo"
    assert proxy.requests == _tunnels(tls_issuer)


def test_trust_env_honours_no_proxy_and_ssl_cert_dir(
    ca: LocalCA, tls_issuer: LocalIssuer, proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    monkeypatch.setenv("SSL_CERT_DIR", str(ca.hashed_directory()))
    verifier = _verifier(tls_issuer, trust_env=True)
    assert verifier.verify_sync(tls_issuer.mint(sub="kim")).subject == "kim"
    assert proxy.requests == []


def test_an_explicit_ca_bundle_wins_over_ssl_cert_file(
    ca: LocalCA, tls_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalCA("another CA") as other:
        monkeypatch.setenv("SSL_CERT_FILE", str(other.bundle))
        verifier = _verifier(tls_issuer, trust_env=True, ca_bundle=str(ca.bundle))
        assert verifier.verify_sync(tls_issuer.mint(sub="lee")).subject == "lee"


def test_trust_env_without_a_ca_in_the_environment_uses_the_system_store(tls_issuer: LocalIssuer) -> None:
    assert _refusal_code(_verifier(tls_issuer, trust_env=True), tls_issuer) == FETCH_TLS


# -- set-up mistakes are ConfigurationErrors, at once ------------------------------------------------


def test_network_settings_are_checked_when_made(ca: LocalCA, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no file or directory"):
        CacheSettings(ca_bundle=str(tmp_path / "missing.pem"))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="ca_bundle: cannot load"):
        CacheSettings(ca_bundle=str(not_pem))
    one, other = ca.issue("a", client=True), ca.issue("b", client=True)
    with pytest.raises(ConfigurationError, match="client_cert: cannot load"):
        CacheSettings(client_cert=str(one.certificate), client_key=str(other.key))  # key of another cert
    with pytest.raises(ConfigurationError, match="client_key needs client_cert"):
        CacheSettings(client_key=str(one.key))
    with pytest.raises(ConfigurationError) as bad_proxy:
        CacheSettings(proxy="socks5://user:hunter2@proxy:1080")
    assert "hunter2" not in str(bad_proxy.value)
    with pytest.raises(ConfigurationError, match="trust_env"):
        CacheSettings(trust_env="yes")  # type: ignore[arg-type]


def test_a_client_factory_and_network_settings_are_exclusive(ca: LocalCA) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        JWKSCache(
            "https://idp.example/jwks.json",
            settings=CacheSettings(ca_bundle=str(ca.bundle)),
            client_factory=default_client_factory,
        )
    JWKSCache(
        "https://idp.example/jwks.json",
        settings=CacheSettings(timeout=2),
        client_factory=default_client_factory,
    )


def test_a_client_factory_builds_every_client(
    ca: LocalCA, tls_issuer: LocalIssuer, proxy: LocalProxy
) -> None:
    """The documented hook: the factory decides the network; the cache's limits still apply."""
    settings = CacheSettings(ca_bundle=str(ca.bundle), proxy=proxy.url)
    built: list[object] = []

    def factory():  # type: ignore[no-untyped-def]
        client = default_client_factory(settings)
        built.append(client)
        return client

    cache = JWKSCache.from_issuer(tls_issuer.issuer, client_factory=factory)
    verifier = JWTVerifier(issuer=tls_issuer.issuer, audience=None, jwks_cache=cache)
    assert verifier.verify_sync(tls_issuer.mint(sub="max")).subject == "max"
    assert len(built) == 1  # one client per fetch flight: discovery and JWKS
    assert proxy.requests == _tunnels(tls_issuer)


def test_environment_variables_named_are_the_ones_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in ("HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        assert name in readme
    assert os.environ.get("SSL_CERT_FILE") is None  # the autouse fixture cleared it
