"""``ALBKeySource``: one PEM key per kid through the core JWKS cache, bounded and rate limited."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jwt_middleware import CacheSettings, ConfigurationError, JWKError, UnknownKeyError
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.aws import ALBKeySource
from jwt_middleware.aws.alb_keys import pem_key_decoder
from jwt_middleware.testing import Fault, LocalALB, SigningKey

ES256 = ALGORITHMS["ES256"]
KID = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def pem(private_key: object) -> bytes:
    public = private_key.public_key()  # type: ignore[attr-defined]
    data: bytes = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return data


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the PEM decoder ---------------------------------------------------------------------------------


def test_a_p256_pem_becomes_one_es256_key_named_by_its_kid() -> None:
    key = SigningKey.generate("ES256")
    keys = pem_key_decoder(KID)(pem(key.private_key), None, CacheSettings())
    assert len(keys) == 1
    (imported,) = keys
    assert imported.kid == KID
    assert imported.algorithms == {"ES256"}
    assert keys.lookup(KID, ES256) is imported


def test_an_unchanged_key_keeps_its_object_across_refreshes() -> None:
    data = pem(SigningKey.generate("ES256").private_key)
    decode = pem_key_decoder(KID)
    first = decode(data, None, CacheSettings())
    second = decode(data, first, CacheSettings())
    assert second.keys[0] is first.keys[0]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not a pem",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        pem(ec.generate_private_key(ec.SECP384R1())),
        pem(ed25519.Ed25519PrivateKey.generate()),
        '{"keys": []}',
        None,
    ],
    ids=["empty", "junk", "bad-base64", "rsa", "p384", "ed25519", "jwks-text", "none"],
)
def test_anything_but_a_p256_public_key_is_refused(body: object) -> None:
    with pytest.raises(JWKError):
        pem_key_decoder(KID)(body, None, CacheSettings())


def test_a_private_key_pem_is_refused() -> None:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    private = ec.generate_private_key(ec.SECP256R1())
    body = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(JWKError):
        pem_key_decoder(KID)(body, None, CacheSettings())


# -- configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "https://keys.example/",
        "https://keys.example/{kid}/{kid}",
        "ftp://keys.example/{kid}",
        "http://keys.example/{kid}",
    ],
)
def test_templates_are_checked(template: str) -> None:
    with pytest.raises(ConfigurationError):
        ALBKeySource(template)


def test_http_to_other_hosts_needs_allow_http() -> None:
    assert ALBKeySource("http://keys.internal/{kid}", settings=CacheSettings(allow_http=True))


@pytest.mark.parametrize("options", [{"max_kids": 0}, {"new_kid_burst": 0}])
def test_limits_must_be_positive(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ALBKeySource("https://keys.example/{kid}", **options)


# -- against a loopback load balancer ----------------------------------------------------------------


def source_for(alb: LocalALB, **options: object) -> ALBKeySource:
    return ALBKeySource(alb.key_url, **options)  # type: ignore[arg-type]


def test_keys_are_cached_per_kid(alb: LocalALB) -> None:
    source = source_for(alb)
    first = alb.current_key.kid
    second = alb.rotate().kid
    for _ in range(3):
        source.get_key_sync(first, ES256)
        source.get_key_sync(second, ES256)
    assert alb.key_requests(first) == alb.key_requests(second) == 1
    assert source.kids == (first, second)


def test_the_map_of_caches_is_bounded_least_recently_used_out(alb: LocalALB) -> None:
    source = source_for(alb, max_kids=2)
    kids = [alb.current_key.kid, alb.rotate().kid, alb.rotate().kid]
    source.get_key_sync(kids[0], ES256)
    source.get_key_sync(kids[1], ES256)
    source.get_key_sync(kids[0], ES256)  # kids[0] is now the most recent
    source.get_key_sync(kids[2], ES256)
    assert source.kids == (kids[0], kids[2])


def test_the_new_kid_budget_refills_one_per_cooldown(alb: LocalALB) -> None:
    clock = Clock()
    source = source_for(alb, new_kid_burst=2, settings=CacheSettings(unknown_kid_cooldown=10), clock=clock)
    strangers = [str(uuid.uuid4()) for _ in range(4)]
    for kid in strangers[:2]:
        with pytest.raises(UnknownKeyError):
            source.get_key_sync(kid, ES256)
    assert alb.key_requests() == 2
    with pytest.raises(UnknownKeyError):
        source.get_key_sync(strangers[2], ES256)
    assert alb.key_requests() == 2  # refused without a request
    clock.now += 10
    with pytest.raises(UnknownKeyError):
        source.get_key_sync(strangers[3], ES256)
    assert alb.key_requests() == 3
    clock.now += 1000
    source.get_key_sync(alb.current_key.kid, ES256)  # refilled up to the burst, not beyond


def test_a_known_kid_keeps_verifying_while_the_endpoint_is_down(alb: LocalALB) -> None:
    source = source_for(alb)
    kid = alb.current_key.kid
    key = source.get_key_sync(kid, ES256)
    with alb.server.fault(None, Fault.status(503)):
        assert source.get_key_sync(kid, ES256) is key


def test_a_new_kid_during_an_outage_is_unknown_and_forgotten(alb: LocalALB) -> None:
    source = source_for(alb)
    kid = alb.current_key.kid
    with alb.server.fault(None, Fault.status(503)), pytest.raises(UnknownKeyError):
        source.get_key_sync(kid, ES256)
    assert source.kids == ()
    assert source.get_key_sync(kid, ES256).kid == kid


def test_a_kid_whose_keys_outlived_max_stale_is_forgotten_like_a_new_one(alb: LocalALB) -> None:
    clock = Clock()
    settings = CacheSettings(min_ttl=60, default_ttl=60, max_stale=0)
    source = source_for(alb, settings=settings, clock=clock)
    kid = alb.current_key.kid
    source.get_key_sync(kid, ES256)
    clock.now += 61
    with alb.server.fault(None, Fault.status(503)), pytest.raises(UnknownKeyError):
        source.get_key_sync(kid, ES256)
    assert source.kids == ()


def test_stale_keys_serve_within_max_stale(alb: LocalALB) -> None:
    clock = Clock()
    source = source_for(alb, settings=CacheSettings(min_ttl=60, default_ttl=60), clock=clock)
    kid = alb.current_key.kid
    key = source.get_key_sync(kid, ES256)
    clock.now += 61
    with alb.server.fault(None, Fault.status(503)):
        assert source.get_key_sync(kid, ES256) is key  # at once, while the refresh runs behind
        deadline = time.monotonic() + 5
        while alb.key_requests(kid) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert source.get_key_sync(kid, ES256) is key  # the refresh failed: still served
    assert alb.key_requests(kid) == 2


def test_one_fetch_serves_many_threads_asking_for_the_same_new_kid(alb: LocalALB) -> None:
    source = source_for(alb)
    kid = alb.current_key.kid
    barrier = threading.Barrier(8)
    results: list[str] = []

    def ask() -> None:
        barrier.wait()
        results.append(source.get_key_sync(kid, ES256).kid or "")

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [kid] * 8
    assert alb.key_requests(kid) == 1


@pytest.mark.anyio
async def test_the_async_driver_and_close(alb: LocalALB) -> None:
    source = source_for(alb)
    kid = alb.current_key.kid
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(source.get_key, kid, ES256)
    assert alb.key_requests(kid) == 1
    with pytest.raises(UnknownKeyError):
        await source.get_key("nope", ES256)
    with pytest.raises(UnknownKeyError):
        await source.get_key(str(uuid.uuid4()), ES256)
    await source.hydrate()
    source.hydrate_sync()
    await source.aclose()
    source.close()
    assert "ALBKeySource" in repr(source)
