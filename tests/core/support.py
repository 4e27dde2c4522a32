"""Constants and token builders shared by the core acceptance tests.

Valid tokens come from the test kit (``encode_compact``). Malformed ones are built here from raw
header and payload bytes and then signed with a real key, so that every rejection test changes
exactly one thing about an otherwise valid token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pytest

from jwt_middleware import JWTMiddlewareError, JWTVerifier, KeySet, b64
from jwt_middleware.policy import ClaimPolicy, TimeCheck
from jwt_middleware.testing import SigningKey, encode_compact

ISSUER: Final = "https://issuer.example.com"
AUDIENCE: Final = "api://orders"
NOW: Final = 1_700_000_000.0
LIFETIME: Final = 300
#: A string that must never leak from a token into an error message.
MARKER: Final = "MARKER-7f3a9c-secret"

#: Every signing configuration the library supports: the JWS alg, plus EdDSA over both curves.
SIGNING_CASES: Final = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "EdDSA-Ed448",
    "Ed25519",
    "Ed448",
)


class Omit:
    """Marks a claim or header parameter to leave out."""


OMIT: Final = Omit()


class Clock:
    """An injectable clock that tests move by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Keyring:
    """Signing keys generated once per test session, by signing configuration name."""

    keys: dict[str, SigningKey] = field(default_factory=dict)

    def __getitem__(self, name: str) -> SigningKey:
        return self.keys[name]

    def jwks(self, *names: str, include_alg: bool = True) -> dict[str, Any]:
        return {"keys": [self.keys[name].public_jwk(include_alg=include_alg) for name in names]}


def claims(**changes: Any) -> dict[str, Any]:
    """A valid payload for ``ISSUER``/``AUDIENCE`` at ``NOW``; ``OMIT`` removes a claim."""
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + LIFETIME,
    }
    for name, value in changes.items():
        if value is OMIT:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def token(key: SigningKey, payload: Mapping[str, Any] | None = None, **headers: Any) -> str:
    """A token signed by ``key``; header parameters given as ``None`` or ``OMIT`` are left out."""
    header_changes = {name: (None if value is OMIT else value) for name, value in headers.items()}
    return encode_compact(claims() if payload is None else payload, key, headers=header_changes)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def header_for(key: SigningKey, **changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    for name, value in changes.items():
        if value is OMIT:
            header.pop(name, None)
        else:
            header[name] = value
    return header


def signed_segments(key: SigningKey, header_segment: str, payload_segment: str) -> str:
    """Sign the exact segments given (however malformed) with ``key``."""
    signing_input = f"{header_segment}.{payload_segment}"
    return f"{signing_input}.{b64.encode(key.sign(signing_input.encode('ascii')))}"


def signed_raw(key: SigningKey, header: bytes | Mapping[str, Any], payload: bytes | Mapping[str, Any]) -> str:
    """A correctly signed token over raw header and payload bytes (or JSON-encoded mappings)."""
    header_bytes = header if isinstance(header, bytes) else dumps(header)
    payload_bytes = payload if isinstance(payload, bytes) else dumps(payload)
    return signed_segments(key, b64.encode(header_bytes), b64.encode(payload_bytes))


def with_signature(token_string: str, signature: bytes) -> str:
    header_segment, payload_segment, _ = token_string.split(".")
    return f"{header_segment}.{payload_segment}.{b64.encode(signature)}"


def signature_of(token_string: str) -> bytes:
    return b64.decode(token_string.split(".")[2])


def verifier(jwks: Mapping[str, Any] | KeySet, *, clock: Clock | None = None, **options: Any) -> JWTVerifier:
    """A static-key verifier for ``ISSUER``/``AUDIENCE`` on a fixed clock."""
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", AUDIENCE)
    return JWTVerifier(jwks=jwks, clock=clock or Clock(), **options)


def names(values: Iterable[Any]) -> list[str]:
    return [str(value) for value in values]


#: A claim rule's shape: ``rule(header, claims, now)`` raises to refuse.
Rule = Callable[[Mapping[str, Any], Mapping[str, Any], float], None]


def refusal(
    rule: Rule, payload: Mapping[str, Any], header: Mapping[str, Any] | None = None, *, now: float = NOW
) -> JWTMiddlewareError:
    """The error ``rule`` raises for ``payload`` (and ``header``) at ``now``."""
    with pytest.raises(JWTMiddlewareError) as refused:
        rule(header or {}, payload, now)
    return refused.value


def issuer_rule(*issuers: str) -> Rule:
    """The issuer rule of a claim policy, in a claim rule's shape."""
    policy = ClaimPolicy(issuers=issuers, time=TimeCheck())

    def rule(header: Mapping[str, Any], payload: Mapping[str, Any], now: float) -> None:
        policy.issuer_of(payload)

    return rule
