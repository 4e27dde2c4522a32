"""The command line and AWS: ALB tokens (``inspect`` reads their format, ``verify --alb-arn`` checks
them) and Cognito's updated issuer form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jwt_middleware.cognito import global_cognito_issuer
from jwt_middleware.testing import LocalALB, LocalIssuer
from tests.cli.conftest import Run

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/orders/50dc6c495c0c9188"
OTHER_ARN = "arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/other/0123456789abcdef"
IDP = "https://idp.example.test"


@pytest.fixture(scope="module")
def alb() -> Iterator[LocalALB]:
    with LocalALB(arn=ARN, client_id="orders-app", issuer=IDP) as balancer:
        yield balancer


def _accepting(alb: LocalALB, *extra: str) -> list[str]:
    return [
        "--alb-arn",
        ARN,
        "--alb-key-url",
        alb.key_url,
        "--client-id",
        "orders-app",
        "--issuer",
        IDP,
        *extra,
    ]


# -- inspect ------------------------------------------------------------------------------------------


def test_inspect_reads_an_alb_token_as_well_formed(cli: Run, alb: LocalALB) -> None:
    token = alb.mint({"email": "alice@example.com"}, sub="alice")
    assert token.endswith("=")  # padded, as ALB writes it
    result = cli("inspect", "--json", token)
    assert result.code == 0, result.out
    document = result.json()
    assert document["well_formed"] is True
    assert document["refusal"] is None
    assert document["header"]["signer"] == ARN
    assert document["claims"]["email"] == "alice@example.com"
    codes = {finding["code"]: finding for finding in document["findings"]}
    assert "base64url_padding" not in codes
    assert codes["alb"]["severity"] == "note"
    assert "eu-west-1" in codes["alb"]["message"]
    assert {"alb_client", "alb_iss", "alb_exp"} <= set(codes)
    text = cli("inspect", token)
    assert text.code == 0
    assert "an AWS ALB token (x-amzn-oidc-data)" in text.out
    assert "MALFORMED" not in text.out


def test_padding_is_still_an_error_on_tokens_no_load_balancer_signed(cli: Run, alb: LocalALB) -> None:
    forged = alb.mint(headers={"signer": "arn:aws:iam::123456789012:role/not-an-alb"})
    document = cli("inspect", "--json", forged).json()
    assert document["well_formed"] is False
    assert "base64url_padding" in {finding["code"] for finding in document["findings"]}


def test_inspect_warns_about_an_alb_token_without_its_header_expiry(cli: Run, alb: LocalALB) -> None:
    document = cli("inspect", "--json", alb.mint(headers={"exp": None})).json()
    codes = {finding["code"]: finding["severity"] for finding in document["findings"]}
    assert codes["alb_exp_missing"] == "warning"


# -- verify -------------------------------------------------------------------------------------------


def test_verify_accepts_a_token_of_the_named_load_balancer(cli: Run, alb: LocalALB) -> None:
    token = alb.mint({"email": "alice@example.com"}, sub="alice")
    result = cli("verify", token, *_accepting(alb))
    assert result.code == 0, result.out + result.err
    kid = alb.current_key.kid
    assert result.out.startswith(
        f"VALID: signature verified with key '{kid}' (ES256) from {alb.key_url.replace('{kid}', kid)}"
    )
    document = cli("verify", "--json", token, *_accepting(alb)).json()
    assert document["valid"] is True
    assert document["claims"]["sub"] == "alice"
    assert document["header"]["signer"] == ARN
    result.assert_token_not_printed(token)


def test_verify_explains_another_load_balancers_token(cli: Run, alb: LocalALB) -> None:
    token = alb.mint(headers={"signer": OTHER_ARN})
    result = cli("verify", token, *_accepting(alb))
    assert result.code == 1
    assert result.out.startswith(f"REJECTED: signed by load balancer '{OTHER_ARN}', not '{ARN}'")
    assert "--alb-arn" in result.out
    document = cli("verify", "--json", token, *_accepting(alb)).json()
    assert (document["explanation"]["check"], document["error"]["reason_code"]) == (
        "signer",
        "signer.mismatch",
    )


def test_verify_explains_another_app_client(cli: Run, alb: LocalALB) -> None:
    token = alb.mint(headers={"client": "someone-else"})
    result = cli("verify", "--json", token, *_accepting(alb))
    assert result.code == 1
    explanation = result.json()["explanation"]
    assert explanation["check"] == "client"
    assert explanation["actual"] == "someone-else"
    accepted = cli(
        "verify", token, "--alb-arn", ARN, "--alb-key-url", alb.key_url, "--any-client", "--issuer", IDP
    )
    assert accepted.code == 0, accepted.out


def test_verify_refuses_an_expired_alb_token(cli: Run, alb: LocalALB) -> None:
    result = cli("verify", "--json", alb.mint(expires_in=-120), *_accepting(alb))
    assert result.code == 1
    assert result.json()["explanation"]["check"] == "exp"


@pytest.mark.parametrize(
    "options",
    [
        ["--alb-arn", ARN, "--issuer", IDP],  # the client decision is missing
        ["--alb-arn", ARN, "--any-client"],  # the issuer decision is missing
        ["--alb-arn", ARN, "--any-client", "--issuer", IDP, "--any-issuer"],
        ["--alb-arn", ARN, "--any-client", "--any-issuer", "--audience", "x"],
        ["--alb-arn", ARN, "--any-client", "--any-issuer", "--cognito-pool", "eu-west-1_AbC123"],
        ["--alb-arn", "arn:aws:ec2:eu-west-1:123456789012:instance/i-1", "--any-client", "--any-issuer"],
        ["--issuer", IDP, "--no-audience", "--any-issuer"],  # --any-issuer without --alb-arn
    ],
)
def test_verify_alb_options_are_explicit_decisions(cli: Run, options: list[str]) -> None:
    result = cli("verify", "e30.e30.e30", *options)
    assert result.code == 2, result.out + result.err


def test_verify_cognito_pool_accepts_the_updated_issuer_form(cli: Run) -> None:
    pool_id = "eu-west-1_Updated12"
    with LocalIssuer.cognito(user_pool_id=pool_id, client_id="app", updated_issuer=True) as pool:
        token = pool.mint_access_token()
        options = ["--cognito-pool", pool_id, "--client-id", "app", "--token-use", "access"]
        result = cli("verify", token, *options, "--jwks-url", pool.jwks_url)
        assert result.code == 0, result.out + result.err
        assert f"issuer    '{global_cognito_issuer(pool_id)}'" in result.out
        explicit = cli("verify", token, *options, "--jwks-url", pool.jwks_url, "--issuer", pool.issuer)
        assert explicit.code == 0, explicit.out + explicit.err
        assert cli("verify", token, *options, "--issuer", "https://other.example").code == 2
