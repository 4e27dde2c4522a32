"""``RedisStore``: one Redis (or Valkey) endpoint for state that every replica must share.

Revocation keeps its mirror and its writes here, and anything else that needs an atomic answer
across processes (DPoP's "was this proof ``jti`` seen within the window?") uses the same object:
``set_if_absent`` is ``SET key 1 NX PX ttl``, true only for the first caller. The store builds
redis-py's sync client once and an asyncio client per event loop, all with bounded timeouts and
no hidden retries (callers decide how to retry), stays usable across ``fork`` (redis-py's pools
reset themselves in the child), and never shows the URL's credentials in a repr, a log or an
event. Only commands of Redis 6 and Valkey are used. ``redis`` is imported on first use, so the
library imports without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from jwt_middleware.errors import ConfigurationError, StoreUnavailableError
from jwt_middleware.forks import repair_in_forked_child

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    import redis.client

__all__ = ["DEFAULT_KEY_PREFIX", "RedisStore", "redacted"]

logger: Final = logging.getLogger("jwt_middleware.redis")

DEFAULT_KEY_PREFIX: Final = "jwt_middleware"
_SCHEMES: Final = ("redis", "rediss", "unix")


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError(
            "Redis support needs the redis package: pip install 'jwt-middleware[redis]'"
        ) from None
    return redis


def redacted(url: str) -> str:
    """``url`` without user name and password, for reprs, logs and events."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStore:
    """A Redis endpoint shared by this library's cross-replica features.

    ``timeout`` bounds connecting and every reply, in seconds; ``client_options`` go to
    ``redis.Redis.from_url`` as they are (TLS files, ``username``, a ``credential_provider``...).
    Keys are named ``{key_prefix}:{part}:...`` (``key``), so several applications can share one
    Redis database.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        timeout: float = 1.0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme not in _SCHEMES:
            raise ConfigurationError("the Redis URL must start with redis://, rediss:// or unix://")
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ConfigurationError("timeout must be a positive number of seconds")
        if not isinstance(key_prefix, str) or not key_prefix:
            raise ConfigurationError("key_prefix must be a non-empty string")
        self._url = url
        self.label = redacted(url)
        self.key_prefix = key_prefix
        self.timeout = float(timeout)
        self._options = dict(client_options or {})
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        repair_in_forked_child(self, RedisStore._after_fork)

    def _after_fork(self) -> None:
        # redis-py's pools notice the new pid themselves; our lock may have been held mid-fork.
        self._lock = threading.Lock()
        self._async_clients = weakref.WeakKeyDictionary()

    def key(self, *parts: str) -> str:
        """The name of one of this store's keys (or pub/sub channels)."""
        return ":".join((self.key_prefix, *parts))

    def _client_options(self, module: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            # One attempt per call: the callers own retrying, with their own backoff.
            "retry": module.retry.Retry(module.backoff.NoBackoff(), 0),
        }
        options.update(self._options)
        return options

    def client(self) -> redis.Redis:
        """The sync client (thread-safe, pooled), built on first use."""
        client = self._client
        if client is None:
            module = _import_redis()
            with self._lock:
                if self._client is None:
                    self._client = module.Redis.from_url(self._url, **self._client_options(module))
                client = self._client
        assert client is not None
        return client

    def pubsub(self) -> redis.client.PubSub:
        """A new pub/sub object on its own connection (the caller closes it)."""
        pubsub: redis.client.PubSub = self.client().pubsub()  # type: ignore[no-untyped-call]
        return pubsub

    def async_client(self) -> redis.asyncio.Redis:
        """The asyncio client of the running event loop (one per loop, since they cannot be shared)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            module = _import_redis()
            client = module.asyncio.Redis.from_url(self._url, **self._client_options(module))
            self._async_clients[loop] = client
        return client

    @contextlib.contextmanager
    def unavailable_on_failure(self) -> Iterator[None]:
        """Turn a failure to reach Redis into ``StoreUnavailableError`` (503), logging its type only."""
        module = _import_redis()
        try:
            yield
        except (module.ConnectionError, module.TimeoutError, OSError) as exc:
            logger.warning("%s did not answer: %s", self.label, type(exc).__name__)
            raise StoreUnavailableError() from None
        except module.RedisError as exc:
            logger.error("%s refused a command: %s", self.label, type(exc).__name__)
            raise StoreUnavailableError() from None

    def set_if_absent(self, key: str, ttl: float) -> bool:
        """Create ``key`` for ``ttl`` seconds unless it exists: ``True`` only for the first caller.

        Atomic across every process sharing the store (``SET NX PX``); raises
        ``StoreUnavailableError`` when Redis cannot answer.
        """
        milliseconds = _milliseconds(ttl)
        with self.unavailable_on_failure():
            return bool(self.client().set(key, b"1", nx=True, px=milliseconds))

    async def aset_if_absent(self, key: str, ttl: float) -> bool:
        """``set_if_absent`` on the running event loop."""
        milliseconds = _milliseconds(ttl)
        with self.unavailable_on_failure():
            return bool(await self.async_client().set(key, b"1", nx=True, px=milliseconds))

    def close(self) -> None:
        """Close the sync client's connections (a later call builds a new client)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the running loop's asyncio client, and the sync client."""
        with contextlib.suppress(RuntimeError):
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()
        self.close()

    def __repr__(self) -> str:
        return f"RedisStore({self.label!r}, key_prefix={self.key_prefix!r})"


def _milliseconds(ttl: float) -> int:
    if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl > 0):
        raise ConfigurationError("ttl must be a positive number of seconds")
    return max(1, math.ceil(ttl * 1000))
