"""Django REST framework: ``JWTAuthentication``, and the ``HasScopes``, ``HasGroups``, ``HasRoles`` and
``HasPermissions`` permission classes.

DRF asks an authentication class for ``(user, auth)`` and, for a 401, for the
``WWW-Authenticate`` value through ``authenticate_header``; it then answers with its own
exception handling and renderers. ``JWTAuthentication`` plays exactly that part:

* ``request.user`` is the user ``settings.JWT_MIDDLEWARE`` maps the token to (a ``JWTUser`` by
  default) and ``request.auth`` is the verified ``Claims``;
* a request without a bearer token is left to the next authentication class (or DRF's anonymous
  user), so ``IsAuthenticated`` answers 401 with the bare ``Bearer realm="..."`` challenge;
* a bad token is ``AuthenticationFailed``; ``authenticate_header`` then returns the challenge for
  *that* failure (``error="invalid_token"`` and its description), which DRF sends with its 401;
* a server-side failure (keys that cannot be fetched, an unreadable revocation list) is a 503,
  ``TemporarilyUnavailable``, whose ``wait`` DRF turns into ``Retry-After``.

Verification, the verifier (one per process; or the ``AUTHENTICATOR`` of the settings, whose
challenges are then the ones DRF sends) and the user mapping are the Django adapter's, so a DRF
view and a plain Django view of one project accept exactly the same requests. List it in
``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`` or a view's ``authentication_classes``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Final

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from jwt_middleware.challenge import ChallengeBuilder, bearer_challenges, render_challenges
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    ConfigurationError,
    InsufficientScopeError,
    InvalidRequestError,
    JWTMiddlewareError,
    JWTMiddlewareException,
    MissingTokenError,
    TemporarilyUnavailableError,
)
from jwt_middleware.integrations.django import authenticate, jwt_settings
from jwt_middleware.requirements import Requirement, dpop_requirement, grants_requirement

__all__ = [
    "HasDPoPToken",
    "HasGroups",
    "HasPermissions",
    "HasRoles",
    "HasScopes",
    "InvalidCredentials",
    "JWTAuthentication",
    "KeysUnavailable",
    "ScopeDenied",
    "TemporarilyUnavailable",
]

# Where a failure waits for authenticate_header, on the DRF request that caused it.
_ERROR_ATTRIBUTE: Final = "_jwt_middleware_error"


class InvalidCredentials(exceptions.AuthenticationFailed, JWTMiddlewareException):  # type: ignore[misc]
    """A malformed ``Authorization`` header (RFC 6750 ``invalid_request``): 400, with a challenge.

    Subclassing ``AuthenticationFailed`` is what makes DRF attach ``WWW-Authenticate``.
    """

    status_code = 400
    default_code = "invalid_request"


class TemporarilyUnavailable(exceptions.APIException, JWTMiddlewareException):  # type: ignore[misc]
    """Any server-side failure (``TemporarilyUnavailableError``: no keys, a revocation list that
    cannot be read, a check that crashed): 503, ``Retry-After`` from ``wait``."""

    status_code = 503
    default_code = "temporarily_unavailable"

    def __init__(self, detail: str, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


#: The name ``TemporarilyUnavailable`` had when unavailable keys were the only server-side failure;
#: kept so that ``except KeysUnavailable`` and custom exception handlers go on working.
KeysUnavailable = TemporarilyUnavailable


class ScopeDenied(exceptions.PermissionDenied, JWTMiddlewareException):  # type: ignore[misc]
    """A valid token without the view's scopes or groups: 403 with ``insufficient_scope``."""

    default_code = "insufficient_scope"

    def __init__(
        self, error: InsufficientScopeError, realm: str, challenges: ChallengeBuilder = bearer_challenges
    ) -> None:
        super().__init__(error.description)
        # DRF's exception handler sends auth_header as WWW-Authenticate, whatever the status.
        self.auth_header = render_challenges(challenges(error, realm))


def _api_exception(error: JWTMiddlewareError) -> exceptions.APIException:
    if isinstance(error, TemporarilyUnavailableError):
        return TemporarilyUnavailable(error.description, error.retry_after)
    if isinstance(error, InvalidRequestError):
        return InvalidCredentials(error.description)
    return exceptions.AuthenticationFailed(error.description, code=error.error)


class JWTAuthentication(BaseAuthentication):  # type: ignore[misc]
    """DRF authentication by bearer JWT, configured by ``settings.JWT_MIDDLEWARE``."""

    def authenticate(self, request: Any) -> tuple[Any, Claims] | None:
        django_request = request._request
        claims: Claims | None = getattr(django_request, "jwt_claims", None)
        try:
            if claims is None:
                # Not verified by the middleware (not installed, optional, or an excluded path).
                claims = authenticate(django_request)
        except JWTMiddlewareError as error:
            setattr(request, _ERROR_ATTRIBUTE, error)
            raise _api_exception(error) from None
        if claims is None:
            return None
        return django_request.user, claims

    def authenticate_header(self, request: Any) -> str:
        """The challenge for this request's failure; the bare challenge when it had no token."""
        config = jwt_settings()
        error = getattr(request, _ERROR_ATTRIBUTE, None) or MissingTokenError()
        return render_challenges(config.challenges(error, config.realm))


@functools.cache
def _requirement(kind: GrantKind, names: tuple[str, ...], any_of: bool) -> Requirement:
    """One ``Requirement`` per distinct declaration, built on first use and shared."""
    return grants_requirement(kind, names, any_of=any_of)


class _ClaimsPermission(BasePermission):  # type: ignore[misc]
    kind: ClassVar[GrantKind]
    #: Set by ``require``; otherwise the view's attribute named by ``view_attribute`` is read.
    names: ClassVar[tuple[str, ...]] = ()
    any_of: ClassVar[bool] = False
    view_attribute: ClassVar[str]
    view_any_attribute: ClassVar[str]

    @classmethod
    def require(cls, *names: str, any_of: bool = False) -> Any:
        """A permission class requiring ``names`` (validated now): ``HasScopes.require("a:read")``.

        Typed ``Any`` because DRF is untyped here: the class composes with ``&``/``|`` through
        DRF's permission metaclass, which a type checker cannot see.
        """
        _requirement(cls.kind, names, any_of)
        label = "_".join("".join(ch if ch.isalnum() else "_" for ch in name) for name in names)
        return type(f"{cls.__name__}_{label}", (cls,), {"names": names, "any_of": any_of})

    def _declared(self, view: Any) -> Requirement:
        if self.names:
            return _requirement(self.kind, self.names, self.any_of)
        names = getattr(view, self.view_attribute, None)
        if not names or isinstance(names, str):
            raise ConfigurationError(
                f"{type(self).__name__} needs {type(view).__name__}.{self.view_attribute} "
                f"(a list) or {type(self).__name__}.require(...)"
            )
        return _requirement(self.kind, tuple(names), bool(getattr(view, self.view_any_attribute, False)))

    def has_permission(self, request: Any, view: Any) -> bool:
        requirement = self._declared(view)
        claims = request.auth
        if not isinstance(claims, Claims):
            # Anonymous, or authenticated some other way: DRF answers 401 or 403 itself.
            return False
        try:
            requirement.enforce(claims)
        except InsufficientScopeError as error:
            config = jwt_settings()
            raise ScopeDenied(error, config.realm, config.challenges) from None
        return True


class HasDPoPToken(BasePermission):  # type: ignore[misc]
    """The token must be DPoP-bound (its proof was checked): a bearer one is refused, 401."""

    def has_permission(self, request: Any, view: Any) -> bool:
        claims = request.auth
        if not isinstance(claims, Claims):
            return False
        try:
            dpop_requirement().enforce(claims)
        except JWTMiddlewareError as error:
            setattr(request, _ERROR_ATTRIBUTE, error)
            raise _api_exception(error) from None
        return True


class HasScopes(_ClaimsPermission):
    """The token must carry the view's ``required_scopes`` (all; any with ``any_scope = True``).

    Or without view attributes: ``permission_classes = [HasScopes.require("orders:read")]``.
    """

    kind = "scopes"
    view_attribute = "required_scopes"
    view_any_attribute = "any_scope"


class HasGroups(_ClaimsPermission):
    """The token must be in the view's ``required_groups`` (all; any with ``any_group = True``)."""

    kind = "groups"
    view_attribute = "required_groups"
    view_any_attribute = "any_group"


class HasRoles(_ClaimsPermission):
    """The token must have the view's ``required_roles`` (all; any with ``any_role = True``).

    Or ``permission_classes = [HasRoles.require("orders.admin")]``.
    """

    kind = "roles"
    view_attribute = "required_roles"
    view_any_attribute = "any_role"


class HasPermissions(_ClaimsPermission):
    """The token must have the view's ``required_permissions`` (all; any with ``any_permission``).

    Or ``permission_classes = [HasPermissions.require("read:orders")]``.
    """

    kind = "permissions"
    view_attribute = "required_permissions"
    view_any_attribute = "any_permission"
