"""Key URLs in headers never cause a fetch, and keys never cross issuers: against live servers.

The trusted issuers are ``LocalIssuer``s serving real JWKS documents over HTTP on 127.0.0.1; the
attacker runs a ``LoopbackServer`` offering its own key set and certificate at the URLs its tokens
name in ``jku``/``x5u``. Every case of ``corpus_remote`` runs through ``verify_sync``, ``verify``
and the ASGI middleware, each with a fresh verifier, and afterwards the attacker's server must
have received no request at all, while each issuer saw at most the initial fetch plus one
unknown-``kid`` refresh per verifier.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from jwt_middleware import JWTMiddlewareError, JWTVerifier
from jwt_middleware.testing import LocalIssuer, LoopbackServer, Response
from tests.security import corpus_remote
from tests.security.catalogue import Case
from tests.security.http_driver import asgi_request, check_error_response
from tests.security.kit import AUDIENCE, MARKER, Kit

CASES: list[Case] = corpus_remote.CASES


@dataclass
class Remote:
    issuer: LocalIssuer
    issuer_a: LocalIssuer
    issuer_b: LocalIssuer
    attacker: LoopbackServer

    @property
    def attacker_url(self) -> str:
        return self.attacker.url

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer.issuer,
            "aud": AUDIENCE,
            "sub": f"user-{MARKER}",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(changes)
        return claims

    def verifier(self, name: str) -> JWTVerifier:
        if name == "remote":
            return self.issuer.verifier(audience=AUDIENCE)
        urls = {self.issuer_a.issuer: self.issuer_a.jwks_url, self.issuer_b.issuer: self.issuer_b.jwks_url}
        return JWTVerifier(issuer=list(urls), audience=AUDIENCE, jwks_url=urls)

    def fetches(self) -> dict[str, int]:
        return {
            "issuer": self.issuer.jwks_requests,
            "a": self.issuer_a.jwks_requests,
            "b": self.issuer_b.jwks_requests,
            "attacker": self.attacker.requests(),
        }


@pytest.fixture(scope="module")
def remote(kit: Kit) -> Iterator[Remote]:
    attacker = LoopbackServer()
    attacker.serve_json("/jwks.json", {"keys": [kit.attacker_ed.public_jwk()]})
    attacker.serve(
        "/cert.pem", Response.text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    )
    attacker.route("/", lambda request: Response.text("nothing here", status=404), prefix=True)
    with (
        LocalIssuer(alg="EdDSA", audience=AUDIENCE) as issuer,
        LocalIssuer(alg="EdDSA", audience=AUDIENCE) as issuer_a,
        LocalIssuer(alg="EdDSA", audience=AUDIENCE) as issuer_b,
        attacker,
    ):
        issuer_a.add_key(kid="shared", make_current=True)
        issuer_b.add_key(kid="shared", make_current=True)
        kit.remote = Remote(issuer, issuer_a, issuer_b, attacker)
        try:
            yield kit.remote
        finally:
            kit.remote = None
            assert not attacker.errors
            assert not issuer.server.errors


def _judge_error(case: Case, error: JWTMiddlewareError) -> None:
    assert case.expect is not None, f"{case.name}: rejected with {error!r}"
    assert type(error) is case.expect, f"{case.name}: {error!r}"


def _fetch_budget(before: dict[str, int], after: dict[str, int], case: Case) -> None:
    assert after["attacker"] == 0, f"{case.name}: the attacker's server was contacted"
    for name in ("issuer", "a", "b"):
        # At most: the first fetch, and one refresh for an unknown kid.
        assert after[name] - before[name] <= 2, (case.name, name, before, after)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_remote_case_sync(kit: Kit, remote: Remote, case: Case) -> None:
    token = case.build(kit)
    before = remote.fetches()
    with remote.verifier(case.verifier) as verifier:
        try:
            claims = verifier.verify_sync(token)
        except JWTMiddlewareError as error:
            _judge_error(case, error)
        else:
            assert case.expect is None, f"FALSE ACCEPT: {case.name}: {dict(claims)!r}"
    _fetch_budget(before, remote.fetches(), case)


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_remote_case_async_and_asgi(kit: Kit, remote: Remote, case: Case) -> None:
    token = case.build(kit)
    before = remote.fetches()
    async with remote.verifier(case.verifier) as verifier:
        try:
            await verifier.verify(token)
        except JWTMiddlewareError as error:
            _judge_error(case, error)
        else:
            assert case.expect is None, f"FALSE ACCEPT: {case.name}"
    async with remote.verifier(case.verifier) as verifier:
        answer = await asgi_request(verifier, [("authorization", f"Bearer {token}")])
    if case.expect is None:
        assert answer.status == 200
    else:
        assert answer.status == case.expect.status_code
        check_error_response(answer)
    _fetch_budget(before, remote.fetches(), case)


def test_the_attacker_server_is_reachable(remote: Remote) -> None:
    # The zero counts above mean something only if the attacker's server does answer requests.
    import httpx2

    before = remote.attacker.requests()
    assert httpx2.get(remote.attacker_url + "/jwks.json").status_code == 200
    assert remote.attacker.requests() == before + 1
    remote.attacker.reset_requests()
