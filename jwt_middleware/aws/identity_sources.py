"""API Gateway identity sources: where a Lambda authorizer's token is, in API Gateway's own syntax.

An authorizer's identity sources name the parts of a request API Gateway requires (it answers
401 itself, without invoking the function, when one is missing or empty) and caches decisions
by. Both APIs spell them their own way:

* HTTP APIs: ``$request.header.Name``, ``$request.querystring.name``, ``$context.routeKey``,
  ``$stageVariables.name``;
* REST APIs: ``method.request.header.Name``, ``method.request.querystring.name``,
  ``context.name``, ``stageVariables.name``.

``identity_sources`` takes them as configured on the authorizer, in either spelling. The token is
read from the first header or query-string source; the others (a second header, the route key,
a stage variable) only shape API Gateway's cache and are not read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from jwt_middleware.errors import ConfigurationError

__all__ = ["DEFAULT_IDENTITY_SOURCES", "IdentitySource", "IdentitySources"]

SourceKind = Literal["header", "querystring", "context", "stageVariables"]

_EXPRESSION: Final = re.compile(
    r"(?:\$request\.|method\.request\.)(?P<request>header|querystring)\.(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+)"
    r"|\$?(?P<other>context|stageVariables)\.(?P<variable>[A-Za-z0-9._-]+)"
)

#: What an authorizer reads when told nothing else: the ``Authorization`` header.
DEFAULT_IDENTITY_SOURCES: Final = ("$request.header.Authorization",)


@dataclass(frozen=True, slots=True)
class IdentitySource:
    """One identity source: its kind and name (header names lower-cased: they are case-insensitive)."""

    kind: SourceKind
    name: str
    expression: str

    @classmethod
    def parse(cls, expression: object) -> IdentitySource:
        match = _EXPRESSION.fullmatch(expression) if isinstance(expression, str) else None
        if match is None:
            raise ConfigurationError(
                f"{expression!r} is not an identity source: use API Gateway's syntax, such as "
                "'$request.header.Authorization', '$request.querystring.token' or "
                "'method.request.header.Auth'"
            )
        assert isinstance(expression, str)
        if match["request"] == "header":
            return cls("header", match["name"].lower(), expression)
        if match["request"] == "querystring":
            return cls("querystring", match["name"], expression)
        kind: SourceKind = "context" if match["other"] == "context" else "stageVariables"
        return cls(kind, match["variable"], expression)


@dataclass(frozen=True, slots=True)
class IdentitySources:
    """An authorizer's identity sources, and the one of them that carries the token."""

    sources: tuple[IdentitySource, ...]

    @classmethod
    def parse(cls, expressions: str | Iterable[str]) -> IdentitySources:
        if isinstance(expressions, str):
            given = [expressions]
        elif isinstance(expressions, Iterable):
            given = list(expressions)
        else:
            raise ConfigurationError("identity_sources must be an identity source or a list of them")
        sources = tuple(IdentitySource.parse(expression) for expression in given)
        if not any(source.kind in ("header", "querystring") for source in sources):
            raise ConfigurationError(
                "identity_sources must name the header or query parameter holding the token"
            )
        return cls(sources)

    @property
    def token_source(self) -> IdentitySource:
        """The first header or query-string source: where the token is read."""
        return next(source for source in self.sources if source.kind in ("header", "querystring"))
