"""``LocalALB``: a stand-in Application Load Balancer for the tests of apps that sit behind one.

It does the two things an ALB does for an app's authentication: it publishes its public keys as
PEM documents at ``/{kid}`` (over real HTTP, on loopback) and it signs ``x-amzn-oidc-data`` tokens
exactly as AWS does (ES256, padded base64url, ``signer``/``client``/``iss``/``exp`` in the header),
so an app's tests run the production verifier, key fetching included. Part of the test kit:
``from jwt_middleware.testing import LocalALB``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final, Self

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jwt_middleware import b64
from jwt_middleware.aws.alb import ALBVerifier
from jwt_middleware.testing.keys import SigningKey
from jwt_middleware.testing.server import LoopbackServer, Request, Response

__all__ = ["DEFAULT_ALB_ARN", "LocalALB"]

DEFAULT_ALB_ARN: Final = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/local-alb/0123456789abcdef"
)


def _padded(data: bytes) -> str:
    """base64url with its ``=`` padding kept, as ALB sends it."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(document), separators=(",", ":")).encode()


class LocalALB:
    """Keys at ``{url}/{kid}`` and ``mint`` for ``x-amzn-oidc-data``; use ``with LocalALB() as alb:``."""

    def __init__(
        self,
        *,
        arn: str = DEFAULT_ALB_ARN,
        client_id: str = "local-client",
        issuer: str = "https://idp.example.test",
        port: int = 0,
    ) -> None:
        self.arn = arn
        self.client_id = client_id
        self.issuer = issuer
        self.server = LoopbackServer(port, keep_alive=False)
        self._lock = threading.Lock()
        self._published: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self.server.route("/", self._serve_key, prefix=True)

    def start(self) -> Self:
        if self._current is None:
            self.rotate()
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def key_url(self) -> str:
        """The template to give ``ALBVerifier(key_url=...)``."""
        return self.server.url + "/{kid}"

    @property
    def current_key(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError("start the load balancer first: 'with LocalALB() as alb:'")
        return self._current

    def rotate(self) -> SigningKey:
        """Publish a new P-256 key under a new UUID ``kid`` and sign with it from now on."""
        key = SigningKey.generate("ES256", kid=str(uuid.uuid4()))
        with self._lock:
            self._published[key.kid] = key
            self._current = key
        return key

    def key_requests(self, kid: str | None = None) -> int:
        """Key requests received, for one ``kid`` or in all."""
        return self.server.requests(f"/{kid}" if kid is not None else None)

    def _serve_key(self, request: Request) -> Response:
        with self._lock:
            key = self._published.get(request.path.lstrip("/"))
        if key is None:
            return Response.text("no such key", status=404)
        pem = key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return Response(200, pem, {"Content-Type": "application/x-pem-file"})

    def verifier(self, **options: Any) -> ALBVerifier:
        """An ``ALBVerifier`` for this load balancer, its client and issuer, with keys from here."""
        options.setdefault("alb_arn", self.arn)
        options.setdefault("client_id", self.client_id)
        options.setdefault("issuer", self.issuer)
        options.setdefault("key_url", self.key_url)
        return ALBVerifier(**options)

    def mint(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        sub: str = "user-123",
        expires_in: float = 120,
        headers: Mapping[str, Any] | None = None,
        key: SigningKey | None = None,
        padded: bool = True,
    ) -> str:
        """An ``x-amzn-oidc-data`` token for ``sub``; ``claims`` add to or override the payload,
        ``headers`` the header (``None`` removes an entry); ``padded=False`` strips the padding."""
        signing_key = key or self.current_key
        exp = int(time.time() + expires_in)
        header: dict[str, Any] = {
            "typ": "JWT",
            "kid": signing_key.kid,
            "alg": "ES256",
            "iss": self.issuer,
            "client": self.client_id,
            "signer": self.arn,
            "exp": exp,
        }
        payload: dict[str, Any] = {"sub": sub, "exp": exp, "iss": self.issuer}
        for target, changes in ((header, headers), (payload, claims)):
            for name, value in (changes or {}).items():
                if value is None:
                    target.pop(name, None)
                else:
                    target[name] = value
        encode = _padded if padded else b64.encode
        signing_input = f"{encode(_json(header))}.{encode(_json(payload))}"
        return f"{signing_input}.{encode(signing_key.sign(signing_input.encode('ascii')))}"
