"""The event loops the library promises to work on, as an ``anyio_backend`` fixture.

anyio's pytest plugin runs every ``@pytest.mark.anyio`` test once per value of this fixture. A
conftest that imports it runs its directory's async tests on asyncio, uvloop and trio, and
``test_client_loop`` runs Starlette test clients on the same loops.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import uvloop
from starlette.testclient import TestClient

#: (anyio backend name, backend options), with a readable id for each.
EVENT_LOOPS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "uvloop": ("asyncio", {"loop_factory": uvloop.new_event_loop}),
    "trio": ("trio", {}),
}


@pytest.fixture(params=list(EVENT_LOOPS.values()), ids=list(EVENT_LOOPS))
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    backend: tuple[str, dict[str, Any]] = request.param
    return backend


@pytest.fixture
def test_client_loop(anyio_backend: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> str:
    """Every Starlette ``TestClient`` the test builds runs the app on this test's event loop.

    ``TestClient`` takes the loop as ``backend=``/``backend_options=``; this sets them as defaults
    for the test, so a module opts in with ``pytestmark = pytest.mark.usefixtures(...)`` instead
    of passing them at every call. A test that passes them itself still wins.
    """
    backend, options = anyio_backend
    monkeypatch.setattr(
        TestClient,
        "__init__",
        functools.partialmethod(TestClient.__init__, backend=backend, backend_options=options),
    )
    return backend
