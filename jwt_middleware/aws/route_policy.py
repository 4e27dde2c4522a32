"""Authorizer policies that stay right under API Gateway's authorizer cache.

A REST API caches a Lambda authorizer's answer per identity source (the token) for the
authorizer's TTL, 300 s by default, and applies the cached policy to every later request with
that token, whatever its method and path; an HTTP API answering with IAM policies does the same.
A policy naming only the route that was asked about would refuse the same token everywhere else
until the cache expires. So the policy is written for the whole route table at once: ``Allow``
the patterns of the routes whose requirements the token meets, ``Deny`` the others where an
allowed pattern would reach them.

The care is in the wildcards. IAM's ``*`` matches any characters, ``/`` included, so the pattern
of ``GET /orders/{id}`` (``GET/orders/*``) also matches ``GET/orders/1/notes``, a request of
``GET /orders/{id}/notes``; and an explicit ``Deny`` wins over any ``Allow``. ``RouteTable``
therefore works out once, when it is built, which routes' requests each pattern reaches, exactly
(a search over the routes' and patterns' languages, with API Gateway's route precedence), and:

* denies an unmet route only where an allowed pattern reaches its requests (elsewhere nothing
  allows it), so that denials do not spill onto allowed routes needlessly;
* reports, as ``inseparable``, pairs of routes with different requirements where the pattern of
  one reaches requests of the other: there a ``Deny`` may have to cover an allowed request, and a
  cached policy then refuses it (never the reverse: an unmet route is always denied).

The table is taken to be the API's routes behind the authorizer. A request no route of the table
matches is refused when the authorizer is asked; a cached policy only knows the table, so a
route the API has but the table lacks may be reached by a templated route's ``*``: list every
route, with ``$default`` for the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from jwt_middleware.aws.routes import HTTP_METHODS, MethodArn, ResourcePattern, Route, Token, best_route
from jwt_middleware.errors import ConfigurationError

__all__ = ["PolicyStatements", "RouteTable", "resource_matches"]

logger = logging.getLogger("jwt_middleware")

#: Stands for every path segment no route names (never a literal: literals cannot hold braces).
_OTHER: Final = "{}"


def resource_matches(pattern: str, arn: str) -> bool:
    """Whether an IAM ``Resource`` pattern matches ``arn``: ``*`` any characters, ``?`` exactly one."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, arn, re.DOTALL) is not None


@dataclass(frozen=True, slots=True)
class PolicyStatements:
    """The ``Resource`` lists of one policy: what it allows and what it denies explicitly."""

    allow: tuple[str, ...]
    deny: tuple[str, ...]

    def allows(self, arn: str) -> bool:
        """How IAM evaluates the policy for ``arn``: an explicit deny wins, then any allow."""
        if any(resource_matches(pattern, arn) for pattern in self.deny):
            return False
        return any(resource_matches(pattern, arn) for pattern in self.allow)


def _closure(tokens: Sequence[Token], states: Iterable[int]) -> frozenset[int]:
    """``states`` and every state reachable by skipping repeatable tokens."""
    found = set(states)
    pending = list(found)
    while pending:
        state = pending.pop()
        if state < len(tokens) and tokens[state].repeat and state + 1 not in found:
            found.add(state + 1)
            pending.append(state + 1)
    return frozenset(found)


def _step(tokens: Sequence[Token], states: frozenset[int], segment: str) -> frozenset[int]:
    moved = set()
    for state in states:
        if state < len(tokens) and tokens[state].accepts(segment):
            moved.add(state if tokens[state].repeat else state + 1)
    return _closure(tokens, moved)


#: The routes still matching a prefix of a request: ``(route index, state in its language)`` pairs.
_Live = frozenset[tuple[int, int]]


class _Reach:
    """Which routes' requests each resource pattern matches, by a search over segment sequences.

    The alphabet is every method, every literal of the table, the empty segment and one stand-in
    for all other segments: no route or pattern tells two segments outside that set apart, so a
    sequence over it exists for every way a real request can be matched. The routes are followed
    together as one set of live states, whose steps are shared by every pattern's search.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = routes
        self.languages = [route.language for route in routes]
        literals = {value for tokens in self.languages for token in tokens for value in token.values or ()}
        self.alphabet = sorted({*HTTP_METHODS, *literals, "", _OTHER})
        self._steps: dict[tuple[_Live, str], _Live] = {}
        self.start: _Live = frozenset(
            (index, state) for index, tokens in enumerate(self.languages) for state in _closure(tokens, (0,))
        )

    def _advance(self, live: _Live, segment: str) -> _Live:
        key = (live, segment)
        moved = self._steps.get(key)
        if moved is None:
            moved = frozenset(
                (index, state)
                for index, before in live
                for state in _step(self.languages[index], frozenset((before,)), segment)
            )
            self._steps[key] = moved
        return moved

    def winner(self, live: _Live) -> int | None:
        """The route API Gateway picks among those a complete request matches (``None``: none)."""
        accepting = {index for index, state in live if state == len(self.languages[index])}
        return min(accepting, key=lambda index: self.routes[index].precedence, default=None)

    def __call__(self, pattern: ResourcePattern) -> frozenset[int | None]:
        """The routes (``None``: no route) that requests matched by ``pattern`` are sent to."""
        start = (_closure(pattern.language, (0,)), self.start)
        reached: set[int | None] = set()
        seen = {start}
        pending = [start]
        while pending:
            own, live = pending.pop()
            if len(pattern.language) in own:
                reached.add(self.winner(live))
            for segment in self.alphabet:
                moved = _step(pattern.language, own, segment)
                if not moved:
                    continue
                state = (moved, self._advance(live, segment))
                if state not in seen:
                    seen.add(state)
                    pending.append(state)
        return frozenset(reached)


class RouteTable:
    """A Lambda authorizer's routes and what each requires, with the policy for any token.

    ``entries`` are ``(route key, requirement)`` pairs, in the order given; ``requirement`` is any
    value with equality (routes with equal requirements are always met together). ``met`` answers
    whether a token meets one route's requirement.
    """

    def __init__(self, entries: Iterable[tuple[str, object]]) -> None:
        routes: list[Route] = []
        requirements: list[object] = []
        shapes: dict[object, str] = {}
        for key, requirement in entries:
            route = Route.parse(key)
            if route.shape in shapes:
                raise ConfigurationError(f"routes {shapes[route.shape]!r} and {key!r} are the same route")
            shapes[route.shape] = str(key)
            routes.append(route)
            requirements.append(requirement)
        self.routes: tuple[Route, ...] = tuple(routes)
        self.requirements: tuple[object, ...] = tuple(requirements)
        reach = _Reach(self.routes)
        #: For each route, the routes (``None``: none) its patterns reach requests of.
        self.reach: tuple[frozenset[int | None], ...] = tuple(
            frozenset().union(*(reach(pattern) for pattern in route.patterns)) for route in self.routes
        )
        #: ``(denied, allowed)`` key pairs for which some token needs a ``Deny`` of ``denied`` that also
        #: matches requests of ``allowed``: a cached policy refuses that token there (see above).
        self.inseparable: tuple[tuple[str, str], ...] = tuple(
            (self.routes[denied].key, self.routes[allowed].key) for denied, allowed in self._conflicts()
        )
        if self.inseparable:
            # One line for the table, however many pairs: the attribute lists them all.
            denied_key, allowed_key = self.inseparable[0]
            logger.warning(
                "jwt_middleware: lambda authorizer: %d route pair(s) an IAM policy cannot tell apart for "
                "some tokens, such as a token allowed on %r but not on %r: the Deny of %r also matches "
                "requests of %r, so a cached policy refuses it there (RouteTable.inseparable lists them; "
                "set the authorizer's TTL to 0, or give the routes distinct paths)",
                len(self.inseparable),
                allowed_key,
                denied_key,
                denied_key,
                allowed_key,
            )

    def _conflicts(self) -> list[tuple[int, int]]:
        """Routes ``(denied, allowed)``: ``denied`` may need denying while ``allowed`` is allowed.

        ``denied`` is denied explicitly only when another route with another requirement is
        allowed and reaches it; the deny then covers every route its patterns reach.
        """
        requirement = self.requirements
        found = []
        for denied, reached in enumerate(self.reach):
            needs_deny = any(
                denied in self.reach[other] and requirement[other] != requirement[denied]
                for other in range(len(self.routes))
                if other != denied
            )
            if not needs_deny:
                continue
            found += [
                (denied, allowed)
                for allowed in sorted(index for index in reached if index is not None)
                if allowed != denied and requirement[allowed] != requirement[denied]
            ]
        return found

    def route_for(self, arn: MethodArn) -> int | None:
        """The index of the route the request reaches, ``None`` when the table has none for it."""
        return best_route(self.routes, arn.method, arn.segments)

    def statements(self, prefix: str, met: Callable[[object], bool]) -> PolicyStatements:
        """The policy for a token, for every route of the table (``prefix`` is ``arn:...:{api}/{stage}/``).

        ``met(requirement)`` is asked once per distinct requirement.
        """
        answers: dict[int, bool] = {}
        verdicts = []
        for requirement in self.requirements:
            # Requirements compare by value; the first equal one's answer stands for all.
            first = self.requirements.index(requirement)
            if first not in answers:
                answers[first] = met(requirement)
            verdicts.append(answers[first])
        allowed = [index for index, verdict in enumerate(verdicts) if verdict]
        if not allowed:
            return PolicyStatements((), (prefix + "*",))
        reached = frozenset().union(*(self.reach[index] for index in allowed))
        denied = [index for index, verdict in enumerate(verdicts) if not verdict and index in reached]
        return PolicyStatements(
            tuple(dict.fromkeys(prefix + p.text for index in allowed for p in self.routes[index].patterns)),
            tuple(dict.fromkeys(prefix + p.text for index in denied for p in self.routes[index].patterns)),
        )
