"""``Claims``: the verified payload, read-only, with typed accessors for the common claims.

``Claims`` is a ``dict`` subclass so that it serialises anywhere a dict does (``json.dumps``,
Starlette and FastAPI responses, Django ``JsonResponse``) and compares equal to the payload, while
refusing mutation: one ``Claims`` object may be shared across requests by the token cache.

What the token authorises (``scopes``, ``groups``, ``roles``, ``permissions``) is read through the
verifier's ``ClaimMapping``, once per object, on first use: the token cache and the middlewares
hand out the same object for a repeated token, so a request pays for a look-up only once.

The identity accessors (``subject``, ``issuer``, ``client_id``, ``token_use``, ``username``) never
turn a claim of the wrong type into ``None``: that would give every such token the same empty
identity. The verifier refuses those tokens (``IDENTITY_CLAIMS``), and an accessor asked about one
anyway raises ``InvalidClaimError`` rather than answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, ClaimMapping, GrantKind
from jwt_middleware.errors import InvalidClaimError
from jwt_middleware.safe_json import FrozenDict

__all__ = ["IDENTITY_CLAIMS", "Claims", "check_identity_claims", "granted", "identity_claim"]

#: Claims that name someone or something: when present, each must be a non-empty string.
IDENTITY_CLAIMS: Final = (
    "sub",
    "iss",
    "client_id",
    "azp",
    "token_use",
    "username",
    "cognito:username",
    "preferred_username",
)

_NOTHING: frozenset[str] = frozenset()
_EMPTY_TOKEN: frozenset[str] = frozenset(("",))


def identity_claim(claims: Mapping[str, Any], name: str) -> str | None:
    """The claim ``name`` if it is a non-empty string, ``None`` if absent; ``InvalidClaimError`` else.

    ``null``, ``""``, numbers, booleans, lists and objects are all refused: RFC 7519 makes ``sub``
    and ``iss`` StringOrURI, and an identity that silently reads as nothing merges users.
    """
    value = claims.get(name)
    if isinstance(value, str) and value:
        return value
    if value is None and name not in claims:
        return None
    raise InvalidClaimError(
        "The token's identity claims are malformed", claim=name, code=reasons.IDENTITY_INVALID, found=value
    )


def check_identity_claims(claims: Mapping[str, Any], names: tuple[str, ...] = IDENTITY_CLAIMS) -> None:
    """Refuse claims in which any of ``names`` is present but not a non-empty string."""
    for name in names:
        if name in claims:
            identity_claim(claims, name)


def granted(claims: Mapping[str, Any], kind: GrantKind) -> frozenset[str]:
    """What ``claims`` grant of ``kind``: through their own mapping when they are ``Claims``."""
    if isinstance(claims, Claims):
        return claims.grants(kind)
    return DEFAULT_CLAIM_MAPPING.read(kind, claims)


def _timestamp(value: object) -> datetime | None:
    if type(value) is int or type(value) is float:
        return datetime.fromtimestamp(value, UTC)
    return None


class Claims(FrozenDict):
    """The verified claims of one token, plus its protected ``header``.

    ``claim_mapping`` says where its scopes, groups, roles and permissions are (the default
    mapping unless the verifier has another).
    """

    __slots__ = ("_groups", "_mapping", "_permissions", "_roles", "_scopes", "header")

    header: FrozenDict
    _mapping: ClaimMapping
    # Unset until first read: see ``grants``.
    _scopes: frozenset[str]
    _groups: frozenset[str]
    _roles: frozenset[str]
    _permissions: frozenset[str]

    def __init__(
        self,
        payload: dict[str, Any],
        header: dict[str, Any] | None = None,
        claim_mapping: ClaimMapping | None = None,
    ) -> None:
        # Built once per verified token: the dict's own __init__ and the slots' own setters, not
        # super() and object.__setattr__, which cost twice as much. The grants' slots stay unset
        # until first read (see ``grants``).
        dict.__init__(self, payload)
        _set_header(self, header if isinstance(header, FrozenDict) else FrozenDict(header or {}))
        _set_mapping(self, claim_mapping if claim_mapping is not None else DEFAULT_CLAIM_MAPPING)

    def __setattr__(self, name: str, value: object) -> None:
        raise TypeError("Claims is read-only")

    def __delattr__(self, name: str) -> None:
        raise TypeError("Claims is read-only")

    def __reduce__(self) -> Any:
        return (type(self), (dict(self), dict(self.header), self._mapping))

    @property
    def claim_mapping(self) -> ClaimMapping:
        """Where this token's grants are read from."""
        return self._mapping

    # -- identity ---------------------------------------------------------------------------------

    @property
    def subject(self) -> str | None:
        """``sub``: who the token is about."""
        return identity_claim(self, "sub")

    sub = subject

    @property
    def issuer(self) -> str | None:
        return identity_claim(self, "iss")

    @property
    def audience(self) -> frozenset[str]:
        """``aud`` as a set, whether the token carried a string or a list."""
        value = self.get("aud")
        if isinstance(value, str):
            return frozenset((value,))
        if isinstance(value, list | tuple):
            return frozenset(item for item in value if isinstance(item, str))
        return _NOTHING

    @property
    def client_id(self) -> str | None:
        """The OAuth client: ``client_id`` (Cognito access tokens, RFC 9068) or ``azp``."""
        return identity_claim(self, "client_id") or identity_claim(self, "azp")

    @property
    def token_use(self) -> str | None:
        """Cognito's ``token_use`` (``"id"`` or ``"access"``), when present."""
        return identity_claim(self, "token_use")

    @property
    def username(self) -> str | None:
        """A display name: ``username``, ``cognito:username`` or ``preferred_username``."""
        return (
            identity_claim(self, "username")
            or identity_claim(self, "cognito:username")
            or identity_claim(self, "preferred_username")
        )

    # -- what the token authorises ----------------------------------------------------------------

    def grants(self, kind: GrantKind) -> frozenset[str]:
        """The names of ``kind`` (``"scopes"``, ``"groups"``, ``"roles"``, ``"permissions"``)."""
        slot = "_" + kind
        found: frozenset[str] | None = getattr(self, slot, None)
        if found is None:
            found = self._mapping.read(kind, self)
            object.__setattr__(self, slot, found)
        return found

    @property
    def scopes(self) -> frozenset[str]:
        """OAuth scopes: ``scope`` (space-delimited, RFC 8693/9068) or ``scp`` by default."""
        try:
            return self._scopes
        except AttributeError:
            return self.grants("scopes")

    @property
    def groups(self) -> frozenset[str]:
        """Group membership: ``cognito:groups`` or ``groups`` by default."""
        try:
            return self._groups
        except AttributeError:
            return self.grants("groups")

    @property
    def roles(self) -> frozenset[str]:
        """Roles: ``roles`` by default (Entra); ``realm_access.roles`` and more for Keycloak."""
        try:
            return self._roles
        except AttributeError:
            return self.grants("roles")

    @property
    def permissions(self) -> frozenset[str]:
        """Permissions: ``permissions`` by default (Auth0 with RBAC)."""
        try:
            return self._permissions
        except AttributeError:
            return self.grants("permissions")

    # -- times ------------------------------------------------------------------------------------

    @property
    def expires_at(self) -> datetime | None:
        return _timestamp(self.get("exp"))

    @property
    def issued_at(self) -> datetime | None:
        return _timestamp(self.get("iat"))

    @property
    def not_before(self) -> datetime | None:
        return _timestamp(self.get("nbf"))


_set_header: Final = Claims.__dict__["header"].__set__
_set_mapping: Final = Claims.__dict__["_mapping"].__set__
