"""The Redis side of one revocation list: write entries (sync and async) and read a snapshot.

Every write goes through ``wire.WRITE_SCRIPT`` (prune, cap, merge, announce in one step); both
shells build the same arguments here and translate the same failures, so the async and sync
paths differ only in the client they await.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from jwt_middleware.errors import RevocationListFullError
from jwt_middleware.redis_store import RedisStore
from jwt_middleware.revocation.entries import RevocationEntry
from jwt_middleware.revocation.wire import (
    FULL_ERROR,
    WRITE_SCRIPT,
    Layout,
    decode_entry,
    decode_version,
    encode_field,
    encode_time,
)

__all__ = ["RedisEntries", "Snapshot"]


class Snapshot:
    """Every entry found in Redis, the version counter read before them, and what was unreadable."""

    __slots__ = ("entries", "identities", "skipped", "version")

    def __init__(self, version: int) -> None:
        self.version = version
        self.entries: list[RevocationEntry] = []
        self.identities: set[tuple[object, ...]] = set()
        self.skipped = 0


class RedisEntries:
    """Reads and writes one list's entries in a ``RedisStore``."""

    __slots__ = ("_script", "layout", "max_entries", "store")

    def __init__(self, store: RedisStore, layout: Layout, max_entries: int) -> None:
        self.store = store
        self.layout = layout
        self.max_entries = max_entries
        self._script: Any = None

    def _arguments(self, entries: Sequence[RevocationEntry], now: float) -> list[str]:
        arguments = [encode_time(now), str(self.max_entries), self.layout.channel]
        for entry in entries:
            arguments += (encode_field(entry), encode_time(entry.until))
        return arguments

    def _keys(self) -> list[str]:
        return [self.layout.entries, self.layout.expiry, self.layout.version]

    def version(self) -> int:
        """The version counter now (redis-py's errors propagate, as for ``snapshot``)."""
        try:
            return decode_version(self.store.client().get(self.layout.version))
        except ValueError:
            return -1  # Not ours: never equal to a mirror's, so it resyncs and reports.

    def write(self, entries: Sequence[RevocationEntry], now: float) -> None:
        """Store and announce ``entries`` (an empty list only prunes expired ones)."""
        arguments = self._arguments(entries, now)
        with self.store.unavailable_on_failure(), _full_as_error(self.max_entries):
            if self._script is None:
                self._script = self.store.client().register_script(WRITE_SCRIPT)
            self._script(keys=self._keys(), args=arguments)

    async def awrite(self, entries: Sequence[RevocationEntry], now: float) -> None:
        """``write`` through the running event loop's asyncio client."""
        arguments = self._arguments(entries, now)
        with self.store.unavailable_on_failure(), _full_as_error(self.max_entries):
            client = self.store.async_client()
            await client.register_script(WRITE_SCRIPT)(keys=self._keys(), args=arguments)

    def snapshot(self) -> Snapshot:
        """Every stored entry, read in pages (``HSCAN``) so that Redis is never blocked for long.

        Raises redis-py's own errors, which the mirror classifies; other callers translate them
        with ``store.unavailable_on_failure()``.
        """
        # The counter first: whatever was written up to it is in the hash; later writes arrive on
        # the subscription, which the caller opened before.
        snapshot = Snapshot(max(0, self.version()))
        for field, until in self.store.client().hscan_iter(self.layout.entries, count=1000):
            try:
                entry = decode_entry(field, until)
            except ValueError:
                snapshot.skipped += 1
                continue
            snapshot.entries.append(entry)
            snapshot.identities.add(entry.identity)
        return snapshot


@contextlib.contextmanager
def _full_as_error(max_entries: int) -> Iterator[None]:
    """Turn the script's cap refusal into ``RevocationListFullError`` (inside the failure translation)."""
    try:
        yield
    except Exception as error:
        if FULL_ERROR not in str(error):
            raise
        raise RevocationListFullError(
            f"Redis holds the maximum of {max_entries} live revocations; "
            "raise max_entries or shorten token lifetimes"
        ) from None
