"""The cache's async tests run on every event loop anyio supports: asyncio, uvloop and trio."""

from __future__ import annotations

from tests.loops import anyio_backend, test_client_loop

__all__ = ["anyio_backend", "test_client_loop"]
