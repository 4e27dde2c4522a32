"""``custom_check`` and ``checks=``: their verdict is the verdict, and their crashes are the service's.

Sync or async, on both verifier paths. A rule that raises something other than a refusal is a 503
(``VerificationUnavailableError``); a crash while reading the unauthenticated token stays a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from jwt_middleware import (
    Claims,
    ConfigurationError,
    InvalidClaimError,
    InvalidTokenError,
    JWTMiddlewareError,
    JWTVerifier,
    KeySet,
    MalformedTokenError,
    VerificationKey,
    VerificationUnavailableError,
    reasons,
)
from jwt_middleware.algorithms import Algorithm
from jwt_middleware.keysource import StaticKeySource
from tests.core.support import AUDIENCE, ISSUER, MARKER, NOW, Keyring, token, verifier


def _sync_check(verdict: bool | None) -> Any:
    def check(header: Mapping[str, Any], claims: Claims, key: VerificationKey) -> bool | None:
        return verdict

    return check


def _async_check(verdict: bool | None) -> Any:
    async def check(header: Mapping[str, Any], claims: Claims, key: VerificationKey) -> bool | None:
        return verdict

    return check


async def _async_refusal(header: Mapping[str, Any], claims: Claims, key: VerificationKey) -> bool:
    raise InvalidTokenError("The token was revoked")


@pytest.mark.anyio
@pytest.mark.parametrize("make", [_sync_check, _async_check], ids=["sync", "async"])
async def test_a_false_verdict_rejects_on_the_async_path(keyring: Keyring, make: Any) -> None:
    with pytest.raises(InvalidClaimError) as caught:
        await verifier(keyring.jwks("ES256"), custom_check=make(False)).verify(token(keyring["ES256"]))
    assert caught.value.description == "The token was rejected by a custom check"


@pytest.mark.parametrize("make", [_sync_check, _async_check], ids=["sync", "async"])
def test_a_false_verdict_rejects_on_the_sync_path(keyring: Keyring, make: Any) -> None:
    with pytest.raises(InvalidClaimError):
        verifier(keyring.jwks("ES256"), custom_check=make(False)).verify_sync(token(keyring["ES256"]))


@pytest.mark.anyio
@pytest.mark.parametrize("verdict", [True, None])
@pytest.mark.parametrize("make", [_sync_check, _async_check], ids=["sync", "async"])
async def test_true_or_none_accepts_on_the_async_path(
    keyring: Keyring, make: Any, verdict: bool | None
) -> None:
    check = verifier(keyring.jwks("ES256"), custom_check=make(verdict))
    assert (await check.verify(token(keyring["ES256"]))).subject == "user-1"


@pytest.mark.parametrize("verdict", [True, None])
@pytest.mark.parametrize("make", [_sync_check, _async_check], ids=["sync", "async"])
def test_true_or_none_accepts_on_the_sync_path(keyring: Keyring, make: Any, verdict: bool | None) -> None:
    check = verifier(keyring.jwks("ES256"), custom_check=make(verdict))
    assert check.verify_sync(token(keyring["ES256"])).subject == "user-1"


@pytest.mark.anyio
async def test_an_async_refusal_is_raised_on_the_async_path(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("ES256"), custom_check=_async_refusal)
    with pytest.raises(InvalidTokenError, match="revoked"):
        await check.verify(token(keyring["ES256"]))


def test_an_async_refusal_is_raised_on_the_sync_path(keyring: Keyring) -> None:
    check = verifier(keyring.jwks("ES256"), custom_check=_async_refusal)
    with pytest.raises(InvalidTokenError, match="revoked"):
        check.verify_sync(token(keyring["ES256"]))


# -- whose fault a crash is (see the verifier's module docstring) ---------------------------------


def _crash(*args: Any) -> bool:
    raise ConnectionError(f"store down {MARKER}")


async def _async_crash(*args: Any) -> bool:
    raise ConnectionError(f"store down {MARKER}")


class _CrashingSource(StaticKeySource):
    """A key source of the service's own that fails (its store is down)."""

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        raise OSError(f"key store down {MARKER}")


class _CrashingKey(VerificationKey):
    """A key whose signature arithmetic fails: what a parsing bug on hostile input looks like."""

    def verify(self, algorithm: Algorithm, signing_input: bytes, signature: bytes) -> bool:
        raise ValueError(f"unexpected point {MARKER}")


def _refusal_of(check: JWTVerifier, good: str) -> JWTMiddlewareError:
    with pytest.raises(JWTMiddlewareError) as caught:
        check.verify_sync(good)
    assert MARKER not in repr(caught.value)
    assert MARKER not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    return caught.value


@pytest.mark.parametrize(
    "options",
    [{"checks": [_crash]}, {"custom_check": _crash}, {"custom_check": _async_crash}],
    ids=["checks", "custom_check", "async custom_check"],
)
def test_a_crashing_rule_is_a_503_not_a_bad_token(
    keyring: Keyring, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    error = _refusal_of(verifier(keyring.jwks("ES256"), **options), token(keyring["ES256"]))
    assert isinstance(error, VerificationUnavailableError)
    assert (error.status_code, error.error, error.retry_after) == (503, "temporarily_unavailable", 5)
    assert (error.code, error.exception_type) == (reasons.CHECK_FAILED, "ConnectionError")
    logged = " ".join(record.getMessage() for record in caplog.records)
    where = "_crash" if "checks" in options else "custom_check"  # the rule's name, or the hook's
    assert f"{where} raised ConnectionError" in logged
    assert "ConnectionError" in logged
    assert MARKER not in logged


@pytest.mark.anyio
@pytest.mark.parametrize(
    "options",
    [{"checks": [_crash]}, {"custom_check": _crash}, {"custom_check": _async_crash}],
    ids=["checks", "custom_check", "async custom_check"],
)
async def test_a_crashing_rule_is_a_503_on_the_async_path(keyring: Keyring, options: dict[str, Any]) -> None:
    with pytest.raises(VerificationUnavailableError) as caught:
        await verifier(keyring.jwks("ES256"), **options).verify(token(keyring["ES256"]))
    assert caught.value.code == reasons.CHECK_FAILED


def test_a_crashing_key_source_is_a_503(keyring: Keyring) -> None:
    source = _CrashingSource(KeySet.from_jwks(keyring.jwks("ES256")))
    check = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_cache=source, clock=lambda: NOW)
    error = _refusal_of(check, token(keyring["ES256"]))
    assert isinstance(error, VerificationUnavailableError)
    assert (error.code, error.exception_type) == (reasons.KEY_SOURCE_FAILED, "OSError")


def test_a_crash_before_the_signature_is_verified_stays_a_401(keyring: Keyring) -> None:
    real = KeySet.from_jwks(keyring.jwks("ES256")).keys[0]
    broken = _CrashingKey(
        kid=real.kid,
        kty=real.kty,
        curve=real.curve,
        algorithms=real.algorithms,
        public_key=real.public_key,
        fingerprint=real.fingerprint,
    )
    error = _refusal_of(verifier(KeySet([broken])), token(keyring["ES256"]))
    assert type(error) is MalformedTokenError
    assert (error.status_code, error.description) == (401, "The token could not be verified")


def test_programming_errors_are_not_turned_into_answers(keyring: Keyring) -> None:
    def misconfigured(*args: Any) -> bool:
        raise ConfigurationError("wrong")

    with pytest.raises(ConfigurationError):
        verifier(keyring.jwks("ES256"), custom_check=misconfigured).verify_sync(token(keyring["ES256"]))
