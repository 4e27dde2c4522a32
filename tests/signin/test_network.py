"""Sign-in behind a company network: discovery, token and revocation endpoints through the proxy,
the provider under a private CA, with the same settings the verifier's keys are fetched with."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx2
import pytest

from integrations.signin_app import create_app
from jwt_middleware import CacheSettings
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalCA, LocalIssuer, LocalProxy
from tests.middleware.test_uvicorn import RunningServer
from tests.private_network import ca, clean_environment
from tests.signin.conftest import CLIENT_ID, USERS

__all__ = ["ca", "clean_environment"]


@pytest.fixture
def tls_issuer(ca: LocalCA) -> Iterator[LocalIssuer]:
    with LocalIssuer(tls=ca, audience=CLIENT_ID, auto_approve=True, users=USERS) as issuer:
        yield issuer


def _browser(ca: LocalCA) -> httpx2.Client:
    """A browser that trusts the company CA (the site itself is plain http on loopback)."""
    context = ssl.create_default_context(cafile=ca.bundle)
    return httpx2.Client(
        follow_redirects=True, timeout=10, verify=context, trust_env=False, headers={"Accept": "text/html"}
    )


def test_sign_in_and_logout_go_through_the_proxy_to_a_private_ca(
    ca: LocalCA, tls_issuer: LocalIssuer
) -> None:
    with LocalProxy() as proxy:
        network = CacheSettings(ca_bundle=str(ca.bundle), proxy=proxy.url)
        verifier = tls_issuer.verifier(cache_settings=network)
        signin = SignIn(
            issuer=tls_issuer.url,
            client_id=CLIENT_ID,
            verifier=verifier,
            secure_cookies=False,
            network=network,
        )
        with RunningServer(create_app(signin)) as site, _browser(ca) as browser:
            page = browser.get(site.url + "/")
            assert page.status_code == 200, page.text
            assert '<span id="user">alice</span>' in page.text
            tunnels = len(proxy.requests)
            # Discovery and the token endpoint (sign-in), then the JWKS (the session token's keys).
            assert tunnels >= 3
            assert set(proxy.requests) == {f"CONNECT 127.0.0.1:{tls_issuer.server.port}"}
            logout = browser.post(site.url + "/auth/logout", headers={"Origin": site.url})
            assert logout.status_code == 200
            assert len(proxy.requests) > tunnels  # the revocation endpoint, through the proxy too


def test_without_the_ca_the_sign_in_is_a_503_not_a_crash(ca: LocalCA, tls_issuer: LocalIssuer) -> None:
    network = CacheSettings(ca_bundle=str(ca.bundle))
    signin = SignIn(
        issuer=tls_issuer.url,
        client_id=CLIENT_ID,
        verifier=tls_issuer.verifier(cache_settings=network),
        secure_cookies=False,  # and no network=: the provider's endpoints use the system store
    )
    with RunningServer(create_app(signin)) as site, _browser(ca) as browser:
        response = browser.get(site.url + "/auth/login")
        assert response.status_code == 503
        assert "retry-after" in response.headers
