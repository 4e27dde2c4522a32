"""``ALBVerifier``: x-amzn-oidc-data as AWS documents it, against a loopback stand-in load balancer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from jwt_middleware import (
    ClaimMapping,
    ConfigurationError,
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    JWTAuthMiddleware,
    JWTMiddlewareError,
    JWTUser,
    JWTVerifier,
    MalformedTokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    WSGIJWTMiddleware,
)
from jwt_middleware.aws import (
    ALB_ACCESS_TOKEN_HEADER,
    ALB_DATA_HEADER,
    ALB_IDENTITY_HEADER,
    ALBKeySource,
    ALBVerifier,
    alb_identity,
    alb_key_url,
    parse_alb_arn,
)
from jwt_middleware.testing import DEFAULT_ALB_ARN, LocalALB, LocalIssuer, SigningKey

OTHER_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other-alb/fedcba9876543210"
WEST_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/west/00112233445566aa"


# -- the happy path ----------------------------------------------------------------------------------


def test_a_padded_es256_token_verifies_and_its_key_is_fetched_once(alb: LocalALB) -> None:
    verifier = alb.verifier()
    token = alb.mint({"email": "alice@example.com"}, sub="alice")
    assert "=" in token  # AWS pads every segment; here at least one needs it
    for _ in range(5):
        claims = verifier.verify_sync(alb.mint(sub="alice"))
    claims = verifier.verify_sync(token)
    assert claims.subject == "alice"
    assert claims["email"] == "alice@example.com"
    assert claims.header["signer"] == DEFAULT_ALB_ARN
    assert alb.key_requests() == 1


@pytest.mark.anyio
async def test_the_async_path_shares_the_rules_and_the_cache(alb: LocalALB) -> None:
    verifier = alb.verifier()
    try:
        assert (await verifier.verify(alb.mint(sub="ann"))).subject == "ann"
        assert verifier.verify_sync(alb.mint(sub="bo")).subject == "bo"
        assert alb.key_requests() == 1
        with pytest.raises(InvalidIssuerError):
            await verifier.verify(alb.mint(headers={"signer": OTHER_ARN}))
    finally:
        await verifier.aclose()


def test_unpadded_segments_are_accepted_too(alb: LocalALB) -> None:
    assert alb.verifier().verify_sync(alb.mint(padded=False))


def test_padding_is_only_accepted_in_alb_mode(alb: LocalALB) -> None:
    key = alb.current_key
    ordinary = JWTVerifier(
        issuer=alb.issuer, audience=None, jwks={"keys": [key.public_jwk()]}, algorithms=["ES256"]
    )
    token = alb.mint()
    assert "=" in token
    with pytest.raises(MalformedTokenError):
        ordinary.verify_sync(token)


# -- checks made before any key is fetched -----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "error", "claim"),
    [
        ({"signer": OTHER_ARN}, InvalidIssuerError, "signer"),
        ({"signer": None}, InvalidIssuerError, "signer"),
        ({"signer": [DEFAULT_ALB_ARN]}, InvalidIssuerError, "signer"),
        ({"client": "another-client"}, InvalidAudienceError, "client"),
        ({"client": None}, InvalidAudienceError, "client"),
        ({"kid": "not-a-uuid"}, UnknownKeyError, "kid"),
        ({"kid": "../../etc/passwd"}, UnknownKeyError, "kid"),
        ({"kid": None}, UnknownKeyError, "kid"),
    ],
)
def test_signer_client_and_kid_are_checked_before_any_fetch(
    alb: LocalALB, headers: dict[str, Any], error: type[JWTMiddlewareError], claim: str
) -> None:
    with pytest.raises(error) as caught:
        alb.verifier().verify_sync(alb.mint(headers=headers))
    assert caught.value.claim == claim
    assert alb.key_requests() == 0


@pytest.mark.parametrize("alg", ["ES384", "RS256", "none", "HS256"])
def test_only_es256_is_accepted(alb: LocalALB, alg: str) -> None:
    with pytest.raises((UnsupportedAlgorithmError, MalformedTokenError)):
        alb.verifier().verify_sync(alb.mint(headers={"alg": alg}))
    assert alb.key_requests() == 0


def test_the_payload_issuer_is_checked_before_any_fetch(alb: LocalALB) -> None:
    with pytest.raises(InvalidIssuerError) as caught:
        alb.verifier().verify_sync(
            alb.mint({"iss": "https://evil.example"}, headers={"iss": "https://evil.example"})
        )
    assert caught.value.claim == "iss"
    with pytest.raises(InvalidIssuerError):
        alb.verifier().verify_sync(alb.mint({"iss": None}))
    assert alb.key_requests() == 0


def test_header_and_payload_must_name_the_same_issuer(alb: LocalALB) -> None:
    other = "https://other-idp.example"
    verifier = alb.verifier(issuer=[alb.issuer, other])
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(alb.mint({"iss": other}))
    assert verifier.verify_sync(alb.mint({"iss": other}, headers={"iss": other}))


def test_issuer_and_client_checks_can_be_skipped_explicitly(alb: LocalALB) -> None:
    verifier = alb.verifier(issuer=None, client_id=None)
    assert verifier.verify_sync(alb.mint({"iss": "https://any.example"}, headers={"client": "any"}))


def test_client_id_and_issuer_must_be_decided() -> None:
    with pytest.raises(TypeError):
        ALBVerifier(alb_arn=DEFAULT_ALB_ARN, issuer=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ALBVerifier(alb_arn=DEFAULT_ALB_ARN, client_id=None)  # type: ignore[call-arg]


# -- after the signature: exp in the header and in the payload ---------------------------------------


def test_an_expired_header_fails_even_with_a_future_payload_exp(alb: LocalALB) -> None:
    past = int(time.time()) - 5
    with pytest.raises(ExpiredTokenError):
        alb.verifier().verify_sync(alb.mint(headers={"exp": past}))


def test_an_expired_payload_fails_even_with_a_future_header_exp(alb: LocalALB) -> None:
    past = int(time.time()) - 5
    with pytest.raises(ExpiredTokenError):
        alb.verifier().verify_sync(alb.mint({"exp": past}))


@pytest.mark.parametrize(
    ("claims", "headers"),
    [({}, {"exp": None}), ({}, {"exp": "4102444800"}), ({}, {"exp": True}), ({"exp": None}, {})],
    ids=["no-header-exp", "header-exp-string", "header-exp-bool", "no-payload-exp"],
)
def test_exp_must_be_a_numeric_date_in_both_places(
    alb: LocalALB, claims: dict[str, Any], headers: dict[str, Any]
) -> None:
    with pytest.raises(InvalidClaimError):
        alb.verifier().verify_sync(alb.mint(claims, headers=headers))


def test_leeway_applies_to_both_exps(alb: LocalALB) -> None:
    past = int(time.time()) - 5
    token = alb.mint({"exp": past}, headers={"exp": past})
    assert alb.verifier(leeway=60).verify_sync(token)


def test_a_tampered_or_forged_token_fails(alb: LocalALB) -> None:
    head, payload, signature = alb.mint().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(InvalidSignatureError):
        alb.verifier().verify_sync(f"{head}.{payload}.{flipped}")
    forger = SigningKey.generate("ES256", kid=alb.current_key.kid)
    with pytest.raises(InvalidSignatureError):
        alb.verifier().verify_sync(alb.mint(key=forger))


# -- keys: per kid, rotation, unknown kids -----------------------------------------------------------


def test_rotation_fetches_the_new_kid_once_and_keeps_the_old(alb: LocalALB) -> None:
    verifier = alb.verifier()
    old = alb.current_key
    verifier.verify_sync(alb.mint())
    new = alb.rotate()
    for _ in range(3):
        verifier.verify_sync(alb.mint())
    verifier.verify_sync(alb.mint(key=old))
    assert alb.key_requests(old.kid) == 1
    assert alb.key_requests(new.kid) == 1


def test_random_kids_cost_a_bounded_number_of_fetches(alb: LocalALB) -> None:
    verifier = alb.verifier(new_kid_burst=2)
    for _ in range(20):
        stranger = SigningKey.generate("ES256", kid=str(uuid.uuid4()))
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(alb.mint(key=stranger))
    assert alb.key_requests() == 2
    source = verifier.key_sources[DEFAULT_ALB_ARN]
    assert isinstance(source, ALBKeySource)
    assert source.kids == ()  # failed kids are forgotten, they take no slot


def test_a_new_kid_after_the_budget_is_spent_is_refused_until_it_refills(alb: LocalALB) -> None:
    verifier = alb.verifier(new_kid_burst=1)
    stranger = SigningKey.generate("ES256", kid=str(uuid.uuid4()))
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(alb.mint(key=stranger))
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(alb.mint())  # the real kid, but no budget left for a new one
    assert alb.key_requests(alb.current_key.kid) == 0


# -- several load balancers ---------------------------------------------------------------------------


def test_several_arns_share_one_key_source_per_region(alb: LocalALB) -> None:
    verifier = alb.verifier(alb_arn=[DEFAULT_ALB_ARN, OTHER_ARN])
    assert verifier.verify_sync(alb.mint(headers={"signer": OTHER_ARN}))
    assert verifier.verify_sync(alb.mint())
    sources = verifier.key_sources
    assert sources[DEFAULT_ALB_ARN] is sources[OTHER_ARN]
    assert alb.key_requests() == 1
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(alb.mint(headers={"signer": WEST_ARN}))


def test_each_region_gets_its_documented_key_url() -> None:
    verifier = ALBVerifier(alb_arn=[DEFAULT_ALB_ARN, WEST_ARN], client_id=None, issuer=None)
    east, west = verifier.key_sources[DEFAULT_ALB_ARN], verifier.key_sources[WEST_ARN]
    assert isinstance(east, ALBKeySource)
    assert isinstance(west, ALBKeySource)
    assert east.url_template == "https://public-keys.auth.elb.us-east-1.amazonaws.com/{kid}"
    assert west.url_template == "https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"
    templated = ALBVerifier(
        alb_arn=WEST_ARN, client_id=None, issuer=None, key_url="https://keys.example/{region}/{kid}"
    )
    source = templated.key_sources[WEST_ARN]
    assert isinstance(source, ALBKeySource)
    assert source.url_for("k") == "https://keys.example/eu-west-1/k"


def test_key_urls_by_partition() -> None:
    assert alb_key_url("ap-southeast-4") == "https://public-keys.auth.elb.ap-southeast-4.amazonaws.com/{kid}"
    assert alb_key_url("us-gov-west-1", "aws-us-gov").startswith("https://s3-us-gov-west-1.amazonaws.com/")
    assert alb_key_url("us-gov-east-1", "aws-us-gov").endswith("aws-elb-public-keys-prod-us-gov-east-1/{kid}")
    with pytest.raises(ConfigurationError):
        alb_key_url("cn-north-1", "aws-cn")
    cn = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/x/0123456789abcdef"
    assert parse_alb_arn(cn) == ("aws-cn", "cn-north-1")
    assert ALBVerifier(alb_arn=cn, client_id=None, issuer=None, key_url="https://keys.example.cn/{kid}")
    eusc = "arn:aws-eusc:elasticloadbalancing:eusc-de-east-1:123456789012:loadbalancer/app/x/0123456789abcdef"
    assert parse_alb_arn(eusc) == ("aws-eusc", "eusc-de-east-1")


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nlb/0123456789abcdef",
        "arn:aws:elasticloadbalancing:us-east-1:12345:loadbalancer/app/x/0123456789abcdef",
        "arn:aws:elasticloadbalancing:US-EAST-1:123456789012:loadbalancer/app/x/0123456789abcdef",
        "arn:aws:ec2:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef",
        # The partition must be the region's own.
        "arn:aws:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/x/0123456789abcdef",
        "arn:aws-cn:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef",
        "arn:aws:elasticloadbalancing:eusc-de-east-1:123456789012:loadbalancer/app/x/0123456789abcdef",
        DEFAULT_ALB_ARN + "/extra",
    ],
)
def test_malformed_arns_are_configuration_errors(arn: str) -> None:
    with pytest.raises(ConfigurationError):
        ALBVerifier(alb_arn=arn, client_id=None, issuer=None)


def test_key_urls_must_be_https_except_on_loopback() -> None:
    with pytest.raises(ConfigurationError):
        ALBVerifier(alb_arn=DEFAULT_ALB_ARN, client_id=None, issuer=None, key_url="http://keys.example/{kid}")
    with pytest.raises(ConfigurationError):
        ALBVerifier(alb_arn=DEFAULT_ALB_ARN, client_id=None, issuer=None, key_url="https://keys.example/")


def test_repr_names_the_load_balancers(alb: LocalALB) -> None:
    assert DEFAULT_ALB_ARN in repr(alb.verifier())


# -- identity and access token headers ---------------------------------------------------------------


def test_the_identity_header_is_only_believed_when_it_equals_sub(alb: LocalALB) -> None:
    claims = alb.verifier().verify_sync(alb.mint(sub="alice"))
    assert alb_identity(claims, "alice") == "alice"
    assert alb_identity(claims, None) == "alice"
    with pytest.raises(InvalidClaimError):
        alb_identity(claims, "mallory")
    no_sub = alb.verifier().verify_sync(alb.mint(sub="x", claims={"sub": None}))
    with pytest.raises(InvalidClaimError):
        alb_identity(no_sub, None)


async def profile(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, JWTUser)
    try:
        identity = alb_identity(user.claims, request.headers.get(ALB_IDENTITY_HEADER))
    except JWTMiddlewareError as error:
        return JSONResponse({"error": error.description}, status_code=401)
    return JSONResponse({"sub": identity, "email": user.claims.get("email")})


def test_asgi_middleware_with_the_alb_header(alb: LocalALB) -> None:
    app = JWTAuthMiddleware(
        Starlette(routes=[Route("/profile", profile)]), verifier=alb.verifier(), header=ALB_DATA_HEADER
    )
    client = TestClient(app)
    token = alb.mint({"email": "a@example.com"}, sub="alice")
    ok = client.get("/profile", headers={ALB_DATA_HEADER: token, ALB_IDENTITY_HEADER: "alice"})
    assert ok.json() == {"sub": "alice", "email": "a@example.com"}
    spoofed = client.get("/profile", headers={ALB_DATA_HEADER: token, ALB_IDENTITY_HEADER: "mallory"})
    assert spoofed.status_code == 401
    assert client.get("/profile", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    wrong = client.get("/profile", headers={ALB_DATA_HEADER: alb.mint(headers={"signer": OTHER_ARN})})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


def test_wsgi_middleware_with_the_alb_header(alb: LocalALB) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["jwt_middleware.claims"].subject.encode()]

    client = Client(WSGIJWTMiddleware(app, verifier=alb.verifier(), header=ALB_DATA_HEADER))
    assert client.get("/", headers={ALB_DATA_HEADER: alb.mint(sub="bob")}).text == "bob"
    assert client.get("/", headers={ALB_DATA_HEADER: alb.mint({"exp": 1})}).status_code == 401


def test_the_access_token_header_is_verified_with_an_ordinary_verifier() -> None:
    """ALB forwards the IdP's access token unverified; a Cognito verifier checks it like any token."""
    with LocalIssuer.cognito(user_pool_id="us-east-1_Alb12345", client_id="alb-client") as pool:
        app = JWTAuthMiddleware(
            Starlette(routes=[Route("/profile", profile)]),
            verifier=pool.verifier(token_use="access"),
            header=ALB_ACCESS_TOKEN_HEADER,
        )
        client = TestClient(app)
        access = pool.mint_access_token(username="alice")
        assert client.get("/profile", headers={ALB_ACCESS_TOKEN_HEADER: access}).status_code == 200
        id_token = pool.mint_id_token(username="alice")
        assert client.get("/profile", headers={ALB_ACCESS_TOKEN_HEADER: id_token}).status_code == 401


def test_the_middleware_lifespan_hydrates_and_closes_an_alb_verifier(alb: LocalALB) -> None:
    app = JWTAuthMiddleware(
        Starlette(routes=[Route("/profile", profile)]), verifier=alb.verifier(), header=ALB_DATA_HEADER
    )
    with TestClient(app) as client:
        assert alb.key_requests() == 0  # nothing to load ahead: kids are learnt from tokens
        token = alb.mint({"email": "a@example.com"}, sub="alice")
        assert client.get("/profile", headers={ALB_DATA_HEADER: token}).status_code == 200
    assert alb.key_requests() == 1


# -- built from the verifier's public extension points only ------------------------------------------


def test_a_plain_verifier_with_the_alb_pieces_verifies_alb_tokens(alb: LocalALB) -> None:
    from jwt_middleware.aws import ALBHeaderExpiryCheck, ALBKeySelector
    from jwt_middleware.policy import ClaimPolicy, TimeCheck

    source = ALBKeySource(alb.key_url)
    selector = ALBKeySelector(
        {DEFAULT_ALB_ARN: source},
        frozenset({alb.client_id}),
        ClaimPolicy(issuers=[alb.issuer], time=TimeCheck()),
    )
    verifier = JWTVerifier(
        issuer=DEFAULT_ALB_ARN,
        audience=None,
        jwks_cache={DEFAULT_ALB_ARN: source},
        algorithms=["ES256"],
        checks=[ALBHeaderExpiryCheck(TimeCheck())],
        key_source_selector=selector,
        allow_padding=True,
        token_cache_size=None,
    )
    assert verifier.verify_sync(alb.mint(sub="alice")).subject == "alice"
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(alb.mint(headers={"signer": OTHER_ARN}))
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(alb.mint(headers={"exp": int(time.time()) - 10}))
    assert alb.key_requests() == 1


def test_the_selectors_refusals_carry_no_key_fetch_and_keep_their_report(alb: LocalALB) -> None:
    verifier = alb.verifier(expose_unverified_claims=True)
    with pytest.raises(InvalidAudienceError) as refused:
        verifier.verify_sync(alb.mint({"email": "eve@example.com"}, headers={"client": "stranger"}))
    assert refused.value.claim == "client"
    assert alb.key_requests() == 0


def test_the_claim_mapping_reaches_the_alb_claims(alb: LocalALB) -> None:
    mapping = ClaimMapping(groups="custom:groups", roles="custom:roles")
    verifier = alb.verifier(claim_mapping=mapping)
    claims = verifier.verify_sync(
        alb.mint({"custom:groups": ["staff"], "custom:roles": "approver"}, sub="alice")
    )
    assert claims.groups == {"staff"}
    assert claims.roles == {"approver"}


def test_a_signed_out_user_is_refused_behind_the_alb_too(alb: LocalALB) -> None:
    from jwt_middleware import RevokedTokenError
    from jwt_middleware.revocation import RevocationList

    revocations = RevocationList()
    verifier = alb.verifier(revocations=revocations)
    token = alb.mint(sub="alice")
    claims = verifier.verify_sync(token)
    revocations.revoke_subject_sync(claims["iss"], "alice")  # the IdP's issuer, as in the payload
    with pytest.raises(RevokedTokenError):
        verifier.verify_sync(token)
