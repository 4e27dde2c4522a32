"""Route-level requirements (scopes, groups, roles, permissions) over verified claims, for every adapter.

The Starlette, FastAPI, Django, Flask and Lambda guards all build a ``Requirement`` once, when a
route is declared, and call ``enforce`` per request; the rule itself is the claim policy's
``GrantCheck``, read through the verifier's ``ClaimMapping``, so a scope or a role means the same
thing at the verifier and at a route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from jwt_middleware.challenge import check_scope_tokens
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import Claims
from jwt_middleware.dpop.policy import DPOP_SCHEME, DPoPBoundCheck
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError, MissingTokenError
from jwt_middleware.policy import ClaimCheck, GrantCheck, GroupsCheck, ScopesCheck

__all__ = [
    "Requirement",
    "dpop_requirement",
    "grants_requirement",
    "groups_requirement",
    "permissions_requirement",
    "roles_requirement",
    "scopes_requirement",
]


@dataclass(frozen=True, slots=True)
class Requirement:
    """A check a route puts on the claims of an already verified token."""

    check: ClaimCheck

    def enforce(self, claims: Claims | None) -> None:
        """Raise ``MissingTokenError`` for an anonymous request, ``InsufficientScopeError`` if unmet."""
        if claims is None:
            raise MissingTokenError()
        try:
            self.check(claims.header, claims, 0.0)
        except JWTMiddlewareError as error:
            error.conceal()  # what the token held stays out of a refusal that may be logged anywhere
            if "cnf" in claims:
                error.scheme = DPOP_SCHEME  # a bound token came with the DPoP scheme: challenge in it
            raise


def _names(values: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(values, str):
        values = (values,)
    names = frozenset(values)
    if not names:
        raise ConfigurationError(f"name at least one {what}")
    if not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(f"{what} names must be non-empty strings")
    return names


def scopes_requirement(scopes: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``scopes`` (or one, with ``any_of``) must be in the token's scopes (``scope``/``scp``)."""
    return Requirement(ScopesCheck(_names(check_scope_tokens(scopes), "scope"), any_of=any_of))


def groups_requirement(groups: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``groups`` (or one, with ``any_of``) must be in the token's groups."""
    return Requirement(GroupsCheck(_names(groups, "group"), any_of=any_of))


def roles_requirement(roles: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``roles`` (or one, with ``any_of``) must be among the token's roles."""
    return Requirement(GrantCheck("roles", _names(roles, "role"), any_of=any_of))


def permissions_requirement(permissions: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``permissions`` (or one, with ``any_of``) must be among the token's permissions."""
    return Requirement(GrantCheck("permissions", _names(permissions, "permission"), any_of=any_of))


def dpop_requirement() -> Requirement:
    """The token must be DPoP-bound (``cnf.jkt``): the route tightens ``dpop="allowed"`` to required.

    Every path that returns a bound token's claims checked its proof; a plain bearer token gets
    401 ``invalid_token`` with a ``DPoP`` challenge.
    """
    return Requirement(DPoPBoundCheck())


_BUILDERS: Final[dict[str, Callable[..., Requirement]]] = {
    "scopes": scopes_requirement,
    "groups": groups_requirement,
    "roles": roles_requirement,
    "permissions": permissions_requirement,
}


def grants_requirement(kind: GrantKind, names: Iterable[str], *, any_of: bool = False) -> Requirement:
    """The requirement of ``kind`` (``"scopes"``, ``"groups"``, ``"roles"``, ``"permissions"``)."""
    try:
        build = _BUILDERS[kind]
    except KeyError:
        raise ConfigurationError(f"unknown kind of grant {kind!r}") from None
    return build(names, any_of=any_of)
