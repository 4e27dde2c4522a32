"""Strict JSON for untrusted token segments, parsed into read-only containers.

Two parsers that disagree about one document are an attack: with duplicate keys, for example, the
signer may have seen one ``sub`` and we another. So a document is accepted only when every
reasonable parser would read it the same way: UTF-8 without BOM, no duplicate keys, no
``NaN``/``Infinity`` (nor numbers that overflow to it), no lone surrogates, bounded nesting and
integer size, and (for token parts) an object at the top level. Every failure is a
``ValueError``; nothing else escapes.

The result is built from ``FrozenDict`` and ``FrozenList``: subclasses of ``dict`` and ``list`` so
that ``json.dumps``, framework JSON responses and ``==`` keep working, but with every mutating
method disabled, because one verified payload may be shared by many requests through the token
cache and a handler must not be able to change what another request sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from json.scanner import make_scanner
from typing import Any, Final, NoReturn

from jwt_middleware.errors import JWTMiddlewareException

__all__ = ["FrozenDict", "FrozenList", "JSONError", "has_lone_surrogate", "parse_object"]


class JSONError(JWTMiddlewareException, ValueError):
    """The document is not strict JSON of the accepted shape."""


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses mutation, for verified token content."""

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A ``list`` that refuses mutation, for arrays inside verified token content."""

    __slots__ = ()

    __setitem__ = _read_only
    __delitem__ = _read_only
    __iadd__ = _read_only
    __imul__ = _read_only
    append = _read_only
    extend = _read_only
    insert = _read_only
    pop = _read_only
    remove = _read_only
    clear = _read_only
    sort = _read_only
    reverse = _read_only

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> FrozenDict:
    result = FrozenDict(pairs)
    if len(result) != len(pairs):
        raise JSONError("duplicate key")
    return result


def _reject_constant(name: str) -> NoReturn:
    raise JSONError("non-finite number")


def _finite_float(text: str) -> float:
    # "1e999" is valid JSON grammar but no finite number: it would reach claims as inf.
    value = float(text)
    if not math.isfinite(value):
        raise JSONError("non-finite number")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_from_pairs, parse_constant=_reject_constant, parse_float=_finite_float
)


# typeshed declares make_scanner's argument as itself; at run time it takes the decoder.
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(_DECODER)  # type: ignore[arg-type]
#: JSON's insignificant whitespace (RFC 8259 section 2); nothing else may surround the object.
_WHITESPACE: Final = " \t\n\r"


def _frozen_list(items: list[Any]) -> FrozenList:
    return FrozenList(_frozen_list(item) if type(item) is list else _freeze_arrays(item) for item in items)


def _freeze_arrays(value: Any) -> Any:
    """Replace every ``list`` below ``value`` with a ``FrozenList`` (objects are frozen already)."""
    if type(value) is FrozenDict:
        for key, item in value.items():
            kind = type(item)
            if kind is list:
                dict.__setitem__(value, key, _frozen_list(item))
            elif kind is FrozenDict:
                _freeze_arrays(item)
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` holds a surrogate (only ``\\uD800``-style escapes can)."""
    if isinstance(value, str):
        return not value.isascii() and any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    return False


def parse_object(raw: bytes) -> FrozenDict:
    """Parse ``raw`` as a strict UTF-8 JSON object into read-only containers."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONError("not UTF-8") from None
    start = 0
    if text[:1] != "{":
        # Leading whitespace is JSON; a BOM, an array or anything else is not an object.
        start = len(text) - len(text.lstrip(_WHITESPACE))
        if text[start : start + 1] != "{":
            raise JSONError("not a JSON object")
    try:
        # The scanner itself, not JSONDecoder.decode: the same C parser and hooks, without the
        # regex passes decode() spends on whitespace that a token's JSON almost never has.
        result, end = _SCAN(text, start)
    except JSONError:
        raise
    except StopIteration:
        raise JSONError("invalid JSON") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # json's JSONDecodeError and int-size limits are ValueErrors.
        raise JSONError("invalid JSON") from exc
    if end != len(text) and text[end:].strip(_WHITESPACE):
        raise JSONError("data after the JSON object")
    if type(result) is not FrozenDict:
        raise JSONError("not a JSON object")
    try:
        if "\\u" in text and has_lone_surrogate(result):
            raise JSONError("lone surrogate")
        if "[" in text:
            _freeze_arrays(result)
    except RecursionError as exc:
        raise JSONError("nesting too deep") from exc
    return result


def freeze(items: Iterable[tuple[str, Any]]) -> FrozenDict:
    """Build a ``FrozenDict`` from trusted pairs (used for values the library creates itself)."""
    return FrozenDict(items)
