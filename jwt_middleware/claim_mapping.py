"""``ClaimMapping``: which claims of a token carry what it authorises.

Providers agree on how a token is signed and disagree on where its grants go: OAuth's ``scope``
(Cognito, Auth0, Keycloak) or ``scp`` (Entra, Okta); Cognito's ``cognito:groups``; Auth0's
``permissions``; Entra's ``roles``; Keycloak's ``realm_access.roles`` and
``resource_access.<client>.roles``, one object deeper. A mapping names, for each of the four kinds
a route can require (``scopes``, ``groups``, ``roles``, ``permissions``), the claim paths to read,
so that ``Claims.roles`` and ``require_roles`` mean the provider's roles wherever it keeps them.

It is validated when it is made (a configuration error then, never a surprise per request) and its
``{client_id}``/``{audience}`` placeholders are filled once, when a verifier is built; reading a
token is then a few dictionary look-ups, done at most once per ``Claims`` object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, get_args

from jwt_middleware.errors import ConfigurationError

__all__ = ["DEFAULT_CLAIM_MAPPING", "GRANT_KINDS", "PLACEHOLDERS", "ClaimMapping", "GrantKind"]

#: The four kinds of grant a route can require.
GrantKind = Literal["scopes", "groups", "roles", "permissions"]
GRANT_KINDS: Final[tuple[GrantKind, ...]] = get_args(GrantKind)
#: The only names a claim path may leave to be filled from the verifier's configuration.
PLACEHOLDERS: Final = frozenset({"client_id", "audience"})

_PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
_EMPTY: Final[frozenset[str]] = frozenset()
_EMPTY_NAME: Final[frozenset[str]] = frozenset(("",))


def _split(value: str) -> frozenset[str]:
    """Space-delimited names, the ``scope`` rule of RFC 6749 section 3.3 (spaces only)."""
    names = frozenset(value.split(" "))
    return names - _EMPTY_NAME if "" in names else names


def _names_in(value: object, delimited: bool) -> frozenset[str]:
    """A claim value as names: a string (space-delimited, or one name) or a list of strings."""
    if isinstance(value, str):
        if delimited:
            return _split(value)
        return frozenset((value,)) if value else _EMPTY
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return _EMPTY


class _Path:
    """One compiled claim path: its whole text (placeholders filled) and its dotted segments."""

    __slots__ = ("name", "segments")

    def __init__(self, name: str, segments: tuple[str, ...]) -> None:
        self.name = name
        self.segments = segments

    def read(self, claims: Mapping[str, Any]) -> object:
        # A claim named exactly like the path wins (Auth0's namespaced "https://example.com/roles"
        # has dots of its own); otherwise each dot reaches one object deeper.
        if self.name in claims or len(self.segments) == 1:
            return claims.get(self.name)
        node: object = claims
        for segment in self.segments:
            if not isinstance(node, Mapping):
                return None
            node = node.get(segment)
        return node


def _paths(kind: str, value: str | Iterable[str]) -> tuple[str, ...]:
    # A single string is one path: ("scope") must not become the paths s, c, o, p, e.
    try:
        paths = (value,) if isinstance(value, str) else tuple(value)
    except TypeError:
        raise ConfigurationError(f"ClaimMapping {kind} must be a claim path or a list of them") from None
    for path in paths:
        if not isinstance(path, str) or not path or "" in path.split("."):
            raise ConfigurationError(
                f"ClaimMapping {kind}: every claim path must be a non-empty string of non-empty "
                "dot-separated names, such as 'roles' or 'realm_access.roles'"
            )
        unknown = set(_PLACEHOLDER.findall(path)) - PLACEHOLDERS
        leftover = _PLACEHOLDER.sub("", path)
        if unknown or "{" in leftover or "}" in leftover:
            raise ConfigurationError(
                f"ClaimMapping {kind}: the only placeholders are {{client_id}} and {{audience}}"
            )
    return paths


def _optional_value(name: str, value: str | None) -> str | None:
    if value is not None and not (isinstance(value, str) and value):
        raise ConfigurationError(f"ClaimMapping {name} must be a non-empty string or None")
    return value


class ClaimMapping:
    """The claim paths of each grant kind, plus the values of their placeholders.

    A path is a claim name, or names joined by dots to reach into objects
    (``"realm_access.roles"``); a claim whose name is the whole path is read first. Placeholders
    ``{client_id}`` and ``{audience}`` are filled from ``client_id``/``audience`` here, or by the
    verifier from its configuration (``bind``). A claim's value counts when it is a list of strings
    (other items are skipped) or a string; any other value grants nothing and is never an error.
    An empty tuple means the provider puts nothing of that kind in its tokens.

    A string is space-delimited for the kinds in ``space_delimited`` (``scopes`` by default, the
    ``scope`` grammar of RFC 6749) and one name for the others: a group or role called
    ``"Sales Managers"`` must not grant ``"Sales"``. Add a kind when a provider sends its roles or
    permissions as one space-delimited string.

    The default reads ``scope``/``scp``, ``cognito:groups``/``groups``, ``roles`` and
    ``permissions``. Immutable and hashable; ``replace(...)`` derives a changed copy.
    """

    __slots__ = (
        "_compiled",
        "audience",
        "client_id",
        "groups",
        "permissions",
        "roles",
        "scopes",
        "space_delimited",
    )

    scopes: tuple[str, ...]
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    permissions: tuple[str, ...]
    client_id: str | None
    audience: str | None
    space_delimited: frozenset[GrantKind]
    _compiled: dict[str, tuple[_Path, ...]]

    def __init__(
        self,
        *,
        scopes: str | Iterable[str] = ("scope", "scp"),
        groups: str | Iterable[str] = ("cognito:groups", "groups"),
        roles: str | Iterable[str] = ("roles",),
        permissions: str | Iterable[str] = ("permissions",),
        client_id: str | None = None,
        audience: str | None = None,
        space_delimited: Iterable[GrantKind] = ("scopes",),
    ) -> None:
        delimited = frozenset((space_delimited,) if isinstance(space_delimited, str) else space_delimited)
        if not delimited <= frozenset(GRANT_KINDS):
            raise ConfigurationError(
                f"ClaimMapping space_delimited names kinds among {', '.join(GRANT_KINDS)}"
            )
        object.__setattr__(self, "space_delimited", delimited)
        given = {"scopes": scopes, "groups": groups, "roles": roles, "permissions": permissions}
        for kind, value in given.items():
            object.__setattr__(self, kind, _paths(kind, value))
        object.__setattr__(self, "client_id", _optional_value("client_id", client_id))
        object.__setattr__(self, "audience", _optional_value("audience", audience))
        values = {"client_id": self.client_id, "audience": self.audience}
        compiled = {
            kind: tuple(_compile(path, values) for path in self._paths_of(kind)) for kind in GRANT_KINDS
        }
        object.__setattr__(self, "_compiled", compiled)

    def _paths_of(self, kind: str) -> tuple[str, ...]:
        paths: tuple[str, ...] = getattr(self, kind)
        return paths

    # -- configuration ----------------------------------------------------------------------------

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders the paths use."""
        return frozenset(
            name
            for kind in GRANT_KINDS
            for path in self._paths_of(kind)
            for name in _PLACEHOLDER.findall(path)
        )

    @property
    def unbound(self) -> frozenset[str]:
        """The placeholders used by a path but not given a value yet."""
        return frozenset(name for name in self.placeholders if getattr(self, name) is None)

    def bind(self, *, client_id: str | None = None, audience: str | None = None) -> ClaimMapping:
        """This mapping with the placeholders it uses and has no value for filled from these.

        Values already set on the mapping win: they are the more specific configuration.
        """
        given = {"client_id": client_id, "audience": audience}
        filled = {name: given[name] for name in self.unbound if given[name] is not None}
        return self.replace(**filled) if filled else self

    def require_bound(self, what: str = "the verifier") -> ClaimMapping:
        """Raise ``ConfigurationError`` unless every placeholder has a value; return self."""
        missing = sorted(self.unbound)
        if missing:
            names = " and ".join(f"{{{name}}}" for name in missing)
            raise ConfigurationError(
                f"claim_mapping uses {names}, which {what} cannot fill: give "
                f"ClaimMapping({', '.join(f'{name}=...' for name in missing)})"
            )
        return self

    def replace(self, **changes: Any) -> ClaimMapping:
        """A copy with some fields changed (validated like a new mapping)."""
        fields = {name: getattr(self, name) for name in _FIELDS}
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise TypeError(f"ClaimMapping has no field {sorted(unknown)[0]!r}")
        return ClaimMapping(**{**fields, **changes})

    # -- reading a token --------------------------------------------------------------------------

    def read(self, kind: GrantKind, claims: Mapping[str, Any]) -> frozenset[str]:
        """The names of ``kind`` the token grants, from every path of that kind."""
        paths = self._compiled[kind]
        delimited = kind in self.space_delimited
        if len(paths) == 1:
            return _names_in(paths[0].read(claims), delimited)
        found: frozenset[str] = _EMPTY
        for path in paths:
            value = path.read(claims)
            if value is not None:
                found |= _names_in(value, delimited)
        return found

    # -- value semantics --------------------------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClaimMapping) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ClaimMapping is immutable; use replace(...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ClaimMapping is immutable")

    def __reduce__(self) -> Any:
        return (_rebuild, (dict(zip(_FIELDS, self._key(), strict=True)),))

    def __repr__(self) -> str:
        parts = [
            f"{name}={getattr(self, name)!r}" for name in _FIELDS[:-1] if getattr(self, name) is not None
        ]
        if self.space_delimited != _SCOPES_ONLY:
            parts.append(f"space_delimited={sorted(self.space_delimited)!r}")
        return f"ClaimMapping({', '.join(parts)})"


_FIELDS: Final = ("scopes", "groups", "roles", "permissions", "client_id", "audience", "space_delimited")


_SCOPES_ONLY: Final = frozenset(("scopes",))


def _rebuild(fields: dict[str, Any]) -> ClaimMapping:
    return ClaimMapping(**fields)


def _compile(path: str, values: Mapping[str, str | None]) -> _Path:
    """Split on dots first, then fill: a client id with dots in it stays one segment."""

    def fill(text: str) -> str:
        # An unbound placeholder stays as written; the verifier refuses such a mapping.
        return _PLACEHOLDER.sub(lambda match: values.get(match[1]) or match[0], text)

    return _Path(fill(path), tuple(fill(segment) for segment in path.split(".")))


#: What ``JWTVerifier`` reads unless told otherwise.
DEFAULT_CLAIM_MAPPING: Final = ClaimMapping()
