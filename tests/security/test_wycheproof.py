"""Project Wycheproof vectors, from the copy in ``tests/vectors/wycheproof/`` (Apache-2.0, see its README).

* JWS vectors go through ``jwt_middleware.jws.verify_compact`` (the signature-only layer: their
  payloads are not JWT claim sets), with the group's public key set, or its private one when the
  group has no public keys (the HMAC groups: every one of them must be rejected, because no HS*
  algorithm exists here).
* JWK vectors go through ``KeySet.from_jwks`` and then ``verify_compact``.
* The ECDSA (IEEE P1363 encoding), Ed25519, Ed448, RSASSA-PKCS1-v1_5 and RSASSA-PSS primitive
  vectors go through ``ALGORITHMS[alg].verify`` with keys imported by ``import_key``, exactly as a
  JWKS key is (groups that give no JWK get one built from their raw public key).

Every vector labelled valid must verify and every vector labelled invalid must be rejected, except
the vectors listed in ``EXCEPTIONS`` and the HMAC rule, each with its reason (the vectors' README
documents the mislabelled ones). The copy holds exactly the files read here, so a fresh clone
runs every vector with nothing to fetch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

import pytest

from jwt_middleware import (
    JWKError,
    JWTMiddlewareError,
    KeySet,
    MalformedTokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    b64,
    import_key,
)
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.jws import verify_compact

VECTORS: Final = Path(__file__).resolve().parents[1] / "vectors" / "wycheproof"
JOSE_FILES: Final = ("json_web_signature_test.json", "json_web_key_test.json")

# -- documented exceptions, by file and tcId ----------------------------------------------------------

#: (file, tcId) -> (what we do, the exact error class, why)
EXCEPTIONS: Final[dict[tuple[str, int], tuple[str, type[JWTMiddlewareError], str]]] = {
    ("json_web_signature_test.json", 372): (
        "reject",
        MalformedTokenError,
        "labelled valid but contains '?', outside the base64url alphabet (README: mislabelled)",
    ),
    ("json_web_signature_test.json", 373): (
        "reject",
        MalformedTokenError,
        "labelled valid but contains '?', outside the base64url alphabet (README: mislabelled)",
    ),
    ("json_web_signature_test.json", 346): (
        "reject",
        UnsupportedAlgorithmError,
        "RFC 7520 figure 20: a PS384 token under a key whose JWK says alg PS256; keys are bound to their alg",
    ),
    ("json_web_signature_test.json", 350): (
        "reject",
        UnsupportedAlgorithmError,
        "the same figure with key_ops; the key is bound to PS256",
    ),
    ("json_web_signature_test.json", 347): (
        "reject",
        UnknownKeyError,
        "RFC 7520 figure 27: the key's alg is the unregistered name 'ES521', so the key is refused at import",
    ),
    ("json_web_signature_test.json", 351): (
        "reject",
        UnknownKeyError,
        "the same figure with key_ops: the 'ES521' key is refused at import",
    ),
}
#: Byte-identical duplicates of tcId 357 that are labelled invalid (README): whatever 357 gets,
#: they get. Both are HMAC vectors, so all three are rejected.
DUPLICATES_OF_357: Final = (367, 370)
#: The only "acceptable" vector among these files: PKCS#1 v1.5 with the NULL parameter missing from
#: the DigestInfo. We reject it (OpenSSL does; RFC 8017 §9.2 note 2 allows either), so a token can
#: have only one valid signature encoding under RS256.
ACCEPTABLE_CHOICE: Final = "reject"


@cache
def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return document


def vectors_of(name: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for group in load(name)["testGroups"]:
        for test in group["tests"]:
            yield group, test


def header_alg(token: str) -> str | None:
    """The header's alg read leniently (only to classify the HMAC vectors, never to verify)."""
    try:
        segment = token.split(".")[0].split('"protected":"')[-1]
        value = json.loads(b64.decode_padded(segment.rstrip("=").split('"')[0]))
        alg = value.get("alg") if isinstance(value, dict) else None
        return alg if isinstance(alg, str) else None
    except (ValueError, IndexError):
        return None


def _jose_outcome(
    token: str, keys: Mapping[str, Any] | KeySet
) -> tuple[str, type[JWTMiddlewareError] | None, bytes | None]:
    try:
        _, payload = verify_compact(token, keys)
    except JWTMiddlewareError as error:
        return "reject", type(error), None
    return "accept", None, payload


def _group_keys(group: Mapping[str, Any]) -> Mapping[str, Any]:
    keys = group.get("public") or group.get("private")
    assert isinstance(keys, Mapping)
    return keys


# -- JWS and JWK files ----------------------------------------------------------------------------------


def _jose_vectors(name: str) -> list[Any]:
    return [
        pytest.param(group, test, id=f"{name.split('_test')[0]}-{test['tcId']}-{test['comment'][:40]}")
        for group, test in vectors_of(name)
    ]


def _judge(name: str, test: Mapping[str, Any], result: tuple[str, Any, bytes | None]) -> None:
    outcome, error, payload = result
    tc_id, label, token = test["tcId"], test["result"], test["jws"]
    if (name, tc_id) in EXCEPTIONS:
        expected_outcome, expected_error, reason = EXCEPTIONS[(name, tc_id)]
        assert (outcome, error) == (expected_outcome, expected_error), reason
        return
    if header_alg(token) in ("HS256", "HS384", "HS512"):
        # No HMAC at all: valid or not, an HS* token names an algorithm that does not exist here.
        assert outcome == "reject", f"tcId {tc_id}: an HMAC token was accepted"
        assert error in (UnsupportedAlgorithmError, MalformedTokenError), (tc_id, error)
        return
    if label == "valid":
        assert outcome == "accept", f"tcId {tc_id} ({test['comment']}) is valid but was rejected: {error}"
        assert payload == b64.decode(token.split(".")[1])
    else:
        assert outcome == "reject", f"FALSE ACCEPT: tcId {tc_id} ({test['comment']}) is labelled {label}"
        assert error is not None


@pytest.mark.parametrize(("group", "test"), _jose_vectors("json_web_signature_test.json"))
def test_json_web_signature(group: dict[str, Any], test: dict[str, Any]) -> None:
    _judge("json_web_signature_test.json", test, _jose_outcome(test["jws"], _group_keys(group)))


@pytest.mark.parametrize(("group", "test"), _jose_vectors("json_web_key_test.json"))
def test_json_web_key(group: dict[str, Any], test: dict[str, Any]) -> None:
    keys = _group_keys(group)
    key_set = KeySet.from_jwks(keys)
    if test["result"] == "invalid" and header_alg(test["jws"]) not in ("HS256", "HS384", "HS512"):
        # A key the vector calls unusable must be refused at import, not merely fail to verify.
        assert len(key_set) == 0, f"tcId {test['tcId']}: {test['comment']}: key imported {key_set.keys}"
    _judge("json_web_key_test.json", test, _jose_outcome(test["jws"], key_set))


def test_documented_duplicates_are_identical_and_share_an_outcome() -> None:
    by_id = {test["tcId"]: (group, test) for group, test in vectors_of("json_web_signature_test.json")}
    group, original = by_id[357]
    assert original["result"] == "valid"
    reference = _jose_outcome(original["jws"], _group_keys(group))
    for tc_id in DUPLICATES_OF_357:
        duplicate_group, duplicate = by_id[tc_id]
        assert duplicate["jws"] == original["jws"]
        assert duplicate["result"] == "invalid"
        assert _jose_outcome(duplicate["jws"], _group_keys(duplicate_group)) == reference
    assert reference[0] == "reject"  # an HMAC vector


def test_every_exception_exists_and_is_labelled_as_the_readme_says() -> None:
    by_id = {test["tcId"]: test for _, test in vectors_of("json_web_signature_test.json")}
    for (name, tc_id), (outcome, _, _) in EXCEPTIONS.items():
        assert name == "json_web_signature_test.json"
        assert by_id[tc_id]["result"] == "valid"
        assert outcome == "reject"
    for tc_id in (372, 373):
        assert "?" in by_id[tc_id]["jws"]


def test_hmac_vectors_exist_and_none_is_accepted() -> None:
    hmac = [
        (group, test)
        for name in JOSE_FILES
        for group, test in vectors_of(name)
        if header_alg(test["jws"]) in ("HS256", "HS384", "HS512")
    ]
    assert len(hmac) > 30
    assert any(test["result"] == "valid" for _, test in hmac)
    for group, test in hmac:
        assert _jose_outcome(test["jws"], _group_keys(group))[0] == "reject"


# -- primitive files: the algorithm layer with keys imported as from a JWKS --------------------------------

PRIMITIVES: Final = {
    "ecdsa_secp256r1_sha256_p1363_test.json": ("ES256", "P-256", 32),
    "ecdsa_secp384r1_sha384_p1363_test.json": ("ES384", "P-384", 48),
    "ecdsa_secp521r1_sha512_p1363_test.json": ("ES512", "P-521", 66),
    "ed25519_test.json": ("Ed25519", "Ed25519", 32),
    "ed448_test.json": ("Ed448", "Ed448", 57),
    "rsa_pss_2048_sha256_mgf1_32_test.json": ("PS256", None, 0),
    "rsa_signature_2048_sha256_test.json": ("RS256", None, 0),
}


def _group_jwk(group: Mapping[str, Any], curve: str | None, size: int) -> dict[str, Any]:
    jwk = group.get("publicKeyJwk") or group.get("keyJwk")
    if jwk is not None:
        return dict(jwk)
    # Some ECDSA groups carry only the raw point: build the JWK a provider would publish for it.
    point = bytes.fromhex(group["publicKey"]["uncompressed"])
    assert point[0] == 4
    assert len(point) == 1 + 2 * size
    assert curve is not None
    return {
        "kty": "EC",
        "crv": curve,
        "x": b64.encode(point[1 : 1 + size]),
        "y": b64.encode(point[1 + size :]),
    }


def _primitive_vectors() -> list[Any]:
    params = []
    for name, (alg, curve, size) in PRIMITIVES.items():
        for group_index in range(len(load(name)["testGroups"])):
            params.append(
                pytest.param(
                    name,
                    alg,
                    curve,
                    size,
                    group_index,
                    id=f"{name.removesuffix('_test.json')}-group{group_index}",
                )
            )
    return params


@pytest.mark.parametrize(("name", "alg", "curve", "size", "group_index"), _primitive_vectors())
def test_primitive_group(name: str, alg: str, curve: str | None, size: int, group_index: int) -> None:
    group = load(name)["testGroups"][group_index]
    jwk = _group_jwk(group, curve, size)
    try:
        key = import_key(jwk)
    except JWKError as error:
        refused: JWKError | None = error
    else:
        refused = None
    if refused is not None:
        # A refused key is acceptable only if no vector of the group is valid under it.
        valid = [test["tcId"] for test in group["tests"] if test["result"] == "valid"]
        assert not valid, f"{name} group {group_index}: key refused ({refused}) but tcIds {valid} are valid"
        return
    algorithm = ALGORITHMS[alg]
    assert alg in key.algorithms
    for test in group["tests"]:
        verified = algorithm.verify(key.public_key, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
        label = test["result"]
        if label == "acceptable":
            assert verified is (ACCEPTABLE_CHOICE == "accept"), (name, test["tcId"], test["comment"])
        elif label == "valid":
            assert verified, f"{name} tcId {test['tcId']} ({test['comment']}) is valid but failed"
        else:
            assert not verified, (
                f"FALSE ACCEPT: {name} tcId {test['tcId']} ({test['comment']}, {test['flags']})"
            )


def test_the_acceptable_vectors_are_the_documented_ones() -> None:
    acceptable = [
        (name, test["tcId"], tuple(test["flags"]))
        for name in PRIMITIVES
        for _, test in vectors_of(name)
        if test["result"] == "acceptable"
    ]
    assert acceptable == [("rsa_signature_2048_sha256_test.json", 8, ("MissingNull",))]


def test_the_copy_holds_exactly_the_files_read_here_with_its_licence() -> None:
    kept = {path.name for path in VECTORS.iterdir()}
    assert kept == {*JOSE_FILES, *PRIMITIVES, "LICENSE", "README.md"}
    assert "Apache License" in (VECTORS / "LICENSE").read_text(encoding="utf-8")
