"""pytest fixtures for testing apps protected by jwt_middleware (registered as a pytest11 plugin).

Installing the library makes these fixtures available in any test suite, with no import:

* ``jwt_issuer``: a started ``LocalIssuer`` (a fake OpenID provider on 127.0.0.1), fresh for each
  test, so key rotation, faults and request counts never leak between tests.
* ``jwt_session_issuer``: one ``LocalIssuer`` for the whole session, for suites that only mint
  ordinary tokens and want to skip a key generation per test.
* ``jwt_issuer_options``: the keyword arguments both issuers are built with (``{}``). Override it
  in a ``conftest.py`` to change them, e.g. ``return {"audience": "orders-api", "alg": "ES256"}``
  (keep it session-scoped if ``jwt_session_issuer`` is used).
* ``jwt_verifier``: ``jwt_issuer.verifier()``, a ``JWTVerifier`` trusting ``jwt_issuer``.
* ``mint_jwt``: ``jwt_issuer.mint``, the token factory:
  ``mint_jwt(sub="alice", scope="orders:read")``, ``mint_jwt(expires_in=-1)``.
* ``jwt_token``: one valid token from ``jwt_issuer`` with the default claims.

Point the app under test at ``jwt_issuer.issuer`` and ``jwt_issuer.jwks_url`` (or use
``jwt_verifier``), then send ``Authorization: Bearer {token}``.

This module is imported by every pytest run in every project that installs the library, so it
imports nothing heavy until a fixture is used, and its fixture names all start with ``jwt_`` or
``mint_jwt`` to stay out of the way of a project's own fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jwt_middleware.testing.issuer import LocalIssuer
    from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "jwt_issuer",
    "jwt_issuer_options",
    "jwt_session_issuer",
    "jwt_token",
    "jwt_verifier",
    "mint_jwt",
]


@pytest.fixture(scope="session")
def jwt_issuer_options() -> dict[str, Any]:
    """Keyword arguments for ``LocalIssuer``; override in a conftest.py to configure the issuers."""
    return {}


def _issuer(options: dict[str, Any]) -> Iterator[LocalIssuer]:
    from jwt_middleware.testing.issuer import LocalIssuer

    with LocalIssuer(**options) as issuer:
        yield issuer


@pytest.fixture
def jwt_issuer(jwt_issuer_options: dict[str, Any]) -> Iterator[LocalIssuer]:
    """A started ``LocalIssuer``, stopped after the test."""
    yield from _issuer(jwt_issuer_options)


@pytest.fixture(scope="session")
def jwt_session_issuer(jwt_issuer_options: dict[str, Any]) -> Iterator[LocalIssuer]:
    """A started ``LocalIssuer`` shared by the whole session (do not rotate keys or set faults on it)."""
    yield from _issuer(jwt_issuer_options)


@pytest.fixture
def jwt_verifier(jwt_issuer: LocalIssuer) -> Iterator[JWTVerifier]:
    """A ``JWTVerifier`` bound to ``jwt_issuer`` (its ``iss``, its audience, its JWKS URL)."""
    verifier = jwt_issuer.verifier()
    yield verifier
    verifier.close()


@pytest.fixture
def mint_jwt(jwt_issuer: LocalIssuer) -> Callable[..., str]:
    """``jwt_issuer.mint``: ``mint_jwt(claims=None, *, expires_in=300, alg=None, kid=None, headers=None,
    **claims)``."""
    return jwt_issuer.mint


@pytest.fixture
def jwt_token(jwt_issuer: LocalIssuer) -> str:
    """A valid token from ``jwt_issuer`` with the default claims."""
    return jwt_issuer.mint()
