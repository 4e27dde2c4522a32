"""``jwt-middleware verify``: the library's verdict, and exactly which check failed and why."""

from __future__ import annotations

import json
import time

import pytest

from jwt_middleware import b64
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer, SigningKey, encode_compact
from tests.cli.conftest import POOL_ID, Run


def _accepting(issuer: LocalIssuer, *extra: str) -> list[str]:
    """Options for the verifier an 'orders-api' service would build against ``issuer``."""
    return ["--issuer", issuer.issuer, "--audience", "orders-api", "--jwks-url", issuer.jwks_url, *extra]


def token_kid(token: str) -> str:
    kid: str = json.loads(b64.decode(token.split(".")[0]))["kid"]
    return kid


def _cognito(cognito: LocalCognitoIssuer, *extra: str) -> list[str]:
    return ["--cognito-pool", POOL_ID, "--jwks-url", cognito.jwks_url, *extra]


# -- valid tokens -----------------------------------------------------------------------------------


def test_valid_through_jwks_url(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="alice")
    result = cli("verify", token, *_accepting(issuer))
    assert result.code == 0, result.out + result.err
    assert result.out.startswith(f"VALID: signature verified with key '{issuer.current_key.kid}' (RS256)")
    assert "Verified claims" in result.out
    assert '"sub": "alice"' in result.out
    result.assert_token_not_printed(token)


def test_valid_through_discovery(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint()
    result = cli("verify", token, "--issuer", issuer.issuer, "--audience", "orders-api", "-v")
    assert result.code == 0, result.out + result.err
    assert f"from {issuer.jwks_url}" in result.out
    # -v narrates the discovery and the fetch on stderr, never the token.
    assert f"fetching {issuer.discovery_url} (cold)" in result.err
    assert f"fetched 1 key from {issuer.jwks_url}" in result.err
    result.assert_token_not_printed(token)


def test_valid_cognito_access_token(cli: Run, cognito: LocalCognitoIssuer) -> None:
    options = _cognito(cognito, "--client-id", "test-client", "--token-use", "access")
    result = cli("verify", cognito.mint_access_token(), *options)
    assert result.code == 0, result.out
    assert "token_use 'access'" in result.out


def test_token_from_stdin(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", "-", *_accepting(issuer), stdin=issuer.mint() + "\n")
    assert result.code == 0


# -- explanations -----------------------------------------------------------------------------------


def test_expired(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint_expired(expired_for=14 * 60)
    result = cli("verify", token, *_accepting(issuer))
    assert result.code == 1
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(time.time()) - 14 * 60))
    first = result.out.splitlines()[0]
    assert first.startswith("REJECTED: the token expired 20")
    assert first.endswith("(14 min ago); leeway is 0 s")
    assert exp[:15] in first  # same minute, whatever the second
    assert "check     exp" in result.out
    assert "Claims (UNVERIFIED" in result.out
    result.assert_token_not_printed(token)


def test_expired_within_a_little_skew_suggests_leeway(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint_expired(expired_for=30), *_accepting(issuer))
    assert result.code == 1
    assert "--leeway" in result.out
    assert cli("verify", issuer.mint_expired(expired_for=30), *_accepting(issuer, "--leeway", "60")).code == 0


def test_not_yet_valid(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint_not_yet_valid(starts_in=300), *_accepting(issuer))
    assert result.code == 1
    assert "REJECTED: the token is not valid until" in result.out
    assert "(in 5 min); leeway is 0 s" in result.out


def test_issuer_trailing_slash(cli: Run, issuer: LocalIssuer) -> None:
    options = ["--issuer", issuer.issuer + "/", "--audience", "orders-api", "--jwks-url", issuer.jwks_url]
    result = cli("verify", issuer.mint(), *options)
    assert result.code == 1
    assert (
        f"REJECTED: issuer '{issuer.issuer}' does not match '{issuer.issuer}/' (a trailing slash differs)"
        in result.out
    )


def test_wrong_issuer(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint_wrong_issuer(), *_accepting(issuer))
    assert result.code == 1
    assert f"REJECTED: issuer 'https://wrong-issuer.invalid' does not match '{issuer.issuer}'" in result.out
    assert "check     iss" in result.out


def test_wrong_audience(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(aud="web"), *_accepting(issuer))
    assert result.code == 1
    assert "REJECTED: audience ['web'] does not include 'orders-api'" in result.out
    assert "--audience web" in result.out  # the hint names the option that would accept it


def test_missing_audience(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(aud=None), *_accepting(issuer))
    assert result.code == 1
    assert "the token has no aud claim; this API's audience is 'orders-api'" in result.out


def test_wrong_token_use_with_the_cognito_preset(cli: Run, cognito: LocalCognitoIssuer) -> None:
    options = _cognito(cognito, "--client-id", "test-client", "--token-use", "access")
    result = cli("verify", cognito.mint_id_token(), *options)
    assert result.code == 1
    assert result.out.startswith("REJECTED: token_use is 'id', this API expects 'access'")
    assert "--token-use id" in result.out


def test_wrong_app_client_with_the_cognito_preset(cli: Run, cognito: LocalCognitoIssuer) -> None:
    options = _cognito(cognito, "--client-id", "orders-client", "--token-use", "access")
    result = cli("verify", cognito.mint_access_token(), *options)
    assert result.code == 1
    assert "REJECTED: client_id 'test-client' is not the app client 'orders-client'" in result.out


def test_cognito_access_token_checked_for_aud_points_at_the_preset(
    cli: Run, cognito: LocalCognitoIssuer
) -> None:
    options = ["--issuer", cognito.issuer, "--audience", "test-client", "--jwks-url", cognito.jwks_url]
    result = cli("verify", cognito.mint_access_token(), *options)
    assert result.code == 1
    assert "client_id, never in aud" in result.out
    assert f"--cognito-pool {POOL_ID} --client-id test-client --token-use access" in result.out


def test_unknown_kid(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint_unknown_key()
    result = cli("verify", token, *_accepting(issuer))
    assert result.code == 1
    kid = token_kid(token)
    assert (
        f"REJECTED: key '{kid}' is not in the issuer's JWKS (keys there: '{issuer.current_key.kid}')"
        in result.out
    )


def test_bad_signature(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint_bad_signature()
    result = cli("verify", token, *_accepting(issuer))
    assert result.code == 1
    assert f"REJECTED: the signature does not match key '{issuer.current_key.kid}'" in result.out
    result.assert_token_not_printed(token)


def test_malformed(cli: Run, issuer: LocalIssuer) -> None:
    header, payload, signature = issuer.mint().split(".")
    result = cli("verify", f"{header}.{payload}=.{signature}", *_accepting(issuer))
    assert result.code == 1
    assert "REJECTED: the token is malformed: segment 2 (payload) has '=' padding" in result.out
    assert "check     format" in result.out


def test_algorithm_not_accepted(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(), *_accepting(issuer, "--algorithm", "ES256"))
    assert result.code == 1
    assert "REJECTED: alg 'RS256' is not accepted here (accepted: ES256)" in result.out


def test_missing_scope(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(scope="openid orders:read")
    result = cli("verify", token, *_accepting(issuer, "--scope", "orders:read", "--scope", "orders:write"))
    assert result.code == 1
    assert "REJECTED: scope 'openid orders:read' lacks 'orders:write'" in result.out
    assert "HTTP 403" in result.out
    assert (
        cli(
            "verify", token, *_accepting(issuer, "--scope", "orders:read", "--scope", "x", "--any-scope")
        ).code
        == 0
    )


def test_required_token_type(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(), *_accepting(issuer, "--token-type", "at+jwt"))
    assert result.code == 1
    assert "REJECTED: typ is 'JWT', this API expects 'at+jwt'" in result.out


def test_keys_unavailable(cli: Run, issuer: LocalIssuer, closed_port: int) -> None:
    jwks_url = f"http://127.0.0.1:{closed_port}/.well-known/jwks.json"
    options = ["--issuer", issuer.issuer, "--audience", "orders-api", "--jwks-url", jwks_url]
    result = cli("verify", issuer.mint(), *options)
    assert result.code == 3
    assert result.out.startswith(f"UNAVAILABLE: keys unavailable: fetching {jwks_url} failed (ConnectError)")
    assert f"nothing answered at 127.0.0.1:{closed_port}" in result.out
    assert "fetching" not in result.err  # the library's own warning is not repeated on stderr


def test_keys_unavailable_through_discovery(cli: Run, closed_port: int) -> None:
    issuer_url = f"http://127.0.0.1:{closed_port}"
    token = encode_compact({"iss": issuer_url, "exp": 4102444800}, SigningKey.generate("EdDSA"))
    result = cli("verify", token, "--issuer", issuer_url, "--no-audience")
    assert result.code == 3
    assert (
        f"keys unavailable: discovery at {issuer_url}/.well-known/openid-configuration failed" in result.out
    )


# -- --json -----------------------------------------------------------------------------------------

_KEYS = {
    "valid",
    "exit_code",
    "header",
    "claims",
    "key",
    "error",
    "explanation",
    "unverified_header",
    "unverified_claims",
}


def test_json_success(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="alice")
    result = cli("verify", token, *_accepting(issuer, "--json"))
    assert result.code == 0
    document = result.json()
    assert set(document) == _KEYS
    assert document["valid"] is True
    assert document["exit_code"] == 0
    assert document["claims"]["sub"] == "alice"
    assert document["key"] == {"kid": issuer.current_key.kid, "alg": "RS256", "jwks_url": issuer.jwks_url}
    assert document["error"] is None
    assert document["explanation"] is None
    result.assert_token_not_printed(token)


def test_json_rejection(cli: Run, cognito: LocalCognitoIssuer) -> None:
    token = cognito.mint_id_token()
    options = _cognito(cognito, "--client-id", "test-client", "--token-use", "access", "--json")
    result = cli("verify", token, *options)
    assert result.code == 1
    document = result.json()
    assert set(document) == _KEYS
    assert document["valid"] is False
    assert document["exit_code"] == 1
    assert document["claims"] is None
    assert document["error"] == {
        "type": "InvalidClaimError",
        "status": 401,
        "code": "invalid_token",
        "reason_code": "token_use.mismatch",
        "description": "The token_use claim is not accepted",
        "claim": "token_use",
        "expected": ["access"],
    }
    explanation = document["explanation"]
    assert set(explanation) == {"check", "code", "reason", "expected", "actual", "hints"}
    assert (explanation["check"], explanation["code"]) == ("token_use", "token_use.mismatch")
    assert explanation["reason"] == "token_use is 'id', this API expects 'access'"
    assert explanation["expected"] == ["access"]
    assert explanation["actual"] == "id"
    assert document["unverified_claims"]["token_use"] == "id"
    assert document["unverified_header"]["kid"] == cognito.id_token_key.kid
    result.assert_token_not_printed(token)


def test_json_keys_unavailable(cli: Run, issuer: LocalIssuer, closed_port: int) -> None:
    options = [
        "--issuer",
        issuer.issuer,
        "--no-audience",
        "--jwks-url",
        f"http://127.0.0.1:{closed_port}/k",
        "--json",
    ]
    result = cli("verify", issuer.mint(), *options)
    assert result.code == 3
    document = result.json()
    assert document["exit_code"] == 3
    assert document["error"]["type"] == "KeysUnavailableError"
    assert document["explanation"]["check"] == "keys"


# -- usage and configuration errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--issuer", "https://auth.example.com"], "choose the audience check"),
        (["--audience", "a"], "--issuer URL is required"),
        (["--issuer", "https://x", "--audience", "a", "--no-audience"], "not allowed with argument"),
        (["--cognito-pool", POOL_ID, "--client-id", "c"], "--token-use"),
        (["--cognito-pool", POOL_ID, "--token-use", "id"], "--client-id ID (or --any-client"),
        (["--cognito-pool", POOL_ID, "--token-use", "id", "--any-client", "--audience", "a"], "do not apply"),
        (
            ["--cognito-pool", "not-a-pool", "--token-use", "id", "--any-client"],
            "is not a Cognito user pool id",
        ),
        (["--issuer", "https://x", "--no-audience", "--token-use", "id"], "need --cognito-pool"),
        (["--issuer", "http://auth.example.com", "--no-audience"], "must use https"),
        (["--issuer", "https://x", "--no-audience", "--leeway", "3600"], "leeway must be between 0 and 600"),
        (["--issuer", "https://x", "--no-audience", "--algorithm", "HS256"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(cli: Run, issuer: LocalIssuer, options: list[str], message: str) -> None:
    result = cli("verify", issuer.mint(), *options)
    assert result.code == 2
    assert message in result.err
    assert result.out == ""


def test_no_audience_is_an_explicit_choice(cli: Run, issuer: LocalIssuer) -> None:
    options = ["--issuer", issuer.issuer, "--no-audience", "--jwks-url", issuer.jwks_url]
    assert cli("verify", issuer.mint(aud="anything"), *options).code == 0


def test_an_identity_claim_of_the_wrong_type_is_explained(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(sub=123), *_accepting(issuer))
    assert result.code == 1
    assert "sub is 123, not a non-empty string" in result.out
    assert "RFC 7519" in result.out


def test_roles_and_permissions_are_listed(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("verify", issuer.mint(roles=["admin"], permissions=["read:orders"]), *_accepting(issuer))
    assert result.code == 0, result.out
    assert "  roles     admin" in result.out
    assert "  permissions read:orders" in result.out
