"""API Gateway Lambda authorizers: one handler for HTTP APIs and REST APIs, answering as AWS documents.

``lambda_authorizer(verifier, routes=...)`` returns a Lambda handler. Build it at module level,
so the verifier (and the JWKS cache inside it) lives as long as the execution environment and a
warm invocation verifies without fetching::

    verifier = JWTVerifier.cognito(user_pool_id="eu-west-1_AbC123", client_id="...", token_use="access")
    handler = lambda_authorizer(verifier, routes={"GET /orders": ["orders/read"]})

It reads the event shapes AWS documents for Lambda authorizers (and ``sam local generate-event``
produces): REST API ``TOKEN`` events (``authorizationToken``, ``methodArn``), REST API
``REQUEST`` events (headers, query, ``methodArn``), and HTTP API events in payload format 1.0
(``"version": "1.0"``, REST's shape) and 2.0 (``routeArn``, ``identitySource`` as a list).

What API Gateway answers, and so what the handler returns or raises:

* A missing, malformed or invalid token (expired, bad signature, wrong issuer...): on a REST API
  the handler raises ``Unauthorized``, whose message is exactly ``Unauthorized``, and API Gateway
  answers 401, so clients refresh their token. HTTP APIs have no such contract: a simple response
  ``{"isAuthorized": false}`` or a ``Deny`` is a 403, and a raised error a 500; the handler denies
  (403). There API Gateway itself answers 401, without invoking the function, when an identity
  source is missing from the request.
* A valid token: the handler answers with the decision for every route at once. API Gateway
  caches an authorizer's answer per identity source (the token) for the authorizer's TTL
  (300 s by default on REST APIs) and applies a cached policy to every later method and path,
  so the policy allows exactly the routes whose requirements the token meets and denies the
  others (``jwt_middleware.aws.route_policy``); without ``routes``, it allows the API stage.
  A route the token does not meet is then a 403 (an explicit or implicit deny).
* A server-side failure (no signing keys, a ``checks=`` rule or ``custom_check`` that crashed):
  the handler re-raises the ``TemporarilyUnavailableError``. A deny would blame the token and be
  cached for the TTL; an error is never cached, and API Gateway answers it with its
  ``AUTHORIZER_FAILURE`` gateway response (500; a REST API can set it to 503 with
  ``Retry-After``). Its message is the fixed description, never token content.
* A malformed event or a bug of the handler (a ``context`` builder that raises): a deny, logged.

Routes map to requirements: a list of scopes (any one of them, like a JWT authorizer's
``authorizationScopes``; an empty list needs only a valid token) or a dict
``{"scopes": [...], "roles": [...], "permissions": [...], "groups": [...]}``, every listed kind
required; ``scopes`` keep the any-one rule, the others need all their names unless
``"any_role"``/``"any_permission"``/``"any_group"`` is true, as ``require_roles`` and its
siblings do. Keys are API Gateway route keys (``"GET /orders/{id}"``, ``"ANY /{proxy+}"``,
``"$default"``), matched against the request in the method ARN the way API Gateway picks a
route (``jwt_middleware.aws.routes``), so a ``TOKEN`` event's concrete path finds its templated
route. With ``routes``, a request no route matches is denied. List every route of the API that
uses the authorizer: the cached policy knows only the table.

HTTP API simple responses carry no policy: API Gateway applies a cached ``isAuthorized`` to every
route. When routes differ in what they require, add ``$context.routeKey`` to the authorizer's
identity sources (the handler warns once when an event shows it missing), or set its TTL to 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlencode

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from
from jwt_middleware.aws.apigateway import identity_source_token
from jwt_middleware.aws.gateway_claims import render_claim
from jwt_middleware.aws.identity_sources import DEFAULT_IDENTITY_SOURCES, IdentitySources
from jwt_middleware.aws.partitions import partition_of
from jwt_middleware.aws.route_policy import PolicyStatements, RouteTable
from jwt_middleware.aws.routes import MethodArn, parse_method_arn
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
from jwt_middleware.request_view import RequestView
from jwt_middleware.requirements import Requirement, grants_requirement
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "ContextBuilder",
    "IdentitySourceAuthenticator",
    "LambdaHandler",
    "LambdaRequestView",
    "RouteEntry",
    "Unauthorized",
    "UsageKeyBuilder",
    "default_context",
    "lambda_authorizer",
]

logger = logging.getLogger("jwt_middleware")

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]
#: A route's requirement: its scopes (any one), or a dict of kinds (see the module docstring).
RouteEntry = Iterable[str] | Mapping[str, Any]
#: Builds the ``context`` passed to the integration from the verified claims.
ContextBuilder = Callable[[Claims], Mapping[str, Any]]
#: The usage plan API key for the verified claims (``None``: none), sent as ``usageIdentifierKey``.
UsageKeyBuilder = Callable[[Claims], str | None]

#: The event shapes: REST ``TOKEN``, REST ``REQUEST``, HTTP API payload 1.0 and 2.0, or none of them.
EventKind = Literal["token", "request", "http-1.0", "http-2.0", "unknown"]


class Unauthorized(JWTMiddlewareException):
    """Raised for a REST API request without a valid token: API Gateway then answers 401.

    AWS's contract for Lambda authorizers: a function that fails with the error message exactly
    ``Unauthorized`` gets the request a 401 (the ``UNAUTHORIZED`` gateway response); any other
    error is a 500. ``str()`` is that message and nothing else; ``code`` is the reason code of the
    refusal (``jwt_middleware.reasons``), for logs and metrics.
    """

    status_code: Final = 401

    def __init__(self, code: str) -> None:
        super().__init__("Unauthorized")
        self.code = code

    def __str__(self) -> str:
        return "Unauthorized"


def default_context(claims: Claims) -> dict[str, Any]:
    """``sub``, ``iss``, the client, the user name, ``token_use``, scopes, groups, roles, permissions.

    Scopes are one space-separated string, as in the token; groups, roles and permissions are
    sorted lists, which a payload 2.0 context keeps as arrays and a REST (1.0) context renders as
    the JWT authorizer renders arrays (``[a b]``).
    """
    values: dict[str, Any] = {
        "sub": claims.subject,
        "iss": claims.issuer,
        "client_id": claims.client_id,
        "username": claims.username,
        "token_use": claims.token_use,
        "scope": " ".join(sorted(claims.scopes)) if claims.scopes else None,
        "groups": sorted(claims.groups) if claims.groups else None,
        "roles": sorted(claims.roles) if claims.roles else None,
        "permissions": sorted(claims.permissions) if claims.permissions else None,
    }
    return {name: value for name, value in values.items() if value is not None}


def _flat_value(value: Any) -> str | int | float | bool:
    """A REST (payload 1.0) context value: strings, numbers and booleans only, as AWS requires.

    Anything else is made JSON first (a set becomes a sorted array, so the text is the same on
    every call) and then rendered as the JWT authorizer renders claims.
    """
    if isinstance(value, str | int | float | bool):
        return value
    return render_claim(_json_value(value))


def _json_value(value: Any) -> Any:
    """A payload 2.0 context value: JSON as it is (arrays, objects); sets become sorted arrays."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_json_value(item) for item in value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return str(value)


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


def _meets(requirements: object, claims: Claims) -> bool:
    """Whether ``claims`` meet every requirement of a route (a route's ``RouteTable`` requirement)."""
    assert isinstance(requirements, tuple)
    try:
        for requirement in requirements:
            requirement.enforce(claims)
    except InsufficientScopeError:
        return False
    return True


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def event_kind(event: Mapping[str, Any]) -> EventKind:
    """Which of the four authorizer event shapes ``event`` has (``"unknown"``: none, a deny)."""
    if event.get("type") == "TOKEN":
        return "token"
    version = event.get("version")
    if version == "2.0":
        return "http-2.0"
    if version == "1.0":
        return "http-1.0"
    return "request" if event.get("type") == "REQUEST" else "unknown"


def _event_arn(event: Mapping[str, Any]) -> MethodArn | None:
    key = "routeArn" if event_kind(event) == "http-2.0" else "methodArn"
    return parse_method_arn(event.get(key))


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
    def method(self) -> str:
        event = self._event
        if self._is_v2:
            method = _mapping(_mapping(event.get("requestContext")).get("http")).get("method")
        elif event.get("type") == "TOKEN":
            arn = _event_arn(event)
            method = arn.method if arn is not None else None
        else:
            method = event.get("httpMethod")
        return method.upper() if isinstance(method, str) else "GET"

    @property
    def path(self) -> str:
        event = self._event
        if event.get("type") == "TOKEN":
            arn = _event_arn(event)
            return "/" + "/".join(arn.segments) if arn is not None else "/"
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
            arn = _event_arn(event)
            if arn is None:
                return ""
            try:
                domain = partition_of(arn.region).dns_suffix
            except ConfigurationError:  # a region no partition has: no URL can be right, this one is plain
                domain = "amazonaws.com"
            return f"https://{arn.api}.execute-api.{arn.region}.{domain}/{arn.stage}/{'/'.join(arn.segments)}"
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

    A ``TOKEN`` event's token is its ``authorizationToken`` (the value of the authorizer's one
    header source). Other events are read at the token source of ``identity_sources``
    (``jwt_middleware.aws.identity_sources``; default: the ``Authorization`` header): a header
    or a query-string parameter, given once (twice is a 400, as RFC 6750 requires). The value is
    the token alone or after ``Bearer``, what the JWT authorizer itself accepts.
    """

    __slots__ = ("identity_sources",)

    def __init__(
        self, verifier: JWTVerifier, identity_sources: str | Iterable[str] = DEFAULT_IDENTITY_SOURCES
    ) -> None:
        super().__init__(verifier)
        #: The authorizer's identity sources, as configured on API Gateway.
        self.identity_sources = IdentitySources.parse(identity_sources)

    def token(self, request: RequestView) -> str | None:
        event = request.raw
        if not isinstance(event, Mapping):
            return None
        value: object
        if event.get("type") == "TOKEN":
            value = event.get("authorizationToken")
        else:
            source = self.identity_sources.token_source
            if source.kind == "header":
                values = request.header(source.name)
            else:
                values = parse_qs(request.query_string, keep_blank_values=True).get(source.name, [])
            if len(values) > 1:
                raise InvalidRequestError("The request carries its token more than once")
            value = values[0] if values else None
        if not isinstance(value, str) or not value:
            return None
        return identity_source_token(value)


class _Authorizer:
    """The handler ``lambda_authorizer`` returns; a class so that its state is visible in tests."""

    def __init__(
        self,
        authenticator: Authenticator,
        routes: Mapping[str, RouteEntry] | None,
        simple_responses: bool,
        context: ContextBuilder,
        usage_identifier_key: UsageKeyBuilder | None,
    ) -> None:
        self.authenticator = authenticator
        #: The verifier behind ``verifier=`` (``None`` for another authenticator).
        self.verifier = authenticator.verifier if isinstance(authenticator, BearerAuthenticator) else None
        self.routes = (
            RouteTable((route, _route_requirements(route, entry)) for route, entry in routes.items())
            if routes is not None
            else None
        )
        self.simple_responses = simple_responses
        self.context = context
        self.usage_identifier_key = usage_identifier_key
        self._route_key_warned = False

    # -- answers ------------------------------------------------------------------------------------

    def _policy(
        self,
        kind: EventKind,
        principal: str,
        statements: PolicyStatements,
        context: Mapping[str, Any],
        usage_key: str | None,
    ) -> dict[str, Any]:
        listed = [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": list(resources)}
            for effect, resources in (("Allow", statements.allow), ("Deny", statements.deny))
            if resources
        ]
        response: dict[str, Any] = {
            "principalId": principal,
            "policyDocument": {"Version": "2012-10-17", "Statement": listed},
        }
        if context:
            response["context"] = context
        if usage_key is not None and kind in ("token", "request"):
            response["usageIdentifierKey"] = usage_key
        return response

    def refuse(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The answer for a request without a valid token where no 401 can be asked for."""
        kind = event_kind(event)
        if kind == "http-2.0" and self.simple_responses:
            return {"isAuthorized": False, "context": {}}
        arn = _event_arn(event)
        everything = PolicyStatements((), ((arn.prefix if arn is not None else "") + "*",))
        return self._policy(kind, "anonymous", everything, {}, None)

    def _context(self, kind: EventKind, claims: Claims) -> dict[str, Any]:
        built = self.context(claims)
        convert = _json_value if kind == "http-2.0" else _flat_value
        return {str(name): convert(value) for name, value in built.items() if value is not None}

    def _usage_key(self, claims: Claims) -> str | None:
        if self.usage_identifier_key is None:
            return None
        key = self.usage_identifier_key(claims)
        if key is not None and not (isinstance(key, str) and key):
            raise TypeError("usage_identifier_key must return a non-empty string or None")
        return key

    def _decide(self, arn: MethodArn | None, claims: Claims) -> tuple[bool, PolicyStatements | None]:
        """Whether the invoked request is allowed, and the policy for every route (``None``: no ARN)."""
        if self.routes is None:
            if arn is None:
                return True, None
            return True, PolicyStatements((arn.prefix + "*",), ())
        if arn is None:
            raise InvalidRequestError("The authorizer event names no method ARN")
        index = self.routes.route_for(arn)
        allowed = index is not None and _meets(self.routes.requirements[index], claims)
        statements = self.routes.statements(arn.prefix, lambda requirements: _meets(requirements, claims))
        # Where IAM wildcards cannot say exactly what the table says, the invoked request itself
        # must still get its own verdict (see ``route_policy``): never more, and never less.
        if not allowed and statements.allows(arn.arn):
            statements = PolicyStatements(statements.allow, (*statements.deny, arn.arn))
        elif allowed and not statements.allows(arn.arn):
            if "*" in arn.arn or "?" in arn.arn:  # the path would be a wildcard of its own
                return False, PolicyStatements((), (arn.prefix + "*",))
            statements = PolicyStatements((arn.arn,), ())
        return allowed, statements

    def _warn_about_route_caching(self, event: Mapping[str, Any]) -> None:
        """Once: a simple response is cached across routes unless the route key is an identity source."""
        if self._route_key_warned or self.routes is None:
            return
        if len(set(self.routes.requirements)) < 2:
            return
        sources = event.get("identitySource")
        if isinstance(sources, list) and event.get("routeKey") in sources:
            return
        self._route_key_warned = True
        logger.warning(
            "jwt_middleware: lambda authorizer: routes require different grants but $context.routeKey is "
            "not an identity source; API Gateway applies a cached simple response to every route"
        )

    def allow(self, event: Mapping[str, Any], claims: Claims) -> dict[str, Any]:
        """The answer for a valid token: the decision for the invoked route and, cached, every other."""
        kind = event_kind(event)
        arn = _event_arn(event)
        context = self._context(kind, claims)
        if kind == "http-2.0" and self.simple_responses:
            self._warn_about_route_caching(event)
            allowed, _ = self._decide(arn, claims)
            return {"isAuthorized": allowed, "context": context}
        allowed, statements = self._decide(arn, claims)
        if statements is None:
            raise InvalidRequestError("The authorizer event names no method ARN")
        if not allowed:
            logger.info(
                "jwt_middleware: lambda authorizer denied %r: route not open to the token", _where(arn)
            )
        principal = claims.subject or claims.client_id or "anonymous"
        return self._policy(kind, principal, statements, context, self._usage_key(claims))

    def __call__(self, event: Any, lambda_context: Any = None) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            logger.error("jwt_middleware: lambda authorizer got an event that is not an object; denied")
            return {"isAuthorized": False, "context": {}}
        where = _where(_event_arn(event))
        try:
            claims = self.authenticator.authenticate_sync(LambdaRequestView(event))
            if claims is None:
                raise MissingTokenError()
        except TemporarilyUnavailableError as error:
            # Not a deny: see the module docstring. The gateway answers AUTHORIZER_FAILURE, uncached.
            logger.warning(
                "jwt_middleware: lambda authorizer cannot decide %r now (%s, %s); raising",
                where,
                type(error).__name__,
                error.code,
            )
            raise
        except JWTMiddlewareError as error:
            logger.info("jwt_middleware: lambda authorizer refused %r: %s", where, type(error).__name__)
            if error.status_code in (400, 401) and event_kind(event) in ("token", "request"):
                raise Unauthorized(error.code) from None
            return self._safe(self.refuse, event)
        except Exception as error:
            logger.error(
                "jwt_middleware: lambda authorizer failed on %r with %s; denied", where, type(error).__name__
            )
            return self._safe(self.refuse, event)
        try:
            return self.allow(event, claims)
        except Exception as error:
            logger.error(
                "jwt_middleware: lambda authorizer failed on %r with %s; denied", where, type(error).__name__
            )
            return self._safe(self.refuse, event)

    @staticmethod
    def _safe(
        answer: Callable[[Mapping[str, Any]], dict[str, Any]], event: Mapping[str, Any]
    ) -> dict[str, Any]:
        try:
            return answer(event)
        except Exception:  # pragma: no cover - refuse builds literals from a parsed ARN only
            return {"isAuthorized": False}


def _where(arn: MethodArn | None) -> str:
    """The request for a log line: method and path template-free (no query, no token)."""
    return arn.tail if arn is not None else "?"


def lambda_authorizer(
    verifier: JWTVerifier | None = None,
    *,
    authenticator: Authenticator | None = None,
    routes: Mapping[str, RouteEntry] | None = None,
    identity_sources: str | Iterable[str] = DEFAULT_IDENTITY_SOURCES,
    simple_responses: bool = True,
    context: ContextBuilder = default_context,
    usage_identifier_key: UsageKeyBuilder | None = None,
) -> LambdaHandler:
    """A Lambda authorizer handler that verifies with ``verifier`` (see the module docstring).

    ``authenticator`` replaces ``verifier`` (exactly one of them) with any ``Authenticator``,
    given each event as a ``LambdaRequestView``; returning ``None`` (no credentials) refuses.

    ``routes`` maps route keys to requirements (see the module docstring); ``None`` accepts any
    valid token on every route. ``identity_sources`` are the authorizer's, in API Gateway's
    syntax (``"$request.header.HeaderAuth1"``, ``"$request.querystring.token"``,
    ``"method.request.header.Auth"``, with ``"$context.routeKey"`` and the like beside them): the
    token is read from the first header or query-string one; default: the ``Authorization``
    header. ``simple_responses`` answers HTTP API 2.0 events with ``{"isAuthorized", "context"}``
    (enable simple responses on the authorizer) instead of a policy. ``context(claims)`` chooses
    what the integration receives (default: ``default_context``): REST and payload 1.0 contexts
    hold strings, numbers and booleans only, so other values are rendered as the JWT authorizer
    renders claims; payload 2.0 contexts keep arrays and objects. ``usage_identifier_key(claims)``
    returns the usage plan API key of the caller (API key source ``AUTHORIZER``), sent as the
    response's ``usageIdentifierKey`` on REST APIs (HTTP APIs have no usage plans).
    """
    chosen = authenticator_from(
        "lambda_authorizer",
        verifier=verifier,
        authenticator=authenticator,
        bearer=lambda given: IdentitySourceAuthenticator(given, identity_sources),
    )
    sources = IdentitySources.parse(identity_sources)
    if authenticator is not None and sources != IdentitySources.parse(DEFAULT_IDENTITY_SOURCES):
        raise ConfigurationError(
            "identity_sources configure verifier=; an authenticator reads the event itself"
        )
    return _Authorizer(chosen, routes, simple_responses, context, usage_identifier_key)
