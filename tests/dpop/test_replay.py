"""The same proof sent twice at once is accepted at most once: in one process, and across processes
sharing a real Redis (the revocation tests' ``redis-server`` on a free loopback port)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

from jwt_middleware import JWTVerifier, reasons
from jwt_middleware.dpop import MemoryReplayStore, RedisReplayStore
from jwt_middleware.errors import InvalidDPoPProofError, ReplayStoreFullError, StoreUnavailableError
from jwt_middleware.testing import DPoPKey, LocalRedis
from tests.dpop.conftest import AUDIENCE, ISSUER, URL, TokenFactory, request

ATTEMPTS = 8


@pytest.fixture
def redis() -> Iterator[LocalRedis]:
    """The revocation tests' fixture: a real ``redis-server`` per test, on a free loopback port."""
    try:
        server = LocalRedis()
    except RuntimeError as missing:  # python3 dev.py test installs it
        pytest.fail(str(missing))
    with server:
        yield server


def _attempt(verifier: JWTVerifier, token: str, proof: str) -> bool:
    try:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[proof]))
    except InvalidDPoPProofError as refused:
        return _replayed(refused)
    return True


def _replayed(refused: InvalidDPoPProofError) -> bool:
    """``False``, for a refusal that is the replay check's (any other would fail the test)."""
    if refused.code != reasons.DPOP_REPLAYED:
        raise AssertionError(refused.code)
    return False


def test_one_proof_from_many_threads_at_once_is_accepted_once(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    proof = dpop_key.proof("GET", URL, token)
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(_: int) -> bool:
        barrier.wait(10)
        return _attempt(verifier, token, proof)

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        results = list(pool.map(attempt, range(ATTEMPTS)))
    assert results.count(True) == 1


@pytest.mark.anyio
async def test_one_proof_from_many_tasks_at_once_is_accepted_once(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    proof = dpop_key.proof("GET", URL, token)
    results: list[bool] = []

    async def attempt() -> None:
        try:
            await verifier.verify_dpop(token, request(token=token, proofs=[proof]))
        except InvalidDPoPProofError:
            results.append(False)
        else:
            results.append(True)

    async with anyio.create_task_group() as group:
        for _ in range(ATTEMPTS):
            group.start_soon(attempt)
    assert results.count(True) == 1


def test_the_memory_store_is_bounded_and_never_forgets_early() -> None:
    clock = [0.0]
    store = MemoryReplayStore(max_entries=2, clock=lambda: clock[0])
    assert store.first_use("a", 10)
    assert store.first_use("b", 10)
    assert not store.first_use("a", 10)
    with pytest.raises(ReplayStoreFullError):
        store.first_use("c", 10)  # full of live proofs: refused (503), none dropped
    clock[0] = 11
    assert store.first_use("c", 10)  # the old ones expired
    assert len(store) == 1


def _worker(url: str, jwks: dict[str, Any], token: str, proof: str, start: float, results: Any) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_replay=RedisReplayStore(url))
    verifier.verify_sync  # noqa: B018  # everything imported before the start line
    while time.time() < start:
        time.sleep(0.001)
    results.put(_attempt(verifier, token, proof))


def test_one_proof_sent_to_several_processes_sharing_redis_is_accepted_once(
    redis: LocalRedis, jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    proof = dpop_key.proof("GET", URL, token)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = time.time() + 3  # every process is ready by then, even on a loaded machine
    processes = [
        context.Process(target=_worker, args=(redis.url, jwks, token, proof, start, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
    assert answers.count(True) == 1
    # And a process that joins later refuses it too.
    late = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_replay=RedisReplayStore(redis.url))
    assert _attempt(late, token, proof) is False


def test_a_redis_that_does_not_answer_is_a_503_not_a_pass(
    redis: LocalRedis, jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    store = RedisReplayStore(redis.url, timeout=0.2)
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_replay=store)
    token = make_token(dpop_key)
    redis.kill()
    with pytest.raises(StoreUnavailableError) as unavailable:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    assert unavailable.value.status_code == 503
    store.close()


def test_the_replay_store_can_share_the_revocation_lists_redis(redis: LocalRedis) -> None:
    from jwt_middleware.revocation import RedisRevocationList

    revocations = RedisRevocationList(redis.url)
    store = RedisReplayStore(store=revocations.store)
    assert store.first_use("proof-1", 5)
    assert not store.first_use("proof-1", 5)
    assert redis.command("EXISTS", f"{revocations.store.key_prefix}:dpop:proof-1").startswith(b":1")
    revocations.close()
