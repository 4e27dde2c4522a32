"""What every provider preset does the same way: validate names, refuse overrides, route keys.

A preset derives the issuer, audience rules and key URLs from a few provider-level names (a
domain, a tenant, a realm). Those names end up inside URLs, so they are checked to be exactly what
the provider documents (a host name, a path segment) before any URL is built; and options that
would silently undo the derivation (``issuer=``) are refused rather than merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.issuer_template import IssuerTemplate

__all__ = ["host_name", "key_options", "path_segment", "refuse_derived", "with_checks"]

_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9._~-]+")


def host_name(value: object, *, what: str, preset: str) -> str:
    """A bare host name (``tenant.eu.auth0.com``), optionally with a port: no scheme, no path."""
    if not isinstance(value, str) or _HOST.fullmatch(value) is None:
        raise ConfigurationError(
            f"JWTVerifier.{preset}: {what} must be a host name such as 'example.com' "
            "(no https://, no path, no trailing slash)"
        )
    return value


def path_segment(value: object, *, what: str, preset: str) -> str:
    """One URL path segment of unreserved characters (RFC 3986 section 2.3): nothing to escape."""
    if not isinstance(value, str) or _SEGMENT.fullmatch(value) is None or value in (".", ".."):
        raise ConfigurationError(
            f"JWTVerifier.{preset}: {what} must be a non-empty name of letters, digits, '.', '_', '~' or '-'"
        )
    return value


def refuse_derived(options: Mapping[str, Any], preset: str, *names: str) -> None:
    """Refuse options the preset derives itself (``issuer``, ``audience``...)."""
    given = [name for name in names if name in options]
    if given:
        raise ConfigurationError(f"JWTVerifier.{preset} derives {' and '.join(given)}; do not pass it")


def key_options(
    preset: str,
    issuers: Iterable[str | IssuerTemplate],
    default_url: str,
    jwks_url: str | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """``jwks_url``/``jwks``/``jwks_cache`` for the verifier: one key URL serving every issuer.

    ``jwks_url`` overrides the provider's URL (an emulator, a local server) while the issuers stay
    the provider's; ``jwks`` or ``jwks_cache`` in ``options`` replace both and pass through.
    """
    own_keys = options.get("jwks") is not None or options.get("jwks_cache") is not None
    if own_keys and jwks_url is not None:
        raise ConfigurationError(f"give JWTVerifier.{preset} at most one of jwks_url, jwks and jwks_cache")
    if own_keys:
        return {}
    if jwks_url is not None and not isinstance(jwks_url, str):
        raise ConfigurationError(f"JWTVerifier.{preset}: jwks_url must be one URL")
    url = jwks_url if jwks_url is not None else default_url
    names = [issuer.template if isinstance(issuer, IssuerTemplate) else issuer for issuer in issuers]
    return {"jwks_url": dict.fromkeys(names, url)}


def with_checks(options: dict[str, Any], *checks: Any, mapping: ClaimMapping) -> dict[str, Any]:
    """``options`` with the preset's checks first and its claim mapping unless one was given."""
    options["checks"] = (*checks, *options.get("checks", ()))
    options.setdefault("claim_mapping", mapping)
    return options
