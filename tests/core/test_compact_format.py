"""Compact JWS shape: segments, strict base64url, size, input types, header parameters, signatures."""

from __future__ import annotations

import base64
import json
import string
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from jwt_middleware import (
    InvalidSignatureError,
    MalformedTokenError,
    UnknownKeyError,
    b64,
    jws,
    verify_compact,
)
from jwt_middleware.jws import DEFAULT_MAX_TOKEN_LENGTH
from tests.core.support import (
    Keyring,
    claims,
    dumps,
    header_for,
    signature_of,
    signed_raw,
    signed_segments,
    token,
    verifier,
    with_signature,
)

# -- signature present and covering the exact bytes ---------------------------------------------------


@pytest.mark.parametrize("case", ["RS256", "ES256", "EdDSA"])
def test_stripped_signature_is_malformed(keyring: Keyring, case: str) -> None:
    good = token(keyring[case])
    header_segment, payload_segment, _ = good.split(".")
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks(case)).verify_sync(f"{header_segment}.{payload_segment}.")
    assert verifier(keyring.jwks(case)).verify_sync(good) == claims()


@pytest.mark.parametrize("case", ["RS256", "PS256", "ES256", "EdDSA", "Ed448"])
def test_tampered_payload_fails_the_signature(keyring: Keyring, case: str) -> None:
    good = token(keyring[case])
    header_segment, _, signature_segment = good.split(".")
    tampered = f"{header_segment}.{b64.encode(dumps(claims(sub='admin')))}.{signature_segment}"
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks(case)).verify_sync(tampered)
    assert verifier(keyring.jwks(case)).verify_sync(good) == claims()


@pytest.mark.parametrize("case", ["RS256", "ES256", "EdDSA"])
def test_tampered_header_fails_the_signature(keyring: Keyring, case: str) -> None:
    key = keyring[case]
    good = token(key)
    _, payload_segment, signature_segment = good.split(".")
    tampered_header = b64.encode(dumps(header_for(key, typ="at+jwt")))
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks(case)).verify_sync(f"{tampered_header}.{payload_segment}.{signature_segment}")


def test_signature_from_another_token_of_the_same_key_fails(keyring: Keyring) -> None:
    key = keyring["ES256"]
    other = token(key, claims(sub="someone-else"))
    forged = with_signature(token(key), signature_of(other))
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks("ES256")).verify_sync(forged)


# -- strict base64url ----------------------------------------------------------------------------------


def _segments(token_string: str) -> list[str]:
    return token_string.split(".")


def _replace(token_string: str, index: int, segment: str) -> str:
    parts = _segments(token_string)
    parts[index] = segment
    return ".".join(parts)


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
@pytest.mark.parametrize("where", ["end", "middle", "start"])
def test_padding_characters_are_malformed_anywhere(keyring: Keyring, segment: int, where: str) -> None:
    good = token(keyring["RS256"])
    value = _segments(good)[segment]
    padded = {"end": value + "==", "middle": value[:4] + "=" + value[4:], "start": "=" + value}[where]
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(_replace(good, segment, padded))


def test_correctly_padded_segments_are_still_malformed(keyring: Keyring) -> None:
    """Padding is refused even where it would be right: only one encoding per token is accepted."""
    good = token(keyring["RS256"])
    padded = ".".join(part + "=" * (-len(part) % 4) for part in _segments(good))
    assert padded != good
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(padded)


def _non_canonical(segment: str) -> str:
    """The same bytes with non-zero unused trailing bits: the next alphabet character."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]


def _lenient_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_non_canonical_trailing_bits_are_malformed(keyring: Keyring, segment: int) -> None:
    key = keyring["RS256"]
    # Pad the sub claim until this segment ends in a partial base64 group.
    for filler in range(3):
        good = token(key, claims(sub="u" * (filler + 1)), typ="J" * (filler + 1))
        if len(_segments(good)[segment]) % 4:
            break
    value = _segments(good)[segment]
    assert len(value) % 4 in (2, 3)
    mutated = _non_canonical(value)
    # A lenient decoder reads the same bytes: exactly the malleability the strict decoder refuses.
    assert _lenient_decode(mutated) == _lenient_decode(value)
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(_replace(good, segment, mutated))
    assert verifier(keyring.jwks("RS256")).verify_sync(good)


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_segment_length_of_one_modulo_four_is_malformed(keyring: Keyring, segment: int) -> None:
    good = token(keyring["RS256"])
    value = _segments(good)[segment]
    impossible = value + "A" * ((1 - len(value)) % 4)
    assert len(impossible) % 4 == 1
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(_replace(good, segment, impossible))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: " " + t,
        lambda t: t + " ",
        lambda t: t + "\n",
        lambda t: t + "\r\n",
        lambda t: "\t" + t,
        lambda t: t.replace(".", " .", 1),
        lambda t: t.replace(".", ". ", 1),
        lambda t: t[:10] + " " + t[10:],
        lambda t: t[:10] + "\u00a0" + t[10:],
        lambda t: t + "\x00",
    ],
    ids=["lead", "trail", "newline", "crlf", "tab", "before-dot", "after-dot", "inside", "nbsp", "nul"],
)
def test_whitespace_and_control_characters_are_malformed(keyring: Keyring, mutate: Any) -> None:
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(mutate(token(keyring["RS256"])))


@pytest.mark.parametrize("char", ["+", "/", "*", "~", "%", "é"])
@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_characters_outside_base64url_are_malformed(keyring: Keyring, char: str, segment: int) -> None:
    good = token(keyring["RS256"])
    value = _segments(good)[segment]
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(_replace(good, segment, char + value[1:]))


def test_standard_base64_signature_is_malformed(keyring: Keyring) -> None:
    key = keyring["RS256"]
    for n in range(20):  # find a signature whose standard encoding differs (needs a - or _)
        good = token(key, claims(jti=str(n)))
        standard = base64.b64encode(signature_of(good)).rstrip(b"=").decode()
        if standard != _segments(good)[2]:
            break
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(_replace(good, 2, standard))


# -- segment count and serialisation ----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_wrong_number_of_segments_is_malformed(keyring: Keyring, count: int) -> None:
    parts = _segments(token(keyring["RS256"]))
    shaped = ".".join((parts * 2)[:count])
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(shaped)


def test_five_segment_jwe_is_malformed_and_named(keyring: Keyring) -> None:
    header = b64.encode(dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": keyring["RS256"].kid}))
    parts = [header, *(b64.encode(part) for part in (b"k" * 256, b"iv" * 6, b"ciphertext", b"t" * 16))]
    jwe = ".".join(parts)
    with pytest.raises(MalformedTokenError) as caught:
        verifier(keyring.jwks("RS256")).verify_sync(jwe)
    assert "JWE" in caught.value.description


@pytest.mark.parametrize("general", [False, True], ids=["flattened", "general"])
def test_json_serialization_is_malformed(keyring: Keyring, general: bool) -> None:
    header_segment, payload_segment, signature_segment = _segments(token(keyring["RS256"]))
    signature = {"protected": header_segment, "signature": signature_segment}
    document: dict[str, Any] = {"payload": payload_segment}
    document.update({"signatures": [signature]} if general else signature)
    with pytest.raises(MalformedTokenError) as caught:
        verifier(keyring.jwks("RS256")).verify_sync(json.dumps(document))
    assert "JSON-serialized" in caught.value.description


def test_empty_token_is_malformed(keyring: Keyring) -> None:
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync("")


def test_empty_payload_segment_is_malformed(keyring: Keyring) -> None:
    key = keyring["RS256"]
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(
            signed_segments(key, b64.encode(dumps(header_for(key))), "")
        )


# -- size -----------------------------------------------------------------------------------------------


def test_token_at_the_size_limit_verifies_and_one_byte_more_is_malformed(keyring: Keyring) -> None:
    good = token(keyring["RS256"])
    assert verifier(keyring.jwks("RS256"), max_token_length=len(good)).verify_sync(good) == claims()
    with pytest.raises(MalformedTokenError) as caught:
        verifier(keyring.jwks("RS256"), max_token_length=len(good) - 1).verify_sync(good)
    assert caught.value.description == "The token is too large"


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_oversize_token_is_rejected_before_any_decoding(
    keyring: Keyring, monkeypatch: pytest.MonkeyPatch, as_bytes: bool
) -> None:
    def must_not_run(*args: object) -> Any:
        raise AssertionError("decoded an oversize token")

    # A well-formed token, only too long: padded with a huge (signed) claim.
    huge = token(keyring["EdDSA"], claims(pad="x" * (DEFAULT_MAX_TOKEN_LENGTH * 2)))
    oversize: str | bytes = huge.encode() if as_bytes else huge
    check = verifier(keyring.jwks("EdDSA"))
    monkeypatch.setattr(b64, "decode_prevalidated", must_not_run)
    monkeypatch.setattr(jws, "parse_object", must_not_run)
    with pytest.raises(MalformedTokenError) as caught:
        check.verify_sync(oversize)  # type: ignore[arg-type]
    assert caught.value.description == "The token is too large"

    # And cheap even for absurd sizes: no work proportional to the content.
    absurd: str | bytes = b"a" * 50_000_000 if as_bytes else "a" * 50_000_000
    started = time.perf_counter()
    with pytest.raises(MalformedTokenError):
        check.verify_sync(absurd)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5


# -- input types ---------------------------------------------------------------------------------------


def test_ascii_bytes_token_verifies_like_its_string(keyring: Keyring) -> None:
    good = token(keyring["ES256"])
    check = verifier(keyring.jwks("ES256"))
    assert check.verify_sync(good.encode("ascii")) == check.verify_sync(good) == claims()  # type: ignore[arg-type]
    assert verify_compact(good.encode("ascii"), keyring.jwks("ES256"))[1] == dumps(claims())


def test_non_ascii_bytes_token_is_malformed(keyring: Keyring) -> None:
    good = token(keyring["ES256"]).encode("ascii")
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("ES256")).verify_sync(good[:10] + b"\xff" + good[11:])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [None, 42, 4.2, ["a.b.c"], {"token": "a.b.c"}, bytearray(b"a.b.c"), memoryview(b"a.b.c")]
)
def test_token_that_is_neither_str_nor_bytes_is_malformed(keyring: Keyring, value: Any) -> None:
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("ES256")).verify_sync(value)
    with pytest.raises(MalformedTokenError):
        verify_compact(value, keyring.jwks("ES256"))


@pytest.mark.anyio
@pytest.mark.parametrize("value", [None, ["a.b.c"], bytearray(b"a.b.c")])
async def test_token_that_is_neither_str_nor_bytes_is_malformed_async(keyring: Keyring, value: Any) -> None:
    with pytest.raises(MalformedTokenError):
        await verifier(keyring.jwks("ES256")).verify(value)


# -- header parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"]},
        {"crit": ["b64"], "b64": False},
        {"crit": []},
        {"crit": "exp"},
        {"crit": None},
        {"b64": False},
        {"b64": True},
        {"zip": "DEF"},
    ],
    ids=["crit-list", "crit-b64", "crit-empty", "crit-string", "crit-null", "b64-false", "b64-true", "zip"],
)
def test_header_parameters_that_change_meaning_are_rejected(keyring: Keyring, extra: dict[str, Any]) -> None:
    key = keyring["RS256"]
    check = verifier(keyring.jwks("RS256"))
    assert check.verify_sync(signed_raw(key, header_for(key), claims())) == claims()
    with pytest.raises(MalformedTokenError):
        check.verify_sync(signed_raw(key, header_for(key, **extra), claims()))
    with pytest.raises(MalformedTokenError):
        verify_compact(signed_raw(key, header_for(key, **extra), claims()), keyring.jwks("RS256"))


@pytest.mark.parametrize("name", ["jku", "x5u", "x5c", "jwk"])
def test_key_location_headers_are_ignored_for_key_selection(keyring: Keyring, name: str) -> None:
    legit, attacker = keyring["RS256"], keyring["attacker-RS256"]
    attacker_jwk = attacker.public_jwk()
    value: Any = {
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBkTCB+wIJAK"],
        "jwk": attacker_jwk,
    }[name]
    check = verifier(keyring.jwks("RS256"))
    # Carried by a legitimately signed token, the parameter is harmless: it is simply not used.
    assert check.verify_sync(token(legit, **{name: value})) == claims()
    # Signed by the attacker under the legitimate kid: the configured key decides, and refuses.
    with pytest.raises(InvalidSignatureError):
        check.verify_sync(token(attacker, kid=legit.kid, **{name: value}))
    # No kid and one configured key: still the configured key.
    with pytest.raises(InvalidSignatureError):
        check.verify_sync(token(attacker, kid=None, **{name: value}))
    # The attacker's own kid is simply unknown.
    with pytest.raises(UnknownKeyError):
        check.verify_sync(token(attacker, **{name: value}))


def test_embedded_jwk_with_the_attackers_key_is_rejected_by_verify_compact(keyring: Keyring) -> None:
    """CVE-2018-0114: a header ``jwk`` must never become the verification key."""
    attacker = keyring["attacker-RS256"]
    forged = token(attacker, kid=keyring["RS256"].kid, jwk=attacker.public_jwk())
    with pytest.raises(InvalidSignatureError):
        verify_compact(forged, keyring.jwks("RS256"))


# -- signature encodings ------------------------------------------------------------------------------

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _es256_forgery(keyring: Keyring, r: int, s: int) -> str:
    return with_signature(token(keyring["ES256"]), r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_es256_zero_signature_is_invalid(keyring: Keyring) -> None:
    """CVE-2022-21449 ("psychic signatures"): r = s = 0 verifies everything in a broken verifier."""
    forged = with_signature(token(keyring["ES256"]), bytes(64))
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks("ES256")).verify_sync(forged)
    with pytest.raises(InvalidSignatureError):
        verify_compact(forged, keyring.jwks("ES256"))


@pytest.mark.parametrize("which", ["r=n", "s=n", "r=max", "s=max", "r=0", "s=0"])
def test_es256_scalars_outside_one_to_n_minus_one_are_invalid(keyring: Keyring, which: str) -> None:
    good = token(keyring["ES256"])
    sig = signature_of(good)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    top = 2**256 - 1
    value = {
        "r=n": (_P256_ORDER, s),
        "s=n": (r, _P256_ORDER),
        "r=max": (top, s),
        "s=max": (r, top),
        "r=0": (0, s),
        "s=0": (r, 0),
    }[which]
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks("ES256")).verify_sync(_es256_forgery(keyring, *value))
    assert verifier(keyring.jwks("ES256")).verify_sync(_es256_forgery(keyring, r, s)) == claims()


def test_der_encoded_es256_signature_is_invalid(keyring: Keyring) -> None:
    key = keyring["ES256"]
    good = token(key)
    signing_input = good.rsplit(".", 1)[0].encode()
    private_key = key.private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    der = private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    # The DER signature is genuinely valid for the key: only its encoding is wrong for JWS.
    private_key.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks("ES256")).verify_sync(with_signature(good, der))


@pytest.mark.parametrize("case", ["RS256", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed448"])
@pytest.mark.parametrize("change", ["short", "long", "truncated", "doubled", "one-byte"])
def test_signature_of_the_wrong_length_is_invalid(keyring: Keyring, case: str, change: str) -> None:
    good = token(keyring[case])
    sig = signature_of(good)
    wrong = {
        "short": sig[:-1],
        "long": sig + b"\x00",
        "truncated": sig[: len(sig) // 2],
        "doubled": sig + sig,
        "one-byte": sig[:1],
    }[change]
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks(case)).verify_sync(with_signature(good, wrong))


@pytest.mark.parametrize("case", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize("where", ["before-r", "before-s", "after-s"])
def test_ecdsa_signature_with_a_zero_byte_inserted_is_invalid(
    keyring: Keyring, case: str, where: str
) -> None:
    """``r || 00 || s`` still holds the same integers when split by length: only R || S is JWS."""
    good = token(keyring[case])
    sig = signature_of(good)
    size = len(sig) // 2
    padded = {
        "before-r": b"\x00" + sig,
        "before-s": sig[:size] + b"\x00" + sig[size:],
        "after-s": sig + b"\x00",
    }[where]
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks(case)).verify_sync(with_signature(good, padded))


def test_rsa_signature_with_a_leading_zero_byte_is_invalid(keyring: Keyring) -> None:
    good = token(keyring["RS256"])
    with pytest.raises(InvalidSignatureError):
        verifier(keyring.jwks("RS256")).verify_sync(with_signature(good, b"\x00" + signature_of(good)))


@pytest.mark.parametrize("case", ["RS256", "ES256", "EdDSA"])
def test_every_single_bit_flip_of_a_signature_is_invalid(keyring: Keyring, case: str) -> None:
    good = token(keyring[case])
    sig = bytearray(signature_of(good))
    check = verifier(keyring.jwks(case), token_cache_size=None)
    for bit in range(0, len(sig) * 8, 7):
        flipped = bytearray(sig)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(InvalidSignatureError):
            check.verify_sync(with_signature(good, bytes(flipped)))


@pytest.mark.parametrize(
    "bad", ["", ".", "..", "a.b.c", "e30.e30.", "e30.e30.AA", "eyJhbGciOiJSUzI1NiJ9.e30"]
)
def test_parse_compact_reports_structural_failures_as_malformed(bad: str) -> None:
    with pytest.raises(MalformedTokenError):
        jws.parse_compact(bad)
