"""``IssuerTemplate``: one issuer per tenant, matched exactly with the token's own tenant claim."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import ConfigurationError, InvalidIssuerError, IssuerTemplate, JWTVerifier
from jwt_middleware.keysource import StaticKeySource
from tests.core.support import OMIT, Clock, Keyring, claims, token

TEMPLATE = "https://login.example.com/{tid}/v2.0"
ALLOWED = ("tenant-a", "tenant-b")
EXACT = "https://exact.example.com"


def _verifier(keyring: Keyring, **options: Any) -> JWTVerifier:
    return JWTVerifier(
        issuer=[EXACT, IssuerTemplate(TEMPLATE, allowed=ALLOWED)],
        audience="api://orders",
        jwks=keyring.jwks("ES256"),
        clock=Clock(),
        **options,
    )


def _for(tid: Any, iss: Any = None) -> dict[str, Any]:
    return claims(iss=iss if iss is not None else TEMPLATE.replace("{tid}", str(tid)), tid=tid)


def test_the_template_accepts_each_allowed_tenant_with_its_own_issuer(keyring: Keyring) -> None:
    check = _verifier(keyring)
    for tid in ALLOWED:
        assert check.verify_sync(token(keyring["ES256"], _for(tid)))["tid"] == tid
    assert check.verify_sync(token(keyring["ES256"], claims(iss=EXACT)))  # exact issuers still work


@pytest.mark.parametrize(
    ("label", "payload", "claim"),
    [
        ("foreign-tenant", _for("tenant-c"), "tid"),
        ("issuer-of-another-allowed-tenant", _for("tenant-a", TEMPLATE.replace("{tid}", "tenant-b")), "iss"),
        ("no-tid", claims(iss=TEMPLATE.replace("{tid}", "tenant-a"), tid=OMIT), "iss"),
        ("tid-not-a-string", claims(iss=TEMPLATE.replace("{tid}", "1"), tid=1), "iss"),
        ("tid-empty", claims(iss=TEMPLATE.replace("{tid}", ""), tid=""), "iss"),
        ("the-template-text-itself", claims(iss=TEMPLATE, tid="tenant-a"), "iss"),
        ("case-changed", _for("tenant-a", TEMPLATE.replace("{tid}", "tenant-a").upper()), "iss"),
        ("trailing-slash", _for("tenant-a", TEMPLATE.replace("{tid}", "tenant-a") + "/"), "iss"),
        ("path-in-tid", _for("tenant-a/v2.0", TEMPLATE.replace("{tid}", "tenant-a/v2.0")), "tid"),
    ],
)
def test_everything_else_is_refused(
    keyring: Keyring, label: str, payload: dict[str, Any], claim: str
) -> None:
    with pytest.raises(InvalidIssuerError) as caught:
        _verifier(keyring).verify_sync(token(keyring["ES256"], payload))
    assert caught.value.claim == claim
    if claim == "tid":
        assert caught.value.code == "tenant.not_allowed"
        assert caught.value.expected == ALLOWED


def test_an_exact_issuer_is_not_widened_by_a_template(keyring: Keyring) -> None:
    """The exact issuer's string is never filled: a token naming it with a tid is still exact."""
    check = _verifier(keyring)
    assert check.verify_sync(token(keyring["ES256"], claims(iss=EXACT, tid="anything")))
    with pytest.raises(InvalidIssuerError):
        check.verify_sync(token(keyring["ES256"], claims(iss=EXACT + "/tenant-a", tid="tenant-a")))


def test_the_template_names_its_key_source() -> None:
    verifier = JWTVerifier(
        issuer=IssuerTemplate(TEMPLATE, allowed=ALLOWED),
        audience=None,
        jwks_url={TEMPLATE: "https://login.example.com/common/keys"},
    )
    assert verifier.issuers == (TEMPLATE,)
    assert list(verifier.key_sources) == [TEMPLATE]
    assert verifier.key_sources[TEMPLATE].url == "https://login.example.com/common/keys"  # type: ignore[attr-defined]
    single = JWTVerifier(
        issuer=IssuerTemplate(TEMPLATE, allowed=ALLOWED), audience=None, jwks_url="https://k.example/keys"
    )
    assert single.key_sources[TEMPLATE].url == "https://k.example/keys"  # type: ignore[attr-defined]


def test_a_template_needs_its_keys_named() -> None:
    with pytest.raises(ConfigurationError, match="discovered"):
        JWTVerifier(issuer=IssuerTemplate(TEMPLATE, allowed=ALLOWED), audience=None)


@pytest.mark.parametrize(
    ("template", "allowed"),
    [
        ("https://login.example.com/v2.0", ALLOWED),
        ("https://login.example.com/{tid}/{ver}", ALLOWED),
        ("https://login.example.com/{tid}}", ALLOWED),
        ("https://login.example.com/{}/v2.0", ALLOWED),
        (TEMPLATE, ()),
        (TEMPLATE, None),
        (TEMPLATE, [""]),
        (TEMPLATE, [3]),
        (5, ALLOWED),
    ],
)
def test_bad_templates_fail_at_configuration(template: Any, allowed: Any) -> None:
    with pytest.raises(ConfigurationError):
        IssuerTemplate(template, allowed=allowed)


def test_value_semantics() -> None:
    one = IssuerTemplate(TEMPLATE, allowed=["tenant-b", "tenant-a"])
    assert one == IssuerTemplate(TEMPLATE, allowed=ALLOWED)
    assert hash(one) == hash(IssuerTemplate(TEMPLATE, allowed=ALLOWED))
    assert one.claim == "tid"
    assert one.issuer_for("x") == "https://login.example.com/x/v2.0"
    assert IssuerTemplate(TEMPLATE, allowed="tenant-a").allowed == {"tenant-a"}
    with pytest.raises(AttributeError):
        one.allowed = frozenset()  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        JWTVerifier(issuer=[one, one], audience=None, jwks={"keys": []})
    assert isinstance(
        JWTVerifier(issuer=one, audience=None, jwks={"keys": []}).key_sources[TEMPLATE], StaticKeySource
    )
