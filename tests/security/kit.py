"""Keys, constants, token builders and verifiers for the adversarial suite.

Everything here is built once per process (``get_kit()``): RSA key generation dominates the cost
of the whole suite otherwise. Keys named ``attacker_*`` are never published in a key set the
verifiers trust. Every token the corpus builds carries ``MARKER`` somewhere (a claim, a ``kid``,
an issuer...), so that one scan of every error response proves no input is ever echoed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwt_middleware import JWTMiddlewareError, JWTVerifier, KeySet, b64
from jwt_middleware.cognito import cognito_issuer
from jwt_middleware.keysource import StaticKeySource
from jwt_middleware.testing import SigningKey, encode_compact
from tests.core.support import Clock, dumps, signed_raw, signed_segments, with_signature

__all__ = [
    "AUDIENCE",
    "CLIENT",
    "COGNITO_ISSUER",
    "ISSUER",
    "ISSUER_B",
    "MARKER",
    "NOW",
    "POOL",
    "Kit",
    "attempt",
    "attempt_async",
    "b64json",
    "dumps",
    "get_kit",
    "signed_raw",
    "signed_segments",
    "with_signature",
]

ISSUER: Final = "https://issuer.example.com"
ISSUER_B: Final = "https://other-issuer.example.net"
AUDIENCE: Final = "api://orders"
NOW: Final = 1_700_000_000
LIFETIME: Final = 300
#: Attacker-chosen text: it must never come back in an error description or a challenge.
MARKER: Final = "ZQX-attacker-input-7d1e"

POOL: Final = "eu-west-1_AbCdEf123"
COGNITO_ISSUER: Final = cognito_issuer(POOL)
CLIENT: Final = "3n4b5urk1ft4fl3mg5e62d9ado"
OTHER_CLIENT: Final = "7f0a1c2d3e4b5a6978c0d1e2f3"

#: The curve orders, to build ECDSA signatures with out-of-range r and s.
CURVE_ORDERS: Final = {
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "ES512": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}
CURVE_SIZES: Final = {"ES256": 32, "ES384": 48, "ES512": 66}


def b64json(value: Any) -> str:
    """A value as compact JSON in unpadded base64url (one token segment)."""
    return b64.encode(dumps(value))


class Kit:
    """The keys and verifiers every corpus module builds its cases from."""

    def __init__(self) -> None:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        #: One RSA key under three kids: bound to RS256, bound to PS256, and without a JWK "alg".
        self.rs256 = SigningKey(rsa_key, alg="RS256", kid="rsa-rs256")
        self.ps256 = SigningKey(rsa_key, alg="PS256", kid="rsa-ps256")
        self.rsa_any = SigningKey(rsa_key, alg="RS256", kid="rsa-any")
        self.es256 = SigningKey(ec.generate_private_key(ec.SECP256R1()), alg="ES256", kid="ec-p256")
        self.es384 = SigningKey(ec.generate_private_key(ec.SECP384R1()), alg="ES384", kid="ec-p384")
        self.es512 = SigningKey(ec.generate_private_key(ec.SECP521R1()), alg="ES512", kid="ec-p521")
        self.ed25519 = SigningKey(ed25519.Ed25519PrivateKey.generate(), alg="EdDSA", kid="okp-ed25519")
        self.ed448 = SigningKey(ed448.Ed448PrivateKey.generate(), alg="Ed448", kid="okp-ed448")
        #: Keys the attacker holds.
        self.attacker_rsa = SigningKey(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), alg="RS256", kid="attacker-rsa"
        )
        self.attacker_ec = SigningKey(ec.generate_private_key(ec.SECP256R1()), alg="ES256", kid="attacker-ec")
        self.attacker_ed = SigningKey(ed25519.Ed25519PrivateKey.generate(), alg="EdDSA", kid="attacker-ed")
        #: Two issuers that both publish a key under the same kid.
        self.issuer_a_key = SigningKey(ed25519.Ed25519PrivateKey.generate(), alg="EdDSA", kid="shared")
        self.issuer_b_key = SigningKey(ed25519.Ed25519PrivateKey.generate(), alg="EdDSA", kid="shared")
        #: The Cognito pool's key (Cognito signs with RS256 only).
        self.cognito_key = SigningKey(rsa_key, alg="RS256", kid="cognito-rs256")

        self.published = (
            self.rs256,
            self.ps256,
            self.es256,
            self.es384,
            self.es512,
            self.ed25519,
            self.ed448,
        )
        self.jwks: dict[str, Any] = {
            "keys": [key.public_jwk() for key in self.published]
            + [self.rsa_any.public_jwk(include_alg=False)]
        }
        self.key_set = KeySet.from_jwks(self.jwks)
        assert len(self.key_set) == len(self.jwks["keys"])
        assert not self.key_set.skipped
        self.single_key_set = KeySet.from_jwks({"keys": [self.ed25519.public_jwk()]})
        self.issuer_a_set = KeySet.from_jwks({"keys": [self.issuer_a_key.public_jwk()]})
        self.issuer_b_set = KeySet.from_jwks({"keys": [self.issuer_b_key.public_jwk()]})
        self.cognito_set = KeySet.from_jwks({"keys": [self.cognito_key.public_jwk()]})
        #: Filled by the remote-key tests: a live issuer and an attacker's server on loopback.
        self.remote: Any = None

    # -- claims and tokens --------------------------------------------------------------------

    def payload(self, **changes: Any) -> dict[str, Any]:
        """A valid claim set at ``NOW``; a change to ``None`` removes that claim."""
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"user-{MARKER}",
            "iat": NOW - 10,
            "exp": NOW + LIFETIME,
            "note": MARKER,
        }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def token(
        self, key: SigningKey | None = None, payload: Mapping[str, Any] | bytes | None = None, **headers: Any
    ) -> str:
        """A token signed by ``key`` (default Ed25519); header parameters given as ``None`` are removed."""
        key = key or self.ed25519
        return encode_compact(self.payload() if payload is None else payload, key, headers=headers)

    def header(self, key: SigningKey | None = None, **changes: Any) -> dict[str, Any]:
        key = key or self.ed25519
        header: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
        for name, value in changes.items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        return header

    def raw(
        self,
        header: Mapping[str, Any] | bytes | None = None,
        payload: Mapping[str, Any] | bytes | None = None,
        key: SigningKey | None = None,
    ) -> str:
        """A correctly signed token over exactly these header and payload bytes (or JSON mappings)."""
        key = key or self.ed25519
        return signed_raw(
            key,
            self.header(key) if header is None else header,
            self.payload() if payload is None else payload,
        )

    def payload_with(self, extra: str, **changes: Any) -> bytes:
        """The default claims as JSON text with ``extra`` (raw JSON members) appended."""
        return dumps(self.payload(**changes))[:-1] + b"," + extra.encode() + b"}"

    def cognito_access(self, **changes: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "iss": COGNITO_ISSUER,
            "client_id": CLIENT,
            "token_use": "access",
            "scope": "openid orders/read",
            "username": f"alice-{MARKER}",
            "iat": NOW - 10,
            "exp": NOW + 3600,
        }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def cognito_id(self, **changes: Any) -> dict[str, Any]:
        base = self.cognito_access(token_use="id", client_id=None, scope=None, aud=CLIENT)
        base.update(changes)
        return {name: value for name, value in base.items() if value is not None}

    def cognito_token(self, claims: Mapping[str, Any]) -> str:
        return encode_compact(claims, self.cognito_key, headers={"typ": None})

    # -- verifiers ----------------------------------------------------------------------------

    def verifier(
        self,
        name: str = "default",
        *,
        now: float = NOW,
        jwks: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> JWTVerifier:
        """A verifier on a fixed clock: ``default`` trusts every published key of ``ISSUER``."""
        clock = Clock(now)
        if name == "default":
            keys = KeySet.from_jwks(jwks) if jwks is not None else self.key_set
            return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keys, clock=clock, **options)
        if name == "single":
            return JWTVerifier(
                issuer=ISSUER, audience=AUDIENCE, jwks=self.single_key_set, clock=clock, **options
            )
        if name == "two-issuers":
            sources = {
                ISSUER: StaticKeySource(self.issuer_a_set),
                ISSUER_B: StaticKeySource(self.issuer_b_set),
            }
            return JWTVerifier(
                issuer=[ISSUER, ISSUER_B], audience=AUDIENCE, jwks_cache=sources, clock=clock, **options
            )
        if name in ("cognito-access", "cognito-id"):
            return JWTVerifier.cognito(
                user_pool_id=POOL,
                client_id=CLIENT,
                token_use=name.removeprefix("cognito-"),
                jwks=self.cognito_set,
                clock=clock,
                **options,
            )
        raise ValueError(f"unknown verifier {name!r}")


@functools.cache
def get_kit() -> Kit:
    return Kit()


def attempt(call: Callable[..., Any], *args: Any) -> tuple[Any, JWTMiddlewareError | None]:
    """``(result, None)`` when ``call`` accepts, ``(None, error)`` when it raises a library error."""
    try:
        return call(*args), None
    except JWTMiddlewareError as error:
        return None, error


async def attempt_async(
    call: Callable[..., Awaitable[Any]], *args: Any
) -> tuple[Any, JWTMiddlewareError | None]:
    try:
        return await call(*args), None
    except JWTMiddlewareError as error:
        return None, error


# -- encodings of public keys, for the HMAC algorithm-confusion cases ----------------------------


def hmac_token(secret: bytes, alg: str, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """An HS256/384/512 token whose MAC key is ``secret`` (as a confused verifier would use it)."""
    import hmac

    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64json(dict(header, alg=alg))}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64.encode(mac)}"


def standard_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def jwk_text(key: SigningKey, *, pretty: bool = False) -> bytes:
    return json.dumps(key.public_jwk(), indent=2 if pretty else None).encode()
