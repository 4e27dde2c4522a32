"""Bounded retrieval of JSON documents from an identity provider (JWKS, OIDC discovery).

Every fetch is bounded in time (one total deadline, not per-read timeouts that a trickling server
can stretch forever), in size (counted while streaming, after decompression, so neither a huge
body nor a compression bomb is ever held in memory), and in where it goes (no redirects: a JWKS
that moved is a configuration change, and following a redirect is how key URLs get hijacked).

There is one implementation, ``fetch_bytes`` (``fetch_json`` parses its result), written against
``httpx2.AsyncClient``. The JWKS cache runs it on a private event loop in a worker thread (see
``jwks_cache``), so the rules above are written exactly once.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import anyio

from jwt_middleware._version import DISTRIBUTION, __version__
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareException
from jwt_middleware.network import NetworkSettings, client_options, prepare_ssl_context
from jwt_middleware.reasons import (
    FETCH_CONNECT,
    FETCH_FAILED,
    FETCH_HTTP_STATUS,
    FETCH_NETWORK,
    FETCH_NOT_FOUND,
    FETCH_NOT_JSON,
    FETCH_PROXY,
    FETCH_REDIRECT,
    FETCH_TIMEOUT,
    FETCH_TLS,
    FETCH_TOO_LARGE,
)
from jwt_middleware.safe_json import FrozenDict, JSONError, parse_object

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "ClientFactory",
    "FetchError",
    "FetchedBody",
    "FetchedDocument",
    "check_url",
    "default_client_factory",
    "fetch_bytes",
    "fetch_json",
    "is_loopback_host",
    "parse_max_age",
    "prepare_default_client",
]

# httpx2 is imported where a client is built or used, so importing this module loads no HTTP stack.
ClientFactory = Callable[[], "httpx2.AsyncClient"]

_USER_AGENT: Final = f"{DISTRIBUTION}/{__version__}"
_OK: Final = frozenset({200})
_MAX_AGE: Final = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE: Final = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class FetchError(JWTMiddlewareException):
    """A fetch failed: ``code`` (see ``reasons``) for programs, ``reason`` a short, safe phrase for
    people, ``status`` the HTTP status when the server answered with one."""

    def __init__(self, reason: str, *, code: str = FETCH_FAILED, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class FetchedBody:
    body: bytes
    #: ``Cache-Control`` max-age in seconds; ``0`` for no-store/no-cache; ``None`` when absent.
    max_age: float | None
    duration: float
    #: The HTTP status it came with (one of the statuses the fetch accepted).
    status: int = 200


@dataclass(frozen=True, slots=True)
class FetchedDocument:
    body: FrozenDict
    #: ``Cache-Control`` max-age in seconds; ``0`` for no-store/no-cache; ``None`` when absent.
    max_age: float | None
    duration: float


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, what: str, allow_http: bool = False) -> str:
    """Refuse URLs a key fetch must not use: anything but https, except http on loopback."""
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be a string URL")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an absolute https URL")
    if parts.scheme == "http" and not (allow_http or is_loopback_host(parts.hostname)):
        raise ConfigurationError(f"{what} must use https (http is only allowed on loopback)")
    if parts.username or parts.password:
        raise ConfigurationError(f"{what} must not carry credentials")
    return url


def parse_max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match[1]) if match else None


def default_client_factory(settings: NetworkSettings | None = None) -> httpx2.AsyncClient:
    """The client a cache builds for one fetch: ``settings``' proxy and TLS, never a redirect.

    Without ``settings`` nothing comes from the environment (see ``network``).
    """
    import httpx2

    return httpx2.AsyncClient(
        **client_options(settings or NetworkSettings()),
        headers={"User-Agent": _USER_AGENT, "Accept": "application/json, application/jwk-set+json"},
        # Fetches are minutes apart, so idle connections buy nothing; and a kept-alive socket would
        # outlive a short-lived event loop (test clients) and be collected unclosed.
        limits=httpx2.Limits(max_connections=4, max_keepalive_connections=0),
    )


def prepare_default_client(settings: NetworkSettings | None = None) -> None:
    """Start loading the HTTP stack and ``settings``' trust store on a worker thread, if not done yet.

    A cache calls this when it is built (application start-up), so its first fetch, often on the
    request path of a cold start, does not pay for them (~75 ms); a fetch that comes first simply
    waits for the same lock. Never on an event loop: the work holds the GIL in short slices only.
    """
    prepare_ssl_context(settings or NetworkSettings())


def _transport_failure(exc: Exception) -> FetchError:
    """A ``FetchError`` naming what failed underneath an httpx2 transport error."""
    import httpx2

    if isinstance(exc, httpx2.ProxyError):
        return FetchError(f"the proxy refused ({exc})", code=FETCH_PROXY)
    cause: BaseException | None = exc
    for _ in range(8):  # the chain httpx2 and httpcore2 wrap an ssl error in is short
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError(f"TLS: {cause.verify_message or 'certificate not trusted'}", code=FETCH_TLS)
        if isinstance(cause, ssl.SSLError):
            return FetchError(f"TLS: {cause.reason or type(cause).__name__}", code=FETCH_TLS)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | ConnectionRefusedError):
        return FetchError(f"{type(exc).__name__}", code=FETCH_CONNECT)
    return FetchError(f"{type(exc).__name__}", code=FETCH_NETWORK)


async def fetch_bytes(
    client: httpx2.AsyncClient,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx2.Auth | None = None,
    statuses: Collection[int] = _OK,
) -> FetchedBody:
    """Request ``url`` within ``timeout`` seconds and ``max_bytes``; a status in ``statuses`` is a
    success (only 200 unless told otherwise: an OAuth endpoint's 400 carries its error).

    ``method``, ``content``, ``headers`` and ``auth`` serve requests other than a GET (a token or
    introspection endpoint's form POST, authenticated by ``auth``); the bounds are the same.
    """
    import httpx2  # already loaded: ``client`` is one of its clients

    started = time.monotonic()
    options: dict[str, Any] = {"follow_redirects": False, "timeout": httpx2.Timeout(timeout)}
    if content is not None:
        options["content"] = content
    if headers is not None:
        options["headers"] = headers
    if auth is not None:
        options["auth"] = auth
    try:
        with anyio.fail_after(timeout):
            async with client.stream(method, url, **options) as response:
                status = response.status_code
                if response.is_redirect:
                    raise FetchError(f"redirect refused (HTTP {status})", code=FETCH_REDIRECT, status=status)
                if status not in statuses:
                    missing = status in (404, 410)
                    raise FetchError(
                        f"HTTP {status}",
                        code=FETCH_NOT_FOUND if missing else FETCH_HTTP_STATUS,
                        status=status,
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError("response too large", code=FETCH_TOO_LARGE, status=status)
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise FetchError("response too large", code=FETCH_TOO_LARGE, status=status)
                    chunks.append(chunk)
                max_age = parse_max_age(response.headers.get("cache-control"))
    except TimeoutError:
        raise FetchError("timed out", code=FETCH_TIMEOUT) from None
    except (httpx2.HTTPError, OSError) as exc:
        raise _transport_failure(exc) from None
    return FetchedBody(
        body=b"".join(chunks), max_age=max_age, duration=time.monotonic() - started, status=status
    )


async def fetch_json(
    client: httpx2.AsyncClient, url: str, *, timeout: float, max_bytes: int
) -> FetchedDocument:
    """``fetch_bytes``, then parse the body as a strict JSON object."""
    fetched = await fetch_bytes(client, url, timeout=timeout, max_bytes=max_bytes)
    try:
        body = parse_object(fetched.body)
    except JSONError:
        raise FetchError("response is not a JSON object", code=FETCH_NOT_JSON, status=200) from None
    return FetchedDocument(body=body, max_age=fetched.max_age, duration=fetched.duration)
