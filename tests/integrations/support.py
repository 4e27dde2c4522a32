"""Helpers shared by the framework adapter tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

AUDIENCE = "orders-api"
#: The bare ``DPoP`` challenge every refusal carries too while a verifier accepts DPoP (the default).
DPOP_CHALLENGE = 'DPoP algs="ES256 ES384 ES512 Ed25519 Ed448 EdDSA PS256 PS384 PS512 RS256 RS384 RS512"'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(
    realm: str,
    error: str | None = None,
    description: str | None = None,
    scope: str = "",
    *,
    dpop: bool = True,
) -> str:
    """The exact ``WWW-Authenticate`` value RFC 6750 prescribes, spelled out independently.

    With ``dpop`` (a verifier's default), RFC 9449's bare ``DPoP`` challenge follows the ``Bearer`` one,
    except on a 403, which names only the scheme the token came with.
    """
    value = f'Bearer realm="{realm}"'
    if error is not None:
        value += f', error="{error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return value + (f", {DPOP_CHALLENGE}" if dpop and error != "insufficient_scope" else "")


def setup_django() -> None:
    """Configure Django once per process with the reference project, on a throwaway database."""
    from integrations.django_site import setup

    if "DJANGO_SITE_DB" not in os.environ:
        directory = tempfile.mkdtemp(prefix="jwt-django-site-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ["DJANGO_SITE_DB"] = os.path.join(directory, "site.sqlite3")
    setup()
