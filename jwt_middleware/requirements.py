"""Route-level requirements (scopes, groups) over verified claims, shared by every adapter.

The Starlette, FastAPI, Django, Flask and Lambda guards all build a ``Requirement`` once, when a
route is declared, and call ``enforce`` per request; the rule itself is the claim policy's
``ScopesCheck``/``GroupsCheck``, so a scope means the same thing at the verifier and at a route.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jwt_middleware.challenge import check_scope_tokens
from jwt_middleware.claims import Claims
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError, MissingTokenError
from jwt_middleware.policy import GroupsCheck, ScopesCheck

__all__ = ["Requirement", "groups_requirement", "scopes_requirement"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """A check a route puts on the claims of an already verified token."""

    check: ScopesCheck | GroupsCheck

    def enforce(self, claims: Claims | None) -> None:
        """Raise ``MissingTokenError`` for an anonymous request, ``InsufficientScopeError`` if unmet."""
        if claims is None:
            raise MissingTokenError()
        try:
            self.check(claims.header, claims, 0.0)
        except JWTMiddlewareError as error:
            error.conceal()  # what the token held stays out of a refusal that may be logged anywhere
            raise


def _names(values: Iterable[str], what: str) -> frozenset[str]:
    names = frozenset(values)
    if not names:
        raise ConfigurationError(f"name at least one {what}")
    return names


def scopes_requirement(scopes: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``scopes`` (or one, with ``any_of``) must be in the token's ``scope``/``scp``."""
    return Requirement(ScopesCheck(_names(check_scope_tokens(scopes), "scope"), any_of=any_of))


def groups_requirement(groups: Iterable[str], *, any_of: bool = False) -> Requirement:
    """All of ``groups`` (or one, with ``any_of``) must be in ``cognito:groups``/``groups``."""
    names = _names(groups, "group")
    if not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError("groups must be non-empty strings")
    return Requirement(GroupsCheck(names, any_of=any_of))
