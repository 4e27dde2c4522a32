"""Redis faults against a real ``redis-server``: unreachable at start, killed, slow, restarted empty.

Throughout, the mirror keeps serving what it knows, reconnects with backoff, and once it has gone
``max_stale`` without a confirmed sync it answers "cannot tell" (503), or lets unrevoked tokens pass
with ``fail_open=True``; a token it knows is revoked stays refused whatever happens to Redis.
The timings are short for speed, and every bound is generous for a loaded 2-core machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jwt_middleware import RevokedTokenError
from jwt_middleware.errors import RevocationUnavailableError, StoreUnavailableError
from jwt_middleware.revocation import (
    RedisRevocationList,
    RevocationEvent,
    RevocationStale,
    RevocationSynced,
    RevocationSyncFailed,
)
from jwt_middleware.testing import LocalRedis

from .conftest import ISSUER
from .test_redis import claims_of, wait_for

MAX_STALE = 1.5
FAST = {"heartbeat": 0.2, "timeout": 0.3, "max_stale": MAX_STALE, "retry_initial": 0.05, "retry_max": 0.3}


class Recorder:
    def __init__(self) -> None:
        self.events: list[RevocationEvent] = []

    def __call__(self, event: RevocationEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[RevocationEvent]) -> list[Any]:
        return [event for event in list(self.events) if isinstance(event, kind)]


@pytest.fixture
def make_list(redis: LocalRedis) -> Iterator[Callable[..., tuple[RedisRevocationList, Recorder]]]:
    made: list[RedisRevocationList] = []

    def make(recorder: Recorder | None = None, **options: Any) -> tuple[RedisRevocationList, Recorder]:
        recorder = recorder or Recorder()
        revocations = RedisRevocationList(redis.url, on_event=recorder, **{**FAST, **options})
        made.append(revocations)
        return revocations, recorder

    yield make
    for revocations in made:
        revocations.close()


def verdict(revocations: RedisRevocationList, claims: dict[str, Any]) -> str:
    try:
        revocations.check(claims, time.time())
    except RevokedTokenError:
        return "revoked"
    except RevocationUnavailableError:
        return "cannot tell"
    return "ok"


def test_unreachable_at_start_fails_closed_then_recovers() -> None:
    server = LocalRedis()  # its port is chosen, nothing listens there yet
    recorder = Recorder()
    revocations = RedisRevocationList(server.url, on_event=recorder, startup_timeout=1.0, **FAST)
    try:
        started = time.monotonic()
        with pytest.raises(RevocationUnavailableError) as unavailable:
            revocations.check(claims_of("t"), time.time())
        # Refused connections end the start-up wait early: no request waits the full timeout.
        assert time.monotonic() - started < 1.0 + 0.5
        assert 1 <= unavailable.value.retry_after <= 30
        assert recorder.of(RevocationSyncFailed)[0].reason == "connection"
        assert verdict(revocations, claims_of("t")) == "cannot tell"  # every request, at once
        server.start()
        wait_for(lambda: verdict(revocations, claims_of("t")) == "ok", timeout=10)
        assert recorder.of(RevocationSynced)
    finally:
        revocations.close()
        server.close()


def test_killed_mid_run_serves_what_it_knows_until_max_stale(
    redis: LocalRedis, make_list: Callable[..., tuple[RedisRevocationList, Recorder]]
) -> None:
    revocations, recorder = make_list()
    revocations.start_sync()
    revocations.revoke_token_sync(claims_of("revoked-before"))
    redis.kill()
    killed_at = time.monotonic()
    assert verdict(revocations, claims_of("revoked-before")) == "revoked"
    assert verdict(revocations, claims_of("good")) == "ok"  # within max_stale: still vouching
    with pytest.raises(StoreUnavailableError):
        revocations.revoke_token_sync(claims_of("during-outage"))
    assert verdict(revocations, claims_of("during-outage")) == "revoked"  # refused here at once
    wait_for(lambda: verdict(revocations, claims_of("good")) == "cannot tell", timeout=10)
    assert time.monotonic() - killed_at >= MAX_STALE - 0.5
    assert verdict(revocations, claims_of("revoked-before")) == "revoked"  # never forgotten
    wait_for(lambda: recorder.of(RevocationStale), timeout=5)
    assert recorder.of(RevocationStale)[0].failing_open is False
    assert {event.reason for event in recorder.of(RevocationSyncFailed)} <= {"connection", "lost", "timeout"}


def test_restarted_empty_is_refilled_by_the_mirrors(
    redis: LocalRedis, make_list: Callable[..., tuple[RedisRevocationList, Recorder]]
) -> None:
    first, recorder = make_list()
    second, _ = make_list(recorder)  # one recorder: whichever mirror reconnects first repairs
    first.start_sync()
    second.start_sync()
    first.revoke_token_sync(claims_of("kept"))
    first.revoke_subject_sync(ISSUER, "mallory")
    wait_for(lambda: len(second.state) == 2)
    redis.restart_empty()
    # Both mirrors reconnect, find Redis empty, and write back what they know.
    wait_for(lambda: any(event.repaired for event in recorder.of(RevocationSynced)), timeout=10)
    newcomer, _ = make_list()
    newcomer.start_sync()
    assert verdict(newcomer, claims_of("kept")) == "revoked"
    assert verdict(newcomer, claims_of("x", sub="mallory")) == "revoked"
    assert {entry.value for entry in newcomer.stored_entries()} == {"kept", "mallory"}
    assert {event.reason for event in recorder.of(RevocationSynced)} == {"start", "reconnect"}


def test_a_slow_server_ends_the_round_and_the_mirror_recovers(
    redis: LocalRedis, make_list: Callable[..., tuple[RedisRevocationList, Recorder]]
) -> None:
    revocations, recorder = make_list()
    revocations.start_sync()
    # DEBUG SLEEP blocks the whole server, longer than max_stale: no PONG, no writes.
    started = time.monotonic()
    sleeper = threading.Thread(
        target=redis.command, args=("DEBUG", "SLEEP", str(MAX_STALE + 1.5)), kwargs={"timeout": 30}
    )
    sleeper.start()
    try:
        time.sleep(0.05)
        before = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            revocations.revoke_token_sync(claims_of("slow"))
        assert time.monotonic() - before < 0.3 + 1.0  # bounded by the timeout, not by the server
        wait_for(lambda: recorder.of(RevocationSyncFailed), timeout=5)
        wait_for(lambda: verdict(revocations, claims_of("good")) == "cannot tell", timeout=10)
    finally:
        sleeper.join()
    wait_for(lambda: verdict(revocations, claims_of("good")) == "ok", timeout=10)
    assert time.monotonic() - started < 15
    assert verdict(revocations, claims_of("slow")) == "revoked"  # kept locally, written back since
    wait_for(lambda: "slow" in {entry.value for entry in revocations.stored_entries()}, timeout=5)


def test_a_frozen_server_is_a_slow_one(
    redis: LocalRedis, make_list: Callable[..., tuple[RedisRevocationList, Recorder]]
) -> None:
    revocations, recorder = make_list()
    revocations.start_sync()
    redis.pause()  # SIGSTOP: connections stay open, nothing answers
    try:
        with pytest.raises(StoreUnavailableError):
            revocations.revoke_origin_sync(ISSUER, "refresh-frozen")
        wait_for(lambda: verdict(revocations, claims_of("good")) == "cannot tell", timeout=10)
        assert {event.reason for event in recorder.of(RevocationSyncFailed)} & {"lost", "timeout"}
    finally:
        redis.resume()
    wait_for(lambda: verdict(revocations, claims_of("good")) == "ok", timeout=10)
    assert verdict(revocations, claims_of("x", origin_jti="refresh-frozen")) == "revoked"


def test_fail_open_passes_unrevoked_tokens_when_it_cannot_tell(
    redis: LocalRedis, make_list: Callable[..., tuple[RedisRevocationList, Recorder]]
) -> None:
    revocations, recorder = make_list(fail_open=True)
    revocations.start_sync()
    revocations.revoke_token_sync(claims_of("revoked"))
    redis.kill()
    wait_for(lambda: recorder.of(RevocationStale), timeout=10)
    assert recorder.of(RevocationStale)[0].failing_open is True
    assert verdict(revocations, claims_of("good")) == "ok"
    assert verdict(revocations, claims_of("revoked")) == "revoked"
