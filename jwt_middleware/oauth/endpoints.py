"""Where an authorization server's endpoint is: configured, or read once from its metadata.

``ClientCredentialsAuth`` needs the token endpoint and ``IntrospectionAuthenticator`` the
introspection endpoint; both may be given as URLs or found from the issuer. Discovery reads the
OpenID Connect document (``{issuer}/.well-known/openid-configuration``) and, where that does not
exist, RFC 8414's (``/.well-known/oauth-authorization-server`` inserted before the issuer's
path). The document is trusted only as far as it agrees with configuration, as for JWKS
discovery: its ``issuer`` must equal the configured one exactly, and the endpoint must be https
(or loopback). What was found is kept for the life of the object; a failed discovery is retried
by the next request that needs it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from jwt_middleware import reasons
from jwt_middleware.discovery import discovery_url
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.fetching import FetchError, check_url, fetch_json

if TYPE_CHECKING:
    import httpx2

__all__ = ["ProviderEndpoint", "metadata_urls"]

_MAX_METADATA_BYTES: Final = 256 * 1024


def metadata_urls(issuer: str) -> tuple[str, str]:
    """The OpenID Connect discovery URL of ``issuer``, then its RFC 8414 metadata URL."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    return discovery_url(issuer), rfc8414


class ProviderEndpoint:
    """One endpoint of one authorization server, e.g. ``ProviderEndpoint("token_endpoint", ...)``.

    ``url`` wins when given; otherwise ``issuer``'s metadata names it under ``name``.
    """

    __slots__ = ("_url", "issuer", "name")

    def __init__(
        self, name: str, *, url: str | None, issuer: str | None, owner: str, url_argument: str
    ) -> None:
        if url is None and issuer is None:
            raise ConfigurationError(f"{owner} needs {url_argument}, or issuer to discover it from")
        self.name = name
        self._url = check_url(url, what=url_argument) if url is not None else None
        #: The authorization server's issuer identifier, when configured.
        self.issuer = check_url(issuer, what="issuer") if issuer is not None else None

    @property
    def url(self) -> str | None:
        """The endpoint: configured, or discovered once discovery has run."""
        return self._url

    async def resolve(self, client: httpx2.AsyncClient, *, deadline: float) -> str:
        """The endpoint's URL, discovering it first if needed (until ``deadline``, monotonic)."""
        if self._url is not None:
            return self._url
        assert self.issuer is not None
        oidc, rfc8414 = metadata_urls(self.issuer)
        for url in (oidc, rfc8414):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError("timed out", code=reasons.FETCH_TIMEOUT)
            try:
                fetched = await fetch_json(client, url, timeout=remaining, max_bytes=_MAX_METADATA_BYTES)
            except FetchError as exc:
                if exc.code == reasons.FETCH_NOT_FOUND and url == oidc:
                    continue  # not an OpenID provider: try the plain OAuth metadata
                raise
            self._url = self._endpoint_in(fetched.body)
            return self._url
        raise FetchError("no authorization server metadata", code=reasons.FETCH_NOT_FOUND)

    def _endpoint_in(self, document: object) -> str:
        assert isinstance(document, dict)
        if document.get("issuer") != self.issuer:
            raise FetchError("the metadata names a different issuer", code=reasons.DISCOVERY_ISSUER_MISMATCH)
        value = document.get(self.name)
        if not isinstance(value, str):
            raise FetchError(f"the metadata has no {self.name}", code=reasons.DISCOVERY_NO_ENDPOINT)
        try:
            return check_url(value, what=self.name)
        except ConfigurationError:
            raise FetchError(
                f"the metadata's {self.name} is not https", code=reasons.DISCOVERY_INSECURE_ENDPOINT
            ) from None

    def __repr__(self) -> str:
        return f"ProviderEndpoint({self.name!r}, url={self._url!r}, issuer={self.issuer!r})"
