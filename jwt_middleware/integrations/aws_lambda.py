"""API Gateway Lambda authorizers: one handler for HTTP APIs and REST APIs, that never raises.

``lambda_authorizer(verifier, routes=...)`` returns a Lambda handler. Build it at module level,
so the verifier (and the JWKS cache inside it) lives as long as the execution environment and a
warm invocation verifies without fetching::

    verifier = JWTVerifier.cognito(user_pool_id="eu-west-1_AbC123", client_id="...", token_use="access")
    handler = lambda_authorizer(verifier, routes={"GET /orders": ["orders/read"]})

It reads the event shapes AWS documents for Lambda authorizers:

* HTTP API, payload format 2.0: ``routeKey``, ``routeArn``, ``identitySource`` (a list), headers
  with lower-case names. Answers a simple response, ``{"isAuthorized": ..., "context": {...}}``,
  or with ``simple_responses=False`` an IAM policy.
* HTTP API, payload format 1.0, and REST API ``REQUEST`` authorizers: ``methodArn``, ``httpMethod``
  and ``resource``, headers. Answers an IAM policy.
* REST API ``TOKEN`` authorizers: ``authorizationToken`` and ``methodArn``. Answers an IAM policy.

The token is the identity source value, alone or after ``Bearer`` (what the JWT authorizer itself
accepts): ``IdentitySourceAuthenticator``, which is what ``verifier=`` means. ``authenticator=``
takes any ``Authenticator`` instead; it reads the event through ``LambdaRequestView`` (headers,
method, path, query and cookies of the request the gateway is authorizing). Every failure of the
request (no token, a bad token, a missing scope, a malformed event) and every bug of the handler
is a deny, logged with the error's type and the route, never the token. A deny is an explicit
policy: REST APIs answer it with 403.

Server-side failures are the one exception: when the authenticator raises a
``TemporarilyUnavailableError`` (no signing keys, a ``checks=`` rule or ``custom_check`` that
crashed), the handler re-raises it. A deny would tell the client its token is bad, and the gateway
caches decisions for the authorizer's TTL, locking good tokens out long after the outage. An
authorizer error is never cached; API Gateway answers it with its ``AUTHORIZER_FAILURE`` gateway
response, which a REST API can set to 503 with a ``Retry-After`` header (HTTP APIs answer 500 and
offer no setting). The error names no token content: its message is the fixed description.

Routes map to the scopes they need, any one of them (like a JWT authorizer's
``authorizationScopes``): keys are the route key, ``"GET /orders/{id}"`` (method and resource
template; for ``TOKEN`` events, method and request path, since that is all the ARN carries), with
``ANY /path`` and ``$default`` as fallbacks; an empty list needs only a valid token. A route may
instead map to a dict: ``{"scopes": [...], "roles": [...], "permissions": [...], "groups": [...]}``,
every listed kind required; ``scopes`` keep the any-one rule, the others need all their names
unless ``"any_role"``/``"any_permission"``/``"any_group"`` is true, as ``require_roles`` and its
siblings do. With ``routes``, a route that is not listed is denied. Per-route decisions must not
be cached across routes: add ``$context.routeKey`` to an HTTP API authorizer's identity sources,
or keep a REST authorizer's TTL at 0, when requirements differ between routes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from
from jwt_middleware.aws.apigateway import identity_source_token
from jwt_middleware.aws.gateway_claims import render_claim
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    ConfigurationError,
    InsufficientScopeError,
    InvalidRequestError,
    JWTMiddlewareError,
    MissingTokenError,
    TemporarilyUnavailableError,
)
from jwt_middleware.request_view import RequestView
from jwt_middleware.requirements import Requirement, grants_requirement
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "ContextBuilder",
    "IdentitySourceAuthenticator",
    "LambdaHandler",
    "LambdaRequestView",
    "RouteEntry",
    "default_context",
    "lambda_authorizer",
]

logger = logging.getLogger("jwt_middleware")

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]
#: A route's requirement: its scopes (any one), or a dict of kinds (see the module docstring).
RouteEntry = Iterable[str] | Mapping[str, Any]
#: Builds the ``context`` passed to the integration from the verified claims.
ContextBuilder = Callable[[Claims], Mapping[str, Any]]

_DEFAULT: Final = "$default"
_ANY: Final = "ANY"


def default_context(claims: Claims) -> dict[str, str]:
    """``sub``, ``iss``, the client, the user name, ``token_use``, scopes, groups, roles, permissions.

    All strings, the only type every authorizer response accepts everywhere (REST APIs stringify
    the rest and refuse lists); lists are rendered as the JWT authorizer renders them.
    """
    values: dict[str, Any] = {
        "sub": claims.subject,
        "iss": claims.issuer,
        "client_id": claims.client_id,
        "username": claims.username,
        "token_use": claims.token_use,
        "scope": " ".join(sorted(claims.scopes)) if claims.scopes else None,
        "groups": render_claim(sorted(claims.groups)) if claims.groups else None,
        "roles": render_claim(sorted(claims.roles)) if claims.roles else None,
        "permissions": render_claim(sorted(claims.permissions)) if claims.permissions else None,
    }
    return {name: value for name, value in values.items() if value is not None}


def _context_value(value: Any) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    return render_claim(value)


#: A route's dict form: kind -> its any-of key (``None``: always any-of, the authorizer's scope rule).
_ROUTE_KINDS: Final[Mapping[GrantKind, str | None]] = {
    "scopes": None,
    "groups": "any_group",
    "roles": "any_role",
    "permissions": "any_permission",
}


def _names(route: str, kind: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ConfigurationError(f"route {route!r}: {kind} must be a list of names")
    return list(value)


def _route_requirements(route: str, entry: RouteEntry) -> tuple[Requirement, ...]:
    if not isinstance(entry, Mapping):
        names = _names(route, "scopes", entry)
        return (grants_requirement("scopes", names, any_of=True),) if names else ()
    known = {*_ROUTE_KINDS, *(key for key in _ROUTE_KINDS.values() if key is not None)}
    unknown = sorted(str(key) for key in entry if key not in known)
    if unknown:
        raise ConfigurationError(f"route {route!r}: unknown key {unknown[0]!r}")
    requirements = []
    for kind, any_key in _ROUTE_KINDS.items():
        names = _names(route, kind, entry.get(kind, ()))
        any_of = True if any_key is None else entry.get(any_key, False)
        if not isinstance(any_of, bool):
            raise ConfigurationError(f"route {route!r}: {any_key} must be true or false")
        if names:
            requirements.append(grants_requirement(kind, names, any_of=any_of))
    return tuple(requirements)


def _requirements(routes: Mapping[str, RouteEntry]) -> dict[str, tuple[Requirement, ...]]:
    table: dict[str, tuple[Requirement, ...]] = {}
    for route, entry in routes.items():
        if not isinstance(route, str) or not (route == _DEFAULT or " /" in route):
            raise ConfigurationError(f"route {route!r} must be '$default' or 'METHOD /path'")
        method, _, path = route.partition(" ")
        key = route if route == _DEFAULT else f"{method.upper()} {path}"
        table[key] = _route_requirements(route, entry)
    return table


def _arn_parts(arn: object) -> tuple[str, str, str, str] | None:
    """``arn:...:{api}/{stage}/{METHOD}/{path}`` as its prefix, stage, method and path."""
    parts = arn.split("/", 3) if isinstance(arn, str) else []
    if len(parts) < 3:
        return None
    return parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class LambdaRequestView(RequestView):
    """The ``RequestView`` of an API Gateway authorizer event: the request being authorized.

    HTTP API events (payload 2.0 and 1.0) and REST API ``REQUEST`` events carry the request's
    headers (names case-insensitive; REST's ``multiValueHeaders`` keep repeated ones apart),
    method, path and query; 2.0 events carry cookies apart from the headers, and ``cookie``
    reads them. ``url`` is ``https://`` (API Gateway serves nothing else), the ``Host`` header
    (else ``requestContext.domainName``) and the path as received (stage included). A REST
    ``TOKEN`` event carries only the token and the method ARN: method and path come from the ARN
    and the URL is the API's default ``execute-api`` endpoint; it has no headers. ``raw`` is the
    event.
    """

    __slots__ = ("_event",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        super().__init__()
        self._event = event

    @property
    def _is_v2(self) -> bool:
        return self._event.get("version") == "2.0"

    @property
    def _arn(self) -> tuple[str, str, str, str] | None:
        return _arn_parts(self._event.get("methodArn"))

    @property
    def method(self) -> str:
        event = self._event
        if self._is_v2:
            method = _mapping(_mapping(event.get("requestContext")).get("http")).get("method")
        elif event.get("type") == "TOKEN":
            arn = self._arn
            method = arn[2] if arn is not None else None
        else:
            method = event.get("httpMethod")
        return method.upper() if isinstance(method, str) else "GET"

    @property
    def path(self) -> str:
        event = self._event
        if event.get("type") == "TOKEN":
            arn = self._arn
            return "/" + arn[3] if arn is not None else "/"
        path = event.get("rawPath") if self._is_v2 else event.get("path")
        return path if isinstance(path, str) and path else "/"

    @property
    def query_string(self) -> str:
        event = self._event
        if self._is_v2:
            query = event.get("rawQueryString")
            return query if isinstance(query, str) else ""
        several = event.get("multiValueQueryStringParameters")
        if isinstance(several, Mapping) and several:
            return urlencode(
                [
                    (name, value)
                    for name, values in several.items()
                    if isinstance(values, list)
                    for value in values
                ]
            )
        single = event.get("queryStringParameters")
        return urlencode(list(single.items())) if isinstance(single, Mapping) else ""

    @property
    def url(self) -> str:
        event = self._event
        if event.get("type") == "TOKEN":
            arn = self._arn
            if arn is None:
                return ""
            _, partition, _, region, _, api = (arn[0].split(":") + [""] * 6)[:6]
            domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
            return f"https://{api}.execute-api.{region}.{domain}/{arn[1]}/{arn[3]}"
        host = next(iter(self.header("host")), None) or _mapping(event.get("requestContext")).get(
            "domainName"
        )
        path = self.path if self._is_v2 else _mapping(event.get("requestContext")).get("path") or self.path
        query = self.query_string
        return f"https://{host or ''}{path}" + (f"?{query}" if query else "")

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._event

    def header(self, name: str) -> list[str]:
        wanted = name.lower()
        event = self._event
        if wanted == "cookie" and self._is_v2 and isinstance(event.get("cookies"), list):
            # Payload 2.0 moves the Cookie headers into a list of "name=value" strings.
            return ["; ".join(item for item in event["cookies"] if isinstance(item, str))]
        several = event.get("multiValueHeaders")
        if isinstance(several, Mapping):
            values = [
                item
                for key, value in several.items()
                if isinstance(key, str) and key.lower() == wanted and isinstance(value, list)
                for item in value
                if isinstance(item, str)
            ]
            if values:
                return values
        headers = _mapping(event.get("headers"))
        return [
            value
            for key, value in headers.items()
            if isinstance(key, str) and key.lower() == wanted and isinstance(value, str)
        ]


class IdentitySourceAuthenticator(BearerAuthenticator):
    """A ``BearerAuthenticator`` reading the token where API Gateway's authorizers find it.

    The identity source value, alone or after ``Bearer`` (what the JWT authorizer accepts): a
    ``TOKEN`` event's ``authorizationToken``, a 2.0 event's single identity source, else the
    ``Authorization`` header (several are a 400, as RFC 6750 requires).
    """

    def __init__(self, verifier: JWTVerifier) -> None:
        super().__init__(verifier)

    def token(self, request: RequestView) -> str | None:
        event = request.raw
        if not isinstance(event, Mapping):
            return None
        value: object
        if event.get("type") == "TOKEN":
            value = event.get("authorizationToken")
        elif event.get("version") == "2.0":
            sources = event.get("identitySource")
            value = sources[0] if isinstance(sources, list) and len(sources) == 1 else _authorization(request)
        else:
            value = _authorization(request)
            if value is None:
                value = event.get("authorizationToken")
        if not isinstance(value, str) or not value:
            return None
        return identity_source_token(value)


def _authorization(request: RequestView) -> str | None:
    """The ``Authorization`` header, whatever the letter case of its name; several are refused."""
    values = request.header("authorization")
    if len(values) > 1:
        raise InvalidRequestError("The request has more than one Authorization header")
    return values[0] if values else None


def _route_key(event: Mapping[str, Any]) -> str:
    if event.get("version") == "2.0":
        route = event.get("routeKey")
        return route if isinstance(route, str) else ""
    if event.get("type") == "TOKEN":
        # arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path...}
        arn = _arn_parts(event.get("methodArn"))
        return f"{arn[2]} /{arn[3]}" if arn is not None else ""
    method, resource = event.get("httpMethod"), event.get("resource")
    return f"{method} {resource}" if isinstance(method, str) and isinstance(resource, str) else ""


def _resource_arn(event: Mapping[str, Any], *, wildcard: bool) -> str:
    arn = event.get("routeArn") if event.get("version") == "2.0" else event.get("methodArn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return "*"  # Only ever used in a Deny: denying everything is the safe reading.
    if wildcard:
        api_and_stage = arn.split("/", 2)[:2]
        return "/".join(api_and_stage) + "/*"
    return arn


class _Authorizer:
    """The handler ``lambda_authorizer`` returns; a class so that its state is visible in tests."""

    def __init__(
        self,
        authenticator: Authenticator,
        routes: Mapping[str, RouteEntry] | None,
        simple_responses: bool,
        allow_all_methods: bool,
        context: ContextBuilder,
    ) -> None:
        if allow_all_methods and routes is not None:
            raise ConfigurationError(
                "allow_all_methods would let a cached allow for one route open routes needing other scopes"
            )
        self.authenticator = authenticator
        #: The verifier behind ``verifier=`` (``None`` for another authenticator).
        self.verifier = authenticator.verifier if isinstance(authenticator, BearerAuthenticator) else None
        self.routes = _requirements(routes) if routes is not None else None
        self.simple_responses = simple_responses
        self.allow_all_methods = allow_all_methods
        self.context = context

    def _requirements_for(self, route: str) -> tuple[Requirement, ...]:
        assert self.routes is not None
        path = route.partition(" ")[2]
        for key in (route, f"{_ANY} {path}" if path else None, _DEFAULT):
            if key is not None and key in self.routes:
                return self.routes[key]
        raise InsufficientScopeError("The route is not open to tokens")

    def authorize(self, event: Mapping[str, Any]) -> Claims:
        claims = self.authenticator.authenticate_sync(LambdaRequestView(event))
        if claims is None:
            raise MissingTokenError()
        if self.routes is not None:
            for requirement in self._requirements_for(_route_key(event)):
                requirement.enforce(claims)
        return claims

    def respond(self, event: Mapping[str, Any], claims: Claims | None) -> dict[str, Any]:
        allowed = claims is not None
        context: dict[str, Any] = {}
        if claims is not None:
            built = self.context(claims)
            context = {str(name): _context_value(value) for name, value in built.items() if value is not None}
        if event.get("version") == "2.0" and self.simple_responses:
            return {"isAuthorized": allowed, "context": context}
        statement = {
            "Action": "execute-api:Invoke",
            "Effect": "Allow" if allowed else "Deny",
            "Resource": _resource_arn(event, wildcard=allowed and self.allow_all_methods),
        }
        principal = (claims.subject or claims.client_id) if claims is not None else None
        response: dict[str, Any] = {
            "principalId": principal or "anonymous",
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        }
        if context:
            response["context"] = context
        return response

    def __call__(self, event: Any, lambda_context: Any = None) -> dict[str, Any]:
        claims: Claims | None = None
        route = "?"
        try:
            if not isinstance(event, Mapping):
                raise InvalidRequestError("The authorizer event is not an object")
            route = _route_key(event) or "?"
            claims = self.authorize(event)
            return self.respond(event, claims)
        except TemporarilyUnavailableError as error:
            # Not a deny: see the module docstring. The gateway answers AUTHORIZER_FAILURE, uncached.
            logger.warning(
                "jwt_middleware: lambda authorizer cannot decide %r now (%s, %s); raising",
                route,
                type(error).__name__,
                error.code,
            )
            raise
        except JWTMiddlewareError as error:
            logger.info("jwt_middleware: lambda authorizer denied %r: %s", route, type(error).__name__)
        except Exception as error:
            logger.error(
                "jwt_middleware: lambda authorizer failed on %r with %s; denied", route, type(error).__name__
            )
        try:
            return self.respond(event if isinstance(event, Mapping) else {}, None)
        except Exception:  # pragma: no cover - respond(None) builds literals only
            return {"isAuthorized": False}


def lambda_authorizer(
    verifier: JWTVerifier | None = None,
    *,
    authenticator: Authenticator | None = None,
    routes: Mapping[str, RouteEntry] | None = None,
    simple_responses: bool = True,
    allow_all_methods: bool = False,
    context: ContextBuilder = default_context,
) -> LambdaHandler:
    """A Lambda authorizer handler that verifies with ``verifier`` (see the module docstring).

    ``authenticator`` replaces ``verifier`` (exactly one of them) with any ``Authenticator``,
    given each event as a ``LambdaRequestView``; returning ``None`` (no credentials) denies.

    ``routes`` maps route keys to the scopes they accept (any one), or to a dict of scopes, roles,
    permissions and groups (see the module docstring); ``None`` accepts any valid token on every
    route. ``simple_responses`` answers HTTP API 2.0 events with
    ``{"isAuthorized", "context"}`` (enable simple responses on the authorizer) instead of a
    policy. Policies allow or deny exactly the invoked method or route ARN; ``allow_all_methods``
    (only without ``routes``) allows ``{api}/{stage}/*`` instead, so that a cached result is right
    for every method, which holds only when every method accepts the same tokens. ``context(claims)``
    chooses what the integration receives (default: ``default_context``).
    """
    chosen = authenticator_from(
        "lambda_authorizer",
        verifier=verifier,
        authenticator=authenticator,
        bearer=IdentitySourceAuthenticator,
    )
    return _Authorizer(chosen, routes, simple_responses, allow_all_methods, context)
