"""Flask: the ``JWTAuth`` extension, view decorators, blueprint protection and ``current_claims``.

It follows Flask's extension pattern: ``JWTAuth(app)`` or, with an app factory,
``auth = JWTAuth()`` then ``auth.init_app(app)``; per-app state lives in
``app.extensions["jwt_middleware"]``, so one ``JWTAuth`` serves any number of apps. Without a
``verifier`` (or ``authenticator``: any ``Authenticator``), each app's verifier is built from its config::

    JWT_ISSUER = "https://issuer.example"    # or JWT_COGNITO = {...JWTVerifier.cognito kwargs}
    JWT_AUDIENCE = "orders-api"              # required with JWT_ISSUER; None accepts any audience
    JWT_JWKS_URL = None                      # default: OIDC discovery
    JWT_ALGORITHMS = ["RS256"]
    JWT_LEEWAY = 0
    JWT_REALM = "api"

Views are protected with ``@jwt_required()`` (``optional=True`` admits anonymous requests),
``@require_scopes(...)``, ``@require_groups(...)``, ``@require_roles(...)`` and
``@require_permissions(...)``, blueprints with ``auth.protect(blueprint, scopes=[...], roles=[...])``.
The verified claims are ``flask.g.jwt_claims`` and the ``current_claims`` proxy (``None`` for an
anonymous request). A request is verified at most once, however many guards it passes.

``current_claims`` read where no guard ran raises ``UnguardedClaimsError`` naming the decorator
to add, rather than answering ``None``: a view that forgot its guard would otherwise treat every
caller, valid token or not, as anonymous (flask-jwt-extended's ``get_jwt()`` refuses the same way).
It is not verified lazily on first read because the view is already running by then: a bad token
must be refused before the view starts, by a guard that says what the route requires.

Refusals are raised as ``JWTAuthError``, a Werkzeug ``HTTPException`` whose response is the
library's RFC 6750 answer. Each one is also the matching Werkzeug class (``Unauthorized``,
``Forbidden``, ``BadRequest``, ``ServiceUnavailable``), so ``@app.errorhandler(JWTAuthError)``
and ``@app.errorhandler(401)`` both override it, as Flask's docs describe.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, ServiceUnavailable, Unauthorized
from werkzeug.local import LocalProxy

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from, challenges_of
from jwt_middleware.challenge import ChallengeBuilder, error_response
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    ConfigurationError,
    JWTMiddlewareError,
    JWTMiddlewareException,
    MissingTokenError,
)
from jwt_middleware.request_auth import RequestPolicy
from jwt_middleware.request_view import WSGIRequestView
from jwt_middleware.requirements import (
    Requirement,
    dpop_requirement,
    grants_requirement,
    groups_requirement,
    permissions_requirement,
    roles_requirement,
    scopes_requirement,
)
from jwt_middleware.resource_metadata import ProtectedResourceMetadata, with_resource_metadata
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "EXTENSION",
    "JWTAuth",
    "JWTAuthError",
    "UnguardedClaimsError",
    "current_claims",
    "jwt_required",
    "require_dpop",
    "require_groups",
    "require_permissions",
    "require_roles",
    "require_scopes",
]

#: The key of the per-app state in ``app.extensions``.
EXTENSION: Final = "jwt_middleware"
_G_CLAIMS: Final = "jwt_claims"
#: Set in ``g`` once a guard has looked at the request, even when it then refused it, so that an
#: error handler reading ``current_claims`` sees ``None`` rather than ``UnguardedClaimsError``.
_G_GUARDED: Final = "_jwt_middleware_guarded"

View = TypeVar("View", bound=Callable[..., Any])


# -- errors ---------------------------------------------------------------------------------------


class JWTAuthError(HTTPException, JWTMiddlewareException):
    """An authentication failure; its response is ``error_response(error, realm, challenges)``.

    ``error`` is the library error (``status_code``, ``error``, ``description``) and ``realm`` the
    app's realm, for error handlers that answer their own way; ``challenges`` shapes the challenge
    (the app's authenticator's, ``Bearer`` by default).
    """

    def __init__(
        self, error: JWTMiddlewareError, realm: str, challenges: ChallengeBuilder | None = None
    ) -> None:
        answer = error_response(error, realm, challenges)
        response = Response(answer.body, status=answer.status_code, headers=list(answer.headers))
        super().__init__(description=error.description, response=response)
        self.error = error
        self.realm = realm

    @classmethod
    def of(
        cls, error: JWTMiddlewareError, realm: str, challenges: ChallengeBuilder | None = None
    ) -> JWTAuthError:
        """The ``JWTAuthError`` for ``error``, of the Werkzeug class of its status code."""
        return _BY_STATUS.get(error.status_code, cls)(error, realm, challenges)


class _BadRequest(JWTAuthError, BadRequest):
    pass


class _Unauthorized(JWTAuthError, Unauthorized):
    pass


class _Forbidden(JWTAuthError, Forbidden):
    pass


class _ServiceUnavailable(JWTAuthError, ServiceUnavailable):
    pass


class UnguardedClaimsError(JWTMiddlewareException):
    """``current_claims`` was read in a request that no ``JWTAuth`` guard looked at: a view bug.

    Deliberately not a ``RuntimeError``: Werkzeug's ``LocalProxy`` answers ``bool(proxy)`` with
    ``False`` when its lookup raises one, which would turn ``if current_claims:`` back into a
    silent "anonymous".
    """

    def __init__(self) -> None:
        super().__init__(
            "current_claims was read in a view that no JWTAuth guard protects: decorate the view with "
            "@jwt_required() (@jwt_required(optional=True) to admit anonymous requests), "
            "@require_scopes(...) or @require_groups(...), or protect its blueprint with auth.protect()"
        )


_BY_STATUS: Final[Mapping[int, type[JWTAuthError]]] = {
    400: _BadRequest,
    401: _Unauthorized,
    403: _Forbidden,
    503: _ServiceUnavailable,
}


# -- the extension --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AppState:
    """What one app's requests need: who authenticates them, and how refusals are answered."""

    authenticator: Authenticator
    policy: RequestPolicy
    challenges: ChallengeBuilder

    @property
    def realm(self) -> str:
        return self.policy.realm

    @property
    def verifier(self) -> JWTVerifier | None:
        authenticator = self.authenticator
        return authenticator.verifier if isinstance(authenticator, BearerAuthenticator) else None


def _verifier_from_config(config: Mapping[str, Any]) -> JWTVerifier:
    keywords: dict[str, Any] = {}
    for key, keyword in (
        ("JWT_JWKS_URL", "jwks_url"),
        ("JWT_ALGORITHMS", "algorithms"),
        ("JWT_LEEWAY", "leeway"),
    ):
        if config.get(key) is not None:
            keywords[keyword] = config[key]
    cognito: Any = config.get("JWT_COGNITO")
    issuer: Any = config.get("JWT_ISSUER")
    if (cognito is None) == (issuer is None):
        raise ConfigurationError("JWTAuth: set exactly one of JWT_ISSUER and JWT_COGNITO (or pass verifier=)")
    if cognito is not None:
        if not isinstance(cognito, Mapping):
            raise ConfigurationError("JWTAuth: JWT_COGNITO must be a dict of JWTVerifier.cognito arguments")
        return JWTVerifier.cognito(**{**keywords, **cognito})
    if "JWT_AUDIENCE" not in config:
        raise ConfigurationError("JWTAuth: JWT_AUDIENCE is required (None accepts any audience, explicitly)")
    return JWTVerifier(issuer=issuer, audience=config["JWT_AUDIENCE"], **keywords)


class JWTAuth:
    """The Flask extension: ``JWTAuth(app)``, or ``JWTAuth()`` and ``init_app(app)`` in a factory.

    ``verifier`` (bearer tokens, read as ``JWT_QUERY_PARAMETER`` and ``JWT_COOKIE`` say; a cookie
    token's unsafe requests must come from the app's origin or ``JWT_TRUSTED_ORIGINS``) or
    ``authenticator`` (any ``Authenticator``; exactly one of the two) serves every app this
    extension is initialised on; without either, each app builds a verifier from its config,
    once, in ``init_app``. ``realm`` overrides ``JWT_REALM``. ``resource_metadata`` (or
    ``JWT_RESOURCE_METADATA``), a ``ProtectedResourceMetadata``, is served at its RFC 9728
    well-known paths and named in 401 challenges.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        verifier: JWTVerifier | None = None,
        authenticator: Authenticator | None = None,
        realm: str | None = None,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ):
        if verifier is not None and authenticator is not None:
            raise ConfigurationError("JWTAuth needs exactly one of verifier or authenticator")
        self.verifier = verifier
        self.authenticator = authenticator
        self.realm = realm
        self.resource_metadata = resource_metadata
        if app is not None:
            self.init_app(app)

    def init_app(
        self, app: Flask, *, verifier: JWTVerifier | None = None, authenticator: Authenticator | None = None
    ) -> None:
        """Set the extension up for ``app``; ``verifier`` or ``authenticator`` override the extension's."""
        config = app.config
        if verifier is None and authenticator is None:
            verifier, authenticator = self.verifier, self.authenticator
            if verifier is None and authenticator is None:
                verifier = _verifier_from_config(config)
        chosen = authenticator_from(
            "JWTAuth",
            verifier=verifier,
            authenticator=authenticator,
            query_parameter=config.get("JWT_QUERY_PARAMETER"),
            cookie=config.get("JWT_COOKIE"),
            trusted_origins=config.get("JWT_TRUSTED_ORIGINS") or (),
        )
        # The guards decide; anonymous only means "no claims yet".
        policy = RequestPolicy(realm=self.realm or config.get("JWT_REALM", "api"), optional=True)
        challenges = challenges_of(chosen)
        metadata = self.resource_metadata or config.get("JWT_RESOURCE_METADATA")
        if metadata is not None:
            if not isinstance(metadata, ProtectedResourceMetadata):
                raise ConfigurationError("JWT_RESOURCE_METADATA must be a ProtectedResourceMetadata")
            metadata = metadata.for_verifier(
                chosen.verifier if isinstance(chosen, BearerAuthenticator) else None
            )
            challenges = with_resource_metadata(challenges, metadata)
            _serve_metadata(app, metadata)
        app.extensions[EXTENSION] = _AppState(chosen, policy, challenges)

    @staticmethod
    def verifier_for(app: Flask) -> JWTVerifier:
        """The verifier ``app`` uses (built from its config, or the one given)."""
        verifier = _state(app).verifier
        if verifier is None:
            raise ConfigurationError("this app authenticates with an authenticator, not one verifier")
        return verifier

    @staticmethod
    def authenticator_for(app: Flask) -> Authenticator:
        """The ``Authenticator`` ``app`` uses (a ``BearerAuthenticator`` for a verifier)."""
        return _state(app).authenticator

    def protect(
        self,
        target: Blueprint | Flask,
        *,
        scopes: Sequence[str] = (),
        groups: Sequence[str] = (),
        roles: Sequence[str] = (),
        permissions: Sequence[str] = (),
        any_scope: bool = False,
        any_group: bool = False,
        any_role: bool = False,
        any_permission: bool = False,
        optional: bool = False,
    ) -> None:
        """Guard every view of ``target`` (a blueprint, or a whole app) with one ``before_request``.

        Requirements are built now; ``optional`` admits anonymous requests when nothing is
        required (a present but invalid token is still refused).
        """
        declared: tuple[tuple[GrantKind, Sequence[str], bool], ...] = (
            ("scopes", scopes, any_scope),
            ("groups", groups, any_group),
            ("roles", roles, any_role),
            ("permissions", permissions, any_permission),
        )
        check = _checker(_requirements(declared), optional)

        def authenticate_request() -> None:
            check()

        target.before_request(authenticate_request)


def _serve_metadata(app: Flask, metadata: ProtectedResourceMetadata) -> None:
    """Routes answering the RFC 9728 document, unauthenticated (it is public)."""

    def document() -> Response:
        answer = metadata.response(request.method)
        return Response(answer.body, status=answer.status_code, headers=list(answer.headers))

    for index, path in enumerate(metadata.paths):
        app.add_url_rule(
            path,
            endpoint=f"jwt_middleware_resource_metadata_{index}",
            view_func=document,
            methods=["GET", "HEAD", "OPTIONS"],
            provide_automatic_options=False,
        )


def _requirements(declared: Iterable[tuple[GrantKind, Iterable[str], bool]]) -> tuple[Requirement, ...]:
    requirements = []
    for kind, names, any_of in declared:
        if isinstance(names, str):
            raise ConfigurationError(f"{kind} must be a list, not a string")
        if names := tuple(names):
            requirements.append(grants_requirement(kind, names, any_of=any_of))
    return tuple(requirements)


def _state(app: Flask) -> _AppState:
    state = app.extensions.get(EXTENSION)
    if state is None:
        raise RuntimeError("JWTAuth is not initialised on this app: JWTAuth(app) or auth.init_app(app)")
    return cast(_AppState, state)


# -- one request ----------------------------------------------------------------------------------


def _claims(state: _AppState) -> Claims | None:
    """The request's claims, verified on first use and kept in ``g`` for the rest of the request."""
    if _G_CLAIMS in g:
        return cast(Claims | None, g.get(_G_CLAIMS))
    claims = state.authenticator.authenticate_sync(WSGIRequestView(request.environ))
    setattr(g, _G_CLAIMS, claims)
    return claims


def _checker(requirements: tuple[Requirement, ...], optional: bool) -> Callable[[], None]:
    if optional and requirements:
        raise ConfigurationError("optional=True cannot be combined with scopes, groups, roles or permissions")

    def check() -> None:
        state = _state(current_app)
        setattr(g, _G_GUARDED, True)
        try:
            claims = _claims(state)
            if claims is None:
                if optional:
                    return
                raise MissingTokenError()
            for requirement in requirements:
                requirement.enforce(claims)
        except JWTMiddlewareError as error:
            raise JWTAuthError.of(error, state.realm, state.challenges) from None

    return check


def _guard(requirements: tuple[Requirement, ...], optional: bool = False) -> Callable[[View], View]:
    check = _checker(requirements, optional)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check()
            # ensure_sync runs an ``async def`` view the way Flask runs it undecorated.
            return current_app.ensure_sync(view)(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def jwt_required(*, optional: bool = False) -> Callable[[View], View]:
    """Require a valid token; with ``optional=True`` admit anonymous requests (claims ``None``)."""
    return _guard((), optional)


def require_scopes(*scopes: str, any_of: bool = False) -> Callable[[View], View]:
    """Require all of ``scopes`` (one of them with ``any_of``): 403 ``insufficient_scope`` otherwise."""
    return _guard((scopes_requirement(scopes, any_of=any_of),))


def require_dpop(view: View) -> View:
    """Require a DPoP-bound token (``@require_dpop``): a bearer one gets 401 with a DPoP challenge."""
    return _guard((dpop_requirement(),))(view)


def require_groups(*groups: str, any_of: bool = False) -> Callable[[View], View]:
    """Require all of ``groups`` (one of them with ``any_of``): 403 otherwise."""
    return _guard((groups_requirement(groups, any_of=any_of),))


def require_roles(*roles: str, any_of: bool = False) -> Callable[[View], View]:
    """Require all of ``roles`` (one of them with ``any_of``): 403 otherwise."""
    return _guard((roles_requirement(roles, any_of=any_of),))


def require_permissions(*permissions: str, any_of: bool = False) -> Callable[[View], View]:
    """Require all of ``permissions`` (one of them with ``any_of``): 403 otherwise."""
    return _guard((permissions_requirement(permissions, any_of=any_of),))


def _current_claims() -> Claims | None:
    if _G_GUARDED not in g:
        raise UnguardedClaimsError()
    return cast(Claims | None, g.get(_G_CLAIMS))


#: The current request's verified ``Claims``, a ``LocalProxy`` over ``g.jwt_claims``.
#:
#: In a guarded view it is always the claims. Where anonymous requests are admitted it proxies
#: ``None``: the proxy itself is never ``None``, so test it with ``if current_claims:`` (falsy when
#: anonymous), not ``is None``. Where no guard ran it raises ``UnguardedClaimsError``. It is typed
#: as ``Claims`` so that attribute access type-checks, and so that mypy's strict equality flags
#: the misleading ``current_claims is None``.
current_claims: Claims = cast(Claims, LocalProxy(_current_claims))
