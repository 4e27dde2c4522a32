"""The outgoing-call and introspection paths never import ``authlib.jose``: assertions are ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import sys
from jwt_middleware.oauth import ClientCredentialsAuth, IntrospectionAuthenticator
from jwt_middleware.testing import LocalIssuer, SigningKey

key = SigningKey.generate("ES256")
with LocalIssuer(audience="api", opaque_access_tokens=True) as issuer:
    issuer.register_client("machine", jwks={"keys": [key.public_jwk()]}, grant_types=["client_credentials"])
    auth = ClientCredentialsAuth(
        issuer.token_endpoint, client_id="machine", private_key=key.private_key, auth_method="private_key_jwt"
    )
    token = auth.access_token_sync()
    introspection = IntrospectionAuthenticator(
        issuer=issuer.issuer, client_id="machine", private_key=key.private_key, auth_method="private_key_jwt"
    )
    assert introspection.introspect_sync(token).client_id == "machine"
assert "authlib.jose" not in sys.modules, "authlib.jose was imported"
"""


def test_private_key_jwt_grants_and_introspection_never_import_authlib_jose() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
