"""Route guards for Starlette endpoints: ``@require_scopes``, ``@require_groups``, ``@require_roles``
and ``@require_permissions``.

Use them below ``JWTAuthMiddleware``, on function endpoints (sync or async), ``HTTPEndpoint``
methods and websocket endpoints. They answer like the middleware, with the challenges of its
authenticator: 401 with a bare challenge for an anonymous request (optional mode), 403
``insufficient_scope`` naming the scopes otherwise.
A guarded endpoint without the middleware in front fails loudly rather than open.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket

from jwt_middleware.asgi import CHALLENGES_KEY, CLAIMS_KEY, REALM_KEY
from jwt_middleware.challenge import error_response
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError
from jwt_middleware.requirements import (
    Requirement,
    dpop_requirement,
    groups_requirement,
    permissions_requirement,
    roles_requirement,
    scopes_requirement,
)

__all__ = ["require_dpop", "require_groups", "require_permissions", "require_roles", "require_scopes"]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
    for value in (*args, *kwargs.values()):
        if isinstance(value, HTTPConnection):
            return value
    raise ConfigurationError("a guarded endpoint must take the Request or WebSocket as an argument")


def _denial(connection: HTTPConnection, requirement: Requirement) -> JWTMiddlewareError | None:
    if CLAIMS_KEY not in connection.scope:
        raise RuntimeError("JWTAuthMiddleware must be installed in front of guarded endpoints")
    try:
        requirement.enforce(connection.scope[CLAIMS_KEY])
    except JWTMiddlewareError as error:
        return error
    return None


def _response(connection: HTTPConnection, error: JWTMiddlewareError) -> Response:
    scope = connection.scope
    answer = error_response(error, scope.get(REALM_KEY, "api"), scope.get(CHALLENGES_KEY))
    return Response(answer.body, status_code=answer.status_code, headers=dict(answer.headers))


def _guard(requirement: Requirement) -> Callable[[Endpoint], Endpoint]:
    def decorate(endpoint: Endpoint) -> Endpoint:
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                connection = _connection(args, kwargs)
                error = _denial(connection, requirement)
                if error is None:
                    return await endpoint(*args, **kwargs)
                if isinstance(connection, WebSocket):
                    await connection.close(code=1008, reason=error.description)
                    return None
                return _response(connection, error)

            return cast(Endpoint, guarded_async)

        @functools.wraps(endpoint)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            connection = _connection(args, kwargs)
            error = _denial(connection, requirement)
            if error is None:
                return endpoint(*args, **kwargs)
            return _response(connection, error)

        return cast(Endpoint, guarded)

    return decorate


def require_scopes(*scopes: str, any_of: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: the token must carry all of ``scopes`` (one of them with ``any_of``)."""
    return _guard(scopes_requirement(scopes, any_of=any_of))


def require_dpop(endpoint: Endpoint) -> Endpoint:
    """Guard an endpoint: DPoP-bound tokens only (``@require_dpop``), whatever the verifier allows.

    A plain bearer token gets 401 ``invalid_token`` with a ``DPoP`` challenge (RFC 9449 7.1).
    """
    return _guard(dpop_requirement())(endpoint)


def require_groups(*groups: str, any_of: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: the token must be in all of ``groups`` (one of them with ``any_of``)."""
    return _guard(groups_requirement(groups, any_of=any_of))


def require_roles(*roles: str, any_of: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: the token must have all of ``roles`` (one of them with ``any_of``)."""
    return _guard(roles_requirement(roles, any_of=any_of))


def require_permissions(*permissions: str, any_of: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: the token must have all of ``permissions`` (one of them with ``any_of``)."""
    return _guard(permissions_requirement(permissions, any_of=any_of))
