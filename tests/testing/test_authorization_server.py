"""The local issuer as an OAuth 2.0 authorization server, over real HTTP on 127.0.0.1.

Every endpoint is driven the way a client drives it (plain form posts and redirects), including
the refusals a real provider makes: unknown clients, PKCE failures, reused codes and refresh
tokens, redirect URIs that were not registered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from jwt_middleware import b64
from jwt_middleware.testing import LocalIssuer

REDIRECT = "http://127.0.0.1:5000/auth/callback"


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(b64.decode(token.split(".")[1]))  # type: ignore[no-any-return]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(
        audience="web-app",
        auto_approve=True,
        users={"alice": {"email": "alice@example.com", "name": "Alice"}, "bob": {"groups": ["admin"]}},
    ) as issuer:
        issuer.register_client(
            "backend",
            "backend-secret",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
        )
        issuer.register_client("worker", "worker-secret", grant_types=["client_credentials"])
        yield issuer


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(follow_redirects=False, timeout=10) as client:
        yield client


def authorize(
    issuer: LocalIssuer,
    http: httpx2.Client,
    *,
    client_id: str = "web-app",
    redirect_uri: str = REDIRECT,
    challenge: str | None = None,
    **extra: str,
) -> httpx2.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email",
        "state": "s-1",
        "nonce": "n-1",
        **extra,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return http.get(issuer.authorization_endpoint, params=params)


def code_from(response: httpx2.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def exchange(
    issuer: LocalIssuer,
    http: httpx2.Client,
    code: str,
    verifier: str,
    *,
    client_id: str = "web-app",
    redirect_uri: str = REDIRECT,
    auth: tuple[str, str] | None = None,
) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    if auth is None:
        form["client_id"] = client_id
    return http.post(issuer.token_endpoint, data=form, auth=auth)


def sign_in(issuer: LocalIssuer, http: httpx2.Client, **options: Any) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge, **options))
    response = exchange(issuer, http, code, verifier, client_id=options.get("client_id", "web-app"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def refresh(
    issuer: LocalIssuer, http: httpx2.Client, token: str, client_id: str = "web-app"
) -> httpx2.Response:
    return http.post(
        issuer.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
    )


# -- discovery ------------------------------------------------------------------------------------------


def test_discovery_lists_every_endpoint(issuer: LocalIssuer, http: httpx2.Client) -> None:
    document = http.get(issuer.discovery_url).json()
    assert document["authorization_endpoint"] == issuer.url + "/authorize"
    assert document["token_endpoint"] == issuer.url + "/token"
    assert document["revocation_endpoint"] == issuer.url + "/revoke"
    assert document["userinfo_endpoint"] == issuer.url + "/userinfo"
    assert document["end_session_endpoint"] == issuer.url + "/logout"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/jwks.json", "/token", "/revoke", "/userinfo"]
)
def test_cors_preflight_and_header_for_browser_clients(
    issuer: LocalIssuer, http: httpx2.Client, path: str
) -> None:
    preflight = http.options(
        issuer.url + path,
        headers={
            "Origin": "http://127.0.0.1:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    method = "GET" if path.startswith("/.well-known") else "POST"
    answer = http.request(method, issuer.url + path, headers={"Origin": "http://127.0.0.1:8000"})
    assert answer.headers["access-control-allow-origin"] == "*"


# -- authorization code with PKCE -----------------------------------------------------------------------


def test_code_flow_issues_tokens_with_nonce_and_user_claims(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == issuer.access_token_lifetime
    id_claims = claims_of(tokens["id_token"])
    assert id_claims["aud"] == "web-app"
    assert id_claims["nonce"] == "n-1"
    assert id_claims["sub"] == "alice"
    assert id_claims["email"] == "alice@example.com"
    access = claims_of(tokens["access_token"])
    assert access["client_id"] == "web-app"
    assert access["aud"] == "web-app"
    assert access["scope"] == "openid email"
    assert "nonce" not in access
    # What the issuer signs, its own verifier accepts.
    assert issuer.verifier().verify_sync(tokens["access_token"])["sub"] == "alice"


def test_login_hint_picks_the_user(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http, login_hint="bob")
    assert claims_of(tokens["access_token"])["groups"] == ["admin"]


def test_pkce_is_required(issuer: LocalIssuer, http: httpx2.Client) -> None:
    response = authorize(issuer, http)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["s-1"]


def test_plain_pkce_is_refused(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, _ = pkce()
    response = authorize(issuer, http, code_challenge=verifier, code_challenge_method="plain")
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["invalid_request"]


def test_bad_pkce_verifier_is_refused(issuer: LocalIssuer, http: httpx2.Client) -> None:
    _, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge))
    response = exchange(issuer, http, code, secrets.token_urlsafe(48))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_client_is_refused_without_redirect(issuer: LocalIssuer, http: httpx2.Client) -> None:
    _, challenge = pkce()
    response = authorize(issuer, http, client_id="nobody", challenge=challenge)
    # Never redirect for a client nobody registered: that would be an open redirector.
    assert response.status_code in (400, 401)
    assert "location" not in response.headers
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_at_the_token_endpoint(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge))
    response = exchange(issuer, http, code, verifier, client_id="nobody")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_unregistered_redirect_uri_is_refused(issuer: LocalIssuer, http: httpx2.Client) -> None:
    _, challenge = pkce()
    response = authorize(
        issuer, http, client_id="backend", redirect_uri="http://127.0.0.1:5000/other", challenge=challenge
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_default_client_takes_any_loopback_but_no_other_redirect(
    issuer: LocalIssuer, http: httpx2.Client
) -> None:
    _, challenge = pkce()
    assert (
        authorize(issuer, http, redirect_uri="http://localhost:1234/cb", challenge=challenge).status_code
        == 302
    )
    elsewhere = authorize(issuer, http, redirect_uri="https://evil.example/cb", challenge=challenge)
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers


def test_wrong_redirect_uri_at_exchange_is_refused(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge))
    response = exchange(issuer, http, code, verifier, redirect_uri="http://127.0.0.1:5000/elsewhere")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_reused_code_is_refused_and_revokes_what_it_issued(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge))
    first = exchange(issuer, http, code, verifier)
    assert first.status_code == 200
    second = exchange(issuer, http, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    tokens = first.json()
    assert issuer.is_revoked(tokens["refresh_token"])
    assert issuer.is_revoked(tokens["access_token"])
    assert refresh(issuer, http, tokens["refresh_token"]).status_code == 400


def test_code_is_bound_to_its_client(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, challenge=challenge))
    stolen = exchange(issuer, http, code, verifier, auth=("backend", "backend-secret"))
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"


def test_confidential_client_authenticates_basic_and_post(issuer: LocalIssuer, http: httpx2.Client) -> None:
    for auth in (("backend", "backend-secret"), None):
        verifier, challenge = pkce()
        code = code_from(authorize(issuer, http, client_id="backend", challenge=challenge))
        if auth is None:
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": "backend",
                "client_secret": "backend-secret",
            }
            response = http.post(issuer.token_endpoint, data=form)
        else:
            response = exchange(issuer, http, code, verifier, auth=auth)
        assert response.status_code == 200, response.text
        assert claims_of(response.json()["id_token"])["aud"] == "backend"


def test_confidential_client_with_a_wrong_secret_is_refused(issuer: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    code = code_from(authorize(issuer, http, client_id="backend", challenge=challenge))
    response = exchange(issuer, http, code, verifier, auth=("backend", "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # Nor may it pretend to be public.
    response = exchange(issuer, http, code, verifier, client_id="backend")
    assert response.status_code in (400, 401)


# -- refresh tokens -------------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    first = refresh(issuer, http, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert "nonce" not in claims_of(rotated["id_token"])
    second = refresh(issuer, http, rotated["refresh_token"])
    assert second.status_code == 200
    latest = second.json()
    # The first refresh token again: theft. The whole family, latest tokens included, dies.
    replay = refresh(issuer, http, tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert issuer.is_revoked(latest["refresh_token"])
    assert issuer.is_revoked(latest["access_token"])
    assert refresh(issuer, http, latest["refresh_token"]).status_code == 400


def test_refresh_token_is_bound_to_its_client(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    response = http.post(
        issuer.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("backend", "backend-secret"),
    )
    assert response.status_code == 400
    assert refresh(issuer, http, tokens["refresh_token"]).status_code == 200


def test_unknown_refresh_token(issuer: LocalIssuer, http: httpx2.Client) -> None:
    assert refresh(issuer, http, "not-a-token").json()["error"] == "invalid_grant"


# -- client credentials ---------------------------------------------------------------------------------


def test_client_credentials(issuer: LocalIssuer, http: httpx2.Client) -> None:
    response = http.post(
        issuer.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "orders/read"},
        auth=("worker", "worker-secret"),
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert "refresh_token" not in token
    assert "id_token" not in token
    claims = claims_of(token["access_token"])
    assert claims["sub"] == claims["client_id"] == "worker"
    assert claims["scope"] == "orders/read"
    post = http.post(
        issuer.token_endpoint,
        data={"grant_type": "client_credentials", "client_id": "worker", "client_secret": "worker-secret"},
    )
    assert post.status_code == 200


def test_client_credentials_refusals(issuer: LocalIssuer, http: httpx2.Client) -> None:
    wrong = http.post(
        issuer.token_endpoint, data={"grant_type": "client_credentials"}, auth=("worker", "nope")
    )
    assert wrong.status_code == 401
    public = http.post(
        issuer.token_endpoint, data={"grant_type": "client_credentials", "client_id": "web-app"}
    )
    assert public.status_code in (400, 401)
    # A client registered without the grant may not use it.
    _, challenge = pkce()
    no_code = authorize(issuer, http, client_id="worker", challenge=challenge, redirect_uri=REDIRECT)
    assert no_code.status_code == 400


def test_public_client_cannot_be_given_client_credentials(issuer: LocalIssuer) -> None:
    with pytest.raises(ValueError, match="confidential"):
        issuer.register_client("spa", grant_types=["client_credentials"])


# -- revocation -----------------------------------------------------------------------------------------


def test_revoking_a_refresh_token_ends_its_family(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    response = http.post(
        issuer.revocation_endpoint,
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": "web-app"},
    )
    assert response.status_code == 200
    assert issuer.is_revoked(tokens["refresh_token"])
    assert issuer.is_revoked(tokens["access_token"])
    assert refresh(issuer, http, tokens["refresh_token"]).status_code == 400
    userinfo = http.get(
        issuer.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401


def test_revoking_an_access_token_leaves_the_refresh_token(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    response = http.post(
        issuer.revocation_endpoint, data={"token": tokens["access_token"], "client_id": "web-app"}
    )
    assert response.status_code == 200
    assert issuer.is_revoked(tokens["access_token"])
    assert not issuer.is_revoked(tokens["refresh_token"])


def test_revocation_refusals(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    # Unknown tokens are answered 200 (RFC 7009 2.2): nothing to learn from the answer.
    assert (
        http.post(issuer.revocation_endpoint, data={"token": "unknown", "client_id": "web-app"}).status_code
        == 200
    )
    # Another client cannot revoke this client's tokens.
    other = http.post(
        issuer.revocation_endpoint,
        data={"token": tokens["refresh_token"]},
        auth=("backend", "backend-secret"),
    )
    assert other.status_code == 400
    assert not issuer.is_revoked(tokens["refresh_token"])
    unknown = http.post(
        issuer.revocation_endpoint, data={"token": tokens["refresh_token"], "client_id": "nobody"}
    )
    assert unknown.status_code in (400, 401)
    assert http.get(issuer.revocation_endpoint).status_code == 405


# -- userinfo -------------------------------------------------------------------------------------------


def test_userinfo(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    response = http.get(
        issuer.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "email": "alice@example.com", "name": "Alice"}
    assert http.get(issuer.userinfo_endpoint).status_code == 401
    forged = http.get(
        issuer.userinfo_endpoint, headers={"Authorization": f"Bearer {issuer.mint(sub='alice')}"}
    )
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


# -- the sign-in page, sessions and logout --------------------------------------------------------------


@pytest.fixture
def interactive() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="web-app", users={"alice": {"email": "alice@example.com"}}) as issuer:
        yield issuer


def test_sign_in_page_then_session(interactive: LocalIssuer, http: httpx2.Client) -> None:
    verifier, challenge = pkce()
    page = authorize(interactive, http, challenge=challenge)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="username"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    params = dict(parse_qs(urlsplit(str(page.request.url)).query))
    form = {name: values[0] for name, values in params.items()}
    unknown = http.post(interactive.authorization_endpoint, data={**form, "username": "mallory"})
    assert unknown.status_code == 401
    assert "does not exist" in unknown.text
    signed_in = http.post(interactive.authorization_endpoint, data={**form, "username": "alice"})
    code = code_from(signed_in)
    assert "HttpOnly" in signed_in.headers["set-cookie"]
    tokens = exchange(interactive, http, code, verifier).json()
    assert claims_of(tokens["id_token"])["email"] == "alice@example.com"
    # The issuer's session signs the next request in without the page...
    _, challenge = pkce()
    assert authorize(interactive, http, challenge=challenge).status_code == 302
    # ...unless the client asks for a fresh login.
    _, challenge = pkce()
    assert authorize(interactive, http, challenge=challenge, prompt="login").status_code == 200
    # Logout ends the session and returns to a registered URI with the state.
    logout = http.get(
        interactive.end_session_endpoint,
        params={"client_id": "web-app", "post_logout_redirect_uri": "http://127.0.0.1:5000/", "state": "bye"},
    )
    assert logout.status_code == 302
    assert logout.headers["location"] == "http://127.0.0.1:5000/?state=bye"
    http.cookies.clear()
    _, challenge = pkce()
    assert authorize(interactive, http, challenge=challenge).status_code == 200


def test_prompt_none_without_session(interactive: LocalIssuer, http: httpx2.Client) -> None:
    _, challenge = pkce()
    response = authorize(interactive, http, challenge=challenge, prompt="none")
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["login_required"]


def test_logout_refuses_unregistered_redirects(issuer: LocalIssuer, http: httpx2.Client) -> None:
    response = http.get(
        issuer.end_session_endpoint,
        params={"client_id": "backend", "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert http.get(issuer.end_session_endpoint).status_code == 200


def test_logout_finds_the_client_from_the_id_token_hint(issuer: LocalIssuer, http: httpx2.Client) -> None:
    tokens = sign_in(issuer, http)
    response = http.get(
        issuer.end_session_endpoint
        + "?"
        + urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:1/"})
    )
    assert response.status_code == 302


# -- the Cognito preset ---------------------------------------------------------------------------------


def test_cognito_hosted_ui_paths_and_token_shapes(http: httpx2.Client) -> None:
    with LocalIssuer.cognito(
        auto_approve=True, users={"carol": {"cognito:groups": ["admin"], "email": "c@example.com"}}
    ) as pool:
        assert pool.authorization_endpoint == pool.url + "/oauth2/authorize"
        assert pool.token_endpoint == pool.url + "/oauth2/token"
        assert pool.revocation_endpoint == pool.url + "/oauth2/revoke"
        assert pool.userinfo_endpoint == pool.url + "/oauth2/userInfo"
        assert pool.end_session_endpoint == pool.url + "/logout"
        assert http.get(pool.discovery_url).json()["token_endpoint"] == pool.token_endpoint
        tokens = sign_in(pool, http, client_id="test-client")
        id_claims = claims_of(tokens["id_token"])
        assert id_claims["token_use"] == "id"
        assert id_claims["cognito:username"] == "carol"
        assert id_claims["cognito:groups"] == ["admin"]
        assert id_claims["nonce"] == "n-1"
        access = claims_of(tokens["access_token"])
        assert access["token_use"] == "access"
        assert access["client_id"] == "test-client"
        assert "aud" not in access
        pool.verifier(token_use="access").verify_sync(tokens["access_token"])
        pool.verifier(token_use="id").verify_sync(tokens["id_token"])
        logout = http.get(
            pool.end_session_endpoint,
            params={"client_id": "test-client", "logout_uri": "http://127.0.0.1:5000/"},
        )
        assert logout.status_code == 302
        assert logout.headers["location"] == "http://127.0.0.1:5000/"


# -- no authlib.jose ------------------------------------------------------------------------------------


def test_the_server_never_imports_authlib_jose() -> None:
    script = (
        "import sys\n"
        "from tests.testing.test_authorization_server import sign_in, LocalIssuer\n"
        "import httpx2\n"
        "with LocalIssuer(audience='a', auto_approve=True) as issuer, httpx2.Client() as http:\n"
        "    tokens = sign_in(issuer, http, client_id='a')\n"
        "    form = {'grant_type': 'refresh_token', 'client_id': 'a'}\n"
        "    form['refresh_token'] = tokens['refresh_token']\n"
        "    assert http.post(issuer.token_endpoint, data=form).status_code == 200\n"
        "assert 'authlib.jose' not in sys.modules, 'authlib.jose was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
