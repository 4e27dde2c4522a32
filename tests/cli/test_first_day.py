"""Rough edges a first-day user hit in the command line (issue 17), each pinned by a test.

Expired tokens are minted the way real ones expire; ``inspect`` flags an ``exp`` before ``iat``;
a port-only issuer mismatch is called a port difference; a malformed token gets the same first
explanation from ``inspect``, from ``verify`` and (in its own words) from the API; each ``--help``
lists only its own command's exit codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from jwt_middleware import JWTVerifier, MalformedTokenError, b64
from jwt_middleware.cli.errors import EXIT_CODES
from jwt_middleware.cli.explain import Configuration, KeyState, explain
from jwt_middleware.cli.mint_endpoint import install
from jwt_middleware.errors import InvalidIssuerError
from jwt_middleware.testing import LocalIssuer
from jwt_middleware.testing.issuer import DEFAULT_LIFETIME
from tests.cli.conftest import Run


def _claims(token: str) -> dict[str, int]:
    claims: dict[str, int] = json.loads(b64.decode(token.split(".")[1]))
    return claims


def _segment(document: object) -> str:
    return b64.encode(json.dumps(document, separators=(",", ":")).encode())


@pytest.fixture(scope="module")
def dev_issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as issuer:
        install(issuer)
        yield issuer


# -- expired tokens ---------------------------------------------------------------------------------


def test_mint_with_a_negative_lifetime_mints_like_mint_expired(cli: Run, dev_issuer: LocalIssuer) -> None:
    before = int(time.time())
    minted = cli("issuer", "mint", "--url", dev_issuer.url, "--expires-in", "-60")
    assert minted.code == 0, minted.err
    claims = _claims(minted.out.strip())
    assert before - 61 <= claims["exp"] <= int(time.time()) - 59
    assert claims["iat"] == claims["exp"] - DEFAULT_LIFETIME  # issued before it expired

    reference = _claims(dev_issuer.mint_expired(expired_for=60))
    assert reference["exp"] - reference["iat"] == claims["exp"] - claims["iat"]

    inspected = cli("inspect", "--json", minted.out.strip())
    codes = {finding["code"] for finding in inspected.json()["findings"]}
    assert "expired" in codes
    assert "exp_before_iat" not in codes


@pytest.mark.parametrize(
    "mint",
    [
        lambda issuer: issuer.mint(expires_in=-5),
        lambda issuer: issuer.mint_expired(expired_for=5),
        lambda issuer: issuer.mint_access_token_rfc9068(audience="api", expires_in=-5),
    ],
    ids=["mint", "mint_expired", "rfc9068"],
)
def test_every_expired_token_of_the_test_kit_was_issued_before_it_expired(
    dev_issuer: LocalIssuer, mint: object
) -> None:
    claims = _claims(mint(dev_issuer))  # type: ignore[operator]
    assert claims["iat"] < claims["exp"] < time.time()


def test_expired_cognito_tokens_were_issued_before_they_expired() -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_AbC123", client_id="web") as pool:
        for token in (
            pool.mint_access_token(expires_in=-5),
            pool.mint_id_token(expires_in=-5),
            pool.mint_m2m_access_token(expires_in=-5),
        ):
            claims = _claims(token)
            assert claims["iat"] < claims["exp"] < time.time()
            assert claims["auth_time"] <= claims["iat"]


def test_inspect_flags_exp_before_iat(cli: Run, dev_issuer: LocalIssuer) -> None:
    now = int(time.time())
    backwards = dev_issuer.mint(iat=now, exp=now - 60)
    result = cli("inspect", backwards)
    assert result.code == 0  # well-formed: the verifier refuses it as expired, not as malformed
    assert "warning: exp " in result.out
    assert "is before iat" in result.out
    assert "already expired when it was issued" in result.out
    same = cli("inspect", "--json", dev_issuer.mint(iat=now, exp=now))
    findings = {finding["code"]: finding["message"] for finding in same.json()["findings"]}
    assert "the same instant as" in findings["exp_before_iat"]
    fine = cli("inspect", "--json", dev_issuer.mint())
    codes = {finding["code"] for finding in fine.json()["findings"]}
    assert "exp_before_iat" not in codes
    assert "lifetime" in codes


# -- explanation wording ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "configured", "difference"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:9000", "the port differs (8765, not 9000)"),
        (
            "https://auth.example.com",
            "https://auth.example.com:8443",
            "the port differs (443 by default, not 8443)",
        ),
        ("https://a.example.com:8443/x", "https://b.example.com/x", "the host differs"),
    ],
)
def test_a_port_only_mismatch_is_a_port_difference(actual: str, configured: str, difference: str) -> None:
    config = Configuration(issuers=(configured,), audiences=None, algorithms=("EdDSA",))
    token = f"{_segment({'alg': 'EdDSA'})}.{_segment({'iss': actual})}.c2ln"
    error = InvalidIssuerError(claim="iss", expected=(configured,))
    explanation = explain(error, token=token, config=config, keys=KeyState(None, None), now=time.time())
    assert difference in explanation.reason
    if "port" in difference:
        assert "host" not in explanation.reason


MALFORMED = [
    "abc.def.ghi",  # canonical header bytes that are not UTF-8, non-canonical payload and signature
    f"{_segment({'alg': 'RS256'})}.def.c2ln",  # a good header, a non-canonical payload
    f"eyJhbGciOiJSUzI1NiJ9.{_segment({'sub': 'a'})}=.c2ln",  # padding
    f"bm90IGpzb24.{_segment({'sub': 'a'})}.c2ln",  # the header is not JSON
    f"{_segment({'alg': 'RS256'})}.bm90IGpzb24.c2ln",  # the payload is not JSON
    f"{_segment({'alg': 'RS256'})}.{_segment({'sub': 'a'})}",  # two segments
]


@pytest.mark.parametrize("token", MALFORMED)
def test_a_malformed_token_is_explained_the_same_everywhere(cli: Run, token: str) -> None:
    verifier = JWTVerifier(issuer="https://issuer.example", audience=None, jwks={"keys": []})
    with pytest.raises(MalformedTokenError) as refused:
        verifier.verify_sync(token)
    api_says = refused.value.description

    inspected = cli("inspect", "--json", token).json()
    first_problem = next(f["message"] for f in inspected["findings"] if f["severity"] == "error")
    assert inspected["refusal"] == api_says
    assert f'An API answers: "{api_says}"' in cli("inspect", token).out

    verified = cli("verify", "--json", token, "--issuer", "https://issuer.example", "--no-audience")
    document = verified.json()
    assert document["error"]["description"] == api_says
    assert document["explanation"]["reason"] == f"the token is malformed: {first_problem}"


def test_abc_def_ghi_names_the_encoding_first(cli: Run) -> None:
    """The verifier judges every segment's encoding before any content; so does the explanation."""
    result = cli("verify", "abc.def.ghi", "--issuer", "https://issuer.example", "--no-audience")
    first_line = result.out.splitlines()[0]
    assert first_line == (
        "REJECTED: the token is malformed: segment 2 (payload) is not canonical base64url: "
        "its last character carries non-zero unused bits"
    )
    assert "The token is not canonical base64url" in result.out


# -- help -------------------------------------------------------------------------------------------


def _exit_codes_section(text: str) -> str:
    return text[text.index("exit codes:") :]


def test_each_help_lists_only_its_own_exit_codes(cli: Run) -> None:
    issuer_help = _exit_codes_section(cli("issuer", "--help").out)
    assert "verify" not in issuer_help
    assert "inspect" not in issuer_help
    assert "issuer mint: no dev issuer answered" in issuer_help

    serve_help = _exit_codes_section(cli("issuer", "serve", "--help").out)
    assert serve_help.strip().split("\n")[1:] == [
        "  0    stopped by Ctrl-C or SIGTERM",
        "  2    usage error, or the port is in use",
    ]

    for command in ("inspect", "verify", "issuer mint"):
        section = _exit_codes_section(cli(*command.split(), "--help").out)
        codes = [int(line.split()[0]) for line in section.splitlines()[1:] if line[:5].strip()]
        assert codes == [int(code) for code, _ in EXIT_CODES[command]]
        for other in set(EXIT_CODES) - {command}:
            assert f"{other}:" not in section

    everything = _exit_codes_section(cli("--help").out)
    for command in EXIT_CODES:
        assert command in everything
