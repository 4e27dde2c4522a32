"""The browser sign-in reference app (Starlette): pages behind ``SignIn``'s session cookie.

``create_app(signin)`` mounts the sign-in routes and protects everything else with
``signin.authenticator``: ``/`` shows the signed-in user's claims and a form that posts to
``/orders`` (a state-changing request the cross-origin rule lets through from this origin only),
``/public`` needs no sign-in. A browser that is not signed in is sent to ``/auth/login``.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from jwt_middleware.asgi import CLAIMS_KEY
from jwt_middleware.signin import SignIn

__all__ = ["create_app"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orders</title></head><body>
<h1>Signed in as <span id="user">{user}</span></h1>
<pre id="claims">{claims}</pre>
<form method="post" action="/orders"><input type="hidden" name="item" value="keyboard">
<button id="order" type="submit">Order a keyboard</button></form>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>
</body></html>
"""


def create_app(signin: SignIn) -> Starlette:
    """The orders site, signed in through ``signin``."""

    async def home(request: Request) -> HTMLResponse:
        claims = request.scope[CLAIMS_KEY]
        shown = json.dumps(dict(claims), indent=2, sort_keys=True)
        return HTMLResponse(_PAGE.format(user=html.escape(claims.subject or ""), claims=html.escape(shown)))

    async def order(request: Request) -> HTMLResponse:
        # A urlencoded form, read without python-multipart.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        item = html.escape(form.get("item", [""])[0])
        who = html.escape(request.user.identity)
        return HTMLResponse(f'<!doctype html><p id="result">Order accepted: {item} for {who}</p>')

    async def public(request: Request) -> PlainTextResponse:
        return PlainTextResponse("anyone may read this")

    return Starlette(
        routes=[
            *signin.routes,
            Route("/", home),
            Route("/orders", order, methods=["POST"]),
            Route("/public", public),
        ],
        middleware=signin.middleware(exclude_paths=["/public"]),
    )
