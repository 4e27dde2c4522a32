"""``JWTVerifier.firebase``: Firebase's documented rules, keys from X.509 certificates by ``kid``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jwt_middleware import (
    ConfigurationError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
    KeysUnavailableError,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.jwks_state import CacheSettings
from jwt_middleware.providers.certificates import CertificateKeySource
from jwt_middleware.providers.firebase import FIREBASE_CERTIFICATES_URL
from jwt_middleware.testing import LocalFirebaseIssuer, LocalIssuer, LoopbackServer, Response, SigningKey
from jwt_middleware.testing.providers import _self_signed

PROJECT = "my-app-1a2b3"


@pytest.fixture(scope="module")
def firebase() -> Iterator[LocalFirebaseIssuer]:
    with LocalIssuer.firebase(project_id=PROJECT) as issuer:
        yield issuer


class Clock:
    """A wall clock that tests can move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_the_preset_reads_googles_certificate_document() -> None:
    verifier = JWTVerifier.firebase(project_id=PROJECT)
    assert verifier.issuers == (f"https://securetoken.google.com/{PROJECT}",)
    assert verifier.audiences == {PROJECT}
    assert verifier.algorithms == frozenset({"RS256"})
    source = verifier.key_sources[verifier.issuers[0]]
    assert isinstance(source, CertificateKeySource)
    assert source.url == FIREBASE_CERTIFICATES_URL
    assert FIREBASE_CERTIFICATES_URL.startswith("https://www.googleapis.com/robot/v1/metadata/x509/")


def test_an_id_token_verifies_against_the_certificates(firebase: LocalFirebaseIssuer) -> None:
    verifier = firebase.verifier()
    before = firebase.server.requests(firebase.CERTIFICATES_PATH)
    claims = verifier.verify_sync(
        firebase.mint_id_token(uid="uid-42", email="ada@example.com", roles=["admin"])
    )
    assert claims.subject == claims["user_id"] == "uid-42"
    assert claims["firebase"]["sign_in_provider"] == "password"
    assert claims.roles == {"admin"}  # a custom claim set with the Admin SDK
    assert claims.scopes == frozenset()
    assert firebase.server.requests(firebase.CERTIFICATES_PATH) == before + 1
    assert firebase.jwks_requests == 0  # the JWKS form is not what Firebase documents


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"iss": "https://securetoken.google.com/other-project"}, InvalidIssuerError),
        ({"aud": "other-project"}, InvalidAudienceError),
        ({"iss": "https://accounts.google.com"}, InvalidIssuerError),  # a Google ID token
        ({"sub": ""}, InvalidClaimError),
        ({"sub": None}, InvalidClaimError),  # required
        ({"sub": 42}, InvalidClaimError),
        ({"auth_time": None}, InvalidClaimError),  # required
        ({"auth_time": "1700000000"}, InvalidClaimError),
        ({"auth_time": int(time.time()) + 3600}, NotYetValidError),
    ],
)
def test_refusals(firebase: LocalFirebaseIssuer, changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        firebase.verifier().verify_sync(firebase.mint_id_token(**changes))
    if "auth_time" in changes and error is NotYetValidError:
        assert caught.value.code == "auth_time.in_future"


def test_auth_time_within_the_leeway(firebase: LocalFirebaseIssuer) -> None:
    token = firebase.mint_id_token(auth_time=int(time.time()) + 20)
    assert firebase.verifier(leeway=60).verify_sync(token)


def test_rs256_only(firebase: LocalFirebaseIssuer) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.firebase(project_id=PROJECT, algorithms=["RS256", "ES256"])
    es256 = firebase.mint_id_token(alg="ES256")
    with pytest.raises(UnsupportedAlgorithmError):  # refused before any key is looked up
        firebase.verifier(jwks_url=firebase.jwks_url).verify_sync(es256)


def test_a_jwks_url_instead_of_the_certificates(firebase: LocalFirebaseIssuer) -> None:
    verifier = firebase.verifier(jwks_url=firebase.jwks_url)
    assert verifier.verify_sync(firebase.mint_id_token()).subject


@pytest.mark.parametrize(
    "options", [{"project_id": "My App"}, {"project_id": "a/b"}, {"project_id": ""}, {"audience": "x"}]
)
def test_configuration_errors(options: dict[str, Any]) -> None:
    options.setdefault("project_id", PROJECT)
    with pytest.raises(ConfigurationError):
        JWTVerifier.firebase(**options)


# -- the certificate key source ------------------------------------------------------------------------


def test_a_key_is_only_used_while_its_certificate_is_valid(firebase: LocalFirebaseIssuer) -> None:
    clock = Clock()
    verifier = firebase.verifier(clock=clock, token_cache_size=None)
    token = firebase.mint_id_token(expires_in=60 * 86400)
    assert verifier.verify_sync(token)
    clock.offset = 30 * 86400  # past notAfter (14 days), before the token's own exp
    with pytest.raises(UnknownKeyError) as caught:
        verifier.verify_sync(token)
    assert caught.value.code == "kid.certificate_not_valid"
    clock.offset = -2 * 3600  # before notBefore
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(firebase.mint_id_token(iat=int(clock()) - 10, auth_time=int(clock()) - 10))


def test_certificates_expired_when_fetched_are_skipped() -> None:
    with LocalIssuer.firebase(project_id=PROJECT, certificate_lifetime=-1800) as stale:
        verifier = stale.verifier()
        with pytest.raises(KeysUnavailableError):  # nothing usable was published: a 503, not a 401
            verifier.verify_sync(stale.mint_id_token())
        source = verifier.key_sources[verifier.issuers[0]]
        assert isinstance(source, CertificateKeySource)
        assert source.keys is None


def _served(document: Any) -> tuple[LoopbackServer, CertificateKeySource]:
    server = LoopbackServer(keep_alive=False).start()
    server.route("/certs", lambda _request: Response.json(document))
    return server, CertificateKeySource(server.url + "/certs", settings=CacheSettings())


def test_unusable_documents_and_certificates() -> None:
    rsa_key = SigningKey.generate("RS256", kid="good")
    ec_key = SigningKey.generate("ES256", kid="ec")
    assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
    document = {
        "good": _self_signed(rsa_key.private_key, 86400),  # type: ignore[arg-type]
        "not-pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        "number": 42,
    }
    server, source = _served(document)
    try:
        source.hydrate_sync()
        keys = source.keys
        assert keys is not None
        assert [key.kid for key in keys] == ["good"]
        assert len(keys.skipped) == 2
    finally:
        source.close()
        server.stop()
    for bad in (["a list"], {}):
        server, source = _served(bad)
        try:
            with pytest.raises(KeysUnavailableError):
                source.hydrate_sync()
            assert source.keys is None
        finally:
            source.close()
            server.stop()


@pytest.mark.anyio
async def test_the_async_path_reads_the_certificates_too(firebase: LocalFirebaseIssuer) -> None:
    verifier = firebase.verifier()
    await verifier.hydrate()
    assert (await verifier.verify(firebase.mint_id_token(uid="async-uid"))).subject == "async-uid"
    await verifier.aclose()
