"""The whole browser sign-in in a real headless Chromium (Debian's ``chromium`` and its driver).

One story, as a person lives it: sign in on the local issuer's page, see the protected page with
the user's claims, submit a same-origin form (accepted), open a page on a second loopback origin
that posts to the app (refused), wait for the access token to expire and navigate (refreshed,
without a new sign-in), then sign out (cookies gone, refresh token revoked at the issuer).

Chromium comes from the ``driver`` fixture in this folder's ``conftest.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from integrations.signin_app import create_app
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer, LoopbackServer, Response
from tests.middleware.test_uvicorn import RunningServer

LIFETIME = 3


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def text_of(driver: Any, element_id: str) -> str | None:
    from selenium.common.exceptions import NoSuchElementException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.ID, element_id).text)
    except NoSuchElementException:
        return None


def test_sign_in_form_cross_origin_expiry_and_logout_in_chromium(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    users = {"alice": {"email": "alice@example.com", "groups": ["staff"]}}
    with LocalIssuer(audience="web", users=users, access_token_lifetime=LIFETIME) as issuer:
        signin = SignIn(issuer=issuer.url, client_id="web", verifier=issuer.verifier(), secure_cookies=False)
        with RunningServer(create_app(signin)) as site, LoopbackServer() as elsewhere:
            # 1. Not signed in: the app sends the browser to the issuer's sign-in page.
            driver.get(site.url + "/")
            wait_for(lambda: text_of(driver, "sign-in") is not None, "the issuer's sign-in page")
            assert driver.current_url.startswith(issuer.authorization_endpoint)
            username = driver.find_element(By.ID, "username")
            username.clear()
            username.send_keys("alice")
            driver.find_element(By.ID, "sign-in").click()

            # 2. Back on the protected page, with the user's claims.
            wait_for(lambda: text_of(driver, "user") == "alice", "the protected page")
            assert driver.current_url == site.url + "/"
            claims = text_of(driver, "claims") or ""
            assert '"email": "alice@example.com"' in claims
            cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
            assert cookies["jwt_session"]["httpOnly"] is True
            assert cookies["jwt_session"]["sameSite"] == "Lax"

            # 3. A same-origin form post is accepted.
            driver.find_element(By.ID, "order").click()
            wait_for(lambda: text_of(driver, "result") is not None, "the order result")
            assert text_of(driver, "result") == "Order accepted: keyboard for alice"

            # 4. A page on another loopback origin posts to the app: the cookie goes along
            # (same site, other port), and the request is refused.
            attack = (
                f'<!doctype html><form id="f" method="post" action="{site.url}/orders">'
                '<input type="hidden" name="item" value="stolen"></form>'
                "<script>document.getElementById('f').submit()</script>"
            )
            elsewhere.serve("/attack", Response.text(attack, content_type="text/html; charset=utf-8"))
            driver.get(elsewhere.url + "/attack")
            wait_for(lambda: driver.current_url.startswith(site.url + "/orders"), "the forged post")
            assert "Order accepted" not in driver.page_source
            assert text_of(driver, "result") is None

            # 5. The access token expires; the next navigation is refreshed without a sign-in.
            authorizations = issuer.server.requests(issuer.ENDPOINT_PATHS.authorization)
            token_requests = issuer.token_requests
            time.sleep(LIFETIME + 1.2)
            driver.get(site.url + "/")
            wait_for(lambda: text_of(driver, "user") == "alice", "the refreshed page")
            assert issuer.token_requests == token_requests + 1
            assert issuer.server.requests(issuer.ENDPOINT_PATHS.authorization) == authorizations

            # 6. Sign out: cookies gone, the refresh token revoked at the issuer, the issuer's
            # session ended (so the app's redirect to sign in shows the page again).
            refresh_token = next(c["value"] for c in driver.get_cookies() if c["name"] == "jwt_refresh")
            driver.find_element(By.ID, "logout").click()
            wait_for(lambda: text_of(driver, "sign-in") is not None, "the sign-in page after logout")
            names = {cookie["name"] for cookie in driver.get_cookies()}
            assert not names & {"jwt_session", "jwt_refresh", "jwt_csrf"}
            assert issuer.is_revoked(refresh_token)
