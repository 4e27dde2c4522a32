"""The demo behind ``python3 dev.py demo``: a protected API against the built-in local issuer.

It starts ``LocalIssuer`` (a real OpenID provider on 127.0.0.1) and the FastAPI reference app
under uvicorn, then sends real HTTP requests and shows what happens: no token, a valid token, a
missing scope, an expired token, and a key rotation handled with exactly one JWKS fetch. Then a
browser sign-in: the sign-in reference site (``SignIn``) sends a browser to the issuer's sign-in
page and back, with the session in cookies. Every answer is checked, so the demo doubles as a
smoke test (exit status 1 if anything is off). Then it keeps serving and prints a URL to open in
a browser and curl lines to try, until Ctrl-C; ``--once`` exits instead.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import uvicorn

from integrations import signin_app
from integrations.fastapi_app import create_app
from jwt_middleware import JWTVerifier
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer

AUDIENCE = "orders-api"
#: Who may sign in at the local issuer's page, and what their tokens say.
USERS = {"alice": {"email": "alice@example.com"}, "bob": {"email": "bob@example.com"}}


class Console:
    """Just enough colour to make the story readable in a terminal, none when piped."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def title(self, text: str) -> None:
        print(f"\n{self._paint('1', text)}")

    def line(self, text: str = "") -> None:
        print(f"  {text}")

    def good(self, text: str) -> None:
        print(f"  {self._paint('32', '✔')} {text}")

    def bad(self, text: str) -> None:
        print(f"  {self._paint('31', '✘')} {text}")

    def dim(self, text: str) -> str:
        return self._paint("2", text)


def _listen(port: int, console: Console) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (0: any free port), or on a free port, saying so.

    The socket is handed to uvicorn as it is, so nothing can take the port in between.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.bind(("127.0.0.1", 0))
        console.line(
            f"port {port} is busy (another program is listening on it); "
            f"using port {listener.getsockname()[1]} instead"
        )
    listener.listen(128)
    return listener


@contextmanager
def _serving(app: object, listener: socket.socket) -> Iterator[str]:
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="demo-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def _short(token: str) -> str:
    return f"{token[:16]}…{token[-8:]}"


def _tour(console: Console, http: httpx2.Client, issuer: LocalIssuer) -> bool:
    """The five requests of the demo; true when every answer is the expected one."""
    ok = True

    def request(title: str, path: str, token: str | None, expected: int) -> httpx2.Response:
        nonlocal ok
        console.title(title)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        shown = f"Authorization: Bearer {_short(token)}" if token else "no Authorization header"
        console.line(console.dim(f"GET {path}  ({shown})"))
        response = http.get(path, headers=headers)
        verdict = f"{response.status_code} {response.reason_phrase}"
        (console.good if response.status_code == expected else console.bad)(verdict)
        ok = ok and response.status_code == expected
        if "www-authenticate" in response.headers:
            console.line(f"WWW-Authenticate: {response.headers['www-authenticate']}")
        console.line(f"body: {response.text}")
        return response

    console.line(f"keys loaded at startup: {issuer.jwks_requests} JWKS fetch")
    request("1. No token", "/orders", None, 401)
    request(
        "2. A valid token with orders:read", "/orders", issuer.mint(sub="alice", scope="orders:read"), 200
    )
    request("3. A valid token without orders:read", "/orders", issuer.mint(sub="bob", scope="profile"), 403)
    request("4. An expired token", "/orders", issuer.mint_expired(sub="alice", scope="orders:read"), 401)

    before = issuer.jwks_requests
    issuer.rotate()
    console.title("5. The provider rotates its signing key")
    console.line(f"new signing key {issuer.current_key.kid!r}; tokens now carry it")
    burst = [issuer.mint(sub=f"user-{index}", scope="orders:read") for index in range(20)]
    statuses = [
        http.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code for token in burst
    ]
    fetched = issuer.jwks_requests - before
    rotation_ok = statuses == [200] * len(burst) and fetched == 1
    (console.good if rotation_ok else console.bad)(
        f"{statuses.count(200)}/{len(burst)} requests with the new key answered 200; "
        f"JWKS fetched {fetched} time(s) for the rotation"
    )
    return ok and rotation_ok


def _browser_sign_in(console: Console, site_url: str) -> bool:
    """What a browser does: the site sends it to the issuer's page; it signs in as alice."""
    console.title("6. A browser signs in (authorization code + PKCE, session in cookies)")
    with httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"}) as browser:
        page = browser.get(site_url + "/")
        console.line(console.dim(f"GET {site_url}/  ->  {page.url.copy_with(query=None)}"))
        shown = page.status_code == 200 and 'name="username"' in page.text
        (console.good if shown else console.bad)("the site sent the browser to the issuer's sign-in page")
        form = dict(page.url.params.multi_items())  # the authorization request, carried by the page
        signed_in = browser.post(str(page.url.copy_with(query=None)), data={**form, "username": "alice"})
        ok = signed_in.status_code == 200 and '<span id="user">alice</span>' in signed_in.text
        cookies = ", ".join(sorted(browser.cookies.keys()))
        (console.good if ok else console.bad)(
            f"signed in as alice, back at {signed_in.url}; cookies: {cookies}"
        )
        return shown and ok


def _run(options: argparse.Namespace, console: Console) -> int:
    with LocalIssuer(audience=AUDIENCE, users=USERS) as issuer:
        verifier = JWTVerifier(issuer=issuer.issuer, audience=AUDIENCE)  # keys through OIDC discovery
        console.title("jwt_middleware demo")
        listener = _listen(options.port if options.port is not None else 0 if options.once else 8000, console)
        console.line(
            f"identity provider  {issuer.issuer}  (discovery, JWKS; a local stand-in for Cognito, Auth0...)"
        )
        signin = SignIn(
            issuer=issuer.issuer,
            client_id=issuer.default_client_id,
            verifier=JWTVerifier(issuer=issuer.issuer, audience=AUDIENCE),
            secure_cookies=False,  # plain http on loopback; production keeps the default
        )
        site_listener = _listen(0, console)
        with (
            _serving(create_app(verifier, swagger_client_id=issuer.default_client_id), listener) as base_url,
            _serving(signin_app.create_app(signin), site_listener) as site_url,
        ):
            console.line(f"orders API         {base_url}  (FastAPI + JWTBearer, under uvicorn)")
            console.line(f"orders site        {site_url}  (Starlette + SignIn, browser sign-in)")
            with httpx2.Client(base_url=base_url, timeout=10) as http:
                ok = _tour(console, http, issuer)
            ok = _browser_sign_in(console, site_url) and ok
            console.title(
                "Result: every answer as expected" if ok else "Result: something was NOT as expected"
            )
            if options.once or not ok:
                return 0 if ok else 1
            token = issuer.mint(sub="you", scope="orders:read", expires_in=3600)
            console.title("Try it yourself (Ctrl-C to stop)")
            console.line(f"curl -i {base_url}/orders")
            console.line(f"curl -i -H 'Authorization: Bearer {token}' {base_url}/orders")
            console.line(f"curl -i -H 'Authorization: Bearer {token}' {base_url}/me")
            console.line(f"Sign in with a browser: open {site_url}/ and sign in as alice or bob")
            console.line(f"Swagger UI with the Authorize button (code + PKCE): {base_url}/docs")
            sys.stdout.flush()
            while True:
                time.sleep(3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py demo", description=__doc__)
    parser.add_argument("--once", action="store_true", help="run the requests and exit (for tests and CI)")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port for the app on 127.0.0.1 (default 8000, or any free port with --once; "
        "a busy port is replaced by a free one)",
    )
    options = parser.parse_args(argv)
    console = Console(colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    try:
        return _run(options, console)
    except KeyboardInterrupt:
        # Ctrl-C is how the demo is meant to end, at any point: the context managers above have
        # stopped the app and the issuer on the way out.
        console.line("stopped")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
