"""Single flight: one piece of I/O under way, and everyone waiting for it, on any thread or loop.

A ``Flight`` is one fetch in progress (a JWKS, an access token, an introspection answer) that any
number of callers wait for: tasks on any event loop anyio supports (asyncio, uvloop, trio) and
plain threads, all at once. The state machine that decided to start it (``JWKSState``, the
client-credentials ``TokenState``, the introspection cache) stays the one place that knows what
the flight is for; this module only carries the waiting, so the rules below are written once.

How waiters are woken. A flight keeps one wake-up per event loop with waiters (an anyio event
created on that loop) and a ``threading.Event`` for threads. When the flight lands, on whatever
thread, each loop's event is set *on that loop* through the loop's own thread-safe hand-off
(``call_soon_threadsafe`` for asyncio and uvloop, the trio token's ``run_sync_soon``), never by
setting a loop's event from a foreign thread. A loop's waiters are then released in small
batches over successive loop turns, so a thousand requests parked on one flight cost no more loop
time at once than the same burst served from a cache.

Every wait is bounded by the flight's deadline (real monotonic time, whatever clock the owner's
state machine uses), so a flight whose owner died cannot strand its waiters; the owner's state
machine gives up on such a flight by the same limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
import anyio.lowlevel

__all__ = [
    "RELEASE_BATCH",
    "Flight",
    "LoopWaiters",
    "call_on_loop",
    "fly_here",
    "launch",
    "running_loop",
    "start_thread",
]

#: Waiters of one loop resume at most this many per loop turn once their flight lands.
RELEASE_BATCH: Final = 32


def call_on_loop(native_token: Any, callback: Callable[[], object]) -> None:
    """Run ``callback`` soon on the loop behind ``native_token``, from any thread, without waiting."""
    try:
        schedule = getattr(native_token, "call_soon_threadsafe", None)  # asyncio, uvloop
        if schedule is not None:
            schedule(callback)
        else:
            native_token.run_sync_soon(callback)  # trio's TrioToken
    except RuntimeError:
        pass  # that loop has closed (trio.RunFinishedError is a RuntimeError): nobody waits there


def running_loop() -> anyio.lowlevel.EventLoopToken | None:
    """The event loop running on this thread, detected as anyio does (asyncio, trio, ...)."""
    try:
        return anyio.lowlevel.current_token()
    except RuntimeError:  # anyio's NoEventLoopError
        return None


def start_thread(target: Callable[[], object], *, name: str) -> bool:
    """Run ``target`` on a daemon thread of its own; ``False`` when no thread could be started.

    Flights run there rather than on a request's event loop: no request loop builds a client or
    loads a trust store, and a cancelled request never cancels the flight others wait for.
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    try:
        thread.start()
    except RuntimeError:  # "can't start new thread": the caller lands the flight as failed
        return False
    return True


#: What lands a flight, whatever happened to its body: given ``""`` after a normal end, else what
#: interrupted it ("CancelledError", "the calling thread"...). It must record an outcome when the
#: body left none, then call ``Flight.land``.
Lander = Callable[[str], None]


def launch(body: Callable[[], Awaitable[object]], land: Lander, *, name: str) -> None:
    """Run a flight's ``body`` on a private event loop on a worker thread of its own, then ``land``.

    ``land`` runs on every exit: a normal end, an exception in any step, a thread that could not
    start. A worker thread has nobody to raise to, so what interrupted it is only named.
    """

    def run() -> None:
        interrupted_by = ""
        try:
            anyio.run(body)
        except BaseException as exc:
            interrupted_by = type(exc).__name__
        finally:
            land(interrupted_by)

    if not start_thread(run, name=name):
        land("a thread that could not start")


def fly_here(body: Callable[[], Awaitable[object]], land: Lander) -> None:
    """Run a flight's ``body`` in the calling thread (a sync caller that must wait for it anyway).

    ``land`` runs on every exit; an exception (``KeyboardInterrupt`` included) goes on to the caller.
    """
    try:
        anyio.run(body)
    finally:
        land("the calling thread")


class LoopWaiters:
    """The waiters of one flight on one event loop: one event, set on that loop when it lands."""

    __slots__ = ("landed", "native_token", "released")

    def __init__(self, native_token: object) -> None:
        self.native_token = native_token
        self.landed = anyio.Event()  # created on the waiters' loop: it belongs to it
        self.released = 0

    def wake(self) -> None:
        call_on_loop(self.native_token, self.landed.set)

    async def take_turn(self) -> None:
        """Resume in batches: the n-th waiter lets n // batch loop turns (and their I/O) go first."""
        turn = self.released
        self.released += 1
        for _ in range(turn // RELEASE_BATCH):
            await anyio.lowlevel.checkpoint()


class Flight:
    """One fetch in progress, and everyone waiting for it, on any thread or loop.

    ``number`` and ``reason`` are the owner's (which flight of its state machine this is, and
    why it started); ``outcome`` is whatever the owner leaves for its waiters before it lands
    (an answer, or the error to raise in each of them), for owners whose state keeps no result.
    """

    __slots__ = ("_landed", "_lock", "_loops", "deadline", "done", "number", "outcome", "reason")

    def __init__(self, time_limit: float, *, number: int = 0, reason: str = "") -> None:
        self.number = number
        self.reason = reason
        #: Real (monotonic) time after which waiters stop waiting; the owner's clock may be a test's.
        self.deadline = time.monotonic() + time_limit
        self.done = threading.Event()
        self.outcome: Any = None
        self._lock = threading.Lock()
        self._loops: dict[object, LoopWaiters] = {}
        self._landed = False

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    @property
    def landed(self) -> bool:
        return self.done.is_set()

    def waiters_here(self, loop: anyio.lowlevel.EventLoopToken) -> LoopWaiters | None:
        """This loop's wake-up for the flight; ``None`` once it has landed (nothing to wait for)."""
        with self._lock:
            if self._landed:
                return None
            waiters = self._loops.get(loop.native_token)
            if waiters is None:
                waiters = self._loops[loop.native_token] = LoopWaiters(loop.native_token)
            return waiters

    def land(self) -> None:
        """Wake every waiter: threads directly, each loop through its own thread-safe hand-off."""
        with self._lock:
            if self._landed:
                return
            self._landed = True
            loops = list(self._loops.values())
            self._loops.clear()
        self.done.set()
        for waiters in loops:
            waiters.wake()

    async def wait(self) -> None:
        """Wait on the running loop until the flight lands or its deadline passes.

        Cancelling the waiting task ends only its own wait: the flight goes on for the others.
        """
        loop = running_loop()
        assert loop is not None, "Flight.wait() needs a running event loop"
        waiters = self.waiters_here(loop)
        if waiters is None:
            return
        with anyio.move_on_after(self.remaining()):
            await waiters.landed.wait()
        await waiters.take_turn()

    def wait_sync(self) -> bool:
        """Block this thread until the flight lands or its deadline passes; whether it landed."""
        return self.done.wait(self.remaining())

    def __repr__(self) -> str:
        state = "landed" if self.landed else "in flight"
        return f"Flight(number={self.number}, reason={self.reason!r}, {state})"
