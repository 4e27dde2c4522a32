"""The Django reference project: settings, URLs and views protected by ``jwt_middleware``.

It shows the Django adapter the way a Django project uses it: the middleware in ``MIDDLEWARE``,
``settings.JWT_MIDDLEWARE`` pointing at the identity provider (read from the environment here, or
replaced with ``override_settings`` in tests), function views (sync and ``async def``) with the
decorators, class-based views with ``JWTRequiredMixin`` and ``method_decorator``, and a DRF API
under ``/api/`` authenticated by DRF itself.
"""

from __future__ import annotations

import os

__all__ = ["SETTINGS_MODULE", "setup"]

SETTINGS_MODULE = "integrations.django_site.settings"


def setup() -> None:
    """Configure Django with this project's settings (once per process), as ``manage.py`` would."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()
