"""ALB signing keys: one PEM public key per ``kid``, each at its own URL, each cached on its own.

An Application Load Balancer publishes no JWKS. The public key for a token's ``kid`` is a PEM
document at ``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}``. ``ALBKeySource`` gives
every ``kid`` its own ``JWKSCache`` (single-flight, stale-if-error, bounded fetches, both drivers)
with a PEM decoder, so everything the core promises about fetching holds here unchanged.

The ``kid`` comes from a token nobody has verified yet, so it is handled as hostile input: it must
be a UUID (the only form ALB uses, and one that cannot change the URL's path), the map of caches is
bounded (least recently used out), and ``kid``s never seen before are admitted at a limited rate,
so no stream of tokens with random ``kid``s can make the service fetch a URL per request.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from jwt_middleware import b64
from jwt_middleware.algorithms import Algorithm
from jwt_middleware.errors import ConfigurationError, JWKError, KeysUnavailableError, UnknownKeyError
from jwt_middleware.events import CacheEvent, EventHook, EventHooks
from jwt_middleware.fetching import check_url
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.jwks_cache import JWKSCache
from jwt_middleware.jwks_state import CacheSettings, KeyDecoder, decode_jwks

__all__ = ["ALB_KID", "ALBKeySource", "pem_key_decoder"]

#: ALB key ids are UUIDs; nothing else is ever put into a key URL.
ALB_KID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SAMPLE_KID: Final = "00000000-0000-0000-0000-000000000000"
_P256_COORDINATE_BYTES: Final = 32


def pem_key_decoder(kid: str) -> KeyDecoder:
    """A ``JWKSCache`` decoder for a PEM document holding the P-256 public key of ``kid``.

    The key is turned into a JWK and imported by the core, so it gets the same checks as any JWKS
    key (a valid point, bound to ES256) and keeps its object across refreshes while unchanged.
    """

    def decode(body: Any, previous: KeySet | None, settings: CacheSettings) -> KeySet:
        data = body.encode("ascii", "replace") if isinstance(body, str) else body
        if not isinstance(data, bytes):
            raise JWKError("an ALB key must be a PEM document")
        try:
            key = load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise JWKError("the response is not a PEM public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise JWKError("an ALB key must be an EC P-256 public key")
        point = key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64.encode(point.x.to_bytes(_P256_COORDINATE_BYTES, "big")),
            "y": b64.encode(point.y.to_bytes(_P256_COORDINATE_BYTES, "big")),
            "kid": kid,
            "alg": "ES256",
            "use": "sig",
        }
        return decode_jwks({"keys": [jwk]}, previous, settings)

    return decode


class ALBKeySource:
    """The keys behind one key URL template (a ``KeySource``): ``{kid}`` in it is the key id.

    ``max_kids`` bounds how many key caches are kept. ``new_kid_burst`` never-seen ``kid``s may be
    fetched at once, then one more per ``settings.unknown_kid_cooldown`` seconds; others are refused
    as unknown keys without any request, while known keys keep verifying. A ``kid`` whose first
    fetch fails is forgotten and refused as unknown (the endpoint answers unknown ids with an
    error too); a known key whose refresh fails keeps serving, stale-if-error, like any JWKS.
    """

    def __init__(
        self,
        url_template: str,
        *,
        settings: CacheSettings | None = None,
        max_kids: int = 16,
        new_kid_burst: int = 3,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(url_template, str) or url_template.count("{kid}") != 1:
            raise ConfigurationError("the ALB key URL must contain '{kid}' exactly once")
        self.settings = settings or CacheSettings()
        sample = url_template.replace("{kid}", _SAMPLE_KID)
        check_url(sample, what="ALB key URL", allow_http=self.settings.allow_http)
        if max_kids < 1 or new_kid_burst < 1:
            raise ConfigurationError("max_kids and new_kid_burst must be at least 1")
        self.url_template = url_template
        self.max_kids = max_kids
        self.new_kid_burst = new_kid_burst
        self._hooks: EventHooks[CacheEvent] = EventHooks(on_event, what="ALB key event hook")
        self._clock = clock
        self._lock = threading.Lock()
        self._caches: OrderedDict[str, JWKSCache] = OrderedDict()
        self._budget = float(new_kid_burst)
        self._budget_at = clock()

    def add_event_hook(self, hook: EventHook) -> None:
        """Call ``hook`` with the events of every ``kid``'s cache, present and future."""
        self._hooks.add(hook)

    def remove_event_hook(self, hook: EventHook) -> None:
        self._hooks.remove(hook)

    def _forward(self, event: CacheEvent) -> None:
        dispatch = self._hooks.dispatch
        if dispatch is not None:
            dispatch(event)

    def url_for(self, kid: str) -> str:
        return self.url_template.replace("{kid}", kid)

    @property
    def kids(self) -> tuple[str, ...]:
        """The key ids with a cache, least recently used first (for inspection)."""
        with self._lock:
            return tuple(self._caches)

    def _admit_new_kid(self) -> bool:
        """Take one unit of the new-``kid`` budget, refilled at one per cooldown; under the lock."""
        now = self._clock()
        interval = self.settings.unknown_kid_cooldown
        if interval > 0:
            self._budget = min(self.new_kid_burst, self._budget + (now - self._budget_at) / interval)
        else:
            self._budget = float(self.new_kid_burst)
        self._budget_at = now
        if self._budget < 1:
            return False
        self._budget -= 1
        return True

    def _cache_for(self, kid: str | None) -> JWKSCache:
        if kid is None or ALB_KID.fullmatch(kid) is None:
            raise UnknownKeyError("The token's key id is not an ALB key id", claim="kid")
        evicted: JWKSCache | None = None
        with self._lock:
            cache = self._caches.get(kid)
            if cache is not None:
                self._caches.move_to_end(kid)
                return cache
            if not self._admit_new_kid():
                raise UnknownKeyError(claim="kid")
            cache = JWKSCache(
                self.url_for(kid),
                settings=self.settings,
                decoder=pem_key_decoder(kid),
                on_event=self._forward,
                clock=self._clock,
            )
            self._caches[kid] = cache
            if len(self._caches) > self.max_kids:
                _, evicted = self._caches.popitem(last=False)
        if evicted is not None:
            evicted.close()
        return cache

    def _forget_unloaded(self, kid: str, cache: JWKSCache) -> bool:
        """Drop ``kid`` if its cache never produced a key; true if it was dropped."""
        if cache.keys is not None:
            return False
        with self._lock:
            if self._caches.get(kid) is cache:
                del self._caches[kid]
        cache.close()
        return True

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        cache = self._cache_for(kid)
        assert kid is not None
        try:
            return await cache.get_key(kid, algorithm)
        except KeysUnavailableError:
            if self._forget_unloaded(kid, cache):
                raise UnknownKeyError(claim="kid") from None
            raise

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        cache = self._cache_for(kid)
        assert kid is not None
        try:
            return cache.get_key_sync(kid, algorithm)
        except KeysUnavailableError:
            if self._forget_unloaded(kid, cache):
                raise UnknownKeyError(claim="kid") from None
            raise

    async def hydrate(self) -> None:
        """Nothing to load ahead: key ids are only learnt from tokens."""

    def hydrate_sync(self) -> None:
        """Nothing to load ahead: key ids are only learnt from tokens."""

    def _all_caches(self) -> list[JWKSCache]:
        with self._lock:
            return list(self._caches.values())

    async def aclose(self) -> None:
        for cache in self._all_caches():
            await cache.aclose()

    def close(self) -> None:
        for cache in self._all_caches():
            cache.close()

    def __repr__(self) -> str:
        return f"ALBKeySource({self.url_template!r}, kids={len(self._caches)})"
