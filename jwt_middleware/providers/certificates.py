"""Keys published as X.509 certificates by key id: Google's ``robot/v1/metadata/x509`` documents.

Firebase documents its ID-token keys as a JSON object mapping each ``kid`` to a PEM certificate,
at ``https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com``,
cached for the response's ``Cache-Control: max-age``. ``CertificateKeySource`` serves such a
document through a ``JWKSCache`` with a decoder of its own, so fetching keeps every promise the
core makes (single flight, stale-if-error, bounded fetches, both drivers), and every key is
imported by the core's JWK rules (RSA of 2048 bits or more, no ROCA moduli, bound to RS256).

A certificate also says when its key may be used: a key verifies only between its certificate's
``notBefore`` and ``notAfter``, by the wall clock; certificates already expired when fetched are
skipped. (A token verified while its certificate was valid is remembered by the verified-token
cache until its own ``exp``, like any other token.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jwt_middleware import b64, reasons
from jwt_middleware.algorithms import Algorithm
from jwt_middleware.errors import JWKError, UnknownKeyError
from jwt_middleware.events import EventHook
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.jwks_cache import JWKSCache
from jwt_middleware.jwks_state import CacheSettings, decode_jwks
from jwt_middleware.safe_json import JSONError, parse_object

__all__ = ["CertificateKeySource"]

#: (notBefore, notAfter) as POSIX seconds.
Validity = tuple[float, float]


def _jwk_of(kid: str, certificate: x509.Certificate) -> dict[str, Any]:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise JWKError("the certificate's key is not an RSA key")
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "n": b64.encode(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64.encode(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
    }


class CertificateKeySource:
    """A ``KeySource`` over a ``{kid: PEM certificate}`` document, honouring each certificate's validity.

    ``clock`` is the wall clock the validity is checked against (the verifier's, in the presets);
    ``settings`` and ``on_event`` are the JWKS cache's.
    """

    def __init__(
        self,
        url: str,
        *,
        settings: CacheSettings | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Validity by key fingerprint: the keys of the last two documents, so that a key still
        # served while a refresh is being adopted keeps its window.
        self._validity: dict[tuple[Any, ...], Validity] = {}
        self._latest: dict[tuple[Any, ...], Validity] = {}
        self.cache = JWKSCache(url, settings=settings, on_event=on_event, decoder=self._decode)

    @property
    def url(self) -> str | None:
        return self.cache.url

    @property
    def keys(self) -> KeySet | None:
        return self.cache.keys

    def _decode(self, body: Any, previous: KeySet | None, settings: CacheSettings) -> KeySet:
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            document = body if isinstance(body, Mapping) else parse_object(body)
        except (JSONError, TypeError):
            raise JWKError("the certificate document is not a strict JSON object") from None
        if len(document) > settings.max_keys:
            raise JWKError(f"the document holds {len(document)} certificates, more than {settings.max_keys}")
        now = self._clock()
        jwks: list[dict[str, Any]] = []
        windows: dict[str, Validity] = {}
        skipped: list[str] = []
        for position, (kid, pem) in enumerate(document.items()):
            try:
                if not isinstance(pem, str):
                    raise JWKError("a certificate must be a PEM string")
                certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
                window = (
                    certificate.not_valid_before_utc.timestamp(),
                    certificate.not_valid_after_utc.timestamp(),
                )
                if window[1] < now:
                    raise JWKError("the certificate has expired")
                jwks.append(_jwk_of(kid, certificate))
                windows[kid] = window
            except (JWKError, ValueError, UnicodeEncodeError) as exc:
                skipped.append(f"certificate {position}: {exc if isinstance(exc, JWKError) else 'malformed'}")
        keys = decode_jwks({"keys": jwks}, previous, settings)
        latest = {key.fingerprint: windows[key.kid] for key in keys if key.kid in windows}
        with self._lock:
            self._validity = {**self._latest, **latest}
            self._latest = latest
        return KeySet(keys.keys, (*skipped, *keys.skipped))

    def _check(self, key: VerificationKey) -> VerificationKey:
        with self._lock:
            window = self._validity.get(key.fingerprint)
        if window is None or not (window[0] <= self._clock() <= window[1]):
            raise UnknownKeyError(
                "The token's signing certificate is not valid now",
                claim="kid",
                location="header",
                code=reasons.KID_CERTIFICATE_NOT_VALID,
                found=key.kid,
            )
        return key

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        return self._check(await self.cache.get_key(kid, algorithm))

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        return self._check(self.cache.get_key_sync(kid, algorithm))

    async def hydrate(self) -> None:
        await self.cache.hydrate()

    def hydrate_sync(self) -> None:
        self.cache.hydrate_sync()

    async def aclose(self) -> None:
        await self.cache.aclose()

    def close(self) -> None:
        self.cache.close()

    def __repr__(self) -> str:
        return f"CertificateKeySource({self.cache.url!r})"
