"""FastAPI's Swagger UI signs in with authorization code + PKCE, clicked through in headless Chromium.

Swagger UI's JavaScript and CSS are served by the app itself from the ``swagger-ui-bundle``
package (FastAPI's self-hosted docs), since tests reach nothing beyond 127.0.0.1. The browser
does what a person does on ``/docs``: Authorize, pick the authorization-code flow of the OpenID
Connect scheme, sign in at the local issuer (``auto_approve``), come back through
``/docs/oauth2-redirect``, then "Try it out" and "Execute" on a protected route. Swagger UI
reads the issuer's discovery, sends the PKCE challenge and exchanges the code cross-origin on
its own; nothing here replays those steps.

No ``from __future__ import annotations``: FastAPI resolves the route's annotations at runtime,
and they name a local (``auth``).
"""

import json
from collections.abc import Iterator
from typing import Annotated, Any

import httpx2
import pytest
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from jwt_middleware.claims import Claims
from jwt_middleware.integrations.fastapi import JWTBearer
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer
from tests.middleware.test_uvicorn import RunningServer

#: Generous for a loaded 2-core machine: Swagger UI's bundle is about 1 MB of JavaScript.
WAIT = 30
CLIENT_ID = "web"


def docs_app(signin: SignIn, auth: JWTBearer) -> FastAPI:
    """A FastAPI app whose Swagger UI comes from its own ``/static``, not from a CDN."""
    app = FastAPI(docs_url=None, redoc_url=None)
    # The bundle's Swagger UI (4.15.5) renders OpenAPI 3.0 only, not FastAPI's default 3.1.0;
    # this document uses nothing of 3.1, and the scheme is the same in both.
    app.openapi_version = "3.0.3"
    app.mount("/static", StaticFiles(directory=str(swagger_ui_path)), name="static")
    redirect_url = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="API docs",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon-32x32.png",
            oauth2_redirect_url=redirect_url,
            init_oauth=signin.swagger_ui_init_oauth(scopes=["openid", "email"]),
        )

    @app.get(redirect_url, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, Any]:
        return {"sub": claims.subject, "email": claims.get("email")}

    return app


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    users = {"alice": {"email": "alice@example.com"}}
    with LocalIssuer(audience=CLIENT_ID, auto_approve=True, users=users) as issuer:
        yield issuer


def test_swagger_ui_authorize_signs_in_with_code_and_pkce_in_chromium(
    driver: Any, issuer: LocalIssuer
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    signin = SignIn(issuer=issuer.url, client_id=CLIENT_ID, verifier=issuer.verifier(), secure_cookies=False)
    auth = JWTBearer(issuer.verifier(jwks_url=None))  # keys through discovery: an OpenID Connect scheme
    wait = WebDriverWait(driver, WAIT)

    def click(css: str = "", xpath: str = "") -> None:
        """Click once clickable, scrolled into view (the dialog is taller than the window)."""
        element = wait.until(
            until.element_to_be_clickable((By.XPATH, xpath) if xpath else (By.CSS_SELECTOR, css))
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        wait.until(until.element_to_be_clickable(element)).click()

    # The dialog's section for the code flow, found again each time (React re-renders it).
    code_flow = "//div[contains(@class,'auth-container')][.//h4[contains(., 'OAuth2, authorization_code')]]"
    operation = "#operations-default-me_me_get"
    with RunningServer(docs_app(signin, auth)) as site:
        assert httpx2.get(site.url + "/me").status_code == 401  # the route needs the token
        driver.get(site.url + "/docs")
        docs_window = driver.current_window_handle

        # 1. Authorize opens the dialog: Swagger UI has read the issuer's discovery (cross-origin)
        # and offers the code flow with PKCE, the client and the scopes from swagger_ui_init_oauth.
        click(".auth-wrapper .btn.authorize")
        flow = wait.until(until.presence_of_element_located((By.XPATH, code_flow)))
        assert "authorization_code with PKCE" in flow.find_element(By.TAG_NAME, "h4").text
        assert flow.find_element(By.CSS_SELECTOR, "input#client_id").get_attribute("value") == CLIENT_ID
        checked = {
            box.get_attribute("data-value")
            for box in flow.find_elements(By.CSS_SELECTOR, ".scopes input[type=checkbox]")
            if box.is_selected()
        }
        assert checked == {"openid", "email"}
        click(xpath=code_flow + "//button[contains(@class,'authorize')]")

        # 2. The popup signs in at the issuer and comes back through /docs/oauth2-redirect, which
        # hands the code to Swagger UI; Swagger UI exchanges it with its PKCE verifier (the issuer
        # refuses a code without one) and the section now offers Logout.
        wait.until(
            until.presence_of_element_located((By.XPATH, code_flow + "//button[normalize-space()='Logout']"))
        )
        assert issuer.server.requests(issuer.ENDPOINT_PATHS.authorization) == 1
        assert driver.window_handles == [docs_window]  # the popup closed itself
        driver.switch_to.window(docs_window)
        # Selenium reports the dialog's Close buttons as not displayed once the popup has gone
        # (the dialog's own layout); closing needs no user gesture, so a script clicks it.
        close = driver.find_element(By.XPATH, code_flow + "//button[contains(@class,'btn-done')]")
        driver.execute_script("arguments[0].click()", close)
        wait.until(until.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))

        # 3. Try it out on the protected route: Swagger UI sends the access token it holds.
        click(f"{operation} .opblock-summary")
        click(f"{operation} .try-out__btn")
        click(f"{operation} .execute")
        status = wait.until(
            until.presence_of_element_located(
                (By.CSS_SELECTOR, f"{operation} .live-responses-table tr.response .response-col_status")
            )
        )
        body = driver.find_element(
            By.CSS_SELECTOR, f"{operation} .live-responses-table .response-col_description pre"
        )
        assert status.text.strip() == "200", body.text
        assert json.loads(body.text) == {"sub": "alice", "email": "alice@example.com"}
