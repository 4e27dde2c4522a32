"""The claims API Gateway hands a Lambda after its authorizer verified the token: rendered, and read back.

API Gateway passes the verified claims to the integration as strings, rendered one of two ways:

* HTTP APIs (JWT authorizer) put them at ``requestContext.authorizer.jwt.claims`` (payload format
  2.0) or ``requestContext.authorizer.claims`` (1.0), next to ``scopes``, in Go's ``%v``
  rendering: numbers as their digits (``"exp": "1700000000"``), booleans as ``"true"``/
  ``"false"``, arrays as their items joined by spaces inside brackets (``"roles": "[r1 r2]"``, as
  Entra's and Cognito's arrays arrive), objects as ``map[key:value]`` (keys sorted; AWS documents
  no example, so that part follows the array rendering rather than an observed event).
* REST APIs (Cognito user pool authorizer) put them at ``requestContext.authorizer.claims`` in
  Java's rendering: ``exp`` and ``iat`` as dates (``"Thu May 30 07:38:49 UTC 2024"``), other
  numbers as digits (``"auth_time": "1717051129"``), booleans as ``"true"``/``"false"``, arrays
  joined by commas (``"cognito:groups": "admins,editors"``).

Reading back (``claims_from_event``, ``parse_gateway_claims``) gives every claim whose type is
known the type it had in the token, so a service sees the same ``Claims`` whether it verified
the token itself or trusted the gateway: ``CLAIM_TYPES`` is that one table (RFC 7519, OpenID
Connect, RFC 9068, Cognito, and the providers' array claims). Every other claim stays the string
the gateway sent: a custom ``"level": 3`` arrives as ``"3"``, an object as its ``map[...]`` text,
unless ``claim_types=`` says what it is. The renderings lose information (a group name holding a
space, or on REST a comma, cannot be told from two groups), so reading back is only as exact as
AWS's formats allow.

``gateway_claims``/``authorizer_context`` render verified ``Claims`` in the HTTP API shape and
``rest_gateway_claims`` in the REST one, to test a Lambda locally with the event it will receive.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, GRANT_KINDS, ClaimMapping
from jwt_middleware.claims import Claims, check_identity_claims

__all__ = [
    "CLAIM_TYPES",
    "LIST_CLAIMS",
    "NUMERIC_DATE_CLAIMS",
    "ClaimType",
    "Rendering",
    "authorizer_context",
    "claims_from_event",
    "gateway_claims",
    "gateway_scopes",
    "parse_gateway_claims",
    "render_claim",
    "rest_gateway_claims",
]

ClaimType = Literal["date", "number", "boolean", "list"]
#: Whose rendering a set of claims is in: an HTTP API's JWT authorizer or a REST API's Cognito one.
Rendering = Literal["http", "rest"]

#: The claims whose type is known, by the specifications and providers that define them.
CLAIM_TYPES: Final[Mapping[str, ClaimType]] = {
    # RFC 7519: NumericDates, and an audience that is a string or an array.
    "exp": "date",
    "nbf": "date",
    "iat": "date",
    "aud": "list",
    # OpenID Connect Core.
    "auth_time": "date",
    "updated_at": "date",
    "email_verified": "boolean",
    "phone_number_verified": "boolean",
    "amr": "list",
    # RFC 9068 and RFC 7643 (SCIM) attributes in access tokens; Okta's and Entra's scp array.
    "scp": "list",
    "roles": "list",
    "groups": "list",
    "entitlements": "list",
    # Auth0 (RBAC), Entra (directory role ids; hasgroups in place of an overlong groups), Keycloak
    # (web origins).
    "permissions": "list",
    "wids": "list",
    "hasgroups": "boolean",
    "allowed-origins": "list",
    # Amazon Cognito.
    "cognito:groups": "list",
    "cognito:roles": "list",
    "version": "number",
}

#: Claims read back as lists (also every top-level claim a ``ClaimMapping`` takes grants from).
LIST_CLAIMS: Final = frozenset(name for name, kind in CLAIM_TYPES.items() if kind == "list")
#: Claims read back as NumericDates.
NUMERIC_DATE_CLAIMS: Final = frozenset(name for name, kind in CLAIM_TYPES.items() if kind == "date")
#: The claims a REST API's Cognito authorizer renders as Java dates rather than digits.
_JAVA_DATE_CLAIMS: Final = ("exp", "iat")

_INTEGER: Final = re.compile(r"-?[0-9]{1,16}")
_DECIMAL: Final = re.compile(r"-?[0-9]{1,16}\.[0-9]{1,16}")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: ``java.util.Date.toString()`` in UTC, as a REST API's Cognito authorizer writes ``exp``.
_JAVA_DATE: Final = re.compile(
    rf"(?:{'|'.join(_WEEKDAYS)}) (?P<month>{'|'.join(_MONTHS)}) (?P<day>[0-9]{{2}}) "
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2}) UTC (?P<year>[0-9]{4})"
)


def render_claim(value: Any) -> str:
    """One claim value as an HTTP API renders it: strings as they are, everything else as text."""
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


def _java_date(seconds: int) -> str:
    year, month, day, hour, minute, second, weekday = time.gmtime(seconds)[:7]
    return (
        f"{_WEEKDAYS[weekday]} {_MONTHS[month - 1]} {day:02d} {hour:02d}:{minute:02d}:{second:02d} UTC {year}"
    )


def _render_rest(name: str, value: Any) -> str:
    if name in _JAVA_DATE_CLAIMS and isinstance(value, int) and not isinstance(value, bool):
        return _java_date(value)
    if isinstance(value, list | tuple):
        return ",".join(_render_rest("", item) for item in value)
    return render_claim(value)


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Every claim rendered as an HTTP API's JWT authorizer passes it to the integration."""
    return {name: render_claim(value) for name, value in claims.items()}


def rest_gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Every claim rendered as a REST API's Cognito user pool authorizer passes it on."""
    return {name: _render_rest(name, value) for name, value in claims.items()}


def gateway_scopes(claims: Claims) -> list[str] | None:
    """The token's scopes (``scope`` and ``scp``) as the event's ``scopes`` list; ``None`` without any."""
    scopes = claims.scopes
    return sorted(scopes) if scopes else None


def authorizer_context(claims: Claims) -> dict[str, Any]:
    """``requestContext.authorizer`` of a payload 2.0 event for a request carrying these claims."""
    return {"jwt": {"claims": gateway_claims(claims), "scopes": gateway_scopes(claims)}}


def _date(value: str) -> Any:
    if _INTEGER.fullmatch(value):
        return int(value)
    match = _JAVA_DATE.fullmatch(value)
    if match is None:
        return value
    fields = (int(match["year"]), _MONTHS.index(match["month"]) + 1, int(match["day"]))
    clock = (int(match["hour"]), int(match["minute"]), int(match["second"]))
    return calendar.timegm((*fields, *clock, 0, 0, 0))


def _number(value: str) -> Any:
    if _INTEGER.fullmatch(value):
        return int(value)
    return float(value) if _DECIMAL.fullmatch(value) else value


def _parse_value(name: str, kind: ClaimType | None, value: Any, rendering: Rendering) -> Any:
    if not isinstance(value, str) or kind is None:
        return value  # Already typed (a hand-built event), or a claim of unknown type: kept as sent.
    if kind == "date":
        return _date(value)
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if rendering == "rest":
        items = value.split(",") if value else []
        # ``aud`` is the one list claim tokens usually hold as a string: one item stays one.
        return value if name == "aud" and len(items) == 1 else items
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1]
        return inner.split(" ") if inner else []
    return value  # A list claim the token held as one string (``aud``): a string it stays.


def parse_gateway_claims(
    rendered: Mapping[str, Any],
    scopes: Iterable[str] | None = None,
    *,
    list_claims: Iterable[str] = LIST_CLAIMS,
    claim_types: Mapping[str, ClaimType] | None = None,
    claim_mapping: ClaimMapping | None = None,
    rendering: Rendering = "http",
) -> Claims:
    """``Claims`` from the gateway's rendering, each known claim back to its type (``CLAIM_TYPES``).

    ``scopes`` (the event's list) fills ``scope`` when the rendered claims have neither ``scope``
    nor ``scp``, so that ``Claims.scopes`` and scope guards see what the gateway saw.
    ``list_claims`` and ``claim_types`` add to the table (a custom ``"level": "number"``);
    ``claim_mapping`` says where the token's grants are, as for the verifier, and its top-level
    claims are read back as lists too. Nested objects (Keycloak's ``realm_access.roles``) arrive
    as ``map[...]`` text and are not read back: map such roles with a top-level claim.
    ``rendering`` is ``"rest"`` for a REST API's Cognito authorizer (see the module docstring).
    """
    mapping = claim_mapping if claim_mapping is not None else DEFAULT_CLAIM_MAPPING
    types: dict[str, ClaimType] = dict(CLAIM_TYPES)
    for name in (*list_claims, *(path for kind in GRANT_KINDS for path in getattr(mapping, kind))):
        types[name] = "list"
    types.update(claim_types or {})
    payload = {
        str(name): _parse_value(str(name), types.get(str(name)), value, rendering)
        for name, value in rendered.items()
    }
    if scopes is not None and "scope" not in payload and "scp" not in payload:
        granted = [scope for scope in scopes if isinstance(scope, str)]
        if granted:
            payload["scope"] = " ".join(granted)
    return Claims(payload, claim_mapping=mapping)


def _mapping(value: Any, key: str) -> Mapping[str, Any] | None:
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, Mapping) else None


def claims_from_event(
    event: Any,
    *,
    list_claims: Iterable[str] = LIST_CLAIMS,
    claim_types: Mapping[str, ClaimType] | None = None,
    claim_mapping: ClaimMapping | None = None,
) -> Claims | None:
    """The claims API Gateway's authorizer verified for this event, or ``None`` if it has none.

    HTTP API events carry them at ``requestContext.authorizer.jwt`` (payload 2.0) or
    ``requestContext.authorizer`` (``"version": "1.0"``); REST API events (no ``version``) at
    ``requestContext.authorizer.claims`` when a Cognito user pool authorizer ran. A Lambda
    authorizer's context is not claims and is not read. An identity claim the gateway passed
    empty (``sub: ""``) is refused with ``InvalidClaimError``, as the verifier refuses it: it
    would otherwise read as no identity at all.
    """
    authorizer = _mapping(_mapping(event, "requestContext"), "authorizer")
    if authorizer is None:
        return None
    version = event.get("version")
    rendering: Rendering = "http"
    if version == "2.0":
        source = _mapping(authorizer, "jwt")
    elif version == "1.0":
        source = authorizer
    elif version is None:
        source, rendering = authorizer, "rest"
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
        claim_types=claim_types,
        claim_mapping=claim_mapping,
        rendering=rendering,
    )
    check_identity_claims(claims)
    return claims
