"""API Gateway routes: route keys, which route a request reaches, and each route's IAM pattern.

A route key is ``"METHOD /path"`` or ``"$default"``. Paths are made of literal segments, path
variables (``{id}``: one non-empty segment) and at the end at most one greedy variable
(``{proxy+}``: one or more segments, the first not empty). ``ANY`` matches every method,
``$default`` every request.
When several routes match a request, API Gateway takes the most specific, as its HTTP API guide
ranks them: an exact route before one with path variables before one with a greedy variable, a
route's own method before ``ANY``, and ``$default`` last. Here that is one static order
(``Route.precedence``): segment by segment, a literal beats a variable beats a greedy variable;
then a named method beats ``ANY``. Variable names do not matter to matching, so
``/orders/{id}`` and ``/orders/{orderId}`` are the same route.

Requests are read where API Gateway's own authorization reads them: the method ARN
(``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``), whose tail
``METHOD/path`` is also what an IAM policy's ``Resource`` is matched against. ``Route.patterns``
are the route as such ``Resource`` tails (``GET/orders/*``), each with the exact set of tails IAM
matches it against; ``Route.language`` is the exact set of tails the route itself matches. With
both, ``jwt_middleware.aws.route_policy`` tells where IAM's wildcards reach further than a route.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from jwt_middleware.errors import ConfigurationError

__all__ = [
    "ANY_METHOD",
    "DEFAULT_ROUTE",
    "HTTP_METHODS",
    "MethodArn",
    "ResourcePattern",
    "Route",
    "Segment",
    "SegmentKind",
    "Token",
    "best_route",
    "parse_method_arn",
]

#: The methods that can appear in a method ARN (and so in an IAM ``Resource``).
HTTP_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
ANY_METHOD: Final = "ANY"
DEFAULT_ROUTE: Final = "$default"

_VARIABLE: Final = re.compile(r"\{(?P<name>[A-Za-z0-9._-]+)(?P<greedy>\+)?\}")
#: Characters a literal path segment may not hold: braces are variables, ``*`` and ``?`` would be
#: wildcards in the route's IAM pattern.
_NOT_LITERAL: Final = re.compile(r"[{}*?\s]")


class SegmentKind(enum.IntEnum):
    """A path segment's kind, ranked as API Gateway prefers them (lower is more specific)."""

    LITERAL = 0
    VARIABLE = 1
    GREEDY = 2


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    text: str = ""  # the literal, for LITERAL segments


@dataclass(frozen=True, slots=True)
class Token:
    """One step of a route's language over ARN-tail segments (see ``Route.language``).

    It matches one segment: ``values`` lists the accepted ones (``None``: any segment but those
    in ``excluded``); ``repeat`` lets it match any number of further segments.
    """

    values: frozenset[str] | None
    excluded: frozenset[str] = frozenset()
    repeat: bool = False

    def accepts(self, segment: str) -> bool:
        if self.values is not None:
            return segment in self.values
        return segment not in self.excluded


_ANY_SEGMENT: Final = Token(None)
_ANY_SEGMENTS: Final = Token(None, repeat=True)
_NON_EMPTY: Final = Token(None, excluded=frozenset({""}))


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    """An IAM ``Resource`` tail (after ``{api}/{stage}/``) and exactly the ARN tails it matches."""

    text: str
    language: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class MethodArn:
    """A method (or route) ARN split where IAM matching and route matching need it."""

    #: ``arn:...:{api}/{stage}/``: every statement of a policy for this API stage starts so.
    prefix: str
    region: str
    api: str
    stage: str
    method: str
    #: The request path after its leading ``/``, as segments (``[""]`` for the root).
    segments: tuple[str, ...]

    @property
    def tail(self) -> str:
        return self.method + "/" + "/".join(self.segments)

    @property
    def arn(self) -> str:
        return self.prefix + self.tail


_ARN: Final = re.compile(
    r"(?P<prefix>arn:aws[a-z-]*:execute-api:(?P<region>[a-z0-9-]+):[0-9]{12}:"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_$.-]+)/)(?P<method>[A-Z]+)/(?P<path>.*)",
    re.DOTALL,
)


def parse_method_arn(arn: object) -> MethodArn | None:
    """The parts of ``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``.

    ``None`` for anything else, and for an unknown method: a request the authorizer cannot place
    is refused, never matched loosely.
    """
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or match["method"] not in HTTP_METHODS:
        return None
    return MethodArn(
        match["prefix"],
        match["region"],
        match["api"],
        match["stage"],
        match["method"],
        tuple(match["path"].split("/")),
    )


@dataclass(frozen=True, slots=True)
class Route:
    """One route key, parsed: its method (``ANY`` for all, ``None`` for ``$default``) and path."""

    key: str
    method: str | None
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, key: object) -> Route:
        """``"GET /orders/{id}"``, ``"ANY /{proxy+}"``, ``"$default"``; ``ConfigurationError`` otherwise."""
        if key == DEFAULT_ROUTE:
            return cls(DEFAULT_ROUTE, None, ())
        method, _, path = key.partition(" ") if isinstance(key, str) else ("", "", "")
        method = method.upper()
        if (method not in HTTP_METHODS and method != ANY_METHOD) or not path.startswith("/"):
            raise ConfigurationError(f"route {key!r} must be '$default' or 'METHOD /path'")
        texts = path[1:].split("/")
        segments: list[Segment] = []
        for index, text in enumerate(texts):
            variable = _VARIABLE.fullmatch(text)
            if variable is not None:
                greedy = variable["greedy"] is not None
                if greedy and index != len(texts) - 1:
                    raise ConfigurationError(f"route {key!r}: a greedy variable must end the path")
                segments.append(Segment(SegmentKind.GREEDY if greedy else SegmentKind.VARIABLE))
            elif _NOT_LITERAL.search(text) or (not text and path != "/"):
                raise ConfigurationError(f"route {key!r}: {text!r} is not a path segment")
            else:
                segments.append(Segment(SegmentKind.LITERAL, text))
        return cls(f"{method} {path}", method, tuple(segments))

    @property
    def is_default(self) -> bool:
        return self.method is None

    @property
    def shape(self) -> tuple[str | None, tuple[Segment, ...]]:
        """What matching depends on: two routes of one shape are the same route."""
        return self.method, self.segments

    @property
    def precedence(self) -> tuple[tuple[int, ...], int]:
        """Sort key among routes matching one request: the smallest is the one API Gateway picks."""
        if self.method is None:
            return (len(SegmentKind),), 2
        return tuple(segment.kind for segment in self.segments), int(self.method == ANY_METHOD)

    def matches(self, method: str, segments: Sequence[str]) -> bool:
        """Whether a request ``method`` on the path ``segments`` (of a method ARN) reaches this route."""
        if self.method is None:
            return True
        if self.method not in (method, ANY_METHOD):
            return False
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.GREEDY:
                return len(segments) > index and segments[index] != ""
            if index >= len(segments):
                return False
            value = segments[index]
            if segment.kind is SegmentKind.LITERAL and value != segment.text:
                return False
            if segment.kind is SegmentKind.VARIABLE and not value:
                return False
        return len(segments) == len(self.segments)

    @property
    def patterns(self) -> tuple[ResourcePattern, ...]:
        """The route as IAM ``Resource`` tails: ``GET/orders/*``; ``ANY`` as one per method; ``*``.

        IAM's ``*`` matches any characters, ``/`` included, so a pattern matches every request of
        the route and possibly more: ``GET/orders/*`` also matches ``GET/orders/1/notes``. Only
        ``$default`` is the bare ``*``; ``ANY`` is spelt out per method, since a leading ``*``
        would also match ``GET/x/health`` for ``ANY /health``.
        """
        if self.method is None:
            return (ResourcePattern("*", (_ANY_SEGMENT, _ANY_SEGMENTS)),)
        parts: list[str] = []
        tokens: list[Token] = []
        for segment in self.segments:
            if segment.kind is SegmentKind.LITERAL:
                parts.append(segment.text)
                tokens.append(Token(frozenset({segment.text})))
            else:
                # A whole-segment "*" matches one or more segments of any text, as IAM reads it.
                parts.append("*")
                tokens += (_ANY_SEGMENT, _ANY_SEGMENTS)
        methods = sorted(HTTP_METHODS) if self.method == ANY_METHOD else [self.method]
        return tuple(
            ResourcePattern(f"{method}/{'/'.join(parts)}", (Token(frozenset({method})), *tokens))
            for method in methods
        )

    @property
    def language(self) -> tuple[Token, ...]:
        """Exactly the ARN tails (method, then path segments) this route matches."""
        if self.method is None:
            return (Token(HTTP_METHODS), _ANY_SEGMENT, _ANY_SEGMENTS)
        tokens = [Token(HTTP_METHODS if self.method == ANY_METHOD else frozenset({self.method}))]
        for segment in self.segments:
            if segment.kind is SegmentKind.LITERAL:
                tokens.append(Token(frozenset({segment.text})))
            elif segment.kind is SegmentKind.VARIABLE:
                tokens.append(_NON_EMPTY)
            else:
                tokens += (_NON_EMPTY, _ANY_SEGMENTS)
        return tuple(tokens)


def best_route(routes: Sequence[Route], method: str, segments: Sequence[str]) -> int | None:
    """The index of the route API Gateway sends this request to, or ``None`` when none matches."""
    best: int | None = None
    for index, route in enumerate(routes):
        if route.matches(method, segments) and (best is None or route.precedence < routes[best].precedence):
            best = index
    return best
