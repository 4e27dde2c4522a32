"""``JWTVerifier(revocations=...)``: every path that returns claims refuses a revoked token."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import JWTVerifier, RevokedTokenError, reasons
from jwt_middleware.errors import ConfigurationError, InvalidSignatureError, RevocationListFullError
from jwt_middleware.revocation import RevocationList

from .conftest import AUDIENCE, ISSUER, TokenFactory


def test_a_revoked_token_is_refused_by_full_verification(
    verifier: JWTVerifier, revocations: RevocationList, make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    token = make_token()
    claims = verifier.verify_sync(token)
    revocations.revoke_token_sync(claims)
    other = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)
    with pytest.raises(RevokedTokenError) as refused:
        other.verify_sync(token)  # a verifier that never saw it: the full path
    error = refused.value
    assert (error.status_code, error.error, error.description) == (
        401,
        "invalid_token",
        "The token has been revoked",
    )
    assert (error.claim, error.code) == ("jti", reasons.JTI_REVOKED)


def test_a_cached_token_is_refused_once_revoked_and_the_cache_stays_on(
    verifier: JWTVerifier, revocations: RevocationList, make_token: TokenFactory
) -> None:
    token = make_token()
    claims = verifier.verify_sync(token)
    assert verifier.caches_tokens
    entry = verifier.cached_entry(token)
    assert entry is not None
    revocations.revoke_token_sync(claims)
    with pytest.raises(RevokedTokenError):
        verifier.verify_sync(token)
    assert verifier.cached_claims(token) is None  # "not accepted now", without raising
    assert verifier.cached_entry(token) is entry  # still cached: revocation never empties the cache
    assert verifier.caches_tokens
    # Other tokens keep hitting the cache.
    fresh = make_token(origin_jti="refresh-2")
    verifier.verify_sync(fresh)
    assert verifier.cached_claims(fresh) is not None


@pytest.mark.anyio
async def test_the_async_path_refuses_too(
    verifier: JWTVerifier, revocations: RevocationList, make_token: TokenFactory
) -> None:
    token = make_token()
    claims = await verifier.verify(token)
    await revocations.revoke_token(claims)
    with pytest.raises(RevokedTokenError):
        await verifier.verify(token)


@pytest.mark.parametrize("path", ["full", "cached"])
def test_origin_and_subject_revocations_name_their_claim(
    path: str, jwks: dict[str, Any], make_token: TokenFactory
) -> None:
    revocations = RevocationList()
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)
    now = int(revocations.clock())
    family = make_token(origin_jti="refresh-9", sub="bob")
    signed_out = make_token(origin_jti="refresh-7", sub="carol", iat=now - 20)
    if path == "cached":
        verifier.verify_sync(family)
        verifier.verify_sync(signed_out)
    revocations.revoke_origin_sync(ISSUER, "refresh-9")
    revocations.revoke_subject_sync(ISSUER, "carol", issued_before=now - 10)
    with pytest.raises(RevokedTokenError) as by_origin:
        verifier.verify_sync(family)
    assert (by_origin.value.claim, by_origin.value.code) == ("origin_jti", reasons.ORIGIN_JTI_REVOKED)
    with pytest.raises(RevokedTokenError) as by_subject:
        verifier.verify_sync(signed_out)
    assert (by_subject.value.claim, by_subject.value.code) == ("sub", reasons.SUB_REVOKED)
    # A sign-in after the global sign-out gets a token that works.
    later = make_token(sub="carol", origin_jti="refresh-8", iat=now - 10)
    assert verifier.verify_sync(later).subject == "carol"


def test_revoke_token_with_include_origin_signs_the_whole_session_out(
    verifier: JWTVerifier, revocations: RevocationList, make_token: TokenFactory
) -> None:
    access = make_token(origin_jti="refresh-5")
    id_token = make_token(origin_jti="refresh-5")
    claims = verifier.verify_sync(access)
    revocations.revoke_token_sync(claims, include_origin=True)
    for token in (access, id_token):
        with pytest.raises(RevokedTokenError):
            verifier.verify_sync(token)


def test_revocation_is_checked_only_after_the_signature(
    verifier: JWTVerifier, revocations: RevocationList, make_token: TokenFactory
) -> None:
    token = make_token()
    revocations.revoke_token_sync(verifier.verify_sync(token))
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(InvalidSignatureError):
        verifier.verify_sync(forged)


def test_a_token_of_another_issuer_with_the_same_jti_is_not_revoked(
    jwks: dict[str, Any], make_token: TokenFactory
) -> None:
    revocations = RevocationList()
    other_issuer = "https://other.test"
    verifier = JWTVerifier(
        issuer=[ISSUER, other_issuer], audience=AUDIENCE, jwks=jwks, revocations=revocations
    )
    token = make_token(jti="shared-jti")
    revocations.revoke_token_sync({"iss": other_issuer, "jti": "shared-jti", "exp": 4_000_000_000})
    assert verifier.verify_sync(token)["jti"] == "shared-jti"


def test_exposed_claims_come_with_a_revocation_refusal_only_when_opted_in(
    jwks: dict[str, Any], make_token: TokenFactory
) -> None:
    revocations = RevocationList()
    for expose in (False, True):
        verifier = JWTVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=jwks,
            revocations=revocations,
            expose_unverified_claims=expose,
        )
        token = make_token()
        revocations.revoke_token_sync(verifier.verify_sync(token))
        for _ in ("cached", "again"):
            with pytest.raises(RevokedTokenError) as refused:
                verifier.verify_sync(token)
            assert (refused.value.unverified_claims is not None) is expose
            assert "alice" not in repr(refused.value) + str(refused.value)


def test_a_leeway_longer_than_the_expiry_margin_is_refused(jwks: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="expiry_margin"):
        JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, leeway=600, revocations=RevocationList())
    JWTVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=jwks,
        leeway=600,
        revocations=RevocationList(expiry_margin=600),
    )


def test_the_cap_is_a_clear_error_and_nothing_is_dropped(
    verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    revocations = RevocationList(max_entries=2)
    first, second, third = (verifier.verify_sync(make_token()) for _ in range(3))
    revocations.revoke_token_sync(first)
    revocations.revoke_token_sync(second)
    with pytest.raises(RevocationListFullError, match="max_entries"):
        revocations.revoke_token_sync(third)
    assert len(revocations) == 2
    assert {entry.value for entry in revocations.entries()} == {first["jti"], second["jti"]}


def test_lifecycle_hooks_accept_the_in_process_list(verifier: JWTVerifier) -> None:
    verifier.hydrate_sync()
    verifier.close()
    with RevocationList() as revocations:
        assert len(revocations) == 0
        assert "RevocationList(entries=0" in repr(revocations)
