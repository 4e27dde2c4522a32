"""``jwt-middleware inspect``: decoded, labelled unverified, dated, and precise about what is broken."""

from __future__ import annotations

import json
import time

import pytest

from jwt_middleware import b64
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer, SigningKey, encode_compact
from tests.cli.conftest import Run, TTYInput


def _segment(document: object) -> str:
    return b64.encode(json.dumps(document, separators=(",", ":")).encode())


def _codes(result_json: dict[str, object]) -> set[str]:
    findings = result_json["findings"]
    assert isinstance(findings, list)
    return {finding["code"] for finding in findings}


# -- well-formed tokens -----------------------------------------------------------------------------


def test_shows_header_and_claims_labelled_unverified(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="alice", scope="orders:read orders:write")
    result = cli("inspect", token)
    assert result.code == 0
    assert result.out.startswith("UNVERIFIED:")
    assert "Header (unverified)" in result.out
    assert "Claims (unverified)" in result.out
    assert '"sub": "alice"' in result.out
    assert "scopes: 'orders:read', 'orders:write'" in result.out
    assert "Well-formed (structure only)" in result.out
    result.assert_token_not_printed(token)


def test_times_are_iso_utc_and_relative(cli: Run, issuer: LocalIssuer) -> None:
    now = int(time.time())
    token = issuer.mint(iat=now - 200, exp=now + 3120, nbf=now - 200)
    result = cli("inspect", token)
    assert result.code == 0
    exp_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3120))
    assert f"exp        {exp_iso}  valid for another 52 min" in result.out
    assert "issued 3 min ago" in result.out
    assert "valid since 3 min ago" in result.out


def test_an_expired_token_is_well_formed_but_warned_about(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("inspect", issuer.mint_expired(expired_for=180))
    assert result.code == 0  # structure only: inspect never judges validity by exit code
    assert "expired 3 min ago" in result.out
    assert "warning: the token expired" in result.out


def test_cognito_notes(cli: Run, cognito: LocalCognitoIssuer) -> None:
    result = cli("inspect", cognito.mint_access_token(groups=["admins", "staff"]))
    assert result.code == 0
    assert "Cognito access token (token_use 'access')" in result.out
    assert "issued by Cognito user pool us-east-1_TestPool1" in result.out
    assert "groups: 'admins', 'staff'" in result.out
    assert "no 'typ' header" in result.out
    result = cli("inspect", cognito.mint_id_token())
    assert "Cognito ID token (token_use 'id')" in result.out


def test_notes_a_missing_kid(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("inspect", issuer.mint(headers={"kid": None}))
    assert result.code == 0
    assert "no 'kid' in the header" in result.out


# -- where the token comes from ---------------------------------------------------------------------


def test_reads_stdin_with_dash(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="from-stdin")
    result = cli("inspect", "-", stdin=token + "\n")
    assert result.code == 0
    assert '"sub": "from-stdin"' in result.out


def test_reads_piped_stdin_without_an_argument(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("inspect", stdin=f"Authorization: Bearer {issuer.mint(sub='piped')}\n")
    assert result.code == 0  # the pasted header prefix is removed
    assert '"sub": "piped"' in result.out


def test_no_token_at_a_terminal_is_a_usage_error(cli: Run) -> None:
    result = cli("inspect", stdin=TTYInput())
    assert result.code == 2
    assert "no token" in result.err
    assert result.out == ""


def test_empty_input_is_a_usage_error(cli: Run) -> None:
    result = cli("inspect", "-", stdin="   \n")
    assert result.code == 2
    assert "empty" in result.err


# -- what is wrong with a malformed token -----------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "code", "words"),
    [
        (lambda h, p, s: f"{h}.{p}=.{s}", "base64url_padding", "segment 2 (payload) has '=' padding"),
        (lambda h, p, s: f"{h}.{p[:-1]}.{s}", "json_invalid", "the payload is not valid JSON"),
        (lambda h, p, s: f"{h}.{p}", "segments", "2 segments: the signature is missing"),
        (lambda h, p, s: f"{h}.{p}.{s}.x.y", "jwe", "encrypted token (JWE)"),
        (
            lambda h, p, s: f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}x+",
            "base64_standard",
            "standard base64",
        ),
        (lambda h, p, s: f"{h}.{p[:20]}\n{p[20:]}.{s}", "base64url_alphabet", "line-wrapped"),
        (lambda h, p, s: "opaque-access-token", "not_a_jwt", "not a JWT"),
        (lambda h, p, s: f"{h}..{s}", "payload_empty", "detached payload"),
    ],
)
def test_explains_structural_problems(
    cli: Run, issuer: LocalIssuer, damage: object, code: str, words: str
) -> None:
    header, payload, signature = issuer.mint().split(".")
    token = damage(header, payload, signature)  # type: ignore[operator]
    result = cli("inspect", "--json", token)
    assert result.code == 1
    document = result.json()
    assert document["well_formed"] is False
    assert code in _codes(document)
    assert any(words in finding["message"] for finding in document["findings"])
    text = cli("inspect", token)
    assert text.code == 1
    assert "MALFORMED" in text.out
    assert words in text.out


def test_duplicate_keys_are_named_and_never_called_fine(cli: Run) -> None:
    key = SigningKey.generate("EdDSA")
    token = encode_compact(b'{"sub":"alice","sub":"admin","exp":4102444800}', key)
    result = cli("inspect", token)
    assert result.code == 1
    assert "the payload has duplicate key 'sub'" in result.out
    assert '"sub": "admin"' in result.out  # shown, with the warning that parsers disagree


def test_unsigned_and_hmac_tokens_are_malformed(cli: Run, issuer: LocalIssuer) -> None:
    result = cli("inspect", issuer.mint_unsigned())
    assert result.code == 1
    assert "alg 'none': the token is unsigned" in result.out
    payload = _segment({"sub": "x"})
    result = cli("inspect", f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{payload}.c2lnbmF0dXJl")
    assert result.code == 1
    assert "HMAC" in result.out


def test_a_der_encoded_ecdsa_signature_is_recognised(cli: Run) -> None:
    header = _segment({"alg": "ES256", "kid": "k1"})
    payload = _segment({"sub": "x", "exp": 4102444800})
    der = bytes([0x30, 0x45, 0x02, 0x21]) + bytes(33) + bytes([0x02, 0x20]) + bytes(32)
    result = cli("inspect", f"{header}.{payload}.{b64.encode(der)}")
    assert result.code == 1
    assert "looks DER-encoded" in result.out


def test_milliseconds_and_string_dates_are_warned_about(cli: Run, issuer: LocalIssuer) -> None:
    now = int(time.time())
    result = cli("inspect", "--json", issuer.mint(exp=now * 1000, nbf=str(now)))
    codes = _codes(result.json())
    assert {"exp_milliseconds", "nbf_string"} <= codes


def test_hostile_claims_cannot_reach_the_terminal_raw(cli: Run) -> None:
    key = SigningKey.generate("EdDSA")
    token = encode_compact({"sub": "\x1b[2J\x1b]0;pwned\x07\u202eevil", "iss": "\x9b31m"}, key)
    result = cli("inspect", token)
    assert "\x1b" not in result.out
    assert "\u202e" not in result.out
    assert "\x9b" not in result.out
    assert "\\u001b[2J" in result.out


# -- --json -----------------------------------------------------------------------------------------


def test_json_document_shape(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="alice")
    result = cli("inspect", "--json", token)
    assert result.code == 0
    document = result.json()
    assert set(document) == {
        "verified",
        "well_formed",
        "segments",
        "header",
        "claims",
        "times",
        "refusal",
        "findings",
    }
    assert document["verified"] is False
    assert document["refusal"] is None
    assert document["well_formed"] is True
    assert document["segments"] == 3
    assert document["header"]["kid"] == issuer.current_key.kid
    assert document["claims"]["sub"] == "alice"
    assert set(document["times"]) == {"iat", "exp"}
    assert set(document["times"]["exp"]) == {"value", "utc", "relative", "past"}
    assert document["times"]["exp"]["past"] is False
    assert all(set(finding) == {"severity", "code", "message"} for finding in document["findings"])
    result.assert_token_not_printed(token)


def test_non_finite_numbers_are_named_and_json_output_stays_standard(cli: Run) -> None:
    token = encode_compact(b'{"sub":"x","exp":NaN}', SigningKey.generate("EdDSA"))
    result = cli("inspect", "--json", token)
    assert result.code == 1
    document = json.loads(result.out, parse_constant=lambda name: pytest.fail(f"non-standard JSON: {name}"))
    assert "json_non_finite" in _codes(document)
