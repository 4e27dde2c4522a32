"""The thread that keeps one process's revocation mirror in step with Redis.

A thread, not a task: it must run in WSGI processes that have no event loop, outlive the
short-lived loops of tests and ``anyio.run``, and never compete with request handling on an event
loop. redis-py's sync client blocks only this thread; the request path only reads the state.

One round: connect and ``SUBSCRIBE``; take a snapshot (the version counter, then ``HSCAN``),
absorb it, and write back the live entries Redis lacks (so a Redis restarted empty is refilled by
the replicas); then listen. Messages are absorbed as they arrive, and their versions must follow
each other: a gap means a message was lost, and a full resync follows at once. Every
``heartbeat`` a ``PING`` goes down the subscription: its ``PONG`` comes back behind every message
published before it, so it confirms the mirror as current up to the moment the ``PING`` was sent
(``trusted_until`` = that moment + ``max_stale``). Every ``resync_interval`` the counter in Redis
is compared with the last version received (and expired entries are pruned in Redis): a
difference, say the last message before a quiet spell was lost, also means a full resync. So a
missed message is healed within ``resync_interval``, and a quiet list costs one ``GET`` per
interval, not a re-read of every entry. Any failure, or a ``PONG`` that does not come back in
time, ends the round: the mirror keeps serving what it knows, and the next round starts after a
backoff (doubling, with jitter, up to ``retry_max``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware.errors import JWTMiddlewareException, RevocationListFullError, StoreUnavailableError
from jwt_middleware.revocation.entries import RevocationEntry
from jwt_middleware.revocation.events import (
    RevocationCapacityExceeded,
    RevocationEntrySkipped,
    RevocationEventHook,
    RevocationStale,
    RevocationSynced,
    RevocationSyncFailed,
    emit,
)
from jwt_middleware.revocation.redis_entries import RedisEntries
from jwt_middleware.revocation.state import RevocationState
from jwt_middleware.revocation.wire import decode_message

__all__ = ["MirrorSettings", "MirrorThread"]

logger: Final = logging.getLogger("jwt_middleware.revocation")

#: Longest wait for a message before the loop looks at its clocks again (also bounds ``stop``).
_POLL: Final = 0.2
#: Entries written back to Redis per script call during a repair.
_REPAIR_BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    max_stale: float
    heartbeat: float
    resync_interval: float
    retry_initial: float
    retry_max: float
    fail_open: bool

    def retry_delay(self, failures: int) -> float:
        """Doubling from ``retry_initial`` up to ``retry_max``, with jitter so replicas spread out."""
        ceiling = min(self.retry_initial * 2.0 ** min(failures - 1, 32), self.retry_max)
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


class _HeartbeatLost(JWTMiddlewareException):
    """A ``PING`` on the subscription got no ``PONG`` in time: the connection is not to be trusted."""


class MirrorThread:
    """Runs the rounds described in the module docstring until ``stop``."""

    def __init__(
        self,
        *,
        redis: RedisEntries,
        state: RevocationState,
        settings: MirrorSettings,
        clock: Callable[[], float],
        on_event: RevocationEventHook | None,
    ) -> None:
        self._redis = redis
        self._state = state
        self._settings = settings
        self._clock = clock
        self._on_event = on_event
        self._label = redis.store.label
        self._stopping = threading.Event()
        #: Set once the first snapshot of this thread was absorbed.
        self.synced = threading.Event()
        self.started_at = time.monotonic()
        #: Seconds until the next connection attempt while failing (a ``Retry-After`` hint).
        self.retry_in = 0.0
        #: Whether the last round failed (cleared by the next successful resync).
        self.failing = False
        self._reported_stale = False
        #: The last version this mirror knows to have received every write up to.
        self._version = 0
        self._thread = threading.Thread(
            target=self._run, name=f"jwt_middleware revocation mirror {self._label}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    def wait_for_trust(self, now: float, timeout: float) -> bool:
        """Wait until the state vouches for ``now``; give up early once a round has failed."""
        deadline = time.monotonic() + timeout
        while self._state.trusted_until <= now:
            if self.failing or time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            time.sleep(0.005)
        return True

    # -- rounds -----------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        reason = "start"
        while not self._stopping.is_set():
            pubsub: Any = None
            try:
                pubsub = self._redis.store.pubsub()
                pubsub.subscribe(self._redis.layout.channel)
                self._await_subscription(pubsub)
                self._resync(reason)
                failures = 0
                self.retry_in = 0.0
                self.failing = False
                reason = "reconnect"
                self._listen(pubsub)
            except Exception as exc:
                failures += 1
                self._failed(exc, failures)
            finally:
                if pubsub is not None:
                    _close_quietly(pubsub)

    def _await_subscription(self, pubsub: Any) -> None:
        deadline = time.monotonic() + self._redis.store.timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message is not None and message.get("type") == "subscribe":
                return
        raise TimeoutError("no subscription confirmation")

    def _failed(self, exc: Exception, failures: int) -> None:
        delay = self._settings.retry_delay(failures)
        self.retry_in = delay
        self.failing = True
        reason = _reason(exc)
        if reason == "error":
            logger.error("unexpected %s in the revocation mirror; retrying", type(exc).__name__)
        emit(self._on_event, RevocationSyncFailed(self._label, reason, delay, self._stale_for()))
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            self._watch_staleness()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._stopping.wait(min(remaining, _POLL))
            self.retry_in = max(0.0, deadline - time.monotonic())

    def _resync(self, reason: str) -> None:
        started = time.monotonic()
        now = self._clock()
        snapshot = self._redis.snapshot()
        state = self._state
        state.absorb(snapshot.entries, now, snapshot=True)
        missing = state.missing_from(snapshot.identities, now)
        self._version = snapshot.version  # before the write-back, whose messages follow it
        repaired = self._write_back(missing, now)
        # Everything written before ``now`` was in the snapshot; later writes arrive as messages.
        state.confirm(now + self._settings.max_stale)
        self.synced.set()
        duration = time.monotonic() - started
        emit(self._on_event, RevocationSynced(self._label, reason, len(snapshot.entries), repaired, duration))
        if snapshot.skipped:
            skipped = f"{snapshot.skipped} unreadable entries"
            emit(self._on_event, RevocationEntrySkipped(self._label, skipped))
        if not state.complete:
            emit(self._on_event, RevocationCapacityExceeded(self._label, state.max_entries))

    def _write_back(self, missing: list[RevocationEntry], now: float) -> int:
        written = 0
        for start in range(0, len(missing), _REPAIR_BATCH):
            batch = missing[start : start + _REPAIR_BATCH]
            try:
                self._redis.write(batch, now)
            except RevocationListFullError:
                emit(self._on_event, RevocationCapacityExceeded(self._label, self._redis.max_entries))
                break
            written += len(batch)
        return written

    def _listen(self, pubsub: Any) -> None:
        settings = self._settings
        lost_after = settings.heartbeat + self._redis.store.timeout
        next_ping = time.monotonic()
        next_check = next_ping + settings.resync_interval
        ping: tuple[bytes, float, float] | None = None  # (token, sent at wall clock, sent at monotonic)
        count = 0
        while not self._stopping.is_set():
            moment = time.monotonic()
            if ping is None and moment >= next_ping:
                count += 1
                token = f"jwt_middleware-{count}"
                ping = (token.encode(), self._clock(), moment)
                pubsub.ping(token)
            counter = None
            if moment >= next_check:
                self._redis.write([], self._clock())  # prunes what expired in Redis
                counter = self._redis.version()
                next_check = time.monotonic() + settings.resync_interval
            wait = 0.0 if counter is not None else _POLL if ping is not None else max(0.0, next_ping - moment)
            arrived: list[RevocationEntry] = []
            gap = False
            message = pubsub.get_message(timeout=min(wait, _POLL))
            while message is not None:
                kind = message.get("type")
                if kind == "message":
                    gap |= self._decode_into(arrived, message.get("data"))
                elif kind == "pong" and ping is not None and message.get("data") == ping[0]:
                    self._state.confirm(ping[1] + settings.max_stale)
                    self._reported_stale = False
                    next_ping = ping[2] + settings.heartbeat
                    ping = None
                message = pubsub.get_message(timeout=0.0)
            now = self._clock()
            if arrived:
                self._state.absorb(arrived, now)
            if gap:
                self._resync("gap")
            elif counter is not None and counter != self._version:
                self._resync("periodic")  # a message missed before a quiet spell (or a reset)
            self._state.prune(now)
            self._watch_staleness()
            # Checked after reading, so a PONG queued behind a long resync still counts.
            if ping is not None and time.monotonic() - ping[2] > lost_after:
                raise _HeartbeatLost()

    def _decode_into(self, arrived: list[RevocationEntry], data: Any) -> bool:
        """Decode one message into ``arrived``; ``True`` when its version shows one was missed."""
        try:
            version, entry = decode_message(data)
        except (ValueError, AttributeError):
            emit(self._on_event, RevocationEntrySkipped(self._label, "unreadable message"))
            return False
        arrived.append(entry)
        missed = version > self._version + 1
        self._version = max(self._version, version)
        return missed

    # -- staleness --------------------------------------------------------------------------------

    def _stale_for(self) -> float:
        confirmed = self._state.trusted_until - self._settings.max_stale
        return max(0.0, self._clock() - confirmed) if math.isfinite(confirmed) else math.inf

    def _watch_staleness(self) -> None:
        if self._reported_stale or self._clock() < self._state.trusted_until:
            return
        if not self.synced.is_set() and time.monotonic() - self.started_at < self._settings.max_stale:
            return  # Still starting: not yet a staleness worth an alert.
        self._reported_stale = True
        emit(self._on_event, RevocationStale(self._label, self._stale_for(), self._settings.fail_open))


def _reason(exc: Exception) -> str:
    """A stable code for a failed round (events and metrics group by it)."""
    import redis

    if isinstance(exc, _HeartbeatLost):
        return "lost"
    if isinstance(exc, redis.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, redis.ConnectionError | OSError | StoreUnavailableError):
        return "connection"
    if isinstance(exc, redis.RedisError):
        return "store_error"
    return "error"


def _close_quietly(pubsub: Any) -> None:
    with contextlib.suppress(Exception):  # The connection is being discarded either way.
        pubsub.close()
