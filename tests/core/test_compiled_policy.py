"""The policy's fast path and its reference path agree: same accept/refuse, same report.

``ClaimPolicy.check`` runs the checks' fast forms (``accepts``) bound at construction and hands
over to the checks themselves at the first one that does not answer ``True``; ``check_each``
runs every check in full. A fast form that said ``True`` where its rule refuses would let a token
through, so every fast form is held to its check over a corpus of payloads built to sit on every
edge of every rule (dates at and around each limit, floats, booleans, strings, huge numbers,
audiences of every shape, identity claims of every type), parsed from JSON as tokens are, and the
verifier's answer for signed tokens is compared with the reference path's, reason code included.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import pytest

from jwt_middleware import JWTMiddlewareError
from jwt_middleware.claims import Claims
from jwt_middleware.policy import (
    MAX_NUMERIC_DATE,
    AudienceCheck,
    AudienceOrClientIdCheck,
    ClaimCheck,
    ClaimPolicy,
    ClaimValueCheck,
    ClientIdCheck,
    CognitoTokenCheck,
    GrantCheck,
    IdentityClaimsCheck,
    RequiredClaimsCheck,
    TimeCheck,
    TokenTypeCheck,
)
from jwt_middleware.safe_json import parse_object
from tests.core.support import AUDIENCE, ISSUER, NOW, OMIT, Clock, Keyring, claims, token, verifier

_T: Final = int(NOW)
_OTHER: Final = "api://other"

#: The values each claim takes in the corpus, one claim changed at a time from a valid payload.
_DATES: Final[tuple[Any, ...]] = (
    OMIT,
    None,
    True,
    False,
    0,
    -1,
    _T,
    _T - 1,
    _T + 1,
    _T - 30,
    _T - 31,
    _T + 30,
    _T + 31,
    _T - 600,
    _T - 631,
    _T - 3600,
    _T + 3600,
    NOW + 0.5,
    NOW - 0.5,
    float(_T),
    MAX_NUMERIC_DATE,
    MAX_NUMERIC_DATE + 1,
    10**30,
    1e300,
    str(_T + 60),
    [_T + 60],
    {"t": _T + 60},
)
_AUDIENCES: Final[tuple[Any, ...]] = (
    OMIT,
    None,
    AUDIENCE,
    _OTHER,
    "",
    [],
    [AUDIENCE],
    [_OTHER],
    [_OTHER, AUDIENCE],
    [AUDIENCE, 1],
    [AUDIENCE, None],
    [[AUDIENCE]],
    {"aud": AUDIENCE},
    1,
    True,
)
_STRINGS: Final[tuple[Any, ...]] = (
    OMIT,
    None,
    "",
    "client-a",
    "client-b",
    "id",
    "access",
    0,
    True,
    ["client-a"],
    {"a": 1},
)
_IDENTITY: Final[tuple[Any, ...]] = (OMIT, None, "", "user-1", 0, 1, False, ["user-1"], {"id": "user-1"})
_VARIED: Final[dict[str, tuple[Any, ...]]] = {
    "exp": _DATES,
    "nbf": _DATES,
    "iat": _DATES,
    "aud": _AUDIENCES,
    "client_id": _STRINGS,
    "token_use": _STRINGS,
    "tenant": _STRINGS,
    "sub": _IDENTITY,
    "email": _IDENTITY,
    "username": _IDENTITY,
    "scope": (OMIT, None, "", "read", "read write", "write", ["read"], 1),
}
_HEADERS: Final[tuple[Mapping[str, Any], ...]] = (
    {"alg": "RS256"},
    {"alg": "RS256", "typ": "at+jwt"},
    {"alg": "RS256", "typ": "application/AT+JWT"},
    {"alg": "RS256", "typ": "JWT"},
    {"alg": "RS256", "typ": 1},
    {"alg": "RS256", "typ": None},
)
_NOWS: Final = (NOW, NOW + 0.25, NOW + 300, NOW - 100)


def _payloads() -> Iterator[dict[str, Any]]:
    """A valid payload, each claim varied alone, then every pair of date values."""
    base = {**claims(), "client_id": "client-a", "token_use": "access", "tenant": "client-a"}
    yield base
    for name, values in _VARIED.items():
        for value in values:
            yield {**base, name: value}
    for exp, iat in itertools.product(_DATES, repeat=2):
        yield {**base, "exp": exp, "iat": iat}
    for nbf, exp in itertools.product(_DATES[:12], repeat=2):
        yield {**base, "nbf": nbf, "exp": exp}


def _parsed(payload: dict[str, Any]) -> Claims:
    """The payload as a verified token's claims: through the JSON parser tokens go through."""
    kept = {name: value for name, value in payload.items() if value is not OMIT}
    return Claims(parse_object(json.dumps(kept).encode()))


_CORPUS: Final = [_parsed(payload) for payload in _payloads()]

_CHECKS: Final[dict[str, tuple[ClaimCheck, ...]]] = {
    "default": (AudienceCheck(frozenset({AUDIENCE})),),
    "two audiences": (AudienceCheck(frozenset({AUDIENCE, _OTHER})),),
    "audience or client": (AudienceOrClientIdCheck(frozenset({AUDIENCE, "client-a"})),),
    "client": (ClientIdCheck(frozenset({"client-a"})),),
    "cognito access": (CognitoTokenCheck(frozenset({"access"}), frozenset({"client-a"})),),
    "cognito id": (CognitoTokenCheck(frozenset({"id"}), frozenset({AUDIENCE})),),
    "cognito any": (CognitoTokenCheck(frozenset({"id", "access"}), None),),
    "required": (RequiredClaimsCheck(("sub", "client_id")),),
    "value": (ClaimValueCheck("tenant", frozenset({"client-a"})),),
    "typ": (TokenTypeCheck(frozenset({"at+jwt"})),),
    "scopes": (GrantCheck("scopes", frozenset({"read"})),),
    "identity": (IdentityClaimsCheck(("sub", "email", "username", "client_id")),),
    "all": (
        AudienceCheck(frozenset({AUDIENCE})),
        ClientIdCheck(frozenset({"client-a"})),
        RequiredClaimsCheck(("sub",)),
        GrantCheck("scopes", frozenset({"read"}), any_of=True),
        ClaimValueCheck("tenant", frozenset({"client-a"})),
        TokenTypeCheck(frozenset({"at+jwt", "jwt"})),
    ),
}
_TIMES: Final = {
    "strict": TimeCheck(),
    "leeway": TimeCheck(leeway=30),
    "no exp": TimeCheck(require_exp=False),
    "max age": TimeCheck(max_age=600, leeway=30),
    "max age, no exp": TimeCheck(max_age=600, require_exp=False),
}


def _outcome(run: Callable[..., object], *arguments: Any) -> tuple[str, ...]:
    """``accepted``, or the refusal's class, description and report (code, claim, location...)."""
    try:
        run(*arguments)
    except JWTMiddlewareError as error:
        return (type(error).__name__, error.description, repr(error.report))
    return ("accepted",)


@pytest.mark.parametrize("time_name", list(_TIMES))
@pytest.mark.parametrize("checks_name", list(_CHECKS))
def test_check_agrees_with_check_each(checks_name: str, time_name: str) -> None:
    policy = ClaimPolicy(issuers=[ISSUER], time=_TIMES[time_name], checks=_CHECKS[checks_name])
    accepted = refused = 0
    for claims_, header, now in itertools.product(_CORPUS, _HEADERS, _NOWS):
        fast = _outcome(policy.check, header, claims_, now)
        reference = _outcome(policy.check_each, header, claims_, now)
        assert fast == reference, (dict(claims_), header, now)
        accepted += fast == ("accepted",)
        refused += fast != ("accepted",)
    # The corpus sits on both sides of every configuration.
    assert accepted
    assert refused


@pytest.mark.parametrize(
    "check", [check for checks in _CHECKS.values() for check in checks] + list(_TIMES.values()), ids=repr
)
def test_a_fast_form_accepts_only_what_its_check_accepts(check: ClaimCheck) -> None:
    """The safety half on its own: ``accepts`` True means the full rule returns."""
    accepts = getattr(check, "accepts", None)
    if accepts is None:
        pytest.skip("no fast form: the check itself runs")
    said_yes = 0
    for claims_, header, now in itertools.product(_CORPUS, _HEADERS, _NOWS):
        if accepts(header, claims_, now):
            said_yes += 1
            check(header, claims_, now)  # must not raise
    assert said_yes  # and the fast form does answer for ordinary tokens


def test_a_subclass_that_changes_the_rule_does_not_inherit_the_fast_form() -> None:
    class NoAudienceAtAll(AudienceCheck):
        def __call__(self, header: Any, claims: Any, now: float) -> None:
            raise JWTMiddlewareError("refused by the subclass's own rule")

    policy = ClaimPolicy(issuers=[ISSUER], time=TimeCheck(), checks=[NoAudienceAtAll(frozenset({AUDIENCE}))])
    with pytest.raises(JWTMiddlewareError, match="subclass's own rule"):
        policy.check({}, _CORPUS[0], NOW)


def test_policy_checks_cannot_be_replaced_under_the_bound_forms() -> None:
    policy = ClaimPolicy(issuers=[ISSUER], time=TimeCheck())
    with pytest.raises(AttributeError):
        policy.checks = ()  # type: ignore[misc]


_VERIFIER_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "defaults": {},
    "leeway and max age": {"leeway": 30, "max_age": 600},
    "required claims and type": {"required_claims": ["sub", "client_id"], "token_type": "JWT"},
    "no exp": {"require_exp": False},
}


@pytest.mark.parametrize("options", list(_VERIFIER_OPTIONS))
def test_the_verifier_answers_signed_tokens_as_the_reference_path(keyring: Keyring, options: str) -> None:
    """End to end: the verifier's answer for each signed token is the reference checks' answer."""
    clock = Clock()
    key = keyring["RS256"]
    verify = verifier(keyring.jwks("RS256"), clock=clock, token_cache_size=None, **_VERIFIER_OPTIONS[options])
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    # One in three of the corpus, signed: RSA signing dominates, and the policy test above has all.
    for index, payload in enumerate(_payloads()):
        if index % 3:
            continue
        signed = token(key, {name: value for name, value in payload.items() if value is not OMIT}, typ="JWT")
        reference = _outcome(verify.policy.check_each, header, _parsed(payload), clock.now)
        assert _outcome(verify.verify_sync, signed) == reference, payload


class _Counting:
    """A check without a fast form that counts its runs and refuses tokens without ``tenant``."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        self.runs += 1
        if "tenant" not in claims:
            raise JWTMiddlewareError("no tenant")


class _FailingFastForm:
    """A check whose fast form is broken: its full rule must decide, never the failure."""

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        raise RuntimeError("broken fast form")

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        if claims.get("tenant") != "client-a":
            raise JWTMiddlewareError("wrong tenant")


def test_each_check_without_a_fast_form_runs_once_whatever_follows_it() -> None:
    counting = _Counting()
    policy = ClaimPolicy(
        issuers=[ISSUER], time=TimeCheck(), checks=[counting, ClientIdCheck(frozenset({"client-a"}))]
    )
    accepted = _CORPUS[0]
    policy.check({}, accepted, NOW)
    refused_later = _parsed({**claims(), "tenant": "x", "client_id": "client-b"})
    assert _outcome(policy.check, {}, refused_later, NOW)[0] == "InvalidAudienceError"
    refused_here = _parsed(claims())
    assert _outcome(policy.check, {}, refused_here, NOW)[1] == "no tenant"
    assert counting.runs == 3


def test_a_fast_form_that_fails_leaves_the_decision_to_its_rule() -> None:
    policy = ClaimPolicy(issuers=[ISSUER], time=TimeCheck(), checks=[_FailingFastForm()])
    policy.check({}, _CORPUS[0], NOW)  # tenant client-a: the rule accepts
    assert _outcome(policy.check, {}, _parsed(claims(tenant="x")), NOW)[1] == "wrong tenant"


def test_a_subclass_cannot_override_the_compiled_check() -> None:
    # Each policy's check is its compiled function, set at construction: an override would be
    # shadowed without a word, so it is refused when the subclass is defined.
    with pytest.raises(TypeError, match="compiled policy"):

        class Overriding(ClaimPolicy):
            def check(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
                raise AssertionError("never run")

    class Extending(ClaimPolicy):
        pass

    policy = Extending(issuers=["https://issuer.test"], time=TimeCheck())
    with pytest.raises(JWTMiddlewareError):
        policy.check({}, {"iss": "https://issuer.test", "sub": "alice"}, NOW)  # no exp
