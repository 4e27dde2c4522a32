"""``WSGIJWTMiddleware``: the ASGI middleware's behaviour for WSGI apps (Flask, Django, Bottle...).

Same authenticators, same responses, same options; authentication runs through
``authenticate_sync`` (for bearer tokens, the verifier's sync driver, which shares the JWKS cache
state with any async user of the same verifier and is safe under threaded servers: one fetch
serves every waiting thread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from, challenges_of
from jwt_middleware.challenge import ChallengeBuilder, bearer_challenges, error_response
from jwt_middleware.claims import Claims
from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.recent import RecentTokens
from jwt_middleware.request_auth import RequestPolicy
from jwt_middleware.request_view import RequestView, WSGIRequestView, wsgi_path
from jwt_middleware.resource_metadata import ProtectedResourceMetadata, with_resource_metadata
from jwt_middleware.verifier import JWTVerifier

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

__all__ = [
    "CHALLENGES_KEY",
    "CLAIMS_KEY",
    "REALM_KEY",
    "WSGIErrorHandler",
    "WSGIJWTMiddleware",
    "WSGIVerifierSelector",
]

#: Where the verified claims live in the WSGI environ (``None`` for an anonymous request).
CLAIMS_KEY: Final = "jwt_middleware.claims"
REALM_KEY: Final = "jwt_middleware.realm"
#: The authenticator's ``ChallengeBuilder``, when it is not the default ``Bearer`` one.
CHALLENGES_KEY: Final = "jwt_middleware.challenges"

WSGIVerifierSelector = Callable[["WSGIEnvironment"], JWTVerifier | None]
WSGIErrorHandler = Callable[["WSGIEnvironment", JWTMiddlewareError], "WSGIApplication"]


def status_line(status_code: int) -> str:
    return f"{status_code} {HTTPStatus(status_code).phrase}"


class WSGIJWTMiddleware:
    """Authenticate every request before the WSGI app sees it.

    Options mirror ``JWTAuthMiddleware`` (``verifier``, ``verifier_for(environ)`` or
    ``authenticator``). ``on_error(environ, error)`` may return a WSGI app (a Werkzeug or Django
    response object works) to answer failures your own way. ``resource_metadata`` (RFC 9728) is
    served at its well-known paths and named in 401 challenges.
    """

    def __init__(
        self,
        app: WSGIApplication,
        verifier: JWTVerifier | None = None,
        *,
        authenticator: Authenticator | None = None,
        verifier_for: WSGIVerifierSelector | None = None,
        realm: str = "api",
        exclude_paths: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        optional: bool = False,
        query_parameter: str | None = None,
        cookie: str | None = None,
        header: str | None = None,
        trusted_origins: Iterable[str] = (),
        on_error: WSGIErrorHandler | None = None,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        self.authenticator = authenticator_from(
            "WSGIJWTMiddleware",
            verifier=verifier,
            authenticator=authenticator,
            verifier_for=_per_environ(verifier_for) if verifier_for is not None else None,
            per_request=True,
            query_parameter=query_parameter,
            cookie=cookie,
            header=header,
            trusted_origins=trusted_origins,
        )
        self.app = app
        self.verifier = verifier
        self.verifier_for = verifier_for
        self.policy = RequestPolicy(
            realm=realm, exclude_paths=exclude_paths, exclude_prefixes=exclude_prefixes, optional=optional
        )
        self.on_error = on_error
        challenges = challenges_of(self.authenticator)
        bearer_verifier = (
            self.authenticator.verifier if isinstance(self.authenticator, BearerAuthenticator) else None
        )
        #: The RFC 9728 document this middleware serves, filled from the verifier (``None``: none).
        self.resource_metadata = (
            resource_metadata.for_verifier(bearer_verifier) if resource_metadata is not None else None
        )
        if self.resource_metadata is not None:
            challenges = with_resource_metadata(challenges, self.resource_metadata)
        self._challenges: ChallengeBuilder | None = None if challenges is bearer_challenges else challenges
        # A repeated Authorization value skips extraction (see jwt_middleware.recent).
        self._recent: RecentTokens[str, None] | None = RecentTokens.for_authenticator(self.authenticator)
        self._bearer = self.authenticator if isinstance(self.authenticator, BearerAuthenticator) else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        metadata = self.resource_metadata
        if metadata is not None:
            method = environ.get("REQUEST_METHOD", "GET")
            if metadata.serves(method, wsgi_path(environ)):
                answer = metadata.response(method)
                start_response(status_line(answer.status_code), list(answer.headers))
                return [answer.body]
        recalled = None
        recent = self._recent
        if recent is not None:
            header_value = environ.get("HTTP_AUTHORIZATION")
            if header_value is not None and not (
                self.policy.has_exclusions and self.policy.is_excluded(wsgi_path(environ))
            ):
                recalled = recent.recall(header_value)
        if self._challenges is not None:
            environ[CHALLENGES_KEY] = self._challenges
        if recalled is not None:
            environ[CLAIMS_KEY] = recalled[0].claims
            environ[REALM_KEY] = self.policy.realm
            return self.app(environ, start_response)
        try:
            claims = self._authenticate(environ)
        except JWTMiddlewareError as error:
            if self.on_error is not None:
                return self.on_error(environ, error)(environ, start_response)
            response = error_response(error, self.policy.realm, self._challenges)
            start_response(status_line(response.status_code), list(response.headers))
            return [response.body]
        environ[CLAIMS_KEY] = claims
        environ[REALM_KEY] = self.policy.realm
        return self.app(environ, start_response)

    def _authenticate(self, environ: WSGIEnvironment) -> Claims | None:
        if self.policy.has_exclusions and self.policy.is_excluded(wsgi_path(environ)):
            return None
        claims = self.authenticator.authenticate_sync(WSGIRequestView(environ))
        if claims is None:
            self.policy.admit_anonymous()
            return None
        if self._recent is not None and self._bearer is not None:
            header_value = environ.get("HTTP_AUTHORIZATION")
            if isinstance(header_value, str):
                self._recent.remember(header_value, self._bearer.cached_entry(header_value), None)
        return claims


def _per_environ(verifier_for: WSGIVerifierSelector) -> Callable[[RequestView], JWTVerifier | None]:
    """``verifier_for(environ)`` as the ``BearerAuthenticator``'s choice of verifier per request."""

    def choose(request: RequestView) -> JWTVerifier | None:
        return verifier_for(request.raw)

    return choose
