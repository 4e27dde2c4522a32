"""Django: ``JWTAuthenticationMiddleware``, view decorators and a class-based-view mixin.

Configuration is one setting, validated when the middleware loads::

    JWT_MIDDLEWARE = {
        "ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
        "AUDIENCE": "orders-api",           # required with ISSUER; None accepts any audience
        "JWKS_URL": None,                   # default: found through OIDC discovery
        "ALGORITHMS": ["RS256"],
        "EXCLUDE_PATHS": ["/health"],
        "OPTIONAL": False,
    }

``COGNITO`` (keyword arguments for ``JWTVerifier.cognito``) or ``VERIFIER`` (a dotted path to a
``JWTVerifier`` or a zero-argument factory) replace ``ISSUER``; ``AUTHENTICATOR`` (a dotted path
to an ``Authenticator``, or to a zero-argument factory returning one, or the factory itself)
replaces all three with any way of authenticating (see ``jwt_middleware.authenticator``). The
verifier (or authenticator) is built once per process and shared by the middleware, the
decorators and the DRF authentication class, so one JWKS cache serves every request and every
thread; it is rebuilt only when the setting changes (``override_settings`` in tests).

The middleware is sync and async capable (Django's ``sync_capable``/``async_capable`` flags): under
ASGI it awaits ``verifier.verify`` on the event loop, under WSGI it calls ``verify_sync``, so no
request pays for a thread hop. It sets ``request.jwt_claims`` (``None`` when anonymous) and, for
an authenticated request, ``request.user``/``request.auser()``: a ``JWTUser`` that lives only in
the token by default, or a row of ``AUTH_USER_MODEL`` looked up by a claim (``USER_MODEL_LOOKUP``).

Put it after ``django.contrib.auth.middleware.AuthenticationMiddleware`` if both are installed, so
that the token's user wins over the session's.
"""

from __future__ import annotations

import difflib
import functools
import numbers
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast, overload

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, challenges_of
from jwt_middleware.challenge import ChallengeBuilder, error_response
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import Claims
from jwt_middleware.errors import ConfigurationError, InvalidClaimError, JWTMiddlewareError, MissingTokenError
from jwt_middleware.request_auth import RequestPolicy
from jwt_middleware.request_view import ASGIRequestView, WSGIRequestView
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
    "SETTING",
    "DjangoRequestView",
    "JWTAuthenticationMiddleware",
    "JWTRequiredMixin",
    "JWTSettings",
    "JWTUser",
    "aauthenticate",
    "aresolve_user",
    "authenticate",
    "error_http_response",
    "get_authenticator",
    "get_verifier",
    "jwt_required",
    "jwt_settings",
    "require_groups",
    "require_permissions",
    "require_roles",
    "require_scopes",
    "resolve_user",
]

#: The name of the Django setting this module reads.
SETTING: Final = "JWT_MIDDLEWARE"

View = TypeVar("View", bound=Callable[..., Any])
ErrorHandler = Callable[[HttpRequest, JWTMiddlewareError], HttpResponse]

_VERIFIER_SOURCES: Final = ("ISSUER", "COGNITO", "VERIFIER", "AUTHENTICATOR")
# Settings that shape a verifier the middleware builds, mapped to JWTVerifier keywords.
_VERIFIER_KEYWORDS: Final = {"JWKS_URL": "jwks_url", "ALGORITHMS": "algorithms", "LEEWAY": "leeway"}
_KNOWN_OPTIONS: Final = frozenset(
    {
        *_VERIFIER_SOURCES,
        *_VERIFIER_KEYWORDS,
        "AUDIENCE",
        "VERIFIER_OPTIONS",
        "REALM",
        "EXCLUDE_PATHS",
        "EXCLUDE_PREFIXES",
        "OPTIONAL",
        "QUERY_PARAMETER",
        "COOKIE",
        "TRUSTED_ORIGINS",
        "USER_MODEL_LOOKUP",
        "USER_MODEL_CLAIM",
        "USER_MODEL_CREATE",
        "ERROR_HANDLER",
        "RESOURCE_METADATA",
    }
)


# -- the user -------------------------------------------------------------------------------------


class JWTUser:
    """The user of a verified token when no database user is wanted (the default).

    It answers what ``django.contrib.auth`` and DRF ask of a user (``is_authenticated``,
    ``is_active``, ``get_username()``, ``has_perm``...) without a database row: it has no
    permissions, is never staff, and refuses to be saved. ``pk`` and ``id`` are
    ``"{iss}#{sub}"``: stable per identity, so per-user caches and throttles keep users apart, and
    never a number, so it cannot be mistaken for the primary key of a real row.
    """

    is_active: Final = True
    is_staff: Final = False
    is_superuser: Final = False
    is_authenticated: Final = True
    is_anonymous: Final = False

    __slots__ = ("claims",)

    def __init__(self, claims: Claims) -> None:
        self.claims = claims

    @property
    def pk(self) -> str:
        return f"{self.claims.issuer or ''}#{self.claims.subject or ''}"

    id = pk

    @property
    def username(self) -> str:
        """The token's username claim, or its subject when it has none."""
        return self.claims.username or self.claims.subject or ""

    @property
    def subject(self) -> str | None:
        return self.claims.subject

    @property
    def scopes(self) -> frozenset[str]:
        return self.claims.scopes

    @property
    def token_groups(self) -> frozenset[str]:
        """The token's groups; ``groups`` stays Django's (empty) group manager."""
        return self.claims.groups

    @property
    def roles(self) -> frozenset[str]:
        """The token's roles (see ``ClaimMapping``)."""
        return self.claims.roles

    @property
    def token_permissions(self) -> frozenset[str]:
        """The token's permissions: not Django's ``app_label.codename`` ones, which stay empty."""
        return self.claims.permissions

    @property
    def groups(self) -> Any:
        from django.contrib.auth.models import Group
        from django.db.models.manager import EmptyManager

        return EmptyManager(Group)

    @property
    def user_permissions(self) -> Any:
        from django.contrib.auth.models import Permission
        from django.db.models.manager import EmptyManager

        return EmptyManager(Permission)

    def get_username(self) -> str:
        return self.username

    def get_user_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_group_permissions(self, obj: object = None) -> set[str]:
        return set()

    def get_all_permissions(self, obj: object = None) -> set[str]:
        return set()

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def save(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("a JWTUser exists only in its token and cannot be saved")

    def delete(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("a JWTUser exists only in its token and cannot be deleted")

    def set_password(self, raw_password: str) -> None:
        raise NotImplementedError("a JWTUser has no password")

    def check_password(self, raw_password: str) -> bool:
        raise NotImplementedError("a JWTUser has no password")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JWTUser) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"JWTUser(username={self.username!r})"


# -- settings -------------------------------------------------------------------------------------


def _improperly(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"settings.{SETTING}: {message}")


def _string_list(options: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = options.get(name, ())
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise _improperly(f"{name} must be a list of strings, such as [{'/health'!r}]")
    if not all(isinstance(item, str) for item in value):
        raise _improperly(f"{name} must contain only strings")
    return tuple(value)


def _optional_string(options: Mapping[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is not None and not (isinstance(value, str) and value):
        raise _improperly(f"{name} must be a non-empty string or None")
    return value


def _flag(options: Mapping[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise _improperly(f"{name} must be True or False")
    return value


def _callable_setting(options: Mapping[str, Any], name: str) -> Any:
    value = options.get(name)
    if isinstance(value, str):
        try:
            return import_string(value)
        except ImportError as exc:
            raise _improperly(f"{name} {value!r} cannot be imported: {exc}") from None
    return value


def _check_names(options: Mapping[str, Any]) -> None:
    for name in options:
        if name not in _KNOWN_OPTIONS:
            close = difflib.get_close_matches(str(name), sorted(_KNOWN_OPTIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _improperly(f"unknown option {name!r}{hint}")
    sources = [name for name in _VERIFIER_SOURCES if options.get(name) is not None]
    if len(sources) != 1:
        found = f" (got {', '.join(sources)})" if sources else ""
        raise _improperly(f"give exactly one of ISSUER, COGNITO, VERIFIER or AUTHENTICATOR{found}")


def _verifier_keywords(options: Mapping[str, Any]) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    extra = options.get("VERIFIER_OPTIONS", {})
    if not isinstance(extra, Mapping):
        raise _improperly("VERIFIER_OPTIONS must be a dict of JWTVerifier keyword arguments")
    keywords.update(extra)
    for name, keyword in _VERIFIER_KEYWORDS.items():
        if options.get(name) is not None:
            keywords[keyword] = options[name]
    leeway = keywords.get("leeway", 0)
    if isinstance(leeway, bool) or not isinstance(leeway, numbers.Real) or leeway < 0:
        raise _improperly("LEEWAY must be a number of seconds, 0 or more")
    if isinstance(keywords.get("algorithms"), str):
        raise _improperly("ALGORITHMS must be a list, such as ['RS256']")
    return keywords


def _build_authenticator(options: Mapping[str, Any]) -> Authenticator:
    """``AUTHENTICATOR``: an ``Authenticator``, or a zero-argument callable (a class) returning one."""
    given = [
        name
        for name in (
            *_VERIFIER_KEYWORDS,
            "AUDIENCE",
            "VERIFIER_OPTIONS",
            "QUERY_PARAMETER",
            "COOKIE",
            "TRUSTED_ORIGINS",
        )
        if name in options
    ]
    if given:
        raise _improperly(f"configure {', '.join(given)} on the AUTHENTICATOR itself, not here")
    target = _callable_setting(options, "AUTHENTICATOR")
    # A class has the protocol's methods too: only an instance is an authenticator as it is.
    if not isinstance(target, Authenticator) or isinstance(target, type):
        target = target() if callable(target) else None
    if not isinstance(target, Authenticator):
        raise _improperly(
            "AUTHENTICATOR must name an Authenticator (authenticate and authenticate_sync) "
            "or a function returning one"
        )
    return target


def _build_verifier(options: Mapping[str, Any]) -> tuple[JWTVerifier, bool]:
    """The configured verifier, and whether this module built it (and so may close it)."""
    if options.get("VERIFIER") is not None:
        given = [name for name in (*_VERIFIER_KEYWORDS, "AUDIENCE", "VERIFIER_OPTIONS") if name in options]
        if given:
            raise _improperly(f"configure {', '.join(given)} on the VERIFIER itself, not here")
        target = _callable_setting(options, "VERIFIER")
        verifier = target if isinstance(target, JWTVerifier) else target() if callable(target) else None
        if not isinstance(verifier, JWTVerifier):
            raise _improperly("VERIFIER must name a JWTVerifier or a function returning one")
        return verifier, False
    keywords = _verifier_keywords(options)
    try:
        if options.get("COGNITO") is not None:
            cognito = options["COGNITO"]
            if not isinstance(cognito, Mapping):
                raise _improperly("COGNITO must be a dict of JWTVerifier.cognito keyword arguments")
            if "AUDIENCE" in options:
                raise _improperly("COGNITO takes the app client as client_id, not AUDIENCE")
            return JWTVerifier.cognito(**{**keywords, **cognito}), True
        if "AUDIENCE" not in options:
            raise _improperly("AUDIENCE is required with ISSUER (None accepts any audience, explicitly)")
        return JWTVerifier(issuer=options["ISSUER"], audience=options["AUDIENCE"], **keywords), True
    except (ConfigurationError, TypeError) as exc:
        raise _improperly(str(exc)) from None


def _check_user_lookup(field: str | None) -> None:
    if field is None:
        return
    from django.contrib.auth import get_user_model
    from django.core.exceptions import FieldDoesNotExist

    model = get_user_model()
    try:
        model._meta.get_field(field)
    except FieldDoesNotExist:
        raise _improperly(f"USER_MODEL_LOOKUP {field!r} is not a field of {model.__name__}") from None


@dataclass(frozen=True, slots=True)
class JWTSettings:
    """``settings.JWT_MIDDLEWARE``, validated, with the authenticator (and verifier) built from it."""

    #: The verifier of a bearer authenticator; ``None`` with an ``AUTHENTICATOR`` of another kind.
    verifier: JWTVerifier | None
    #: The middleware's policy: exclusions and optional mode.
    policy: RequestPolicy
    #: The decorators' and DRF's policy: no exclusions, anonymous allowed (they enforce).
    view_policy: RequestPolicy
    user_lookup: str | None
    user_claim: str
    create_users: bool
    error_handler: ErrorHandler | None
    owns_verifier: bool
    #: Who a request comes from: a ``BearerAuthenticator`` over the verifier, or ``AUTHENTICATOR``.
    authenticator: Authenticator
    #: ``RESOURCE_METADATA``: the RFC 9728 document the middleware serves, filled from the verifier.
    resource_metadata: ProtectedResourceMetadata | None = None

    @classmethod
    def from_settings(cls) -> JWTSettings:
        options = getattr(settings, SETTING, None)
        if options is None:
            raise ImproperlyConfigured(
                f"settings.{SETTING} is missing: set it to a dict such as "
                "{'ISSUER': 'https://issuer.example', 'AUDIENCE': 'my-api'}"
            )
        if not isinstance(options, Mapping):
            raise ImproperlyConfigured(f"settings.{SETTING} must be a dict")
        _check_names(options)
        realm = options.get("REALM", "api")
        query_parameter = _optional_string(options, "QUERY_PARAMETER")
        cookie = _optional_string(options, "COOKIE")
        user_lookup = _optional_string(options, "USER_MODEL_LOOKUP")
        user_claim = _optional_string(options, "USER_MODEL_CLAIM") or "sub"
        error_handler = _callable_setting(options, "ERROR_HANDLER")
        if error_handler is not None and not callable(error_handler):
            raise _improperly("ERROR_HANDLER must be a function (request, error) -> HttpResponse")
        try:
            policy = RequestPolicy(
                realm=realm,
                exclude_paths=_string_list(options, "EXCLUDE_PATHS"),
                exclude_prefixes=_string_list(options, "EXCLUDE_PREFIXES"),
                optional=_flag(options, "OPTIONAL", False),
            )
            view_policy = RequestPolicy(realm=realm, optional=True)
        except ConfigurationError as exc:
            raise _improperly(str(exc)) from None
        _check_user_lookup(user_lookup)
        authenticator: Authenticator
        if options.get("AUTHENTICATOR") is not None:
            authenticator = _build_authenticator(options)
            verifier = authenticator.verifier if isinstance(authenticator, BearerAuthenticator) else None
            owned = False
        else:
            verifier, owned = _build_verifier(options)
            try:
                authenticator = BearerAuthenticator(
                    verifier,
                    query_parameter=query_parameter,
                    cookie=cookie,
                    trusted_origins=_string_list(options, "TRUSTED_ORIGINS"),
                )
            except ConfigurationError as exc:
                raise _improperly(str(exc)) from None
        metadata = options.get("RESOURCE_METADATA")
        if metadata is not None and not isinstance(metadata, ProtectedResourceMetadata):
            raise _improperly("RESOURCE_METADATA must be a ProtectedResourceMetadata")
        return cls(
            resource_metadata=metadata.for_verifier(verifier) if metadata is not None else None,
            authenticator=authenticator,
            verifier=verifier,
            policy=policy,
            view_policy=view_policy,
            user_lookup=user_lookup,
            user_claim=user_claim,
            create_users=_flag(options, "USER_MODEL_CREATE", True),
            error_handler=error_handler,
            owns_verifier=owned,
        )

    @property
    def realm(self) -> str:
        return self.policy.realm

    @property
    def challenges(self) -> ChallengeBuilder:
        """How refusals are challenged: the authenticator's way, ``Bearer`` by default."""
        challenges = challenges_of(self.authenticator)
        if self.resource_metadata is not None:
            return with_resource_metadata(challenges, self.resource_metadata)
        return challenges

    def metadata_response(self, request: HttpRequest) -> HttpResponse | None:
        """The RFC 9728 document, when ``request`` asks for it (answered before authentication)."""
        metadata = self.resource_metadata
        if metadata is None or not metadata.serves(request.method or "GET", request.path_info):
            return None
        answer = metadata.response(request.method or "GET")
        return HttpResponse(answer.body, status=answer.status_code, headers=dict(answer.headers))

    def respond(self, request: HttpRequest, error: JWTMiddlewareError) -> HttpResponse:
        """The answer to ``error``: ``ERROR_HANDLER``'s, or the RFC 6750 response."""
        if self.error_handler is not None:
            return self.error_handler(request, error)
        return error_http_response(error, self.realm, self.challenges)


_lock = threading.Lock()
_current: JWTSettings | None = None


def jwt_settings() -> JWTSettings:
    """The validated settings, parsed once per process (again after the setting changes)."""
    global _current
    current = _current
    if current is None:
        with _lock:
            current = _current
            if current is None:
                current = _current = JWTSettings.from_settings()
    return current


def get_verifier() -> JWTVerifier:
    """The process-wide verifier the middleware uses, for code that verifies tokens itself."""
    verifier = jwt_settings().verifier
    if verifier is None:
        raise ImproperlyConfigured(f"settings.{SETTING}: the AUTHENTICATOR has no single verifier")
    return verifier


def get_authenticator() -> Authenticator:
    """The process-wide ``Authenticator`` the middleware, the decorators and DRF use."""
    return jwt_settings().authenticator


def _setting_changed(*, setting: str, **_kwargs: object) -> None:
    global _current
    if setting not in (SETTING, "AUTH_USER_MODEL"):
        return
    with _lock:
        previous, _current = _current, None
    if previous is not None and previous.owns_verifier and previous.verifier is not None:
        previous.verifier.close()


setting_changed.connect(_setting_changed, dispatch_uid="jwt_middleware.integrations.django")


# -- one request ----------------------------------------------------------------------------------


def error_http_response(
    error: JWTMiddlewareError, realm: str, challenges: ChallengeBuilder | None = None
) -> HttpResponse:
    """The RFC 6750 answer to ``error`` as an ``HttpResponse``, identical to the other adapters'."""
    answer = error_response(error, realm, challenges)
    return HttpResponse(answer.body, status=answer.status_code, headers=dict(answer.headers))


class DjangoRequestView(WSGIRequestView):
    """The ``RequestView`` of a Django ``HttpRequest``, under WSGI or ASGI alike.

    Headers and the query come from ``request.META`` (so what Django's own middleware sees is what
    an authenticator sees), the path is ``path_info`` (what URL patterns match), and ``raw`` and
    ``url`` are the server's: the ASGI scope under ASGI, the WSGI environ under WSGI.
    """

    __slots__ = ("_request",)

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.META)
        self._request = request

    @property
    def method(self) -> str:
        return (self._request.method or "GET").upper()

    @property
    def path(self) -> str:
        path: str = self._request.path_info
        return path

    @property
    def url(self) -> str:
        scope = getattr(self._request, "scope", None)
        return ASGIRequestView(scope).url if scope is not None else super().url

    @property
    def raw(self) -> Mapping[str, Any]:
        scope: Mapping[str, Any] | None = getattr(self._request, "scope", None)
        return scope if scope is not None else self._request.META


def _lookup(claims: Claims, config: JWTSettings) -> tuple[Any, dict[str, str]]:
    from django.contrib.auth import get_user_model

    value = claims.get(config.user_claim)
    if not isinstance(value, str) or not value:
        raise InvalidClaimError("The token does not identify a user", claim=config.user_claim)
    assert config.user_lookup is not None
    return get_user_model()._default_manager, {config.user_lookup: value}


def _checked(user: Any) -> Any:
    # As Django's ModelBackend does: an inactive user cannot authenticate.
    if not getattr(user, "is_active", True):
        raise InvalidClaimError("The token's user is not active")
    return user


def resolve_user(claims: Claims, config: JWTSettings) -> Any:
    """The user for ``claims``: a ``JWTUser``, or the ``AUTH_USER_MODEL`` row (sync)."""
    if config.user_lookup is None:
        return JWTUser(claims)
    manager, lookup = _lookup(claims, config)
    if config.create_users:
        return _checked(manager.get_or_create(**lookup)[0])
    try:
        return _checked(manager.get(**lookup))
    except manager.model.DoesNotExist:
        raise InvalidClaimError("The token's user is not known") from None


async def aresolve_user(claims: Claims, config: JWTSettings) -> Any:
    """``resolve_user`` through the ORM's async API, for the async request path."""
    if config.user_lookup is None:
        return JWTUser(claims)
    manager, lookup = _lookup(claims, config)
    if config.create_users:
        return _checked((await manager.aget_or_create(**lookup))[0])
    try:
        return _checked(await manager.aget(**lookup))
    except manager.model.DoesNotExist:
        raise InvalidClaimError("The token's user is not known") from None


def _attach(request: HttpRequest, claims: Claims | None, user: Any) -> None:
    request.jwt_claims = claims
    if claims is None:
        return

    async def auser() -> Any:
        return user

    request.user = user
    request.auser = auser


def _exempt_from_django_csrf(request: HttpRequest, authenticator: Authenticator) -> None:
    """Let Django's CSRF middleware pass a request this library authenticated without ambient
    credentials: a bearer header (browsers never add one cross-site), or a cookie that the
    authenticator held to the cross-origin rule already (``checks_cross_origin``). A custom
    authenticator that reads a cookie without saying so stays under Django's check.
    """
    authorization = request.headers.get("Authorization", "")
    scheme = authorization.partition(" ")[0].lower()
    if scheme in ("bearer", "dpop") or getattr(authenticator, "checks_cross_origin", False) is True:
        # Django's own switch (its test client and DRF use it): skip the CSRF token check.
        request._dont_enforce_csrf_checks = True


def authenticate(request: HttpRequest, policy: RequestPolicy | None = None) -> Claims | None:
    """Verify the request's token (sync) and attach claims and user; ``None`` when anonymous.

    Raises ``JWTMiddlewareError``. ``policy`` defaults to the views' (no exclusions, anonymous
    allowed): the middleware passes its own.
    """
    config = jwt_settings()
    policy = policy or config.view_policy
    claims = None
    if not policy.is_excluded(request.path_info):
        claims = config.authenticator.authenticate_sync(DjangoRequestView(request))
        if claims is None:
            policy.admit_anonymous()
    if claims is None:
        _attach(request, None, None)
        return None
    _attach(request, claims, resolve_user(claims, config))
    _exempt_from_django_csrf(request, config.authenticator)
    return claims


async def aauthenticate(request: HttpRequest, policy: RequestPolicy | None = None) -> Claims | None:
    """``authenticate`` for async code: ``await authenticator.authenticate`` and the async ORM."""
    config = jwt_settings()
    policy = policy or config.view_policy
    claims = None
    if not policy.is_excluded(request.path_info):
        claims = await config.authenticator.authenticate(DjangoRequestView(request))
        if claims is None:
            policy.admit_anonymous()
    if claims is None:
        _attach(request, None, None)
        return None
    _attach(request, claims, await aresolve_user(claims, config))
    _exempt_from_django_csrf(request, config.authenticator)
    return claims


# -- the middleware -------------------------------------------------------------------------------


class JWTAuthenticationMiddleware:
    """Verify every request's bearer token before the view runs (see the module docstring).

    Without ``OPTIONAL``, a request without a valid token gets the RFC 6750 answer here and never
    reaches a view (excluded paths pass, with ``request.jwt_claims = None``). With ``OPTIONAL``
    anonymous requests pass too, and the decorators decide per view.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            # Tells Django to call this middleware as a coroutine function: no sync adapter.
            markcoroutinefunction(self)
        jwt_settings()  # Fail at start-up, not on the first request, when misconfigured.

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        config = jwt_settings()
        document = config.metadata_response(request)
        if document is not None:
            return document
        try:
            authenticate(request, config.policy)
        except JWTMiddlewareError as error:
            return config.respond(request, error)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        config = jwt_settings()
        document = config.metadata_response(request)
        if document is not None:
            return document
        try:
            await aauthenticate(request, config.policy)
        except JWTMiddlewareError as error:
            return config.respond(request, error)
        return await self.get_response(request)


# -- guards: decorators and the class-based-view mixin ---------------------------------------------


def _enforce(claims: Claims | None, requirements: Sequence[Requirement]) -> None:
    if claims is None:
        raise MissingTokenError()
    for requirement in requirements:
        requirement.enforce(claims)


def _denial(request: HttpRequest, requirements: Sequence[Requirement]) -> HttpResponse | None:
    """``None`` to let the view run, or the response refusing the request (sync)."""
    try:
        claims = getattr(request, "jwt_claims", None)
        if claims is None:
            claims = authenticate(request)
        _enforce(claims, requirements)
    except JWTMiddlewareError as error:
        return jwt_settings().respond(request, error)
    return None


async def _adenial(request: HttpRequest, requirements: Sequence[Requirement]) -> HttpResponse | None:
    try:
        claims = getattr(request, "jwt_claims", None)
        if claims is None:
            claims = await aauthenticate(request)
        _enforce(claims, requirements)
    except JWTMiddlewareError as error:
        return jwt_settings().respond(request, error)
    return None


def _guard(requirements: tuple[Requirement, ...]) -> Callable[[View], View]:
    """A view decorator for sync and ``async def`` views alike, as Django's own decorators are."""

    def decorate(view: View) -> View:
        if iscoroutinefunction(view):

            async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denial = await _adenial(request, requirements)
                if denial is not None:
                    return denial
                return await view(request, *args, **kwargs)

            return cast(View, functools.wraps(view)(guarded_async))

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            denial = _denial(request, requirements)
            if denial is not None:
                return denial
            return view(request, *args, **kwargs)

        return cast(View, functools.wraps(view)(guarded))

    return decorate


@overload
def jwt_required(view: View, /) -> View: ...
@overload
def jwt_required() -> Callable[[View], View]: ...
def jwt_required(view: View | None = None, /) -> View | Callable[[View], View]:
    """Refuse the view to requests without a valid token; ``@jwt_required`` or ``@jwt_required()``.

    It reuses what the middleware verified, and verifies the token itself when the middleware is
    not installed (or the path is excluded), so it also protects single views on its own.
    """
    decorate: Callable[[View], View] = _guard(())
    return decorate(view) if view is not None else decorate


def require_scopes(*scopes: str, any_of: bool = False) -> Callable[[View], View]:
    """The token must carry all of ``scopes`` (one of them with ``any_of``); 403 otherwise."""
    return _guard((scopes_requirement(scopes, any_of=any_of),))


def require_dpop(view: View) -> View:
    """Require a DPoP-bound token (``@require_dpop``): a bearer one gets 401 with a DPoP challenge."""
    return _guard((dpop_requirement(),))(view)


def require_groups(*groups: str, any_of: bool = False) -> Callable[[View], View]:
    """The token must be in all of ``groups`` (one of them with ``any_of``); 403 otherwise."""
    return _guard((groups_requirement(groups, any_of=any_of),))


def require_roles(*roles: str, any_of: bool = False) -> Callable[[View], View]:
    """The token must have all of ``roles`` (one of them with ``any_of``); 403 otherwise."""
    return _guard((roles_requirement(roles, any_of=any_of),))


def require_permissions(*permissions: str, any_of: bool = False) -> Callable[[View], View]:
    """The token must have all of ``permissions`` (one of them with ``any_of``); 403 otherwise."""
    return _guard((permissions_requirement(permissions, any_of=any_of),))


#: The mixin's requirement attributes: kind, the names attribute, the any-of attribute.
_MIXIN_ATTRIBUTES: Final[tuple[tuple[GrantKind, str, str], ...]] = (
    ("scopes", "required_scopes", "any_scope"),
    ("groups", "required_groups", "any_group"),
    ("roles", "required_roles", "any_role"),
    ("permissions", "required_permissions", "any_permission"),
)


class JWTRequiredMixin:
    """For class-based views: a valid token, plus ``required_scopes``, ``required_groups``,
    ``required_roles`` and ``required_permissions`` where set.

    Put it first among the bases (``class OrdersView(JWTRequiredMixin, View)``), like Django's
    ``LoginRequiredMixin``. ``any_scope``/``any_group``/``any_role``/``any_permission`` turn
    all-of into any-of. The requirements are built once, when the class is defined. Works for sync
    and async views.
    """

    required_scopes: Sequence[str] = ()
    required_groups: Sequence[str] = ()
    required_roles: Sequence[str] = ()
    required_permissions: Sequence[str] = ()
    any_scope: bool = False
    any_group: bool = False
    any_role: bool = False
    any_permission: bool = False
    jwt_requirements: tuple[Requirement, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        requirements = []
        for kind, attribute, any_attribute in _MIXIN_ATTRIBUTES:
            names = getattr(cls, attribute)
            if not names:
                continue
            if isinstance(names, str):
                raise ConfigurationError(f"{cls.__name__}.{attribute} must be a list, not a string")
            requirements.append(grants_requirement(kind, names, any_of=getattr(cls, any_attribute)))
        cls.jwt_requirements = tuple(requirements)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent: Callable[..., Any] = cast(Any, super()).dispatch
        if getattr(self, "view_is_async", False):
            return self._dispatch_async(parent, request, *args, **kwargs)
        denial = _denial(request, self.jwt_requirements)
        if denial is not None:
            return denial
        return parent(request, *args, **kwargs)

    async def _dispatch_async(
        self, parent: Callable[..., Awaitable[Any]], request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Any:
        denial = await _adenial(request, self.jwt_requirements)
        if denial is not None:
            return denial
        return await parent(request, *args, **kwargs)
