"""How API Gateway evaluates an authorizer's policy for a request, for replaying cached policies.

API Gateway caches a Lambda authorizer's answer per identity source and, on a cache hit, evaluates
the cached policy against the new request's method ARN
(``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``) the way IAM evaluates a
policy: a statement applies when its ``Action`` covers ``execute-api:Invoke`` and one of its
``Resource`` patterns matches the ARN (``*`` any run of characters, ``/`` included; ``?`` exactly
one character; everything else literally). An applying ``Deny`` wins over any ``Allow``; with
neither, the request is implicitly denied.

Written apart from the library (no shared code), on purpose: the tests check the library's
policies against this reading, not against the library's own idea of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def wildcard_match(pattern: str, text: str) -> bool:
    """IAM's resource matching, by dynamic programming over (pattern, text) positions."""
    # reachable[j]: the first i pattern characters can match the first j text characters.
    reachable = [True] + [False] * len(text)
    for char in pattern:
        if char == "*":
            for j in range(1, len(text) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [
                reachable[j] and (char == "?" or char == text[j]) for j in range(len(text))
            ]
    return reachable[len(text)]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def evaluate(response: Mapping[str, Any], method_arn: str) -> bool:
    """Whether the authorizer ``response`` lets API Gateway invoke ``method_arn``."""
    allowed = False
    for statement in response["policyDocument"]["Statement"]:
        if not any(
            action in ("execute-api:Invoke", "execute-api:*", "*") for action in _listed(statement["Action"])
        ):
            continue
        if any(wildcard_match(pattern, method_arn) for pattern in _listed(statement["Resource"])):
            if statement["Effect"] == "Deny":
                return False
            allowed = allowed or statement["Effect"] == "Allow"
    return allowed
