"""Both verify paths agree on every bad token, and no mutation of a good token ever gets through."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from jwt_middleware import JWTMiddlewareError, JWTVerifier, verify_compact
from jwt_middleware.testing import SigningKey
from tests.core.corpus import CASES, corpus_verifier
from tests.core.support import AUDIENCE, ISSUER, NOW, Keyring, claims, token, verifier

INTERNAL_ERROR = "The token could not be verified"


def _outcome(error: JWTMiddlewareError) -> tuple[Any, ...]:
    return type(error), error.description, error.claim, error.expected, error.status_code, error.error


# -- verify and verify_sync agree on the whole rejection corpus ---------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(CASES))
async def test_verify_and_verify_sync_reject_identically(keyring: Keyring, case: str) -> None:
    build, expected = CASES[case]
    bad = build(keyring)
    check = corpus_verifier(keyring)
    with pytest.raises(JWTMiddlewareError) as sync_error:
        check.verify_sync(bad)
    with pytest.raises(JWTMiddlewareError) as async_error:
        await check.verify(bad)
    assert type(sync_error.value) is expected
    assert _outcome(sync_error.value) == _outcome(async_error.value)
    assert sync_error.value.description != INTERNAL_ERROR


@pytest.mark.anyio
async def test_verify_and_verify_sync_accept_identically(keyring: Keyring) -> None:
    good = token(keyring["EdDSA"], claims(sub="x"))
    sync_result = corpus_verifier(keyring).verify_sync(good)
    async_result = await corpus_verifier(keyring).verify(good)
    assert sync_result == async_result == claims(sub="x")
    assert sync_result.header == async_result.header


# -- mutations of a valid token -----------------------------------------------------------------------

_POOL = string.ascii_letters + string.digits + "-_" + ".=+/ \t\n\x00{}\"'\\\u00e9\u2028\U0001f600"


def _mutations(original: str, seed: int) -> list[str]:
    """Every single-character deletion, insertion, substitution and bit flip, with seeded choices."""
    rng = random.Random(seed)
    found: list[str] = []
    for at in range(len(original) + 1):
        found.append(original[:at] + rng.choice(_POOL) + original[at:])
        if at == len(original):
            break
        found.append(original[:at] + original[at + 1 :])
        found.append(original[:at] + rng.choice(_POOL.replace(original[at], "")) + original[at + 1 :])
        flipped = chr(ord(original[at]) ^ (1 << rng.randrange(8)))
        found.append(original[:at] + flipped + original[at + 1 :])
    return [candidate for candidate in dict.fromkeys(found) if candidate != original]


@pytest.fixture(scope="module")
def short_token(keyring: Keyring) -> tuple[str, dict[str, Any]]:
    key = SigningKey(keyring["EdDSA"].private_key, alg="EdDSA", kid="k")
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(NOW) + 60}
    return token(key, payload, typ=None), {"keys": [key.public_jwk()]}


def test_mutation_corpus_is_large_and_deterministic(short_token: tuple[str, dict[str, Any]]) -> None:
    original, _ = short_token
    assert len(original) < 250
    assert len(_mutations(original, 7)) > 600
    assert _mutations(original, 7) == _mutations(original, 7)


def _reject(check: JWTVerifier, candidate: str) -> tuple[Any, ...]:
    try:
        result = check.verify_sync(candidate)
    except JWTMiddlewareError as error:
        return _outcome(error)
    raise AssertionError(f"a mutated token was accepted: {candidate!r} -> {dict(result)!r}")


@pytest.mark.anyio
async def test_no_mutation_is_accepted_and_only_library_errors_are_raised(
    short_token: tuple[str, dict[str, Any]],
) -> None:
    original, jwks = short_token
    check = verifier(jwks)
    assert check.verify_sync(original)  # cached: a mutation must not hit the cached entry
    for candidate in _mutations(original, seed=20240611):
        sync_outcome = _reject(check, candidate)
        with pytest.raises(JWTMiddlewareError) as async_error:
            await check.verify(candidate)
        assert _outcome(async_error.value) == sync_outcome, candidate
        assert sync_outcome[1] != INTERNAL_ERROR, candidate
        with pytest.raises(JWTMiddlewareError):
            verify_compact(candidate, jwks)
    assert check.verify_sync(original)


def test_byte_level_mutations_are_rejected_as_bytes(short_token: tuple[str, dict[str, Any]]) -> None:
    original, jwks = short_token
    check = verifier(jwks, token_cache_size=None)
    raw = original.encode("ascii")
    rng = random.Random(99)
    for at in range(len(raw)):
        mutated = bytearray(raw)
        mutated[at] ^= 1 << rng.randrange(8)
        with pytest.raises(JWTMiddlewareError) as caught:
            check.verify_sync(bytes(mutated))  # type: ignore[arg-type]
        assert caught.value.description != INTERNAL_ERROR
