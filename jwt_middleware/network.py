"""How the library reaches identity providers: proxies, trust stores and client certificates.

Every HTTP client the library builds for an identity provider (the JWKS and discovery fetches,
and the token, revocation and introspection endpoints of sign-in and service-to-service tokens)
takes its network options from ``client_options(settings)``, so a proxy or a private CA given
once applies to every one of them. ``NetworkSettings`` holds the options; ``CacheSettings`` is
one, so ``CacheSettings(trust_env=True)`` or ``CacheSettings(ca_bundle=...)`` configures them.

Why the environment is not trusted by default. The keys fetched here decide which tokens are
accepted, so where they come from is a security decision, and ``HTTPS_PROXY`` or
``SSL_CERT_FILE`` are set by whoever set up the process's environment for reasons of their own (a
developer's shell, a CI runner, a container image configured for package downloads). Honoured
silently, they would route key fetches through a proxy nobody chose for them, or replace the trust
store, so that whoever controls that file decides which JWKS is genuine. Opting in is one
setting, ``trust_env=True``, visible in the code that configures the verifier.

TLS contexts are built once per distinct configuration and shared (a system trust store takes
tens of milliseconds to load), lazily, on the first fetch's worker thread, never on an event
loop. Certificate files given explicitly are loaded when the settings are made, so a wrong path
or a key that does not match its certificate is a ``ConfigurationError`` at start-up, not a 503
at the first request.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from dataclasses import dataclass, field, fields
from typing import Any, Final
from urllib.parse import urlsplit

from jwt_middleware.errors import ConfigurationError

__all__ = ["NetworkSettings", "client_options", "prepare_ssl_context", "ssl_context"]

#: The environment variables ``trust_env=True`` reads for the trust store (proxies are read by
#: httpx2 itself: ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``).
TRUST_STORE_VARIABLES: Final = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_PROXY_SCHEMES: Final = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """How outgoing fetches reach the identity provider; the defaults use no environment at all."""

    #: Honour ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` and, unless ``ca_bundle``
    #: is given, ``SSL_CERT_FILE``/``SSL_CERT_DIR``. Off by default (see the module docstring).
    trust_env: bool = False
    #: The CAs to trust instead of the system's store: a PEM file of certificates, or a directory
    #: of hashed certificates (as ``openssl rehash`` makes).
    ca_bundle: str | None = None
    #: A client certificate for mutual TLS: a PEM file with the certificate chain (and the key,
    #: unless ``client_key`` names the key's own PEM file). Keys with a passphrase need a
    #: ``client_factory`` of your own.
    client_cert: str | None = None
    client_key: str | None = None
    #: One proxy for every fetch, e.g. ``http://proxy.internal:3128``, whatever the environment
    #: says. It may carry credentials (``http://user:secret@proxy:3128``), so it is kept out of
    #: the settings' ``repr``.
    proxy: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.trust_env, bool):
            raise ConfigurationError("trust_env must be True or False")
        for name in ("ca_bundle", "client_cert", "client_key"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
                object.__setattr__(self, name, value)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{name} must be a path")
        if self.ca_bundle is not None and not os.path.exists(self.ca_bundle):
            raise ConfigurationError(f"ca_bundle: no file or directory at {self.ca_bundle!r}")
        if self.client_key is not None and self.client_cert is None:
            raise ConfigurationError("client_key needs client_cert (the certificate it belongs to)")
        if self.proxy is not None:
            parts = urlsplit(self.proxy) if isinstance(self.proxy, str) else None
            if parts is None or parts.scheme not in _PROXY_SCHEMES or not parts.hostname:
                # The URL itself is not repeated: it may hold the proxy's password.
                raise ConfigurationError("proxy must be an http:// or https:// URL")
        if self.ca_bundle is not None or self.client_cert is not None:
            ssl_context(self)  # load the files now: a mistake in them is a set-up error

    @property
    def network(self) -> NetworkSettings:
        """Only the network options (what ``client_options`` reads), e.g. to hand to another client."""
        return NetworkSettings(**{item.name: getattr(self, item.name) for item in fields(NetworkSettings)})

    @property
    def is_default(self) -> bool:
        """Whether every network option has its default (no proxy, CA, certificate or environment)."""
        return self.network == NetworkSettings()


_contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _new_lock_in_child() -> None:
    # A fork while the set-up thread held the lock (gunicorn --preload) would leave the child's
    # copy locked forever, the thread not surviving the fork: every fetch there would then hang.
    global _contexts_lock, _held_for_fork
    _contexts_lock = threading.Lock()
    _held_for_fork = False


#: The set-up threads still running (see ``prepare_ssl_context``).
_warming: set[threading.Thread] = set()
#: How long a fork waits for them: far more than loading a trust store takes.
_WARM_UP_WAIT: Final = 5.0
_held_for_fork = False


def _finish_setting_up_before_fork() -> None:
    # Setting up imports the HTTP stack and loads the trust store. Forked in the middle of an
    # import, the child would find that module's import lock held by a thread it does not have,
    # and its first fetch would hang there forever. So a fork waits for the set-up threads, and
    # for any context being built (under the lock), to finish first.
    global _held_for_fork
    for thread in list(_warming):
        if thread is not threading.current_thread():
            thread.join(_WARM_UP_WAIT)
    _held_for_fork = _contexts_lock.acquire(timeout=_WARM_UP_WAIT)


def _release_after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _contexts_lock.release()


os.register_at_fork(
    before=_finish_setting_up_before_fork,
    after_in_parent=_release_after_fork_in_parent,
    after_in_child=_new_lock_in_child,
)


def _context_key(settings: NetworkSettings) -> tuple[Any, ...]:
    environment = (
        tuple(os.environ.get(name) for name in TRUST_STORE_VARIABLES)
        if settings.trust_env and settings.ca_bundle is None
        else ()
    )
    return (settings.ca_bundle, settings.client_cert, settings.client_key, settings.trust_env, environment)


def _build_context(settings: NetworkSettings) -> ssl.SSLContext:
    if settings.ca_bundle is not None:
        bundle = settings.ca_bundle
        try:
            if os.path.isdir(bundle):
                context = ssl.create_default_context(capath=bundle)
            else:
                context = ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"ca_bundle: cannot load {bundle!r} ({_why(exc)})") from None
    else:
        import httpx2

        # The system's store, and with trust_env SSL_CERT_FILE/SSL_CERT_DIR instead of it.
        context = httpx2.create_ssl_context(trust_env=settings.trust_env)
    if settings.client_cert is not None:
        try:
            context.load_cert_chain(settings.client_cert, settings.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"client_cert: cannot load {settings.client_cert!r} ({_why(exc)})"
            ) from None
    return context


def _why(exc: OSError | ssl.SSLError) -> str:
    return getattr(exc, "reason", None) or exc.strerror or type(exc).__name__


def ssl_context(settings: NetworkSettings) -> ssl.SSLContext:
    """The client TLS context for ``settings``: built on first use, then shared."""
    key = _context_key(settings)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _build_context(settings)
        return context


def prepare_ssl_context(settings: NetworkSettings) -> None:
    """Start building ``settings``' TLS context (and loading the HTTP stack) on a worker thread.

    Nothing happens when it is built already; a fetch that comes first waits for the same lock.
    A failure here is left for that fetch to report.
    """
    with _contexts_lock:
        if _context_key(settings) in _contexts:
            return
    thread = threading.Thread(target=_warm, args=(settings,), name="jwt-middleware-tls-setup", daemon=True)
    _warming.add(thread)
    thread.start()


def _warm(settings: NetworkSettings) -> None:
    try:
        with contextlib.suppress(Exception):
            import httpx2  # noqa: F401  (the HTTP stack every fetch needs, loaded here once)

            ssl_context(settings)
    finally:
        _warming.discard(threading.current_thread())


def client_options(settings: NetworkSettings) -> dict[str, Any]:
    """Keyword arguments for an ``httpx2`` client (or Authlib's, which passes them on) per ``settings``.

    Redirects are never followed: an identity provider's endpoints are configuration, and
    following a redirect is how a fetch gets sent somewhere else.
    """
    return {
        "verify": ssl_context(settings),
        "trust_env": settings.trust_env,
        "proxy": settings.proxy,
        "follow_redirects": False,
    }
