"""``RedisRevocationList``: one revocation list for every replica, with no I/O on the request path.

Each process keeps the in-process list's state as a mirror of Redis, kept current by a
background thread (``mirror.MirrorThread``: pub/sub, heartbeats, full resyncs). A revocation is
written to Redis through one script that also announces it, so every other mirror has it within
milliseconds; the revoking process refuses the token at once.

When Redis cannot be reached the mirror keeps serving what it knows; once it has gone
``max_stale`` seconds without a confirmed sync it can no longer tell a revoked token from a good
one, and the verifier answers 503 ``temporarily_unavailable`` with ``Retry-After`` (fail closed),
or lets unrevoked-as-far-as-known tokens pass when ``fail_open=True`` was chosen explicitly.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import anyio

from jwt_middleware.errors import ConfigurationError, RevocationUnavailableError
from jwt_middleware.forks import repair_in_forked_child
from jwt_middleware.redis_store import DEFAULT_KEY_PREFIX, RedisStore
from jwt_middleware.revocation.entries import DEFAULT_EXPIRY_MARGIN, DEFAULT_TOKEN_LIFETIME, RevocationEntry
from jwt_middleware.revocation.events import RevocationEventHook
from jwt_middleware.revocation.local import RevocationList
from jwt_middleware.revocation.mirror import MirrorSettings, MirrorThread
from jwt_middleware.revocation.redis_entries import RedisEntries
from jwt_middleware.revocation.state import DEFAULT_MAX_ENTRIES
from jwt_middleware.revocation.wire import Layout

__all__ = ["DEFAULT_MAX_STALE", "RedisRevocationList"]

logger: Final = logging.getLogger("jwt_middleware.revocation")

#: How long a mirror may go without a confirmed sync before it stops vouching for tokens.
DEFAULT_MAX_STALE: Final = 30.0


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{name} must be a positive number of seconds")
    return float(value)


def _event_loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class RedisRevocationList(RevocationList):
    """Revocations shared by every process connected to one Redis (6 or later) or Valkey.

    Give ``url`` (``redis://``, ``rediss://`` or ``unix://``), or a ``RedisStore`` shared with other
    features. ``max_stale`` (default 30 s) bounds how old the mirror may be before requests get a
    503 (``fail_open=False``) or pass. ``heartbeat`` is how often the subscription is confirmed,
    ``resync_interval`` how often the mirror checks that it missed no write (re-reading everything
    only if it did), ``startup_timeout`` how long the first requests of a process (or
    ``hydrate``) wait for the first sync.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        store: RedisStore | None = None,
        max_stale: float = DEFAULT_MAX_STALE,
        fail_open: bool = False,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        timeout: float = 1.0,
        heartbeat: float = 1.0,
        resync_interval: float = 10.0,
        startup_timeout: float = 5.0,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        clock: Callable[[], float] = time.time,
        on_event: RevocationEventHook | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            max_entries=max_entries,
            token_lifetime=token_lifetime,
            expiry_margin=expiry_margin,
            clock=clock,
            on_event=on_event,
        )
        if (url is None) == (store is None):
            raise ConfigurationError("RedisRevocationList needs exactly one of url and store")
        self._owns_store = store is None
        if store is None:
            assert url is not None
            store = RedisStore(url, key_prefix=key_prefix, timeout=timeout, client_options=client_options)
        self.store = store
        heartbeat = _positive("heartbeat", heartbeat)
        self.settings = MirrorSettings(
            max_stale=_positive("max_stale", max_stale),
            heartbeat=heartbeat,
            resync_interval=_positive("resync_interval", resync_interval),
            retry_initial=_positive("retry_initial", retry_initial),
            retry_max=_positive("retry_max", retry_max),
            fail_open=bool(fail_open),
        )
        if self.settings.max_stale <= heartbeat + store.timeout:
            raise ConfigurationError("max_stale must exceed heartbeat + timeout (each heartbeat would lapse)")
        self.fail_open = bool(fail_open)
        self.startup_timeout = _positive("startup_timeout", startup_timeout)
        self._redis = RedisEntries(store, Layout(store.key("revocation")), max_entries)
        self._mirror: MirrorThread | None = None
        self._mirror_lock = threading.Lock()
        # Nothing is known until the first sync: fail closed from the very first request.
        self.state.forget_confirmation()
        repair_in_forked_child(self, RedisRevocationList._after_fork)

    # -- writing ----------------------------------------------------------------------------------

    def _share_sync(self, entries: Sequence[RevocationEntry]) -> None:
        # Already in the local state: if this fails, the next resync writes them back to Redis.
        self._redis.write(entries, self.clock())

    async def _share(self, entries: Sequence[RevocationEntry]) -> None:
        if _event_loop_running_here():
            await self._redis.awrite(entries, self.clock())
        else:  # Another async library (trio): redis-py's asyncio client needs asyncio.
            await anyio.to_thread.run_sync(self._redis.write, entries, self.clock())

    def stored_entries(self) -> list[RevocationEntry]:
        """The entries in Redis right now, read directly (what ``jwt-middleware revoke --list`` prints)."""
        with self.store.unavailable_on_failure():
            snapshot = self._redis.snapshot()
        now = self.clock()
        live = [entry for entry in snapshot.entries if now < entry.until]
        live.sort(key=lambda e: (e.kind.value, e.issuer, e.value, e.issued_before or 0.0))
        return live

    # -- the request path's slow branch -----------------------------------------------------------

    def _catch_up(self, now: float) -> bool:
        # A thread (never an event loop) may wait, up to startup_timeout, for a mirror that is
        # not failing: the first requests of a fresh worker, or of a process that was frozen (an
        # AWS Lambda between invocations) and whose mirror is reconnecting. A mirror that is
        # failing answers at once, so an outage never adds latency to every request.
        mirror = self._running_mirror()
        if _event_loop_running_here():
            return False
        return mirror.wait_for_trust(now, self.startup_timeout)

    def _cannot_tell(self, generation: int) -> int:
        if self.fail_open:
            return generation
        mirror = self._mirror
        retry_in = mirror.retry_in if mirror is not None else 1.0
        raise RevocationUnavailableError(retry_after=max(1, min(30, math.ceil(retry_in))))

    def _running_mirror(self) -> MirrorThread:
        mirror = self._mirror
        if mirror is not None and mirror.is_alive():
            return mirror
        with self._mirror_lock:
            mirror = self._mirror
            if mirror is None or not mirror.is_alive():
                mirror = MirrorThread(
                    redis=self._redis,
                    state=self.state,
                    settings=self.settings,
                    clock=self.clock,
                    on_event=self.on_event,
                )
                mirror.start()
                self._mirror = mirror
            return mirror

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the mirror and wait (up to ``startup_timeout``) for its first sync; never raises."""
        mirror = self._running_mirror()
        if not mirror.synced.is_set():
            # A worker thread waits on the mirror's threading.Event; the loop stays free.
            await anyio.to_thread.run_sync(mirror.synced.wait, self.startup_timeout)
        self._log_if_unsynced(mirror)

    def start_sync(self) -> None:
        """``start`` for threads without an event loop (on one, it only starts the mirror)."""
        mirror = self._running_mirror()
        if not _event_loop_running_here():
            mirror.synced.wait(self.startup_timeout)
        self._log_if_unsynced(mirror)

    def _log_if_unsynced(self, mirror: MirrorThread) -> None:
        if not mirror.synced.is_set():
            logger.warning(
                "jwt_middleware: revocations from %s not synced yet; requests are refused with 503 until "
                "they are%s",
                self.store.label,
                " (fail_open: they pass meanwhile)" if self.fail_open else "",
            )

    def _stop_mirror(self) -> None:
        with self._mirror_lock:
            mirror, self._mirror = self._mirror, None
        if mirror is not None:
            mirror.stop()

    def close(self) -> None:
        """Stop the mirror and close connections; a later request starts them again."""
        self._stop_mirror()
        if self._owns_store:
            self.store.close()

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._stop_mirror)
        if self._owns_store:
            await self.store.aclose()

    def _after_fork(self) -> None:
        # The mirror thread did not survive the fork and its locks may be held by it: start over.
        self._mirror = None
        self._mirror_lock = threading.Lock()
        self.state.after_fork()

    def __repr__(self) -> str:
        return f"RedisRevocationList({self.store.label!r}, entries={len(self.state)})"
