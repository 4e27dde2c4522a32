"""``SignIn`` for Django: URL patterns for the four routes, and the writer of the session cookies.

``signin.urls`` goes under the sign-in prefix (``path("auth/", include(signin.urls))`` for the
default ``/auth``). Add ``jwt_middleware.signin.django.SessionCookieMiddleware`` to
``MIDDLEWARE`` before the JWT middleware: it adds the cookies a refresh produced to the response
and sends refused browser navigations to sign in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.signin.session import login_redirect, pending_for

if TYPE_CHECKING:
    from jwt_middleware.signin.core import SignIn, SignInResponse

__all__ = ["SessionCookieMiddleware", "urlpatterns"]


def _response(answer: SignInResponse) -> Any:
    from django.http import HttpResponse

    content_type = next((value for name, value in answer.headers if name.lower() == "content-type"), None)
    response = HttpResponse(answer.body, status=answer.status, content_type=content_type)
    for name, value in answer.headers:
        if name == "Set-Cookie":
            continue
        if name.lower() != "content-type":
            response[name] = value
    for cookie in answer.cookies:
        _add_cookie(response, cookie)
    return response


def _add_cookie(response: Any, cookie: str) -> None:
    """Django keeps cookies in ``response.cookies``; a raw ``Set-Cookie`` header would be replaced."""
    from http.cookies import SimpleCookie

    parsed: SimpleCookie = SimpleCookie()
    parsed.load(cookie)
    for name, morsel in parsed.items():
        response.cookies[name] = morsel


def urlpatterns(signin: SignIn) -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    def view(route: Callable[[Any], SignInResponse]) -> Callable[..., Any]:
        def answer(request: Any) -> Any:
            from jwt_middleware.integrations.django import DjangoRequestView

            try:
                return _response(route(DjangoRequestView(request)))
            except JWTMiddlewareError as error:
                from jwt_middleware.signin.core import SignInResponse

                page = _response(
                    SignInResponse.page(error.status_code, "Sign-in unavailable", error.description)
                )
                retry_after = getattr(error, "retry_after", None)
                if retry_after is not None:
                    page["Retry-After"] = str(retry_after)
                return page

        # The sign-in routes apply their own cross-origin rule; Django's CSRF token is not theirs.
        exempt: Callable[..., Any] = csrf_exempt(answer)
        return exempt

    return [
        path("login", view(signin.login_sync), name="signin_login"),
        path("callback", view(signin.callback_sync), name="signin_callback"),
        path("logout", view(signin.logout_sync), name="signin_logout"),
        path("refresh", view(signin.refresh_route_sync), name="signin_refresh"),
    ]


class SessionCookieMiddleware:
    """Adds pending session cookies to the response; a refused navigation goes to sign in.

    Reads ``JWT_MIDDLEWARE["SIGNIN_PREFIX"]`` (default ``/auth``, ``None``: never redirect).
    """

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        from django.conf import settings

        self.get_response = get_response
        options = getattr(settings, "JWT_MIDDLEWARE", {}) or {}
        self.prefix: str | None = options.get("SIGNIN_PREFIX", "/auth")

    def __call__(self, request: Any) -> Any:
        from jwt_middleware.integrations.django import DjangoRequestView

        response = self.get_response(request)
        view = DjangoRequestView(request)
        pending = pending_for(view.raw)
        if pending is not None:
            for cookie in pending.cookies:
                _add_cookie(response, cookie)
        if response.status_code == 401 and self.prefix is not None:
            redirect = login_redirect(self.prefix, view.method, view.path, view.query_string, view.header)
            if redirect is not None:
                response.status_code = 303
                response["Location"] = redirect
                if "WWW-Authenticate" in response:
                    del response["WWW-Authenticate"]
        return response
