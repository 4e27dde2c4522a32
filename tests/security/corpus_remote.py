"""Key URLs and cross-issuer replay against a live issuer on loopback.

Run by ``test_remote_keys.py``, which serves the trusted issuer (a real JWKS over HTTP) and an
attacker's server offering its own key set and certificate, then proves that no header ever makes
the verifier fetch anything from anywhere but the configured JWKS URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from jwt_middleware import InvalidIssuerError, InvalidSignatureError, UnknownKeyError
from jwt_middleware.testing import SigningKey, encode_compact
from tests.security.catalogue import Case

CATEGORY: Final = "Key URLs and cross-issuer replay (live issuer)"
RUN_BY: Final = ("test_remote_keys.py",)

CASES: list[Case] = []


def case(
    name: str, how: str, expect: Any, rule: str, build: Callable[[Any], Any], verifier: str = "remote"
) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule, verifier=verifier))


def _claims(remote: Any, **changes: Any) -> dict[str, Any]:
    return remote.claims(**changes)


def _attacker_signed(kid_of_issuer: bool, **headers: Any) -> Callable[[Any], str]:
    def build(k: Any) -> str:
        remote = k.remote
        kid = remote.issuer.current_key.kid if kid_of_issuer else k.attacker_ed.kid
        forger = SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=kid)
        resolved = {name: value(remote) if callable(value) else value for name, value in headers.items()}
        return encode_compact(_claims(remote), forger, headers=resolved)

    return build


case(
    "remote-control-valid",
    "a genuine token from the live issuer",
    None,
    "positive control",
    lambda k: k.remote.issuer.mint(k.remote.claims()),
)
case(
    "remote-jku-attacker-jwks-own-kid",
    "signed by the attacker under its own kid, 'jku' pointing at the attacker's JWKS",
    UnknownKeyError,
    "RFC 7515 §4.1.2; RFC 8725 §3.10",
    _attacker_signed(False, jku=lambda r: r.attacker_url + "/jwks.json"),
)
case(
    "remote-jku-attacker-jwks-issuer-kid",
    "signed by the attacker under the issuer's kid, 'jku' pointing at the attacker's JWKS",
    InvalidSignatureError,
    "RFC 7515 §4.1.2; RFC 8725 §3.10",
    _attacker_signed(True, jku=lambda r: r.attacker_url + "/jwks.json"),
)
case(
    "remote-jku-issuer-jwks-attacker-kid",
    "'jku' naming the issuer's own JWKS URL, signed by the attacker under its own kid",
    UnknownKeyError,
    "RFC 7515 §4.1.2",
    _attacker_signed(False, jku=lambda r: r.issuer.jwks_url),
)
case(
    "remote-x5u-attacker-certificate",
    "signed by the attacker under the issuer's kid, 'x5u' pointing at the attacker's certificate",
    InvalidSignatureError,
    "RFC 7515 §4.1.5; RFC 8725 §3.10",
    _attacker_signed(True, x5u=lambda r: r.attacker_url + "/cert.pem"),
)
case(
    "remote-jku-and-x5u-metadata-service",
    "'jku' and 'x5u' pointing at a cloud metadata address (SSRF probe)",
    InvalidSignatureError,
    "RFC 8725 §3.10 (SSRF)",
    _attacker_signed(True, jku="http://169.254.169.254/latest/meta-data/", x5u="http://127.0.0.1:1/"),
)
case(
    "remote-embedded-jwk",
    "the attacker's key embedded as 'jwk', 'jku' to the attacker's server, issuer's kid",
    InvalidSignatureError,
    "CVE-2018-0114",
    lambda k: _attacker_signed(
        True, jwk=lambda r: k.attacker_ed.public_jwk(), jku=lambda r: r.attacker_url + "/jwks.json"
    )(k),
)
case(
    "remote-genuine-token-with-key-urls",
    "a genuine token whose header carries 'jku' and 'x5u' to the attacker: ignored, accepted",
    None,
    "positive control; RFC 8725 §3.10",
    lambda k: k.remote.issuer.mint(
        k.remote.claims(),
        headers={"jku": k.remote.attacker_url + "/jwks.json", "x5u": k.remote.attacker_url + "/cert.pem"},
    ),
)
case(
    "remote-cross-issuer-b-signed-claims-a",
    "two live issuers both publish kid 'shared'; B's key signs a token claiming iss A",
    InvalidSignatureError,
    "RFC 8725 §3.8 (issuer-bound keys)",
    lambda k: encode_compact(k.remote.claims(iss=k.remote.issuer_a.issuer), k.remote.issuer_b.current_key),
    verifier="remote-two-issuers",
)
case(
    "remote-cross-issuer-a-signed-claims-b",
    "A's 'shared' key signs a token claiming iss B",
    InvalidSignatureError,
    "RFC 8725 §3.8",
    lambda k: encode_compact(k.remote.claims(iss=k.remote.issuer_b.issuer), k.remote.issuer_a.current_key),
    verifier="remote-two-issuers",
)
case(
    "remote-cross-issuer-control-b",
    "B's key signs a token claiming iss B",
    None,
    "positive control",
    lambda k: encode_compact(k.remote.claims(iss=k.remote.issuer_b.issuer), k.remote.issuer_b.current_key),
    verifier="remote-two-issuers",
)
case(
    "remote-cross-issuer-unknown-issuer",
    "a token claiming the attacker's server as issuer: refused before any key fetch",
    InvalidIssuerError,
    "RFC 8725 §3.8",
    lambda k: encode_compact(k.remote.claims(iss=k.remote.attacker_url), k.remote.issuer_a.current_key),
    verifier="remote-two-issuers",
)
