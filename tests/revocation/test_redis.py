"""``RedisRevocationList`` against a real ``redis-server``: sharing, snapshots, expiry, the cap.

Two lists in one test stand for two processes: each has its own connections, its own mirror
thread and its own state, and they meet only in Redis (the multi-process tests run real servers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jwt_middleware import JWTVerifier, RevokedTokenError
from jwt_middleware.errors import (
    ConfigurationError,
    RevocationListFullError,
    RevocationUnavailableError,
    StoreUnavailableError,
)
from jwt_middleware.redis_store import RedisStore
from jwt_middleware.revocation import (
    EntryKind,
    RedisRevocationList,
    RevocationEntry,
    RevocationEntrySkipped,
    RevocationEvent,
    RevocationSynced,
)
from jwt_middleware.revocation.wire import WRITE_SCRIPT, Layout, encode_field, encode_time
from jwt_middleware.testing import LocalRedis

from .conftest import AUDIENCE, ISSUER, TokenFactory

FAST = {"heartbeat": 0.2, "timeout": 0.5, "max_stale": 2.0, "retry_initial": 0.05, "retry_max": 0.3}


@pytest.fixture
def lists(redis: LocalRedis) -> Iterator[Callable[..., RedisRevocationList]]:
    made: list[RedisRevocationList] = []

    def make(**options: Any) -> RedisRevocationList:
        revocations = RedisRevocationList(redis.url, **{**FAST, **options})
        made.append(revocations)
        return revocations

    yield make
    for revocations in made:
        revocations.close()


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def refused(revocations: RedisRevocationList, claims: dict[str, Any]) -> bool:
    try:
        revocations.check(claims, time.time())
    except RevokedTokenError:
        return True
    return False


def claims_of(jti: str, **more: Any) -> dict[str, Any]:
    now = time.time()
    return {"iss": ISSUER, "sub": "alice", "jti": jti, "iat": now - 5, "exp": now + 300, **more}


def test_a_revocation_in_one_process_reaches_the_others(lists: Callable[..., RedisRevocationList]) -> None:
    first, second, third = lists(), lists(), lists()
    for revocations in (first, second, third):
        revocations.start_sync()
    assert first.check(claims_of("t-1"), time.time()) >= 0
    entry = first.revoke_token_sync(claims_of("t-1"))
    assert refused(first, claims_of("t-1"))  # at once, in the revoking process
    wait_for(lambda: refused(second, claims_of("t-1")) and refused(third, claims_of("t-1")))
    second.revoke_origin_sync(ISSUER, "refresh-1")
    third.revoke_subject_sync(ISSUER, "bob")
    for revocations in (first, second, third):
        wait_for(lambda r=revocations: refused(r, claims_of("x", origin_jti="refresh-1")))  # type: ignore[misc]
        wait_for(lambda r=revocations: refused(r, claims_of("y", sub="bob")))  # type: ignore[misc]
        assert not refused(revocations, claims_of("z"))
    assert entry in first.stored_entries()
    kinds = sorted(entry.kind.value for entry in first.stored_entries())
    assert kinds == ["jti", "origin_jti", "sub"]


def test_a_process_that_starts_later_loads_what_was_revoked_before(
    lists: Callable[..., RedisRevocationList],
) -> None:
    early = lists()
    early.revoke_token_sync(claims_of("before-start"))
    late = lists()
    late.start_sync()
    assert refused(late, claims_of("before-start"))
    assert [entry.value for entry in late.entries()] == ["before-start"]


def test_the_first_request_of_a_thread_waits_for_the_first_sync(
    lists: Callable[..., RedisRevocationList],
) -> None:
    lists().revoke_token_sync(claims_of("early"))
    fresh = lists()  # never started: the first check starts the mirror and waits for it
    with pytest.raises(RevokedTokenError):
        fresh.check(claims_of("early"), time.time())


@pytest.mark.anyio
async def test_async_revocations_use_the_event_loop(lists: Callable[..., RedisRevocationList]) -> None:
    first, second = lists(), lists()
    await first.start()
    await second.start()
    await first.revoke_token(claims_of("async-1"))
    await first.revoke_subject(ISSUER, "carol")
    await first.revoke_origin(ISSUER, "refresh-async")
    wait_for(lambda: refused(second, claims_of("async-1")))
    wait_for(lambda: refused(second, claims_of("q", sub="carol")))
    wait_for(lambda: refused(second, claims_of("r", origin_jti="refresh-async")))
    await first.aclose()
    await second.aclose()


def test_the_verifier_refuses_across_processes_from_its_token_cache(
    lists: Callable[..., RedisRevocationList], make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    first, second = lists(), lists()
    verifiers = [
        JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)
        for revocations in (first, second)
    ]
    for verifier in verifiers:
        verifier.hydrate_sync()
    token = make_token()
    claims = verifiers[0].verify_sync(token)
    verifiers[1].verify_sync(token)
    first.revoke_token_sync(claims)

    def second_refuses() -> bool:
        try:
            verifiers[1].verify_sync(token)
        except RevokedTokenError:
            return True
        return False

    wait_for(second_refuses)


def test_entries_expire_in_redis_and_in_every_mirror(lists: Callable[..., RedisRevocationList]) -> None:
    first = lists(resync_interval=0.3)
    second = lists()
    second.start_sync()
    first.revoke_token_sync(claims_of("short"), until=time.time() + 0.5)
    first.revoke_token_sync(claims_of("long"))
    wait_for(lambda: len(second.state) == 2)
    first.start_sync()
    # Gone from the mirrors (pruned locally) and from Redis (pruned by the periodic resync).
    wait_for(lambda: len(second.state) == 1 and len(first.state) == 1)
    wait_for(lambda: [entry.value for entry in first.stored_entries()] == ["long"])
    store = RedisStore(first.store.label)
    try:
        wait_for(lambda: store.client().zcard("jwt_middleware:revocation:expiry") == 1)
    finally:
        store.close()


def test_the_cap_holds_across_processes(lists: Callable[..., RedisRevocationList]) -> None:
    small = lists(max_entries=2)
    other = lists(max_entries=2)
    small.revoke_token_sync(claims_of("a"))
    other.revoke_token_sync(claims_of("b"))
    with pytest.raises(RevocationListFullError, match="max_entries"):
        small.revoke_token_sync(claims_of("c"))
    assert sorted(entry.value for entry in other.stored_entries()) == ["a", "b"]


def test_a_mirror_with_a_smaller_cap_cannot_tell_rather_than_miss_entries(
    lists: Callable[..., RedisRevocationList],
) -> None:
    big = lists()
    for index in range(3):
        big.revoke_token_sync(claims_of(f"e-{index}"))
    events: list[RevocationEvent] = []
    small = lists(max_entries=2, on_event=events.append, startup_timeout=0.5)
    small.start_sync()
    assert not small.state.complete
    with pytest.raises(RevocationUnavailableError):
        small.check(claims_of("unrelated"), time.time())
    assert any(type(event).__name__ == "RevocationCapacityExceeded" for event in events)


def test_foreign_data_in_the_keys_is_skipped_and_reported(
    redis: LocalRedis, lists: Callable[..., RedisRevocationList]
) -> None:
    redis.command("HSET", "jwt_middleware:revocation:entries", "not json", "1e20")
    redis.command("HSET", "jwt_middleware:revocation:entries", '["nope","i","v"]', "1e20")
    redis.command("PUBLISH", "jwt_middleware:revocation:events", "garbage")
    events: list[RevocationEvent] = []
    revocations = lists(on_event=events.append)
    revocations.start_sync()
    assert any(isinstance(event, RevocationEntrySkipped) for event in events)
    revocations.revoke_token_sync(claims_of("still-works"))
    assert refused(revocations, claims_of("still-works"))


def test_sync_events_carry_no_credentials(redis: LocalRedis) -> None:
    redis.command("CONFIG", "SET", "requirepass", "s3cret-pass")
    events: list[RevocationEvent] = []
    url = redis.url.replace("redis://", "redis://:s3cret-pass@")
    revocations = RedisRevocationList(url, on_event=events.append, **FAST)
    try:
        revocations.start_sync()
        assert any(isinstance(event, RevocationSynced) for event in events)
        shown = repr(revocations) + repr(revocations.store) + "".join(repr(event) for event in events)
        assert "s3cret" not in shown
        assert revocations.store.label == redis.url
    finally:
        revocations.close()


def test_configuration_is_checked(redis: LocalRedis) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        RedisRevocationList()
    with pytest.raises(ConfigurationError, match="exactly one"):
        RedisRevocationList(redis.url, store=RedisStore(redis.url))
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisRevocationList("http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="max_stale"):
        RedisRevocationList(redis.url, max_stale=1.0, heartbeat=1.0)
    with pytest.raises(ConfigurationError):
        RedisRevocationList(redis.url, heartbeat=0)


def test_a_shared_store_serves_revocation_and_replay_checks(redis: LocalRedis) -> None:
    store = RedisStore(redis.url, key_prefix="app")
    revocations = RedisRevocationList(store=store, **{k: v for k, v in FAST.items() if k != "timeout"})
    try:
        revocations.revoke_origin_sync(ISSUER, "refresh-x")
        assert [entry.kind for entry in revocations.stored_entries()] == [EntryKind.ORIGIN]
        assert store.client().exists("app:revocation:entries") == 1
        # "Seen this proof jti within the window?" for DPoP, atomic across processes.
        key = store.key("dpop", "jti-1")
        assert store.set_if_absent(key, 0.5) is True
        assert store.set_if_absent(key, 0.5) is False
        wait_for(lambda: store.set_if_absent(key, 0.5), timeout=3)
    finally:
        revocations.close()
        store.close()  # the list does not close a store it was given


@pytest.mark.anyio
async def test_the_async_replay_check(redis: LocalRedis) -> None:
    store = RedisStore(redis.url)
    try:
        assert await store.aset_if_absent(store.key("dpop", "a"), 10) is True
        assert await store.aset_if_absent(store.key("dpop", "a"), 10) is False
    finally:
        await store.aclose()


def test_a_store_that_cannot_be_reached_is_a_503(redis: LocalRedis) -> None:
    store = RedisStore(redis.url, timeout=0.2)
    redis.kill()
    with pytest.raises(StoreUnavailableError) as failure:
        store.set_if_absent(store.key("x"), 1)
    assert failure.value.status_code == 503
    store.close()


def _write_unannounced(redis: LocalRedis, jti: str) -> None:
    """A write whose announcement goes to a channel nobody listens on: a lost message."""
    layout = Layout("jwt_middleware:revocation")
    entry = RevocationEntry(EntryKind.TOKEN, ISSUER, jti, time.time() + 300)
    redis.command(
        "EVAL",
        WRITE_SCRIPT,
        "3",
        layout.entries,
        layout.expiry,
        layout.version,
        encode_time(time.time()),
        "100000",
        "nobody-listens-here",
        encode_field(entry),
        encode_time(entry.until),
    )


def test_a_lost_message_is_noticed_at_the_next_one(
    redis: LocalRedis, lists: Callable[..., RedisRevocationList]
) -> None:
    events: list[RevocationEvent] = []
    mirror = lists(resync_interval=60, on_event=events.append)
    mirror.start_sync()
    _write_unannounced(redis, "lost")
    time.sleep(0.3)
    assert not refused(mirror, claims_of("lost"))  # it really missed it
    lists().revoke_token_sync(claims_of("next"))  # version n + 2 arrives after n
    wait_for(lambda: refused(mirror, claims_of("lost")) and refused(mirror, claims_of("next")))
    assert "gap" in [event.reason for event in events if isinstance(event, RevocationSynced)]


def test_a_lost_last_message_is_healed_within_the_resync_interval(
    redis: LocalRedis, lists: Callable[..., RedisRevocationList]
) -> None:
    events: list[RevocationEvent] = []
    mirror = lists(resync_interval=0.5, on_event=events.append)
    mirror.start_sync()
    _write_unannounced(redis, "quiet")
    wait_for(lambda: refused(mirror, claims_of("quiet")), timeout=5)
    reasons = [event.reason for event in events if isinstance(event, RevocationSynced)]
    assert reasons == ["start", "periodic"]  # one full re-read, then the counters agree again
    time.sleep(1.2)
    assert [event.reason for event in events if isinstance(event, RevocationSynced)] == reasons


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_revocations_on_any_event_loop(
    anyio_backend: str, lists: Callable[..., RedisRevocationList]
) -> None:
    # redis-py's asyncio client serves asyncio; on trio the write runs on a worker thread.
    first, second = lists(), lists()
    await first.start()
    await second.start()
    await first.revoke_token(claims_of(f"on-{anyio_backend}"))
    wait_for(lambda: refused(second, claims_of(f"on-{anyio_backend}")))
    await first.aclose()
    await second.aclose()
