"""LocalIssuer end to end: its served keys verify what it mints, through the real JWKS cache."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx2
import pytest

from jwt_middleware import (
    CacheSettings,
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    JWTMiddlewareError,
    JWTVerifier,
    KeysUnavailableError,
    MalformedTokenError,
    NotYetValidError,
    UnknownKeyError,
    b64,
)
from jwt_middleware.testing import Fault, LocalIssuer


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64.decode(header)), json.loads(b64.decode(payload))


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalIssuer]:
    """For tests that neither rotate, fault nor count."""
    with LocalIssuer(audience="orders-api") as issuer:
        yield issuer


# -- verifying what it mints ------------------------------------------------------------------------


def test_tokens_verify_sync_through_jwks_url(shared: LocalIssuer) -> None:
    verifier = shared.verifier()
    claims = verifier.verify_sync(shared.mint(scope="orders:read"))
    assert claims["iss"] == shared.issuer == shared.url
    assert claims["aud"] == "orders-api"
    assert claims["scope"] == "orders:read"
    assert verifier.key_sources[shared.issuer].url == shared.jwks_url  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_tokens_verify_async_through_discovery() -> None:
    async with LocalIssuer() as issuer:
        async with JWTVerifier(issuer=issuer.url, audience=None) as verifier:
            claims = await verifier.verify(issuer.mint(sub="alice"))
        assert claims.subject == "alice"
        assert (issuer.discovery_requests, issuer.jwks_requests) == (1, 1)


def test_tokens_verify_sync_through_discovery() -> None:
    with LocalIssuer() as issuer:
        verifier = issuer.verifier(jwks_url=None)
        assert verifier.verify_sync(issuer.mint())["sub"] == "user-123"
        assert (issuer.discovery_requests, issuer.jwks_requests) == (1, 1)


@pytest.mark.anyio
async def test_async_context_starts_and_stops_the_server() -> None:
    async with LocalIssuer() as issuer:
        url = issuer.jwks_url
        async with httpx2.AsyncClient(trust_env=False) as http:
            assert (await http.get(url)).status_code == 200
    assert not issuer.server.running


@pytest.mark.anyio
async def test_async_start_leaves_the_event_loop_running() -> None:
    ticks = 0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await anyio.sleep(0.001)
            ticks += 1

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        issuer = LocalIssuer()
        before = ticks
        await issuer.__aenter__()  # key generation and binding: tens of milliseconds
        during = ticks - before
        await issuer.__aexit__(None, None, None)
        done.set()
    assert during >= 1  # a blocking start would have let no tick through


@pytest.mark.parametrize(("alg", "kty"), [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")])
def test_each_default_algorithm(alg: str, kty: str) -> None:
    with LocalIssuer(alg=alg) as issuer:
        (jwk,) = issuer.jwks()["keys"]
        assert (jwk["kty"], jwk["alg"], jwk["kid"]) == (kty, alg, issuer.current_key.kid)
        token = issuer.mint()
        assert decode(token)[0] == {"alg": alg, "kid": issuer.current_key.kid, "typ": "JWT"}
        assert issuer.verifier().verify_sync(token)["sub"] == "user-123"


def test_mint_with_another_alg_publishes_a_key_on_demand() -> None:
    with LocalIssuer() as issuer:
        verifier = issuer.verifier()
        assert verifier.verify_sync(issuer.mint())  # caches the one-key set
        es_token = issuer.mint(alg="ES256")
        es_key = issuer.keys[-1]
        assert es_key.alg == "ES256"
        assert decode(es_token)[0]["kid"] == es_key.kid
        assert verifier.verify_sync(es_token)  # an unknown kid: the cache refetches once
        assert issuer.jwks_requests == 2
        assert decode(issuer.mint(alg="ES256"))[0]["kid"] == es_key.kid  # reused, not regenerated
        assert len(issuer.keys) == 2
        assert decode(issuer.mint(kid=es_key.kid))[0]["alg"] == "ES256"
        with pytest.raises(ValueError, match="no published key"):
            issuer.mint(kid="nope")
        with pytest.raises(ValueError, match="not RS256"):
            issuer.mint(kid=es_key.kid, alg="RS256")


def test_default_claims_and_overrides(shared: LocalIssuer) -> None:
    before = int(time.time())
    _, claims = decode(shared.mint())
    assert set(claims) == {"iss", "sub", "aud", "iat", "exp", "jti"}
    assert claims["sub"] == "user-123"
    assert isinstance(claims["iat"], int)
    assert before <= claims["iat"] <= before + 2
    assert claims["exp"] == claims["iat"] + 300
    assert decode(shared.mint())[1]["jti"] != claims["jti"]

    _, custom = decode(shared.mint({"sub": "bob", "aud": ["a", "b"]}, jti=None, roles=["admin"]))
    assert custom["sub"] == "bob"
    assert custom["aud"] == ["a", "b"]
    assert custom["roles"] == ["admin"]
    assert "jti" not in custom
    assert "exp" not in decode(shared.mint(expires_in=None))[1]
    header, _ = decode(shared.mint(headers={"typ": None, "cty": "x"}))
    assert header == {"alg": "RS256", "kid": shared.current_key.kid, "cty": "x"}


def test_issuer_without_audience_mints_no_aud() -> None:
    with LocalIssuer() as issuer:
        assert "aud" not in decode(issuer.mint())[1]
        assert issuer.verifier().audiences is None


def test_audience_is_checked_by_the_bound_verifier(shared: LocalIssuer) -> None:
    with pytest.raises(InvalidAudienceError):
        shared.verifier().verify_sync(shared.mint(aud="someone-else"))
    assert shared.verifier(audience="someone-else").verify_sync(shared.mint(aud="someone-else"))


# -- deliberately broken tokens ---------------------------------------------------------------------


BROKEN: list[tuple[Callable[[LocalIssuer], str], type[JWTMiddlewareError]]] = [
    (lambda issuer: issuer.mint(expires_in=-5), ExpiredTokenError),
    (lambda issuer: issuer.mint_expired(), ExpiredTokenError),
    (lambda issuer: issuer.mint_not_yet_valid(), NotYetValidError),
    (lambda issuer: issuer.mint_wrong_issuer(), InvalidIssuerError),
    (lambda issuer: issuer.mint_bad_signature(), InvalidSignatureError),
    (lambda issuer: issuer.mint_bad_signature(how="other_key"), InvalidSignatureError),
    (lambda issuer: issuer.mint_bad_signature(alg="ES256"), InvalidSignatureError),
    (lambda issuer: issuer.mint_bad_signature(alg="EdDSA", how="other_key"), InvalidSignatureError),
    (lambda issuer: issuer.mint_unknown_key(), UnknownKeyError),
    (lambda issuer: issuer.mint_unsigned(), MalformedTokenError),
    (lambda issuer: issuer.mint(headers={"kid": "not-published"}), UnknownKeyError),
]


@pytest.mark.parametrize(("make", "error"), BROKEN)
def test_broken_variants_are_rejected_with_the_right_error(
    shared: LocalIssuer, make: Callable[[LocalIssuer], str], error: type[JWTMiddlewareError]
) -> None:
    token = make(shared)
    verifier = shared.verifier()
    with pytest.raises(error) as raised:
        verifier.verify_sync(token)
    assert type(raised.value) is error


def test_broken_variants_are_otherwise_valid(shared: LocalIssuer) -> None:
    _, expired = decode(shared.mint_expired(expired_for=120))
    assert expired["exp"] <= int(time.time()) - 120 < expired["exp"] + 2
    assert expired["iat"] < expired["exp"]
    _, early = decode(shared.mint_not_yet_valid(starts_in=60))
    assert early["nbf"] > early["iat"]
    assert decode(shared.mint_wrong_issuer(wrong_issuer="https://evil.test"))[1]["iss"] == "https://evil.test"
    header, _ = decode(shared.mint_bad_signature(how="other_key"))
    assert header["kid"] == shared.current_key.kid
    unknown, _ = decode(shared.mint_unknown_key())
    assert unknown["kid"] not in {key.kid for key in shared.keys}
    with pytest.raises(ValueError, match="flip"):
        shared.mint_bad_signature(how="smudge")  # type: ignore[arg-type]


# -- rotation and counting --------------------------------------------------------------------------


def test_rotation_keeping_the_old_key_then_unpublishing_it() -> None:
    with LocalIssuer() as issuer:
        # No unknown-kid cooldown, so that every rotation below is picked up at once.
        verifier = issuer.verifier(cache_settings=CacheSettings(unknown_kid_cooldown=0))
        old_key = issuer.current_key
        old_token = issuer.mint()
        assert verifier.verify_sync(old_token)
        assert issuer.jwks_requests == 1

        new_key = issuer.rotate()
        assert issuer.current_key is new_key
        assert [key.kid for key in issuer.keys] == [old_key.kid, new_key.kid]
        new_token = issuer.mint()
        assert decode(new_token)[0]["kid"] == new_key.kid
        assert verifier.verify_sync(new_token)  # unknown kid: one refetch
        assert verifier.verify_sync(old_token)  # still published
        assert issuer.jwks_requests == 2

        issuer.unpublish(old_key.kid)
        assert [key.kid for key in issuer.keys] == [new_key.kid]
        assert verifier.verify_sync(old_token)  # the cache has not seen the change yet
        newest_token = issuer.mint(kid=issuer.rotate().kid)
        assert verifier.verify_sync(newest_token)  # this refresh drops the old key
        assert issuer.jwks_requests == 3
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(old_token)
        assert issuer.jwks_requests == 4  # one more look for the vanished kid, then rejected
        with pytest.raises(KeyError):
            issuer.unpublish(old_key.kid)


def test_unknown_kid_cooldown_limits_refetches() -> None:
    with LocalIssuer() as issuer:
        verifier = issuer.verifier()  # default cooldown: 10 s
        assert verifier.verify_sync(issuer.mint())
        assert verifier.verify_sync(issuer.mint(kid=issuer.rotate().kid))
        assert issuer.jwks_requests == 2
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(issuer.mint(kid=issuer.rotate().kid))  # too soon after the last
        assert issuer.jwks_requests == 2


def test_rotation_without_keeping_the_old_key() -> None:
    with LocalIssuer(alg="ES256") as issuer:
        old_token = issuer.mint()
        old_kid = issuer.current_key.kid
        new_key = issuer.rotate(keep_old=False)
        assert new_key.alg == "ES256"
        assert [key.kid for key in issuer.keys] == [new_key.kid]
        verifier = issuer.verifier()
        assert verifier.verify_sync(issuer.mint())
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(old_token)
        assert old_kid not in json.dumps(issuer.jwks())


def test_jwks_request_count_is_exact() -> None:
    with LocalIssuer() as issuer:
        assert (issuer.jwks_requests, issuer.discovery_requests) == (0, 0)
        verifier = issuer.verifier()
        for _ in range(5):
            verifier.verify_sync(issuer.mint())
        assert issuer.jwks_requests == 1  # cached for max-age
        issuer.verifier().verify_sync(issuer.mint())
        assert issuer.jwks_requests == 2  # a second verifier has its own cache
        with httpx2.Client(trust_env=False) as http:
            http.get(issuer.jwks_url)
            http.get(issuer.discovery_url)
        assert (issuer.jwks_requests, issuer.discovery_requests) == (3, 1)


def test_jwks_outage_at_cold_start_then_recovery() -> None:
    with LocalIssuer() as issuer:
        verifier = issuer.verifier(cache_settings=CacheSettings(retry_initial=0.05, timeout=1))
        token = issuer.mint()
        with issuer.server.fault(issuer.jwks_path, Fault.status(503)), pytest.raises(KeysUnavailableError):
            verifier.verify_sync(token)
        time.sleep(0.1)  # past the retry delay
        assert verifier.verify_sync(token)
        assert issuer.jwks_requests == 2


# -- what it serves ---------------------------------------------------------------------------------


def test_served_documents_and_cache_control() -> None:
    with LocalIssuer(alg="ES256", cache_control="max-age=60, public") as issuer:
        issuer.add_key("EdDSA")
        with httpx2.Client(trust_env=False) as http:
            discovery = http.get(issuer.discovery_url).json()
            response = http.get(issuer.jwks_url)
            issuer.cache_control = None
            uncached = http.get(issuer.jwks_url)
    assert discovery["issuer"] == issuer.url
    assert discovery["jwks_uri"] == issuer.jwks_url
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256", "EdDSA"]
    assert response.headers["cache-control"] == "max-age=60, public"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"  # no pooled connection outlives a test's loop
    assert response.json() == issuer.jwks()
    assert [jwk["alg"] for jwk in response.json()["keys"]] == ["ES256", "EdDSA"]
    assert all("d" not in jwk for jwk in response.json()["keys"])  # public halves only
    assert "cache-control" not in uncached.headers


def test_issuer_override_and_custom_jwks_path() -> None:
    with LocalIssuer(issuer="https://login.example.com/", jwks_path="/keys") as issuer:
        assert issuer.issuer == "https://login.example.com/"
        assert issuer.jwks_url == issuer.url + "/keys"
        token = issuer.mint()
        assert decode(token)[1]["iss"] == "https://login.example.com/"
        assert issuer.verifier().verify_sync(token)
        assert issuer.discovery_document()["issuer"] == "https://login.example.com/"
        assert issuer.jwks_requests == 1
        with pytest.raises(InvalidIssuerError):
            issuer.verifier(issuer="https://other.example.com").verify_sync(token)


def test_rfc9068_access_token() -> None:
    with LocalIssuer(audience="https://api.example.com") as issuer:
        token = issuer.mint_access_token_rfc9068(client_id="web-app", scope=["orders:read", "profile"])
        header, claims = decode(token)
        assert header == {"alg": "RS256", "kid": issuer.current_key.kid, "typ": "at+jwt"}
        assert set(claims) == {"iss", "exp", "aud", "sub", "client_id", "iat", "jti", "scope"}
        assert (claims["aud"], claims["client_id"], claims["scope"]) == (
            "https://api.example.com",
            "web-app",
            "orders:read profile",
        )
        at_verifier = issuer.verifier(token_type="at+jwt")
        assert at_verifier.verify_sync(token).scopes == {"orders:read", "profile"}
        with pytest.raises(InvalidClaimError):
            at_verifier.verify_sync(issuer.mint())  # typ JWT is not an access token
        assert "scope" not in decode(issuer.mint_access_token_rfc9068(audience="x"))[1]
    with LocalIssuer() as no_audience, pytest.raises(ValueError, match="audience"):
        no_audience.mint_access_token_rfc9068()


def test_using_it_before_start_says_so() -> None:
    issuer = LocalIssuer()
    with pytest.raises(RuntimeError, match="start the issuer"):
        issuer.mint()
    with pytest.raises(RuntimeError, match="start the issuer"):
        _ = issuer.jwks_url
    with pytest.raises(ValueError, match="unsupported"):
        LocalIssuer(alg="HS256")
