"""``SignIn`` for Flask: a blueprint with the four routes, and the writer of the session cookies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.request_view import WSGIRequestView
from jwt_middleware.signin.session import login_redirect, pending_for

if TYPE_CHECKING:
    from jwt_middleware.signin.core import SignIn, SignInResponse

__all__ = ["init_app"]


def _response(answer: SignInResponse) -> Any:
    from flask import Response

    response = Response(answer.body, status=answer.status)
    for name, value in answer.headers:
        if name.lower() == "content-type":
            response.headers["Content-Type"] = value
        else:
            response.headers.add(name, value)
    return response


def init_app(signin: SignIn, app: Any) -> None:
    """Register the ``jwt_signin`` blueprint at ``signin.prefix`` and an ``after_request`` hook that
    adds pending session cookies (and sends refused navigations to sign in)."""
    from flask import Blueprint, request

    blueprint = Blueprint("jwt_signin", __name__)

    def answer(route: Any) -> Any:
        try:
            return _response(route(WSGIRequestView(request.environ)))
        except JWTMiddlewareError as error:
            from jwt_middleware.signin.core import SignInResponse

            page = _response(SignInResponse.page(error.status_code, "Sign-in unavailable", error.description))
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None:
                page.headers["Retry-After"] = str(retry_after)
            return page

    blueprint.add_url_rule(signin.login_path, "login", lambda: answer(signin.login_sync), methods=["GET"])
    blueprint.add_url_rule(
        signin.callback_path, "callback", lambda: answer(signin.callback_sync), methods=["GET"]
    )
    blueprint.add_url_rule(
        signin.logout_path, "logout", lambda: answer(signin.logout_sync), methods=["GET", "POST"]
    )
    blueprint.add_url_rule(
        signin.refresh_path, "refresh", lambda: answer(signin.refresh_route_sync), methods=["POST"]
    )
    app.register_blueprint(blueprint)

    def write_session_cookies(response: Any) -> Any:
        pending = pending_for(request.environ)
        if pending is not None:
            for cookie in pending.cookies:
                response.headers.add("Set-Cookie", cookie)
        view = WSGIRequestView(request.environ)
        if response.status_code == 401 and signin.redirect_navigations:
            redirect = login_redirect(signin.prefix, view.method, view.path, view.query_string, view.header)
            if redirect is not None:
                response.status_code = 303
                response.headers["Location"] = redirect
                response.headers.pop("WWW-Authenticate", None)
        return response

    app.after_request(write_session_cookies)
