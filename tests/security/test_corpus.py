"""Runs every token-level case of the catalogue through both verify paths (and the JWS layer).

A case passes only with its exact outcome: the named error class from ``verify_sync`` and the same
error (class, description, claim) from ``verify``, or acceptance by both for the controls. The
"could not be verified" fallback is never an acceptable rejection: it would mean an unexpected
exception inside the library.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import JWTMiddlewareError, JWTVerifier, MalformedTokenError, b64, jws, safe_json
from jwt_middleware.jws import verify_compact
from tests.security.catalogue import Case, corpora
from tests.security.kit import MARKER, Kit, attempt, attempt_async

INTERNAL_ERROR = "The token could not be verified"

TOKEN_CASES: list[Case] = [
    case
    for module in corpora()
    for case in module.CASES
    if isinstance(case, Case) and not case.verifier.startswith("remote")
]


def verifier_for(kit: Kit, case: Case) -> JWTVerifier:
    options = dict(case.options)
    now = options.pop("now", None)
    extra: dict[str, Any] = {} if now is None else {"now": now}
    jwks = case.jwks(kit) if case.jwks is not None else None
    return kit.verifier(case.verifier, jwks=jwks, **extra, **options)


def outcome(error: JWTMiddlewareError) -> tuple[Any, ...]:
    return type(error), error.description, error.claim, error.status_code, error.error


@pytest.mark.anyio
@pytest.mark.parametrize("case", TOKEN_CASES, ids=[case.name for case in TOKEN_CASES])
async def test_case(kit: Kit, case: Case) -> None:
    token = case.build(kit)
    if case.verifier == "jws":
        keys = case.jwks(kit) if case.jwks is not None else kit.key_set
        if case.expect is None:
            verify_compact(token, keys)
        else:
            with pytest.raises(case.expect):
                verify_compact(token, keys)
        return
    claims, error = attempt(verifier_for(kit, case).verify_sync, token)
    async_claims, async_error = await attempt_async(verifier_for(kit, case).verify, token)
    if case.expect is None:
        assert error is None, f"{case.name}: rejected with {error!r}, expected acceptance"
        assert async_claims == claims
        return
    assert error is not None, f"FALSE ACCEPT: {case.name} was accepted: {dict(claims)!r}"
    assert type(error) is case.expect, f"{case.name}: {error!r}, expected {case.expect.__name__}"
    assert error.description != INTERNAL_ERROR
    assert MARKER not in error.description
    assert async_error is not None
    assert outcome(async_error) == outcome(error)


def test_rejected_cases_stay_rejected_when_repeated(kit: Kit) -> None:
    # The verified-token cache only ever holds accepted tokens: asking twice changes nothing.
    for case in TOKEN_CASES:
        if case.expect is None or case.verifier == "jws":
            continue
        verifier = verifier_for(kit, case)
        token = case.build(kit)
        for _ in range(2):
            with pytest.raises(case.expect):
                verifier.verify_sync(token)


# -- oversized input is refused on its length alone ---------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_a_1mb_token_is_refused_before_any_decoding(
    kit: Kit, monkeypatch: pytest.MonkeyPatch, as_bytes: bool
) -> None:
    def must_not_run(*args: object, **kwargs: object) -> Any:
        raise AssertionError("an oversized token reached the decoder")

    token: str | bytes = kit.token(payload=kit.payload(pad="A" * 1_000_000))
    if as_bytes:
        token = token.encode()
    for module, name in (
        (b64, "decode"),
        (b64, "decode_prevalidated"),
        (b64, "decode_padded"),
        (jws, "parse_object"),
        (safe_json, "parse_object"),
    ):
        monkeypatch.setattr(module, name, must_not_run)
    verifier = kit.verifier()
    with pytest.raises(MalformedTokenError) as caught:
        verifier.verify_sync(token)  # type: ignore[arg-type]
    assert caught.value.description == "The token is too large"


def test_case_names_are_unique() -> None:
    names = [case.name for module in corpora() for case in module.CASES]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates


def test_the_library_curve_orders_are_the_group_orders() -> None:
    # The explicit 1 <= r, s <= n - 1 check is only as good as n: n - 1 must be a valid private
    # scalar of the curve and n must not be (OpenSSL knows the real group order).
    from cryptography.hazmat.primitives.asymmetric import ec

    from jwt_middleware.algorithms import _CURVE_ORDERS

    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    assert set(_CURVE_ORDERS) == set(curves)
    for name, order in _CURVE_ORDERS.items():
        ec.derive_private_key(order - 1, curves[name])
        with pytest.raises(ValueError):
            ec.derive_private_key(order, curves[name])


def test_a_refresh_cannot_carry_a_key_past_import_checks(kit: Kit) -> None:
    # A refresh reuses unchanged keys without re-importing them; a JWK that gains private members
    # is not "unchanged": it must be re-imported, and refused.
    from jwt_middleware import KeySet
    from tests.security.corpus_keys import _with_private

    previous = KeySet.from_jwks({"keys": [kit.es256.public_jwk()]})
    refreshed = KeySet.from_jwks({"keys": [_with_private(kit.es256)]}, previous=previous)
    assert len(refreshed) == 0
    assert "private" in refreshed.skipped[0]
    unchanged = KeySet.from_jwks({"keys": [kit.es256.public_jwk()]}, previous=previous)
    assert unchanged.keys[0] is previous.keys[0]
