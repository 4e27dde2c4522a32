"""``jwt-middleware issuer serve`` and ``issuer mint``: a dev identity provider, end to end."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator

import httpx2
import pytest

from jwt_middleware import b64
from jwt_middleware.cli.errors import CommandError
from jwt_middleware.cli.issuer import parse_claim
from jwt_middleware.cli.mint_endpoint import MINT_PATH, MintRequest, install, request_token
from jwt_middleware.testing import LocalIssuer
from tests.cli.conftest import CONSOLE_SCRIPT, OutputLines, Run
from tests.interrupts import interruptible


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = json.loads(b64.decode(token.split(".")[1]))
    return claims


@pytest.fixture
def serve() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``jwt-middleware issuer serve`` subprocesses; any left running are killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            interruptible([str(CONSOLE_SCRIPT), "issuer", "serve", "--port", "0", *options]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _stop(process: subprocess.Popen[str], how: signal.Signals) -> str:
    """Send ``how``, wait for the exit, and return what the process said on stderr."""
    assert process.stderr is not None
    process.send_signal(how)
    process.wait(timeout=10)
    return process.stderr.read()


# -- serve in a real subprocess ---------------------------------------------------------------------


def test_serve_mint_verify_then_terminate(serve: Callable[..., subprocess.Popen[str]], cli: Run) -> None:
    process = serve("--audience", "orders-api")
    lines = OutputLines(process).until(lambda lines: bool(lines) and lines[-1].startswith("  curl "))
    fields = {
        line.split()[0]: line.split()[1] for line in lines if line.startswith("  ") and len(line.split()) >= 2
    }
    issuer_url = fields["issuer"]
    assert issuer_url.startswith("http://127.0.0.1:")
    assert fields["jwks_url"] == issuer_url + "/.well-known/jwks.json"
    assert fields["discovery"] == issuer_url + "/.well-known/openid-configuration"
    assert fields["mint_url"] == issuer_url + MINT_PATH
    sample = lines[lines.index(next(line for line in lines if line.startswith("Sample token"))) + 1]
    assert _claims(sample)["aud"] == "orders-api"
    port = issuer_url.rsplit(":", 1)[1]
    assert any(f"jwt-middleware issuer mint --port {port}" in line for line in lines)

    minted = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "issuer",
            "mint",
            "--url",
            issuer_url,
            "--sub",
            "alice",
            "--scope",
            "orders:read",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert minted.stdout == token + "\n"  # only the token, ready for $(...)

    verified = cli(
        "verify", token, "--issuer", issuer_url, "--audience", "orders-api", "--scope", "orders:read"
    )
    assert verified.code == 0, verified.out
    assert '"sub": "alice"' in verified.out

    stderr = _stop(process, signal.SIGTERM)
    assert process.returncode == 0
    assert "dev issuer stopped" in stderr
    assert "Traceback" not in stderr


def test_serve_json_line_and_ctrl_c(serve: Callable[..., subprocess.Popen[str]], cli: Run) -> None:
    process = serve("--json", "--alg", "ES256")
    details = json.loads(OutputLines(process).until(lambda lines: bool(lines))[0])
    assert set(details) == {
        "issuer",
        "jwks_url",
        "discovery_url",
        "mint_url",
        "alg",
        "kid",
        "audience",
        "sample_token",
        "client_id",
        "authorization_endpoint",
        "token_endpoint",
        "introspection_endpoint",
    }
    assert details["alg"] == "ES256"
    assert details["client_id"] == "local-client"
    assert details["token_endpoint"] == details["issuer"] + "/token"
    assert details["introspection_endpoint"] == details["issuer"] + "/introspect"
    assert details["audience"] is None

    minted = cli("issuer", "mint", "--url", details["issuer"], "--expires-in", "-180")
    assert minted.code == 0, minted.err
    rejected = cli("verify", minted.out.strip(), "--issuer", details["issuer"], "--no-audience")
    assert rejected.code == 1
    assert "(3 min ago); leeway is 0 s" in rejected.out

    stderr = _stop(process, signal.SIGINT)
    assert process.returncode == 0
    assert "dev issuer stopped" in stderr


def test_serve_signs_a_browser_in_and_serves_client_credentials(
    serve: Callable[..., subprocess.Popen[str]],
) -> None:
    """The served authorization server: the sign-in page for a user, a registered machine client."""
    process = serve("--json", "--audience", "web", "--user", "alice", "--client", "svc:svc-secret")
    details = json.loads(OutputLines(process).until(lambda lines: bool(lines))[0])
    assert details["client_id"] == "web"
    with httpx2.Client(timeout=10) as http:
        document = http.get(details["discovery_url"]).json()
        assert document["authorization_endpoint"] == details["authorization_endpoint"]
        params = {
            "response_type": "code",
            "client_id": "web",
            "redirect_uri": "http://127.0.0.1:8000/auth/callback",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "state": "xyz",
        }
        page = http.get(details["authorization_endpoint"], params=params)
        assert page.status_code == 200
        assert 'name="username"' in page.text
        refused = http.post(details["authorization_endpoint"], data={**params, "username": "mallory"})
        assert refused.status_code == 401
        accepted = http.post(details["authorization_endpoint"], data={**params, "username": "alice"})
        assert accepted.status_code == 302
        assert accepted.headers["location"].startswith("http://127.0.0.1:8000/auth/callback?code=")
        machine = http.post(
            details["token_endpoint"], data={"grant_type": "client_credentials"}, auth=("svc", "svc-secret")
        )
        assert machine.status_code == 200
        assert _claims(machine.json()["access_token"])["client_id"] == "svc"
    _stop(process, signal.SIGTERM)
    assert process.returncode == 0


def test_serve_refuses_a_malformed_client(cli: Run) -> None:
    result = cli("issuer", "serve", "--port", "0", "--client", "no-secret")
    assert result.code == 2
    assert "ID:SECRET" in result.err


def test_serve_on_a_busy_port_is_a_usage_error(cli: Run) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("issuer", "serve", "--port", str(busy.getsockname()[1]))
    assert result.code == 2
    assert "cannot listen on 127.0.0.1" in result.err


# -- mint -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_issuer() -> Iterator[LocalIssuer]:
    """What ``serve`` runs: a LocalIssuer with the mint endpoint installed."""
    with LocalIssuer(audience="orders-api") as issuer:
        install(issuer)
        yield issuer


def test_mint_options_become_claims(cli: Run, dev_issuer: LocalIssuer) -> None:
    port = str(dev_issuer.server.port)
    result = cli(
        "issuer",
        "mint",
        "--port",
        port,
        "--sub",
        "bob",
        "--audience",
        "a",
        "--audience",
        "b",
        "--scope",
        "x",
        "--scope",
        "y",
        "--claim",
        "tenant=acme",
        "--claim",
        'roles=["admin"]',
        "--claim",
        "jti=null",
        "--claim",
        "level=3",
    )
    assert result.code == 0, result.err
    claims = _claims(result.out.strip())
    assert claims["sub"] == "bob"
    assert claims["aud"] == ["a", "b"]
    assert claims["scope"] == "x y"
    assert claims["tenant"] == "acme"
    assert claims["roles"] == ["admin"]
    assert claims["level"] == 3
    assert "jti" not in claims
    assert claims["iss"] == dev_issuer.issuer


def test_mint_without_expiry_and_with_another_algorithm(cli: Run, dev_issuer: LocalIssuer) -> None:
    result = cli(
        "issuer", "mint", "--port", str(dev_issuer.server.port), "--claim", "exp=null", "--alg", "ES256"
    )
    assert result.code == 0, result.err
    token = result.out.strip()
    assert "exp" not in _claims(token)
    assert json.loads(b64.decode(token.split(".")[0]))["alg"] == "ES256"


def test_mint_with_nothing_listening_exits_3(cli: Run, closed_port: int) -> None:
    result = cli("issuer", "mint", "--port", str(closed_port))
    assert result.code == 3
    assert "no dev issuer answered" in result.err
    assert result.out == ""


def test_mint_refuses_non_loopback_urls_without_connecting(cli: Run) -> None:
    result = cli("issuer", "mint", "--url", "http://auth.example.com")
    assert result.code == 2
    assert "not a loopback http URL" in result.err


def test_mint_from_an_issuer_without_the_endpoint(cli: Run) -> None:
    with LocalIssuer() as plain:
        result = cli("issuer", "mint", "--url", plain.url)
    assert result.code == 2
    assert "has no mint endpoint" in result.err


def test_claim_parsing() -> None:
    assert parse_claim("a=1") == ("a", 1)
    assert parse_claim("a=true") == ("a", True)
    assert parse_claim("a=null") == ("a", None)
    assert parse_claim('a="12"') == ("a", "12")
    assert parse_claim("a=x=y") == ("a", "x=y")
    assert parse_claim("a=NaN") == ("a", "NaN")
    assert parse_claim("a=") == ("a", "")
    with pytest.raises(CommandError):
        parse_claim("novalue")
    with pytest.raises(CommandError):
        parse_claim("=x")


# -- the mint endpoint only answers this machine's own tools ----------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "body", "status"),
    [
        ("GET", {}, b"", 405),
        ("POST", {"Content-Type": "text/plain"}, b"{}", 415),
        ("POST", {"Content-Type": "application/json", "Host": "rebound.example.com"}, b"{}", 403),
        ("POST", {"Content-Type": "application/json", "Origin": "https://evil.example"}, b"{}", 403),
        ("POST", {"Content-Type": "application/json"}, b"{not json", 400),
        ("POST", {"Content-Type": "application/json"}, b'{"claims": [], "alg": null}', 400),
        ("POST", {"Content-Type": "application/json"}, b'{"private_key": true}', 400),
        ("POST", {"Content-Type": "application/json"}, b'{"alg": "HS256"}', 400),
        ("POST", {"Content-Type": "application/json"}, b'{"expires_in": "soon"}', 400),
    ],
)
def test_mint_endpoint_refusals(
    dev_issuer: LocalIssuer, method: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    with httpx2.Client(trust_env=False) as client:
        response = client.request(method, dev_issuer.url + MINT_PATH, headers=headers, content=body)
    assert response.status_code == status
    assert "token" not in response.json()


def test_mint_endpoint_accepts_its_own_origin(dev_issuer: LocalIssuer) -> None:
    headers = {"Content-Type": "application/json", "Origin": dev_issuer.url}
    with httpx2.Client(trust_env=False) as client:
        response = client.post(dev_issuer.url + MINT_PATH, headers=headers, content=b"{}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


def test_minted_tokens_verify(dev_issuer: LocalIssuer) -> None:
    token = request_token(dev_issuer.url, MintRequest(claims={"sub": "carol"}, expires_in=60))
    claims = dev_issuer.verifier().verify_sync(token)
    assert claims["sub"] == "carol"
    assert claims["exp"] - claims["iat"] == 60
