"""Keys for the core tests, generated once per session: RSA generation dominates the run time."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, rsa

from jwt_middleware.testing import SigningKey
from tests.core.support import Keyring


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    ring = Keyring()
    # One RSA key serves the six RSA algorithms, each under its own kid and JWK "alg".
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        ring.keys[alg] = SigningKey(rsa_key, alg=alg, kid=f"{alg.lower()}-key")
    for alg in ("ES256", "ES384", "ES512", "EdDSA", "Ed25519", "Ed448"):
        ring.keys[alg] = SigningKey.generate(alg, kid=f"{alg.lower()}-key")
    ring.keys["EdDSA-Ed448"] = SigningKey(
        ed448.Ed448PrivateKey.generate(), alg="EdDSA", kid="eddsa-ed448-key"
    )
    # Keys an attacker holds: never published in any JWKS the verifiers trust.
    ring.keys["attacker-RS256"] = SigningKey.generate("RS256", kid="attacker-key")
    ring.keys["attacker-ES256"] = SigningKey.generate("ES256", kid="attacker-ec-key")
    return ring
