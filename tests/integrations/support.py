"""Helpers shared by the framework adapter tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

AUDIENCE = "orders-api"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(realm: str, error: str | None = None, description: str | None = None, scope: str = "") -> str:
    """The exact ``WWW-Authenticate`` value RFC 6750 prescribes, spelled out independently."""
    value = f'Bearer realm="{realm}"'
    if error is not None:
        value += f', error="{error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return value


def setup_django() -> None:
    """Configure Django once per process with the reference project, on a throwaway database."""
    from integrations.django_site import setup

    if "DJANGO_SITE_DB" not in os.environ:
        directory = tempfile.mkdtemp(prefix="jwt-django-site-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ["DJANGO_SITE_DB"] = os.path.join(directory, "site.sqlite3")
    setup()
