"""``Claims``: the verified payload, read-only, with typed accessors for the common claims.

``Claims`` is a ``dict`` subclass so that it serialises anywhere a dict does (``json.dumps``,
Starlette and FastAPI responses, Django ``JsonResponse``) and compares equal to the payload, while
refusing mutation: one ``Claims`` object may be shared across requests by the token cache.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jwt_middleware.safe_json import FrozenDict

__all__ = ["Claims"]


_NOTHING: frozenset[str] = frozenset()
_EMPTY_TOKEN: frozenset[str] = frozenset(("",))


def _string_set(value: object, *, split: bool) -> frozenset[str]:
    if isinstance(value, str):
        if not split:
            return frozenset((value,))
        # split_scope's rule (spaces only, RFC 6749 3.3) as set operations, for the request path.
        tokens = frozenset(value.split(" "))
        return tokens - _EMPTY_TOKEN if "" in tokens else tokens
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return _NOTHING


def _timestamp(value: object) -> datetime | None:
    if type(value) is int or type(value) is float:
        return datetime.fromtimestamp(value, UTC)
    return None


class Claims(FrozenDict):
    """The verified claims of one token, plus its protected ``header``."""

    __slots__ = ("_groups", "_scopes", "header")

    header: FrozenDict
    _scopes: frozenset[str] | None
    _groups: frozenset[str] | None

    def __init__(self, payload: dict[str, Any], header: dict[str, Any] | None = None) -> None:
        super().__init__(payload)
        object.__setattr__(
            self, "header", header if isinstance(header, FrozenDict) else FrozenDict(header or {})
        )
        object.__setattr__(self, "_scopes", None)
        object.__setattr__(self, "_groups", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError("Claims is read-only")

    def __delattr__(self, name: str) -> None:
        raise TypeError("Claims is read-only")

    def __reduce__(self) -> Any:
        return (type(self), (dict(self), dict(self.header)))

    @property
    def subject(self) -> str | None:
        """``sub``: who the token is about."""
        value = self.get("sub")
        return value if isinstance(value, str) else None

    sub = subject

    @property
    def issuer(self) -> str | None:
        value = self.get("iss")
        return value if isinstance(value, str) else None

    @property
    def audience(self) -> frozenset[str]:
        """``aud`` as a set, whether the token carried a string or a list."""
        return _string_set(self.get("aud"), split=False)

    @property
    def client_id(self) -> str | None:
        """The OAuth client: ``client_id`` (Cognito access tokens, RFC 9068) or ``azp``."""
        for name in ("client_id", "azp"):
            value = self.get(name)
            if isinstance(value, str):
                return value
        return None

    @property
    def token_use(self) -> str | None:
        """Cognito's ``token_use`` (``"id"`` or ``"access"``), when present."""
        value = self.get("token_use")
        return value if isinstance(value, str) else None

    @property
    def scopes(self) -> frozenset[str]:
        """OAuth scopes from ``scope`` (space-delimited, RFC 8693/9068) or ``scp`` (string or list)."""
        if self._scopes is None:
            scopes = _string_set(self.get("scope"), split=True)
            scp = self.get("scp")
            if scp is not None:
                scopes |= _string_set(scp, split=True)
            object.__setattr__(self, "_scopes", scopes)
            return scopes
        return self._scopes

    @property
    def groups(self) -> frozenset[str]:
        """Group membership from ``cognito:groups`` or ``groups``."""
        if self._groups is None:
            groups = _string_set(self.get("cognito:groups"), split=False) | _string_set(
                self.get("groups"), split=False
            )
            object.__setattr__(self, "_groups", groups)
            return groups
        return self._groups

    @property
    def expires_at(self) -> datetime | None:
        return _timestamp(self.get("exp"))

    @property
    def issued_at(self) -> datetime | None:
        return _timestamp(self.get("iat"))

    @property
    def not_before(self) -> datetime | None:
        return _timestamp(self.get("nbf"))

    @property
    def username(self) -> str | None:
        """A display name: ``username``, ``cognito:username`` or ``preferred_username``."""
        for name in ("username", "cognito:username", "preferred_username"):
            value = self.get(name)
            if isinstance(value, str):
                return value
        return None
