"""Settings of the reference project: the least a JWT-protected Django API needs.

The identity provider comes from the environment (``JWT_ISSUER``, ``JWT_AUDIENCE``,
``JWT_JWKS_URL``), as it would in a deployment; tests start a local issuer and use
``override_settings(JWT_MIDDLEWARE=...)``. ``/public`` and the DRF API under ``/api/`` are excluded
from the middleware: the first is public, the second is authenticated by DRF itself.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "reference-project-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "integrations.django_site.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "jwt_middleware.integrations.django.JWTAuthenticationMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # Only used when USER_MODEL_LOOKUP maps tokens to database users.
        "NAME": os.environ.get(
            "DJANGO_SITE_DB", str(Path(tempfile.gettempdir()) / "jwt_middleware_django_site.sqlite3")
        ),
    }
}

JWT_MIDDLEWARE: dict[str, Any] = {
    "ISSUER": os.environ.get("JWT_ISSUER", "https://issuer.example"),
    "AUDIENCE": os.environ.get("JWT_AUDIENCE", "orders-api"),
    "JWKS_URL": os.environ.get("JWT_JWKS_URL") or None,
    "REALM": "orders",
    "EXCLUDE_PATHS": ["/public"],
    "EXCLUDE_PREFIXES": ["/api"],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_middleware.integrations.drf.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
