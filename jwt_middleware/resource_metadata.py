"""``ProtectedResourceMetadata``: RFC 9728's description of this API, for clients to discover.

A client that gets a 401 learns from the challenge's ``resource_metadata`` where the document is;
the document names the authorization servers that issue tokens for this resource, its scopes, how
tokens are sent and which DPoP algorithms proofs may use. The Model Context Protocol requires it
of every MCP server. Pass it as ``resource_metadata=`` to a middleware or adapter: it is served at
``/.well-known/oauth-protected-resource`` (and at the path-suffixed form of RFC 9728 section 3.1
for a resource with a path), and every 401 challenge names it. What the document leaves unset is
filled from the verifier (``for_verifier``): its issuers, its DPoP algorithms and mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from jwt_middleware.challenge import Challenge, ChallengeBuilder, check_scope_tokens
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = ["WELL_KNOWN_PATH", "MetadataResponse", "ProtectedResourceMetadata", "with_resource_metadata"]

#: RFC 9728 section 3: where the document lives, before any path suffix.
WELL_KNOWN_PATH: Final = "/.well-known/oauth-protected-resource"
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_url(value: object, what: str, *, allow_query: bool = False) -> str:
    """An https URL (http only on loopback, for tests), without fragment."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{what} must be a URL string")
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname or parts.fragment or (parts.query and not allow_query):
        raise ConfigurationError(f"{what} must be an https URL without fragment (http only on loopback)")
    return value


@dataclass(frozen=True, slots=True)
class MetadataResponse:
    """The answer to a request for the document: status, headers (lower-case names), body."""

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class ProtectedResourceMetadata:
    """RFC 9728 protected-resource metadata; ``None`` members are filled from the verifier.

    ``resource`` is the resource identifier (the URL clients use, an MCP server's endpoint for
    MCP); ``extra`` adds other registered or private members as they are.
    """

    resource: str
    authorization_servers: Sequence[str] | None = None
    scopes_supported: Sequence[str] = ()
    bearer_methods_supported: Sequence[str] | None = None
    dpop_signing_alg_values_supported: Sequence[str] | None = None
    dpop_bound_access_tokens_required: bool | None = None
    resource_name: str | None = None
    resource_documentation: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_url(self.resource, "resource", allow_query=False)
        if self.authorization_servers is not None:
            servers = (
                (self.authorization_servers,)
                if isinstance(self.authorization_servers, str)
                else tuple(self.authorization_servers)
            )
            object.__setattr__(
                self,
                "authorization_servers",
                tuple(_check_url(url, "authorization server") for url in servers),
            )
        object.__setattr__(self, "scopes_supported", check_scope_tokens(self.scopes_supported))
        for name in ("bearer_methods_supported", "dpop_signing_alg_values_supported"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.resource_documentation is not None:
            _check_url(self.resource_documentation, "resource_documentation", allow_query=True)
        if not isinstance(self.extra, Mapping):
            raise ConfigurationError("extra must be a mapping of metadata members")

    def for_verifier(self, verifier: JWTVerifier | None) -> ProtectedResourceMetadata:
        """This document with what it leaves unset taken from ``verifier``'s configuration."""
        if verifier is None:
            return self
        templates = {template.template for template in verifier.issuer_templates}
        changes: dict[str, Any] = {}
        if self.authorization_servers is None:
            changes["authorization_servers"] = tuple(
                issuer for issuer in verifier.issuers if issuer not in templates and _is_url(issuer)
            )
        policy = verifier.dpop
        if self.dpop_signing_alg_values_supported is None and policy.accepts_dpop:
            changes["dpop_signing_alg_values_supported"] = policy.algorithms
        if self.dpop_bound_access_tokens_required is None and not policy.accepts_bearer:
            changes["dpop_bound_access_tokens_required"] = True
        return replace(self, **changes) if changes else self

    def document(self) -> dict[str, Any]:
        """The JSON object, members in RFC 9728 section 2's order, unset ones left out."""
        document: dict[str, Any] = {"resource": self.resource}
        if self.authorization_servers:
            document["authorization_servers"] = list(self.authorization_servers)
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        document["bearer_methods_supported"] = list(
            ("header",) if self.bearer_methods_supported is None else self.bearer_methods_supported
        )
        if self.resource_name is not None:
            document["resource_name"] = self.resource_name
        if self.resource_documentation is not None:
            document["resource_documentation"] = self.resource_documentation
        if self.dpop_signing_alg_values_supported:
            document["dpop_signing_alg_values_supported"] = list(self.dpop_signing_alg_values_supported)
        if self.dpop_bound_access_tokens_required is not None:
            document["dpop_bound_access_tokens_required"] = self.dpop_bound_access_tokens_required
        for name, value in self.extra.items():
            document.setdefault(name, value)
        return document

    @property
    def url(self) -> str:
        """Where the document is (RFC 9728 section 3.1): the well-known path before the resource's path."""
        parts = urlsplit(self.resource)
        path = parts.path if parts.path not in ("", "/") else ""
        return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN_PATH}{path}"

    @property
    def paths(self) -> tuple[str, ...]:
        """The request paths that serve the document: the path-suffixed form, then the plain one."""
        suffixed = urlsplit(self.url).path
        return (suffixed,) if suffixed == WELL_KNOWN_PATH else (suffixed, WELL_KNOWN_PATH)

    def serves(self, method: str, path: str) -> bool:
        """Whether a request is one for the document (it is answered without authentication)."""
        return path in self.paths and method in _METHODS

    def response(self, method: str = "GET") -> MetadataResponse:
        """The answer to a ``GET``, ``HEAD`` or ``OPTIONS`` request for the document.

        Cacheable and readable from any origin: the document is public, and browser-based
        clients (MCP inspectors) read it across origins.
        """
        cors = (("access-control-allow-origin", "*"),)
        if method == "OPTIONS":
            headers = (
                *cors,
                ("access-control-allow-methods", "GET, HEAD, OPTIONS"),
                ("access-control-allow-headers", "*"),
                ("content-length", "0"),
            )
            return MetadataResponse(204, headers, b"")
        body = json.dumps(self.document(), separators=(",", ":")).encode()
        headers = (
            ("content-type", "application/json"),
            ("cache-control", "public, max-age=3600"),
            *cors,
            ("content-length", str(len(body))),
        )
        return MetadataResponse(200, headers, b"" if method == "HEAD" else body)


def _is_url(value: str) -> bool:
    try:
        _check_url(value, "issuer")
    except ConfigurationError:
        return False
    return True


def with_resource_metadata(
    builder: ChallengeBuilder, metadata: ProtectedResourceMetadata
) -> ChallengeBuilder:
    """``builder`` with RFC 9728's ``resource_metadata`` parameter added to every 401 challenge."""
    url = metadata.url

    def challenges(error: JWTMiddlewareError, realm: str) -> Sequence[Challenge]:
        built = builder(error, realm)
        if error.status_code != 401:
            return built
        return tuple(challenge.with_params(resource_metadata=url) for challenge in built)

    return challenges
