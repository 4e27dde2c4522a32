"""The introspection answer cache: digests for keys, per-entry ends, bounded memory."""

from __future__ import annotations

import pytest

from jwt_middleware.claims import Claims
from jwt_middleware.errors import ConfigurationError, InvalidTokenError
from jwt_middleware.oauth.answer_cache import AnswerCache, token_key


def test_keys_are_digests_never_tokens() -> None:
    assert token_key("opaque-token") == token_key("opaque-token")
    assert token_key("opaque-token") != token_key("opaque-token2")
    assert b"opaque" not in token_key("opaque-token")
    assert len(token_key("x")) == 32


def test_entries_end_when_told() -> None:
    cache = AnswerCache()
    claims = Claims({"sub": "a"})
    cache.put(b"k", claims, until=10.0, now=0.0)
    assert cache.get(b"k", 9.9) is claims
    assert cache.get(b"k", 10.0) is None
    assert len(cache) == 0
    cache.put(b"k", claims, until=5.0, now=5.0)  # already over: not kept
    assert len(cache) == 0


def test_refusals_are_handed_out_as_copies() -> None:
    cache = AnswerCache()
    refusal = InvalidTokenError("The token is not active", code="token.inactive")
    cache.put(b"k", refusal, until=10.0, now=0.0)
    first, second = cache.get(b"k", 1.0), cache.get(b"k", 1.0)
    assert isinstance(first, InvalidTokenError)
    assert isinstance(second, InvalidTokenError)
    assert first is not second
    assert first is not refusal
    assert first.code == "token.inactive"
    assert first.description == "The token is not active"


def test_memory_is_bounded_least_recently_used_first() -> None:
    cache = AnswerCache(max_entries=3)
    for index in range(3):
        cache.put(bytes([index]), Claims({"n": index}), until=100.0, now=0.0)
    assert cache.get(bytes([0]), 1.0) is not None  # 0 is now the most recently used
    cache.put(b"\x09", Claims({}), until=100.0, now=1.0)
    assert len(cache) == 3
    assert cache.get(bytes([1]), 1.0) is None
    assert cache.get(bytes([0]), 1.0) is not None


def test_size_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        AnswerCache(0)
