"""``JWTVerifier.api_gateway`` accepts exactly what an HTTP API JWT authorizer accepts.

One test per row of the parity table in the README ("AWS" section), against a real loopback
provider reached through OIDC discovery, as API Gateway reaches it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    JWTVerifier,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.aws import API_GATEWAY_ALGORITHMS, identity_source_token
from jwt_middleware.testing import LocalIssuer, SigningKey, encode_compact

AUDIENCE = "orders-api"
APP_CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"


def gateway(issuer: LocalIssuer, **options: Any) -> JWTVerifier:
    options.setdefault("audience", [AUDIENCE, APP_CLIENT])
    return JWTVerifier.api_gateway(issuer=issuer.issuer, **options)


# -- row 1-3: accepted tokens ------------------------------------------------------------------------


def test_row_1_rs256_token_with_kid_issuer_audience_and_expiry_is_accepted(issuer: LocalIssuer) -> None:
    claims = gateway(issuer).verify_sync(issuer.mint(sub="alice"))
    assert claims.subject == "alice"


def test_row_2_aud_list_containing_a_configured_audience_is_accepted(issuer: LocalIssuer) -> None:
    assert gateway(issuer).verify_sync(issuer.mint(aud=["other-api", AUDIENCE]))


def test_row_3_no_aud_and_a_configured_client_id_is_accepted(issuer: LocalIssuer) -> None:
    token = issuer.mint(aud=None, client_id=APP_CLIENT, token_use="access")
    assert gateway(issuer).verify_sync(token).client_id == APP_CLIENT


# -- rows 4-5: aud is evaluated when present, client_id only without it -------------------------------


def test_row_4_aud_present_but_not_accepted_fails_even_with_a_matching_client_id(issuer: LocalIssuer) -> None:
    token = issuer.mint(aud="someone-else", client_id=APP_CLIENT)
    with pytest.raises(InvalidAudienceError) as caught:
        gateway(issuer).verify_sync(token)
    assert caught.value.claim == "aud"


@pytest.mark.parametrize("client_id", ["unknown-client", None, 42])
def test_row_5_no_aud_and_no_accepted_client_id_fails(issuer: LocalIssuer, client_id: Any) -> None:
    with pytest.raises(InvalidAudienceError) as caught:
        gateway(issuer).verify_sync(issuer.mint(aud=None, client_id=client_id))
    assert caught.value.claim == "client_id"


# -- row 6: the one issuer, exactly, before any key is fetched ---------------------------------------


@pytest.mark.parametrize(
    "iss", ["https://elsewhere.example", "{issuer}/", "{upper}", None], ids=["other", "slash", "case", "none"]
)
def test_row_6_any_other_issuer_fails_without_fetching(iss: str | None) -> None:
    with LocalIssuer(audience=AUDIENCE) as provider:
        value = None if iss is None else iss.format(issuer=provider.issuer, upper=provider.issuer.upper())
        with pytest.raises(InvalidIssuerError):
            gateway(provider).verify_sync(provider.mint(iss=value))
        assert provider.jwks_requests == 0
        assert provider.discovery_requests == 0


def test_row_6_issuer_is_one_https_url() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.api_gateway(issuer=["https://a.example", "https://b.example"], audience=AUDIENCE)
    with pytest.raises(ConfigurationError):
        JWTVerifier.api_gateway(issuer="http://idp.example", audience=AUDIENCE)
    with pytest.raises(ConfigurationError):
        JWTVerifier.api_gateway(issuer="https://idp.example", audience=[])


# -- rows 7-8: the key is named by kid ---------------------------------------------------------------


def test_row_7_a_token_without_kid_fails_even_when_the_issuer_has_one_key(issuer: LocalIssuer) -> None:
    assert len(issuer.keys) == 1
    with pytest.raises(UnknownKeyError) as caught:
        gateway(issuer).verify_sync(issuer.mint(headers={"kid": None}))
    assert caught.value.claim == "kid"
    # The core alone accepts it: the rule is the preset's.
    assert JWTVerifier(issuer=issuer.issuer, audience=AUDIENCE).verify_sync(
        issuer.mint(headers={"kid": None})
    )


def test_row_8_a_kid_the_issuer_does_not_publish_fails(issuer: LocalIssuer) -> None:
    with pytest.raises(UnknownKeyError):
        gateway(issuer).verify_sync(issuer.mint_unknown_key())


# -- row 9: RSA algorithms only ----------------------------------------------------------------------


def test_row_9_default_algorithms_are_the_rsa_ones() -> None:
    assert API_GATEWAY_ALGORITHMS == ("RS256", "RS384", "RS512")


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_row_9_non_rsa_or_unlisted_algorithms_fail_before_any_fetch(alg: str) -> None:
    with LocalIssuer(alg=alg, audience=AUDIENCE) as provider:
        with pytest.raises(UnsupportedAlgorithmError):
            gateway(provider).verify_sync(provider.mint())
        assert provider.jwks_requests == 0


@pytest.mark.parametrize("alg", ["RS384", "RS512"])
def test_row_9_other_rsa_algorithms_are_accepted(alg: str) -> None:
    with LocalIssuer(alg=alg, audience=AUDIENCE) as provider:
        assert gateway(provider).verify_sync(provider.mint())


def test_row_9_algorithms_can_be_widened_explicitly() -> None:
    with LocalIssuer(alg="PS256", audience=AUDIENCE) as provider:
        assert gateway(provider, algorithms=["RS256", "PS256"]).verify_sync(provider.mint())


# -- rows 10-13: exp after now, nbf and iat not after now ---------------------------------------------


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


NOW = float(int(time.time()))


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": int(NOW)}, ExpiredTokenError),
        ({"exp": int(NOW) - 1}, ExpiredTokenError),
        ({"exp": None}, InvalidClaimError),
        ({"nbf": int(NOW) + 1}, NotYetValidError),
        ({"iat": int(NOW) + 1}, NotYetValidError),
    ],
    ids=["row-10-exp-now", "row-10-exp-past", "row-11-no-exp", "row-12-nbf-future", "row-13-iat-future"],
)
def test_rows_10_to_13_time_claims(
    issuer: LocalIssuer, claims: dict[str, Any], error: type[Exception]
) -> None:
    token = issuer.mint({"iat": int(NOW) - 10, "exp": int(NOW) + 60, **claims}, expires_in=None)
    with pytest.raises(error):
        gateway(issuer, clock=FixedClock(NOW)).verify_sync(token)


def test_rows_10_to_13_boundaries_that_pass(issuer: LocalIssuer) -> None:
    token = issuer.mint({"iat": int(NOW), "nbf": int(NOW), "exp": int(NOW) + 1}, expires_in=None)
    assert gateway(issuer, clock=FixedClock(NOW)).verify_sync(token)


# -- rows 14-16: route scopes, any one of them, in scope or scp ---------------------------------------


@pytest.mark.parametrize(
    "granted",
    [{"scope": "openid orders:read"}, {"scp": "orders:write"}, {"scp": ["profile", "orders:read"]}],
    ids=["scope", "scp-string", "scp-list"],
)
def test_rows_14_15_one_route_scope_in_scope_or_scp_is_enough(
    issuer: LocalIssuer, granted: dict[str, Any]
) -> None:
    verifier = gateway(issuer, scopes=["orders:read", "orders:write"])
    assert verifier.verify_sync(issuer.mint(granted))


@pytest.mark.parametrize("granted", [{"scope": "openid profile"}, {}, {"scope": "orders:read2"}])
def test_row_16_none_of_the_route_scopes_is_a_403(issuer: LocalIssuer, granted: dict[str, Any]) -> None:
    with pytest.raises(InsufficientScopeError) as caught:
        gateway(issuer, scopes="orders:read").verify_sync(issuer.mint(granted))
    assert caught.value.status_code == 403
    assert caught.value.scopes == ("orders:read",)


def test_row_16_without_route_scopes_scope_is_not_checked(issuer: LocalIssuer) -> None:
    assert gateway(issuer).verify_sync(issuer.mint())


# -- row 17: the identity source, token alone or after Bearer ----------------------------------------


def test_row_17_identity_source_token_alone_or_after_bearer() -> None:
    assert identity_source_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert identity_source_token("bearer   abc.def.ghi") == "abc.def.ghi"
    assert identity_source_token("abc.def.ghi") == "abc.def.ghi"


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "", "Bearer", "a.b.c, d.e.f", "Bearer a b"])
def test_row_17_other_identity_source_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequestError):
        identity_source_token(value)


# -- row 18: the signature ---------------------------------------------------------------------------


def test_row_18_a_bad_signature_fails(issuer: LocalIssuer) -> None:
    with pytest.raises(InvalidSignatureError):
        gateway(issuer).verify_sync(issuer.mint_bad_signature())
    with pytest.raises(InvalidSignatureError):
        gateway(issuer).verify_sync(issuer.mint_bad_signature(how="other_key"))


def test_a_forged_token_under_a_published_kid_with_another_algorithm_fails(issuer: LocalIssuer) -> None:
    forger = SigningKey.generate("RS512", kid=issuer.current_key.kid)
    token = encode_compact({"iss": issuer.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 60}, forger)
    with pytest.raises((UnsupportedAlgorithmError, InvalidSignatureError)):
        gateway(issuer).verify_sync(token)


@pytest.mark.anyio
async def test_the_async_path_applies_the_same_rules(issuer: LocalIssuer) -> None:
    verifier = gateway(issuer, scopes=["orders:read"])
    try:
        assert await verifier.verify(issuer.mint(scope="orders:read"))
        with pytest.raises(InvalidAudienceError):
            await verifier.verify(issuer.mint(aud="other"))
    finally:
        await verifier.aclose()


def test_keys_are_found_through_discovery_like_api_gateway_or_at_jwks_url() -> None:
    with LocalIssuer(audience=AUDIENCE) as provider:
        gateway(provider).verify_sync(provider.mint())
        assert (provider.discovery_requests, provider.jwks_requests) == (1, 1)
    with LocalIssuer(audience=AUDIENCE) as provider:
        gateway(provider, jwks_url=provider.jwks_url).verify_sync(provider.mint())
        assert (provider.discovery_requests, provider.jwks_requests) == (0, 1)


def test_extra_checks_are_appended_to_the_authorizer_rules(issuer: LocalIssuer) -> None:
    def no_bob(header: Any, claims: Any, now: float) -> None:
        if claims.get("sub") == "bob":
            raise InvalidClaimError("bob is not welcome")

    verifier = gateway(issuer, checks=[no_bob])
    assert verifier.verify_sync(issuer.mint(sub="alice"))
    with pytest.raises(InvalidClaimError):
        verifier.verify_sync(issuer.mint(sub="bob"))
    with pytest.raises(InvalidAudienceError):
        verifier.verify_sync(issuer.mint(sub="alice", aud="x"))
