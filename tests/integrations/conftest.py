"""Fixtures for the framework adapter tests: real local issuers on 127.0.0.1.

The issuers come from the library's own pytest plugin (``jwt_issuer``, ``jwt_session_issuer``);
here they get the audience the reference apps expect. Tests that count JWKS requests or inject
faults use the per-test ``jwt_issuer``; the others share ``jwt_session_issuer``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integrations.support import AUDIENCE


@pytest.fixture(scope="session")
def jwt_issuer_options() -> dict[str, Any]:
    return {"audience": AUDIENCE}
