"""The verified-token cache: a hit is never more permissive than a full verification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from jwt_middleware import (
    Claims,
    ConfigurationError,
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    JWTVerifier,
    KeySet,
    NotYetValidError,
    UnknownKeyError,
    VerificationKey,
    import_key,
)
from jwt_middleware.keysource import StaticKeySource
from jwt_middleware.token_cache import CachedToken, TokenCache
from tests.core.support import AUDIENCE, ISSUER, NOW, Clock, Keyring, claims, token, verifier

EXP = int(NOW) + 300


class RotatingKeySource(StaticKeySource):
    """A static key source whose key set is replaced the way a JWKS refresh replaces it."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        super().__init__(KeySet.from_jwks(jwks))

    def rotate(self, jwks: Mapping[str, Any]) -> None:
        successor = KeySet.from_jwks(jwks, previous=self.key_set)
        self.key_set.retire_replaced(successor)
        self.key_set = successor


def test_repeated_token_returns_the_same_claims_object(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("EdDSA"))
    good = token(keyring["EdDSA"])
    first = check.verify_sync(good)
    assert check.verify_sync(good) is first


@pytest.mark.anyio
async def test_cache_is_shared_by_the_async_and_sync_paths(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("EdDSA"))
    good = token(keyring["EdDSA"])
    first = await check.verify(good)
    assert await check.verify(good) is first
    assert check.verify_sync(good) is first


def test_cached_token_is_rejected_once_exp_passes(keyring: Keyring) -> None:
    clock = Clock()
    check = verifier(keyring.jwks("EdDSA"), clock=clock)
    good = token(keyring["EdDSA"])
    first = check.verify_sync(good)
    clock.now = EXP - 0.001
    assert check.verify_sync(good) is first
    clock.now = EXP
    with pytest.raises(ExpiredTokenError):
        check.verify_sync(good)


def test_cached_token_respects_leeway_and_max_age(keyring: Keyring) -> None:
    clock = Clock()
    iat = int(NOW) - 10
    check = verifier(keyring.jwks("EdDSA"), clock=clock, leeway=5, max_age=60)
    good = token(keyring["EdDSA"], claims(iat=iat))
    first = check.verify_sync(good)
    clock.now = iat + 64.999
    assert check.verify_sync(good) is first
    clock.now = iat + 65.001
    with pytest.raises(ExpiredTokenError):
        check.verify_sync(good)


def test_cached_token_is_not_served_before_it_is_valid(keyring: Keyring) -> None:
    """A clock stepping backwards must not turn a cached token valid before its nbf."""
    clock = Clock()
    nbf = int(NOW)
    check = verifier(keyring.jwks("EdDSA"), clock=clock)
    good = token(keyring["EdDSA"], claims(nbf=nbf))
    check.verify_sync(good)
    clock.now = nbf - 1
    with pytest.raises(NotYetValidError):
        check.verify_sync(good)


def test_cached_token_is_rejected_once_its_key_is_rotated_out(keyring: Keyring) -> None:
    source = RotatingKeySource(keyring.jwks("EdDSA", "ES256"))
    check = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_cache=source, clock=Clock())
    good = token(keyring["EdDSA"])
    first = check.verify_sync(good)
    # A refresh that keeps the key unchanged keeps the entry.
    source.rotate(keyring.jwks("EdDSA", "ES384"))
    assert check.verify_sync(good) is first
    # A refresh that drops the key retires it: neither the cache nor a full verification accepts it.
    source.rotate(keyring.jwks("ES384"))
    with pytest.raises(UnknownKeyError):
        check.verify_sync(good)


def test_retired_key_is_refused_even_if_a_source_still_serves_it(keyring: Keyring) -> None:
    key_set = KeySet.from_jwks(keyring.jwks("EdDSA"))
    check = verifier(key_set)
    good = token(keyring["EdDSA"])
    assert check.verify_sync(good) == claims()
    key_set.retire_all()
    with pytest.raises(UnknownKeyError):
        check.verify_sync(good)
    with pytest.raises(UnknownKeyError):
        verifier(key_set, token_cache_size=None).verify_sync(good)


def test_cache_capacity_is_bounded_least_recently_used_first(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("EdDSA"), token_cache_size=2)
    tokens = [token(keyring["EdDSA"], claims(jti=str(n))) for n in range(3)]
    first = [check.verify_sync(value) for value in tokens[:2]]
    assert check.verify_sync(tokens[0]) is first[0]  # now the most recently used
    third = check.verify_sync(tokens[2])  # evicts tokens[1]
    assert check.verify_sync(tokens[0]) is first[0]
    assert check.verify_sync(tokens[2]) is third
    again = check.verify_sync(tokens[1])
    assert again == first[1]
    assert again is not first[1]


def test_token_cache_never_holds_more_than_its_size(keyring: Keyring) -> None:
    key = import_key(keyring["EdDSA"].public_jwk())
    cache = TokenCache(3)
    for n in range(50):
        cache.put(f"token-{n}", CachedToken(Claims({"n": n}), key, NOW - 1, NOW + 1))
        assert len(cache) <= 3
    assert len(cache) == 3
    assert cache.get("token-49", NOW) is not None
    assert cache.get("token-0", NOW) is None


@pytest.mark.parametrize("size", [0, -1])
def test_token_cache_size_below_one_is_a_configuration_error(size: int) -> None:
    with pytest.raises(ConfigurationError):
        TokenCache(size)


@pytest.mark.parametrize("size", [None, 0])
def test_token_cache_can_be_disabled(keyring: Keyring, size: int | None) -> None:
    check = verifier(keyring.jwks("EdDSA"), token_cache_size=size)
    good = token(keyring["EdDSA"])
    first = check.verify_sync(good)
    second = check.verify_sync(good)
    assert first == second
    assert first is not second


def test_custom_check_runs_on_every_verification(keyring: Keyring) -> None:
    calls: list[str | None] = []

    def record(header: Mapping[str, Any], verified: Claims, key: VerificationKey) -> bool:
        calls.append(verified.subject)
        return len(calls) < 3

    check = verifier(keyring.jwks("EdDSA"), custom_check=record)
    good = token(keyring["EdDSA"])
    assert check.verify_sync(good) is not check.verify_sync(good)
    assert len(calls) == 2
    with pytest.raises(InvalidClaimError):
        check.verify_sync(good)


def test_cache_belongs_to_one_verifier(keyring: Keyring) -> None:
    good = token(keyring["EdDSA"])
    assert verifier(keyring.jwks("EdDSA")).verify_sync(good)
    with pytest.raises(InvalidAudienceError):
        verifier(keyring.jwks("EdDSA"), audience="api://other").verify_sync(good)
