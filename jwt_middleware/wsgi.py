"""``WSGIJWTMiddleware``: the ASGI middleware's behaviour for WSGI apps (Flask, Django, Bottle...).

Same extraction, same responses, same options; verification runs through the verifier's sync
driver, which shares the JWKS cache state with any async user of the same verifier and is safe
under threaded servers (one fetch serves every waiting thread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware.challenge import error_response
from jwt_middleware.claims import Claims
from jwt_middleware.errors import InvalidTokenError, JWTMiddlewareError
from jwt_middleware.recent import RecentTokens
from jwt_middleware.request_auth import SKIP, RequestPolicy, environ_headers
from jwt_middleware.verifier import JWTVerifier

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

__all__ = ["CLAIMS_KEY", "REALM_KEY", "WSGIErrorHandler", "WSGIJWTMiddleware", "WSGIVerifierSelector"]

#: Where the verified claims live in the WSGI environ (``None`` for an anonymous request).
CLAIMS_KEY: Final = "jwt_middleware.claims"
REALM_KEY: Final = "jwt_middleware.realm"

WSGIVerifierSelector = Callable[["WSGIEnvironment"], JWTVerifier | None]
WSGIErrorHandler = Callable[["WSGIEnvironment", JWTMiddlewareError], "WSGIApplication"]


def status_line(status_code: int) -> str:
    return f"{status_code} {HTTPStatus(status_code).phrase}"


class WSGIJWTMiddleware:
    """Verify the bearer token of every request before the WSGI app sees it.

    Options mirror ``JWTAuthMiddleware``. ``on_error(environ, error)`` may return a WSGI app (a
    Werkzeug or Django response object works) to answer failures your own way.
    """

    def __init__(
        self,
        app: WSGIApplication,
        verifier: JWTVerifier | None = None,
        *,
        verifier_for: WSGIVerifierSelector | None = None,
        realm: str = "api",
        exclude_paths: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        optional: bool = False,
        query_parameter: str | None = None,
        cookie: str | None = None,
        header: str | None = None,
        on_error: WSGIErrorHandler | None = None,
    ) -> None:
        if (verifier is None) == (verifier_for is None):
            raise TypeError("WSGIJWTMiddleware needs exactly one of verifier or verifier_for")
        self.app = app
        self.verifier = verifier
        self.verifier_for = verifier_for
        self.policy = RequestPolicy(
            realm=realm,
            exclude_paths=exclude_paths,
            exclude_prefixes=exclude_prefixes,
            optional=optional,
            query_parameter=query_parameter,
            cookie=cookie,
            header=header,
        )
        self.on_error = on_error
        # A repeated Authorization value skips extraction (see jwt_middleware.recent).
        self._recent: RecentTokens[str, None] | None = RecentTokens.for_middleware(verifier, self.policy)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        recalled = None
        recent = self._recent
        if recent is not None:
            header_value = environ.get("HTTP_AUTHORIZATION")
            if header_value is not None and not (
                self.policy.has_exclusions and self.policy.is_excluded(environ.get("PATH_INFO", "") or "/")
            ):
                recalled = recent.recall(header_value)
        if recalled is not None:
            environ[CLAIMS_KEY] = recalled[0].claims
            environ[REALM_KEY] = self.policy.realm
            return self.app(environ, start_response)
        try:
            claims = self._authenticate(environ)
        except JWTMiddlewareError as error:
            if self.on_error is not None:
                return self.on_error(environ, error)(environ, start_response)
            response = error_response(error, self.policy.realm)
            start_response(status_line(response.status_code), list(response.headers))
            return [response.body]
        environ[CLAIMS_KEY] = claims
        environ[REALM_KEY] = self.policy.realm
        return self.app(environ, start_response)

    def _authenticate(self, environ: WSGIEnvironment) -> Claims | None:
        token = self.policy.token_from(
            environ.get("PATH_INFO", "") or "/",
            environ_headers(environ),
            lambda: str(environ.get("QUERY_STRING", "")),
        )
        if token is None or token is SKIP:
            return None
        verifier = self.verifier
        if verifier is None:
            assert self.verifier_for is not None
            verifier = self.verifier_for(environ)
            if verifier is None:
                raise InvalidTokenError("No token issuer is accepted for this request")
        claims = verifier.verify_sync(token)
        if self._recent is not None:
            header_value = environ.get("HTTP_AUTHORIZATION")
            if isinstance(header_value, str):
                self._recent.remember(header_value, verifier.cached_entry(token), None)
        return claims
