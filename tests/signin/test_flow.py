"""``SignIn`` end to end over real HTTP: the reference app under uvicorn, the local issuer on loopback.

An ``httpx2`` client that follows redirects and keeps cookies plays the browser; the real
headless browser runs the same story in ``test_browser.py``.
"""

from __future__ import annotations

import concurrent.futures
import html
import json
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from integrations.signin_app import create_app
from jwt_middleware import b64
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import Fault, LocalIssuer
from tests.middleware.test_uvicorn import RunningServer


def sign_in(site: RunningServer, browser: httpx2.Client, path: str = "/") -> httpx2.Response:
    response = browser.get(site.url + path)
    assert response.status_code == 200, response.text
    return response


def expire_session(issuer: LocalIssuer, site: RunningServer, browser: httpx2.Client) -> None:
    """Sign in with a 2-second access token (whole seconds: 1 could expire before the callback
    verifies it) and wait until it has expired."""
    issuer.access_token_lifetime = 2
    sign_in(site, browser)
    issuer.access_token_lifetime = 300
    time.sleep(3.1)


# -- signing in -----------------------------------------------------------------------------------------


def test_a_navigation_signs_in_and_lands_on_the_page(site: RunningServer, browser: httpx2.Client) -> None:
    response = sign_in(site, browser, "/?tab=orders")
    assert str(response.url) == site.url + "/?tab=orders"
    assert '<span id="user">alice</span>' in response.text
    assert "alice@example.com" in response.text
    steps = [urlsplit(str(step.url)).path for step in response.history]
    assert steps == ["/", "/auth/login", "/authorize", "/auth/callback"]
    assert set(browser.cookies.keys()) >= {"jwt_session", "jwt_refresh", "jwt_csrf"}
    assert "jwt_login" not in browser.cookies


def test_session_cookie_attributes(site: RunningServer, browser: httpx2.Client) -> None:
    response = sign_in(site, browser)
    callback = next(step for step in response.history if step.url.path == "/auth/callback")
    cookies = callback.headers.get_list("set-cookie")
    session = next(cookie for cookie in cookies if cookie.startswith("jwt_session="))
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    assert "Path=/" in session
    csrf = next(cookie for cookie in cookies if cookie.startswith("jwt_csrf="))
    assert "HttpOnly" not in csrf


def test_secure_cookies_use_the_host_prefix(issuer: LocalIssuer) -> None:
    signin = SignIn(issuer=issuer.url, client_id="web", verifier=issuer.verifier())
    assert signin.cookie_names.session == "__Host-jwt_session"
    header = signin.cookies.set(signin.cookie_names.refresh, "r")
    assert header == "__Host-jwt_refresh=r; Path=/; Secure; HttpOnly; SameSite=Lax"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_next_stays_on_the_site(site: RunningServer, browser: httpx2.Client, target: str) -> None:
    response = browser.get(site.url + "/auth/login", params={"next": target})
    assert str(response.url) == site.url + "/"


def test_scripts_get_a_401_not_a_redirect(site: RunningServer) -> None:
    response = httpx2.get(site.url + "/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    navigation = httpx2.get(site.url + "/", headers={"Sec-Fetch-Mode": "navigate"})
    assert navigation.status_code == 303
    assert navigation.headers["location"] == "/auth/login?next=%2F"


def test_public_pages_need_no_sign_in(site: RunningServer) -> None:
    assert httpx2.get(site.url + "/public").status_code == 200


# -- the cross-origin rule ------------------------------------------------------------------------------


def test_same_origin_form_accepted_cross_origin_refused(site: RunningServer, browser: httpx2.Client) -> None:
    sign_in(site, browser)
    accepted = browser.post(site.url + "/orders", data={"item": "keyboard"}, headers={"Origin": site.url})
    assert accepted.status_code == 200
    assert "Order accepted: keyboard for alice" in accepted.text
    fetch_site = browser.post(
        site.url + "/orders",
        data={"item": "x"},
        headers={"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},
    )
    assert fetch_site.status_code == 403
    old_browser = browser.post(
        site.url + "/orders", data={"item": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert old_browser.status_code == 403


# -- refresh --------------------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_once_for_concurrent_requests(
    issuer: LocalIssuer, signin: SignIn, site: RunningServer, browser: httpx2.Client
) -> None:
    expire_session(issuer, site, browser)
    before = issuer.token_requests
    cookies = dict(browser.cookies.items())

    def visit(_: int) -> httpx2.Response:
        with httpx2.Client(cookies=cookies, timeout=20, headers={"Accept": "text/html"}) as client:
            return client.get(site.url + "/")

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(visit, range(32)))
    assert [response.status_code for response in responses] == [200] * 32
    assert issuer.token_requests - before == 1
    new_sessions = {response.cookies.get("jwt_session") for response in responses}
    assert len(new_sessions) == 1
    assert None not in new_sessions
    # The rotated refresh token is not presented again: the session is alive at the issuer.
    assert not issuer.is_revoked(next(iter({response.cookies["jwt_refresh"] for response in responses})))


def test_a_refused_refresh_clears_the_session(
    issuer: LocalIssuer, site: RunningServer, browser: httpx2.Client
) -> None:
    expire_session(issuer, site, browser)
    httpx2.post(
        issuer.revocation_endpoint, data={"token": browser.cookies["jwt_refresh"], "client_id": "web"}
    )
    navigation = browser.get(site.url + "/orders?page=2", follow_redirects=False)
    assert navigation.status_code == 303
    assert navigation.headers["location"] == "/auth/login?next=%2Forders%3Fpage%3D2"
    cleared = [cookie for cookie in navigation.headers.get_list("set-cookie") if "Max-Age=0" in cookie]
    assert any(cookie.startswith("jwt_session=") for cookie in cleared)
    assert any(cookie.startswith("jwt_refresh=") for cookie in cleared)
    assert "jwt_session" not in browser.cookies
    script = browser.get(site.url + "/", headers={"Accept": "application/json"})
    assert script.status_code == 401
    # Following the redirect signs in again (auto-approved here) and lands where the person was.
    assert str(browser.get(site.url + navigation.headers["location"]).url) == site.url + "/orders?page=2"


def test_the_refresh_route(issuer: LocalIssuer, site: RunningServer, browser: httpx2.Client) -> None:
    sign_in(site, browser)
    old = browser.cookies["jwt_refresh"]
    assert (
        browser.post(site.url + "/auth/refresh", headers={"Origin": "https://evil.example"}).status_code
        == 403
    )
    response = browser.post(site.url + "/auth/refresh", headers={"Origin": site.url})
    assert response.status_code == 204
    assert browser.cookies["jwt_refresh"] != old
    browser.cookies.clear()
    assert httpx2.post(site.url + "/auth/refresh").status_code == 401


# -- logout ---------------------------------------------------------------------------------------------


def test_logout_clears_cookies_revokes_and_ends_the_provider_session(
    issuer: LocalIssuer, site: RunningServer, browser: httpx2.Client
) -> None:
    sign_in(site, browser)
    refresh_token = browser.cookies["jwt_refresh"]
    refused = browser.post(site.url + "/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert not issuer.is_revoked(refresh_token)
    response = browser.post(site.url + "/auth/logout", headers={"Origin": site.url}, follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == issuer.end_session_endpoint
    assert parse_qs(location.query) == {"client_id": ["web"], "post_logout_redirect_uri": [site.url + "/"]}
    assert issuer.is_revoked(refresh_token)
    assert not {"jwt_session", "jwt_refresh", "jwt_csrf"} & set(browser.cookies.keys())
    back = browser.get(response.headers["location"], headers={"Accept": "application/json"})
    assert str(back.url) == site.url + "/"
    assert back.status_code == 401


# -- refusals at the callback ---------------------------------------------------------------------------


def test_callback_without_a_sign_in_in_progress(site: RunningServer) -> None:
    response = httpx2.get(site.url + "/auth/callback", params={"code": "x", "state": "y"})
    assert response.status_code == 400


def _to_callback(site: RunningServer, browser: httpx2.Client) -> httpx2.Response:
    """Follow the sign-in up to the provider's redirect back, without calling the callback."""
    login = browser.get(site.url + "/auth/login", follow_redirects=False)
    answer = browser.get(login.headers["location"], follow_redirects=False)
    assert answer.status_code == 302
    return answer


def test_callback_with_a_foreign_state(site: RunningServer, browser: httpx2.Client) -> None:
    answer = _to_callback(site, browser)
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    forged = browser.get(site.url + "/auth/callback", params={"code": query["code"][0], "state": "not-mine"})
    assert forged.status_code == 400
    assert "jwt_session" not in browser.cookies


def test_callback_with_the_wrong_nonce(site: RunningServer, browser: httpx2.Client) -> None:
    answer = _to_callback(site, browser)
    document = json.loads(b64.decode(browser.cookies["jwt_login"]))
    document["nonce"] = "another"
    browser.cookies.clear()
    browser.cookies.set("jwt_login", b64.encode(json.dumps(document).encode()))
    response = browser.get(answer.headers["location"])
    assert response.status_code == 401
    assert "jwt_session" not in browser.cookies


def test_a_provider_error_is_shown(site: RunningServer, browser: httpx2.Client) -> None:
    answer = _to_callback(site, browser)
    state = parse_qs(urlsplit(answer.headers["location"]).query)["state"][0]
    response = browser.get(site.url + "/auth/callback", params={"error": "access_denied", "state": state})
    assert response.status_code == 401


def test_a_provider_that_is_down_is_a_503(issuer: LocalIssuer, site: RunningServer) -> None:
    with issuer.server.fault(issuer.discovery_path, Fault.status(503)):
        response = httpx2.get(site.url + "/auth/login")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_a_token_too_large_for_cookies_is_refused_not_truncated(issuer: LocalIssuer) -> None:
    # About 12.5 kB: within the verifier's 16 kB limit, beyond three 4 kB cookies.
    issuer.add_user("bulky", blob="x" * 9_000)
    signin = SignIn(issuer=issuer.url, client_id="web", verifier=issuer.verifier(), secure_cookies=False)
    with (
        RunningServer(create_app(signin)) as site,
        httpx2.Client(follow_redirects=True, timeout=10) as browser,
    ):
        login = browser.get(site.url + "/auth/login", follow_redirects=False)
        answer = browser.get(login.headers["location"] + "&login_hint=bulky", follow_redirects=False)
        response = browser.get(answer.headers["location"])
    assert response.status_code == 502
    assert "too large" in response.text
    assert "jwt_session" not in browser.cookies


def test_a_large_token_is_split_over_cookies(issuer: LocalIssuer, site: RunningServer) -> None:
    issuer.add_user("wide", blob="x" * 4_000)
    with httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"}) as browser:
        login = browser.get(site.url + "/auth/login", follow_redirects=False)
        answer = browser.get(login.headers["location"] + "&login_hint=wide", follow_redirects=False)
        response = browser.get(answer.headers["location"])
        assert response.status_code == 200
        assert "jwt_session.1" in browser.cookies
        assert browser.get(site.url + "/").status_code == 200


# -- Cognito --------------------------------------------------------------------------------------------


def test_cognito_sign_in_and_logout() -> None:
    with LocalIssuer.cognito(client_id="orders-app", auto_approve=True) as pool:
        signin = SignIn(
            issuer=pool.issuer,
            discovery_url=pool.discovery_url,
            client_id="orders-app",
            verifier=pool.verifier(token_use="access"),
            secure_cookies=False,
        )
        with (
            RunningServer(create_app(signin)) as site,
            httpx2.Client(follow_redirects=True, timeout=10) as browser,
        ):
            page = browser.get(site.url + "/", headers={"Accept": "text/html"})
            assert page.status_code == 200
            shown = html.unescape(page.text)
            assert '"token_use": "access"' in shown
            assert '"username": "alice"' in shown
            logout = browser.post(site.url + "/auth/logout", follow_redirects=False)
            location = urlsplit(logout.headers["location"])
            assert location.path == "/logout"
            assert parse_qs(location.query) == {"client_id": ["orders-app"], "logout_uri": [site.url + "/"]}


# -- authlib.jose ---------------------------------------------------------------------------------------


def test_a_whole_sign_in_never_imports_authlib_jose() -> None:
    script = """
import sys, httpx2
from integrations.signin_app import create_app
from integrations.signin_app import create_app
from jwt_middleware import b64
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer
from tests.middleware.test_uvicorn import RunningServer

with LocalIssuer(audience="web", auto_approve=True) as issuer:
    signin = SignIn(issuer=issuer.url, client_id="web", verifier=issuer.verifier(), secure_cookies=False)
    with RunningServer(create_app(signin)) as site, httpx2.Client(follow_redirects=True) as browser:
        assert browser.get(site.url + "/", headers={"Accept": "text/html"}).status_code == 200
        assert browser.post(site.url + "/auth/refresh").status_code == 204
        browser.post(site.url + "/auth/logout")
assert "authlib.jose" not in sys.modules, "authlib.jose was imported"
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


# -- revocation lists -------------------------------------------------------------------------------------


def test_logout_revokes_the_session_token_in_the_revocation_list(issuer: LocalIssuer) -> None:
    from jwt_middleware.errors import RevokedTokenError
    from jwt_middleware.revocation import RevocationList

    revocations = RevocationList()
    verifier = issuer.verifier(revocations=revocations)
    signin = SignIn(issuer=issuer.url, client_id="web", verifier=verifier, secure_cookies=False)
    with (
        RunningServer(create_app(signin)) as site,
        httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"}) as browser,
    ):
        sign_in(site, browser)
        session_token = browser.cookies["jwt_session"]
        assert verifier.verify_sync(session_token).subject == "alice"
        browser.post(site.url + "/auth/logout", headers={"Origin": site.url}, follow_redirects=False)
        assert len(revocations) == 1
        with pytest.raises(RevokedTokenError):
            verifier.verify_sync(session_token)
        # A copy of the old cookie, replayed, is refused at once (not when the token expires).
        replay = httpx2.get(
            site.url + "/", cookies={"jwt_session": session_token}, headers={"Accept": "application/json"}
        )
        assert replay.status_code == 401


# -- options ----------------------------------------------------------------------------------------------


def test_double_submit_header(issuer: LocalIssuer) -> None:
    signin = SignIn(
        issuer=issuer.url,
        client_id="web",
        verifier=issuer.verifier(),
        secure_cookies=False,
        csrf_header="X-CSRF-Token",
    )
    browser = httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"})
    with RunningServer(create_app(signin)) as site, browser:
        sign_in(site, browser)
        same_origin = {"Origin": site.url}
        assert browser.post(site.url + "/orders", headers=same_origin).status_code == 403
        wrong = browser.post(site.url + "/orders", headers={**same_origin, "X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        echoed = {**same_origin, "X-CSRF-Token": browser.cookies["jwt_csrf"]}
        assert browser.post(site.url + "/orders", headers=echoed).status_code == 200


def test_the_id_token_as_session_token(issuer: LocalIssuer) -> None:
    signin = SignIn(
        issuer=issuer.url,
        client_id="web",
        verifier=issuer.verifier(),
        secure_cookies=False,
        session_token="id",
    )
    browser = httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"})
    with RunningServer(create_app(signin)) as site, browser:
        page = sign_in(site, browser)
        assert "&quot;nonce&quot;" in page.text  # the page shows the ID token's claims
        logout = browser.post(site.url + "/auth/logout", headers={"Origin": site.url}, follow_redirects=False)
        assert "id_token_hint=" in logout.headers["location"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_a_confidential_client(issuer: LocalIssuer, auth_method: str) -> None:
    signin = SignIn(
        issuer=issuer.url,
        client_id="backend",
        client_secret="backend-secret",
        auth_method=auth_method,  # type: ignore[arg-type]
        verifier=issuer.verifier(),
        secure_cookies=False,
    )
    browser = httpx2.Client(follow_redirects=True, timeout=10, headers={"Accept": "text/html"})
    with RunningServer(create_app(signin)) as site, browser:
        issuer.register_client("backend", "backend-secret", redirect_uris=[site.url + "/auth/callback"])
        sign_in(site, browser)
        assert browser.post(site.url + "/auth/refresh", headers={"Origin": site.url}).status_code == 204
        issuer.register_client("backend", "rotated-secret", redirect_uris=[site.url + "/auth/callback"])
        # The provider now refuses the client: the app's misconfiguration, not the session's end.
        refused = browser.post(site.url + "/auth/refresh", headers={"Origin": site.url})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert "jwt_session" in browser.cookies
