"""``custom_check``: sync or async, its verdict is the verdict, on both verifier paths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from jwt_middleware import Claims, InvalidClaimError, InvalidTokenError, VerificationKey
from tests.core.support import Keyring, token, verifier


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
