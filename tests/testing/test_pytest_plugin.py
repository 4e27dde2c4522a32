"""The pytest11 plugin, as a user's suite sees it: fixtures available with no import or conftest."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

#: The inner runs share this process, where jwt_middleware is already imported, so pytest cannot
#: assertion-rewrite the plugin's package (in a user's own run it is imported after the plugin).
INNER = ("-p", "no:cacheprovider", "-q", "-W", "ignore::pytest.PytestAssertRewriteWarning")

USER_TESTS = """
import httpx2
import pytest

from jwt_middleware import ExpiredTokenError, JWTVerifier


def test_token_verifies(jwt_verifier, jwt_token, jwt_issuer):
    claims = jwt_verifier.verify_sync(jwt_token)
    assert claims["iss"] == jwt_issuer.issuer == jwt_issuer.url
    assert jwt_issuer.jwks_requests == 1


def test_mint_jwt_is_the_issuer_mint(mint_jwt, jwt_verifier):
    assert jwt_verifier.verify_sync(mint_jwt(sub="alice", scope="a b")).scopes == {"a", "b"}
    with pytest.raises(ExpiredTokenError):
        jwt_verifier.verify_sync(mint_jwt(expires_in=-1))


def test_each_test_gets_a_fresh_issuer(jwt_issuer):
    assert jwt_issuer.jwks_requests == 0
    assert len(jwt_issuer.keys) == 1


def test_the_issuer_is_real_http(jwt_issuer):
    document = httpx2.get(jwt_issuer.discovery_url, trust_env=False).json()
    assert document["jwks_uri"] == jwt_issuer.jwks_url


def test_session_issuer_is_shared(jwt_session_issuer, request):
    assert jwt_session_issuer is request.getfixturevalue("jwt_session_issuer")
    issuer = jwt_session_issuer
    verifier = JWTVerifier(issuer=issuer.issuer, audience=None, jwks_url=issuer.jwks_url)
    assert verifier.verify_sync(issuer.mint())


@pytest.mark.anyio
async def test_async_verify(jwt_verifier, jwt_token):
    assert (await jwt_verifier.verify(jwt_token))["sub"] == "user-123"
"""


def test_fixtures_work_in_a_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""
    )
    pytester.makepyfile(test_user=USER_TESTS)
    # -W error: a connection left open by the async test's verifier would fail the run.
    result = pytester.runpytest("-W", "error", *INNER)
    result.assert_outcomes(passed=6)


def test_issuer_options_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def jwt_issuer_options():
    return {"alg": "ES256", "audience": "orders-api"}
"""
    )
    pytester.makepyfile(
        test_options="""
import pytest
from jwt_middleware import InvalidAudienceError


def test_configured(jwt_issuer, jwt_verifier, mint_jwt):
    assert jwt_issuer.current_key.alg == "ES256"
    assert jwt_verifier.verify_sync(mint_jwt())["aud"] == "orders-api"
    with pytest.raises(InvalidAudienceError):
        jwt_verifier.verify_sync(mint_jwt(aud="billing-api"))
"""
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)


def test_plugin_is_registered_as_an_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing(): pass")
    result = pytester.runpytest("--fixtures", *INNER)
    result.stdout.fnmatch_lines(
        ["jwt_issuer_options *", "jwt_issuer -- *", "jwt_session_issuer *", "jwt_verifier -- *"]
    )
    result.stdout.fnmatch_lines(["mint_jwt -- *", "jwt_token -- *"])
