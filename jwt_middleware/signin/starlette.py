"""``SignIn`` for Starlette and FastAPI: its routes, and the writer of the session cookies.

``SessionCookieMiddleware`` sits outside ``JWTAuthMiddleware``: it adds the cookies that
``signin.authenticator`` left in the scope (after a refresh, or cleared after a refused one) to
whatever response goes out, and turns a 401 for a browser navigation into a redirect to the
sign-in page, so that a person is sent to sign in while a script still gets its 401.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jwt_middleware.asgi import JWTAuthMiddleware
from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.request_view import ASGIRequestView
from jwt_middleware.signin.session import login_redirect, pending_for

if TYPE_CHECKING:
    from jwt_middleware.signin.core import SignIn, SignInResponse

__all__ = ["SessionCookieMiddleware", "middleware", "routes"]


def _response(answer: SignInResponse) -> Response:
    response = Response(answer.body, status_code=answer.status)
    for name, value in answer.headers:
        response.headers.append(name, value)
    return response


def routes(signin: SignIn) -> list[Route]:
    async def login(request: Request) -> Response:
        return await _answer(request, signin.login)

    async def callback(request: Request) -> Response:
        return await _answer(request, signin.callback)

    async def logout(request: Request) -> Response:
        return await _answer(request, signin.logout)

    async def refresh(request: Request) -> Response:
        return await _answer(request, signin.refresh_route)

    async def _answer(request: Request, route: Any) -> Response:
        try:
            answer = await route(ASGIRequestView(request.scope))
        except JWTMiddlewareError as error:
            return _error_page(error)
        return _response(answer)

    return [
        Route(signin.login_path, login, methods=["GET"], name="signin_login"),
        Route(signin.callback_path, callback, methods=["GET"], name="signin_callback"),
        Route(signin.logout_path, logout, methods=["GET", "POST"], name="signin_logout"),
        Route(signin.refresh_path, refresh, methods=["POST"], name="signin_refresh"),
    ]


def _error_page(error: JWTMiddlewareError) -> Response:
    from jwt_middleware.signin.core import SignInResponse

    answer = SignInResponse.page(error.status_code, "Sign-in unavailable", error.description)
    response = _response(answer)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class SessionCookieMiddleware:
    """Adds the pending session cookies to the response; redirects a refused navigation to sign in.

    ``prefix`` is the sign-in routes' prefix (``signin.prefix``); ``None`` never redirects.
    """

    def __init__(self, app: ASGIApp, *, prefix: str | None = None) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self._amend(scope, message)
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    def _amend(self, scope: Scope, message: Message) -> Message:
        pending = pending_for(scope)
        status = message["status"]
        view = ASGIRequestView(scope)
        redirect = None
        if status == 401 and self.prefix is not None:
            redirect = login_redirect(self.prefix, view.method, view.path, view.query_string, view.header)
        if pending is None and redirect is None:
            return message
        headers = list(message.get("headers", []))
        if pending is not None:
            headers.extend((b"set-cookie", cookie.encode("latin-1")) for cookie in pending.cookies)
        if redirect is not None:
            status = 303
            headers = [(name, value) for name, value in headers if name.lower() != b"www-authenticate"]
            headers.append((b"location", redirect.encode("latin-1")))
        return {**message, "status": status, "headers": headers}


def middleware(signin: SignIn, **options: Any) -> list[Middleware]:
    excluded = [*options.pop("exclude_prefixes", ()), signin.prefix]
    return [
        Middleware(SessionCookieMiddleware, prefix=signin.prefix if signin.redirect_navigations else None),
        Middleware(
            JWTAuthMiddleware,
            authenticator=signin.authenticator,
            verifiers=[signin.verifier, signin.id_token_verifier, *options.pop("verifiers", ())],
            exclude_prefixes=excluded,
            **options,
        ),
    ]
