"""The shape in which an API Gateway HTTP API JWT authorizer hands verified claims to a Lambda.

After verifying a token, API Gateway puts its claims in the integration's event, at
``requestContext.authorizer.jwt.claims`` (payload format 2.0) or ``requestContext.authorizer.claims``
(1.0), next to ``scopes``. Every value arrives as a string: numbers as their digits
(``"exp": "1700000000"``), booleans as ``"true"``/``"false"`` and arrays as their items joined by
spaces inside brackets (``"cognito:groups": "[admins editors]"``), which is Go's ``%v`` rendering.
Objects are rendered by the same convention (``map[key:value]``, keys sorted): AWS documents no
example of one, so that part follows the array rendering rather than an observed event.

``gateway_claims``/``authorizer_context`` render verified ``Claims`` in that shape (to test a
Lambda locally with the event it will receive, or to answer like the gateway); ``claims_from_event``
reads it back into ``Claims`` for an app that trusts the gateway's verification
(``jwt_middleware.aws.gateway_trust``). The rendering loses information (a group name containing a
space cannot be told from two groups), so reading back is only as exact as AWS's format allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, GRANT_KINDS, ClaimMapping
from jwt_middleware.claims import Claims, check_identity_claims

__all__ = [
    "LIST_CLAIMS",
    "NUMERIC_DATE_CLAIMS",
    "authorizer_context",
    "claims_from_event",
    "gateway_claims",
    "gateway_scopes",
    "parse_gateway_claims",
    "render_claim",
]

#: Claims read back as lists when they arrive in brackets (with the claim mapping's own names).
LIST_CLAIMS: Final = frozenset(
    {"aud", "amr", "cognito:groups", "cognito:roles", "groups", "permissions", "roles", "scp"}
)
#: Claims read back as NumericDates when they arrive as digits.
NUMERIC_DATE_CLAIMS: Final = frozenset({"auth_time", "exp", "iat", "nbf"})

_DIGITS: Final = re.compile(r"[0-9]{1,12}")


def render_claim(value: Any) -> str:
    """One claim value as API Gateway renders it: strings as they are, everything else as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(render_claim(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{render_claim(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Every claim rendered as API Gateway passes it to the integration."""
    return {name: render_claim(value) for name, value in claims.items()}


def gateway_scopes(claims: Claims) -> list[str] | None:
    """The token's scopes (``scope`` and ``scp``) as the event's ``scopes`` list; ``None`` without any."""
    scopes = claims.scopes
    return sorted(scopes) if scopes else None


def authorizer_context(claims: Claims) -> dict[str, Any]:
    """``requestContext.authorizer`` of a payload 2.0 event for a request carrying these claims."""
    return {"jwt": {"claims": gateway_claims(claims), "scopes": gateway_scopes(claims)}}


def _parse_value(name: str, value: Any, list_claims: frozenset[str]) -> Any:
    if not isinstance(value, str):
        return value  # Already typed (a hand-built event); nothing to undo.
    if name in NUMERIC_DATE_CLAIMS and _DIGITS.fullmatch(value):
        return int(value)
    if name in list_claims and value.startswith("[") and value.endswith("]"):
        inner = value[1:-1]
        return inner.split(" ") if inner else []
    return value


def parse_gateway_claims(
    rendered: Mapping[str, Any],
    scopes: Iterable[str] | None = None,
    *,
    list_claims: Iterable[str] = LIST_CLAIMS,
    claim_mapping: ClaimMapping | None = None,
) -> Claims:
    """``Claims`` from the gateway's rendering: dates back to numbers, bracketed lists to lists.

    ``scopes`` (the event's list) fills ``scope`` when the rendered claims have neither ``scope``
    nor ``scp``, so that ``Claims.scopes`` and scope guards see what the gateway saw.
    ``claim_mapping`` says where the token's grants are, as for the verifier; its top-level claims
    are read back as lists too. Nested objects (Keycloak's ``realm_access.roles``) arrive in Go's
    ``map[...]`` rendering and are not read back: map such roles with a top-level claim.
    """
    mapping = claim_mapping if claim_mapping is not None else DEFAULT_CLAIM_MAPPING
    names = frozenset(list_claims) | {path for kind in GRANT_KINDS for path in getattr(mapping, kind)}
    payload = {str(name): _parse_value(str(name), value, names) for name, value in rendered.items()}
    if scopes is not None and "scope" not in payload and "scp" not in payload:
        granted = [scope for scope in scopes if isinstance(scope, str)]
        if granted:
            payload["scope"] = " ".join(granted)
    return Claims(payload, claim_mapping=mapping)


def _mapping(value: Any, key: str) -> Mapping[str, Any] | None:
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, Mapping) else None


def claims_from_event(
    event: Any, *, list_claims: Iterable[str] = LIST_CLAIMS, claim_mapping: ClaimMapping | None = None
) -> Claims | None:
    """The claims an HTTP API JWT authorizer verified for this event, or ``None`` if it has none.

    Payload format 2.0 carries them at ``requestContext.authorizer.jwt``, 1.0 (``"version": "1.0"``)
    at ``requestContext.authorizer``. REST API events are not read: their Cognito authorizer
    renders claims differently (dates as text), and a Lambda authorizer's context is not claims.
    An identity claim the gateway passed empty (``sub: ""``) is refused with ``InvalidClaimError``,
    as the verifier refuses it: it would otherwise read as no identity at all.
    """
    authorizer = _mapping(_mapping(event, "requestContext"), "authorizer")
    if authorizer is None:
        return None
    version = event.get("version")
    if version == "2.0":
        source = _mapping(authorizer, "jwt")
    elif version == "1.0":
        source = authorizer
    else:
        return None
    rendered = _mapping(source, "claims")
    if not rendered:
        return None
    scopes = source.get("scopes") if source is not None else None
    claims = parse_gateway_claims(
        rendered,
        scopes if isinstance(scopes, list) else None,
        list_claims=list_claims,
        claim_mapping=claim_mapping,
    )
    check_identity_claims(claims)
    return claims
