"""Turn a verification error, the token and the verifier's configuration into an explanation.

A server must answer a rejected token with a fixed sentence, so ``JWTMiddlewareError`` carries no
token content: only which check failed (``claim``) and the configured values it compared against
(``expected``). The token's owner, debugging locally, needs the other half: *what the token said*
and how it differs from what was expected. This module puts the two together:

* the error says which rule failed (its class and ``claim``) and what was configured;
* the actual values come from ``error.unverified_claims`` (the verifier is built with
  ``expose_unverified_claims=True``) or, for errors raised before the payload was read and for
  header parameters, from decoding the token here without verifying it;
* the key source's state (the key set it fetched, the fetches that failed) explains key errors.

Error messages are never parsed: the error's type and ``claim`` choose the explanation. The result
is plain data, rendered as text or JSON by the command line. Everything in it that comes from the
token is unverified, and token strings are always shown through ``quote`` so that a hostile claim
cannot inject terminal control sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from jwt_middleware import reasons
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.cli.humanize import duration, iso_utc, relative
from jwt_middleware.cli.inspection import TIME_CLAIMS, cognito_pool, decode_unverified, inspect_token, quote
from jwt_middleware.errors import (
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    JWTMiddlewareError,
    KeysUnavailableError,
    MalformedTokenError,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.events import FetchFailed
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.policy import MAX_LEEWAY, MAX_NUMERIC_DATE

__all__ = ["Configuration", "Explanation", "KeyState", "explain"]

_KEY_TYPES: Final = {"RSA": "an RSA", "EC": "an EC", "OKP": "an EdDSA (OKP)"}
_DEFAULT_PORTS: Final = {"https": "443", "http": "80"}


@dataclass(frozen=True, slots=True)
class Configuration:
    """What the verifier was told to accept; configuration only, never token content."""

    issuers: tuple[str, ...]
    #: ``None``: any audience was accepted explicitly (``--no-audience`` or the Cognito preset).
    audiences: tuple[str, ...] | None
    algorithms: tuple[str, ...]
    leeway: float = 0.0
    cognito: bool = False
    client_ids: tuple[str, ...] | None = None
    token_uses: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = ()
    any_scope: bool = False
    token_types: tuple[str, ...] = ()
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the key source knew when verification stopped."""

    #: The key set fetched, ``None`` when no fetch succeeded.
    keys: KeySet | None
    #: The JWKS URL (configured or discovered), or the discovery URL while discovery has not run.
    url: str | None
    failures: tuple[FetchFailed, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    """Which check failed and why.

    ``check`` is a stable identifier for scripts: ``format``, ``alg``, ``kid``, ``signature``,
    ``keys``, ``exp``, ``nbf``, ``iat``, ``iss``, ``aud``, ``client_id``, ``token_use``, ``typ``,
    ``scope``, ``groups``, or the name of another claim. ``reason`` is one sentence for people;
    ``expected`` (configuration) and ``actual`` (unverified token content) are for display.
    """

    check: str
    reason: str
    expected: Any = None
    actual: Any = None
    hints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Case:
    error: JWTMiddlewareError
    token: str
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    config: Configuration
    keys: KeyState
    now: float


def explain(
    error: JWTMiddlewareError,
    *,
    token: str,
    config: Configuration,
    keys: KeyState,
    now: float,
) -> Explanation:
    """Explain why ``error`` rejected ``token`` under ``config``, with actual values from the token."""
    header, decoded = decode_unverified(token)
    claims = error.unverified_claims if error.unverified_claims is not None else decoded
    case = _Case(error, token, header or {}, claims or {}, config, keys, now)
    for kind, handler in _HANDLERS:
        if isinstance(error, kind):
            return handler(case)
    return _generic(case)


# -- wording helpers ----------------------------------------------------------------------------


def _one_of(values: Sequence[str]) -> str:
    """``'a'`` for one value, ``any of 'a', 'b'`` for several."""
    if len(values) == 1:
        return quote(values[0])
    return "any of " + ", ".join(quote(value) for value in values)


def _show_list(values: Sequence[object]) -> str:
    return "[" + ", ".join(quote(value) for value in values) + "]"


def _difference(actual: str, expected: str, *, near_only: bool = False) -> str | None:
    """The one way two similar strings (issuers, audiences) differ, if it is a common mistake.

    ``near_only`` keeps to differences that make two values look the same to a reader (slash,
    whitespace, case, scheme); without it, URLs that share a host or a path are compared too.
    """
    if actual == expected:
        return None
    if actual.rstrip("/") == expected.rstrip("/"):
        return "a trailing slash differs"
    if actual.strip() == expected.strip():
        return "surrounding whitespace differs"
    if actual.lower() == expected.lower():
        return "letter case differs"
    mine, theirs = urlsplit(actual), urlsplit(expected)
    same_place = mine.netloc == theirs.netloc and mine.path.rstrip("/") == theirs.path.rstrip("/")
    if mine.scheme and theirs.scheme and same_place:
        return f"the scheme differs ({mine.scheme}, not {theirs.scheme})"
    if near_only:
        return None
    pools = cognito_pool(actual), cognito_pool(expected)
    if pools[0] is not None and pools[1] is not None:
        if pools[0][0] != pools[1][0]:
            return f"a different user pool: {pools[0][0]}, not {pools[1][0]}"
        if pools[0][1] != pools[1][1]:
            return "one is Cognito's global issuer form (issuer-cognito-idp), the other the regional one"
    if not (mine.scheme and theirs.scheme):
        return None
    if mine.netloc == theirs.netloc:
        return f"the path differs ({quote(mine.path or '/')}, not {quote(theirs.path or '/')})"
    if mine.path.rstrip("/") != theirs.path.rstrip("/"):
        return None
    if mine.hostname == theirs.hostname and mine.scheme == theirs.scheme:
        return f"the port differs ({_port(mine)}, not {_port(theirs)})"
    return f"the host differs ({quote(mine.netloc)}, not {quote(theirs.netloc)})"


def _port(url: SplitResult) -> str:
    """The port a URL names, or its scheme's default; never raises on a port that is not a number."""
    try:
        port = url.port
    except ValueError:
        return "an invalid port"
    if port is not None:
        return str(port)
    return f"{_DEFAULT_PORTS.get(url.scheme, 'no port')} by default"


def _closest(actual: str, candidates: Sequence[str]) -> tuple[str, str | None]:
    """The configured value most like ``actual``, and how they differ."""
    for candidate in candidates:
        difference = _difference(actual, candidate)
        if difference is not None:
            return candidate, difference
    return candidates[0], None


def _date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if (type(value) is int or type(value) is float) and 0 <= value <= MAX_NUMERIC_DATE:
        return float(value)
    return None


def _strings(value: object, *, split: bool) -> list[str]:
    if isinstance(value, str):
        # Space-delimited only (RFC 6749 section 3.3), as the verifier splits it.
        return [item for item in value.split(" ") if item] if split else [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _keys_with_kid(keys: KeySet | None, kid: object) -> list[VerificationKey]:
    return [key for key in keys.keys if key.kid == kid] if keys is not None else []


def _describe_key(key: VerificationKey) -> str:
    curve = f" {key.curve}" if key.curve else ""
    kind = _KEY_TYPES.get(key.kty, f"a {key.kty}")
    return f"{kind}{curve} key for {', '.join(sorted(key.algorithms))}"


def _kid_list(keys: KeySet) -> str:
    kids = [quote(key.kid) if key.kid is not None else "(no kid)" for key in keys.keys]
    return ", ".join(kids) if kids else "none"


def _source(keys: KeyState) -> str:
    return f" at {keys.url}" if keys.url else ""


# -- one handler per error type -----------------------------------------------------------------


def _malformed(case: _Case) -> Explanation:
    report = inspect_token(case.token, now=case.now)
    problems = [finding.message for finding in report.by_severity("error")]
    if problems:
        return Explanation("format", f"the token is malformed: {problems[0]}", hints=tuple(problems[1:]))
    return Explanation("format", f"the token is malformed: {case.error.description}")


def _unsupported_algorithm(case: _Case) -> Explanation:
    alg = case.header.get("alg")
    allowed = sorted(case.config.algorithms)
    if not isinstance(alg, str):
        return Explanation("alg", "the token's header has no usable 'alg'", expected=allowed, actual=alg)
    if alg.lower() == "none":
        return Explanation(
            "alg",
            f"alg {quote(alg)}: the token is unsigned, and unsigned tokens are never accepted",
            allowed,
            alg,
        )
    if alg.upper().startswith("HS"):
        return Explanation(
            "alg",
            f"alg {quote(alg)} is HMAC (a shared secret); only public-key algorithms can be verified "
            "against an issuer's published keys",
            allowed,
            alg,
            ("configure the identity provider to sign with RS256 or ES256",),
        )
    if alg not in ALGORITHMS:
        return Explanation("alg", f"alg {quote(alg)} is not a supported signing algorithm", allowed, alg)
    if alg not in case.config.algorithms:
        return Explanation(
            "alg",
            f"alg {quote(alg)} is not accepted here (accepted: {', '.join(allowed)})",
            allowed,
            alg,
            (f"if the issuer really signs with {alg}, add --algorithm {alg}",),
        )
    kid = case.header.get("kid")
    matching = _keys_with_kid(case.keys.keys, kid)
    if matching:
        key = matching[0]
        return Explanation(
            "alg",
            f"key {quote(kid)} is {_describe_key(key)}; it cannot verify an {alg} signature",
            sorted(key.algorithms),
            alg,
            ("the header names an algorithm its key cannot have: the issuer did not make this token",),
        )
    return Explanation("alg", f"the token's algorithm {alg} does not match its key", allowed, alg)


def _unknown_key(case: _Case) -> Explanation:
    keys = case.keys.keys
    kid = case.header.get("kid")
    source = _source(case.keys)
    if keys is None:
        return Explanation("kid", f"key {quote(kid)} is unknown: no key set was loaded{source}", actual=kid)
    available = [key.kid for key in keys.keys]
    hints = (
        "was the token issued by another environment or tenant (staging vs production)?",
        f"the keys were fetched{source}; check that this is the JWKS of the issuer that made the token",
    )
    if kid is None:
        return Explanation(
            "kid",
            f"the token has no kid and the JWKS{source} holds {len(available)} keys ({_kid_list(keys)}): "
            "the verifier cannot tell which one signed it",
            available,
            None,
            ("the issuer must put a kid in the token's header when it publishes several keys",),
        )
    matching = _keys_with_kid(keys, kid)
    if len(matching) > 1:
        return Explanation(
            "kid",
            f"several keys in the JWKS{source} share kid {quote(kid)}, so none of them can be trusted for it",
            available,
            kid,
        )
    if matching and matching[0].retired:
        return Explanation("kid", f"key {quote(kid)} was withdrawn from the JWKS{source}", available, kid)
    return Explanation(
        "kid",
        f"key {quote(kid)} is not in the issuer's JWKS (keys there: {_kid_list(keys)})",
        available,
        kid,
        hints,
    )


def _bad_signature(case: _Case) -> Explanation:
    kid = case.header.get("kid")
    matching = _keys_with_kid(case.keys.keys, kid)
    if kid is None and case.keys.keys is not None and len(case.keys.keys) == 1:
        matching = list(case.keys.keys.keys)
    described = f" ({_describe_key(matching[0])}{_source(case.keys)})" if matching else ""
    name = f"key {quote(kid)}" if kid is not None else "the issuer's only key"
    return Explanation(
        "signature",
        f"the signature does not match {name}{described}",
        hints=(
            "was the token changed after it was signed (characters lost or altered when copying it)?",
            "or was it signed by another private key published under the same kid (another environment)?",
        ),
    )


def _failure_hint(failure: FetchFailed, config: Configuration) -> str | None:
    code = failure.code
    if code == reasons.FETCH_CONNECT:
        host = urlsplit(failure.url).netloc or failure.url
        return f"nothing answered at {host}: is the issuer running, and is the URL right?"
    if code == reasons.FETCH_TIMEOUT:
        return f"no complete answer within {config.timeout:g} s (raise it with --timeout)"
    if code == reasons.FETCH_REDIRECT:
        return "the URL redirects; key fetches never follow redirects: give the final URL"
    if code == reasons.FETCH_NOT_FOUND:
        return (
            f"the URL answered {failure.reason.removeprefix('HTTP ')}: JWKS usually live at "
            "/.well-known/jwks.json, discovery documents at {issuer}/.well-known/openid-configuration"
        )
    if code == reasons.DISCOVERY_ISSUER_MISMATCH:
        return (
            "the discovery document's issuer differs from --issuer; they must be identical strings "
            "(check for a trailing slash), or pass --jwks-url to skip discovery"
        )
    if code.startswith("discovery."):
        return "the discovery document is unusable; pass --jwks-url to skip discovery"
    return None


def _keys_unavailable(case: _Case) -> Explanation:
    failures = case.keys.failures
    if not failures:
        where = case.keys.url or "the issuer"
        return Explanation("keys", f"keys unavailable: no key set could be fetched from {where}")
    last = failures[-1]
    what = "discovery at" if last.url.endswith("/openid-configuration") else "fetching"
    hint = _failure_hint(last, case.config)
    return Explanation(
        "keys",
        f"keys unavailable: {what} {last.url} failed ({last.reason}); no keys are cached",
        hints=(hint,) if hint else (),
    )


def _expired(case: _Case) -> Explanation:
    leeway = case.config.leeway
    exp = _date(case.claims, "exp")
    if case.error.claim != "exp" or exp is None:
        return _generic(case)
    ago = case.now - exp
    hints = ["get a new token from the issuer (refresh it or sign in again)"]
    if 0 <= ago - leeway < 120 and leeway < MAX_LEEWAY:
        hints.append(f"if clocks disagree slightly, allow skew with --leeway (at most {MAX_LEEWAY:g} s)")
    return Explanation(
        "exp",
        f"the token expired {iso_utc(exp)} ({relative(exp, case.now)}); leeway is {leeway:g} s",
        expected=f"exp after {iso_utc(round(case.now - leeway))} (now minus {leeway:g} s leeway)",
        actual=iso_utc(exp),
        hints=tuple(hints),
    )


def _not_yet_valid(case: _Case) -> Explanation:
    claim = case.error.claim or "nbf"
    value = _date(case.claims, claim)
    if value is None:
        return _generic(case)
    leeway = case.config.leeway
    skew = f"the issuer's clock and this machine's disagree by about {duration(value - case.now)}"
    if claim == "iat":
        reason = f"the token was issued in the future, {iso_utc(value)} ({relative(value, case.now)})"
    else:
        reason = f"the token is not valid until {iso_utc(value)} ({relative(value, case.now)})"
    return Explanation(
        claim,
        f"{reason}; leeway is {leeway:g} s",
        expected=f"{claim} before {iso_utc(round(case.now + leeway))} (now plus {leeway:g} s leeway)",
        actual=iso_utc(value),
        hints=(f"if {skew}, fix the clock (NTP) or allow skew with --leeway (at most {MAX_LEEWAY:g} s)",),
    )


def _invalid_issuer(case: _Case) -> Explanation:
    expected = list(case.error.expected or case.config.issuers)
    iss = case.claims.get("iss")
    if "iss" not in case.claims:
        return Explanation(
            "iss", f"the token has no iss claim; this API expects {_one_of(expected)}", expected
        )
    if not isinstance(iss, str):
        return Explanation("iss", f"iss is {quote(iss)}, not a string", expected, iss)
    best, difference = _closest(iss, expected)
    detail = f" ({difference})" if difference else ""
    target = (
        quote(best) if len(expected) == 1 or difference else f"any accepted issuer ({_show_list(expected)})"
    )
    hints: list[str] = []
    if difference:
        hints.append(
            f"issuers are compared as exact strings; if {quote(iss)} is the right one, use --issuer {iss}"
        )
    pool = cognito_pool(iss)
    if pool is not None and not case.config.cognito:
        hints.append(
            f"for Cognito tokens use --cognito-pool {pool[0]} --client-id CLIENT --token-use access|id|any"
        )
    return Explanation(
        "iss", f"issuer {quote(iss)} does not match {target}{detail}", expected, iss, tuple(hints)
    )


def _cognito_access_hint(claims: Mapping[str, Any]) -> str | None:
    client = claims.get("client_id")
    if claims.get("token_use") == "access" and isinstance(client, str):
        iss = claims.get("iss")
        pool = cognito_pool(iss) if isinstance(iss, str) else None
        return (
            "this is a Cognito access token: it names its app client in client_id, never in aud; verify it "
            f"with --cognito-pool {pool[0] if pool else 'POOL_ID'} --client-id {client} --token-use access"
        )
    return None


def _invalid_audience(case: _Case) -> Explanation:
    if case.error.claim == "client_id":
        return _invalid_client(case)
    expected = list(case.error.expected or case.config.audiences or case.config.client_ids or ())
    claims = case.claims
    what = "the app client" if case.config.cognito else "this API's audience"
    ask = (
        f"ask the issuer for a token meant for {_one_of(expected)} (the OAuth 'audience' or 'resource' "
        "parameter)"
    )
    if "aud" not in claims:
        hint = _cognito_access_hint(claims)
        return Explanation(
            "aud",
            f"the token has no aud claim; {what} is {_one_of(expected)}",
            expected,
            None,
            (hint or ask,),
        )
    values = _strings(claims["aud"], split=False)
    aud = claims["aud"]
    if not values or not (isinstance(aud, str) or len(values) == len(aud)):
        return Explanation(
            "aud", f"aud must be a string or a non-empty list of strings, not {quote(aud)}", expected, aud
        )
    differences = [
        f"{quote(value)} vs {quote(wanted)}: {difference}"
        for value in values
        for wanted in expected
        if (difference := _difference(value, wanted, near_only=True)) is not None
    ]
    detail = f" ({'; '.join(differences)})" if differences else ""
    label = "the ID token's aud" if case.config.cognito else "audience"
    hints = [ask]
    if not case.config.cognito:
        hints.append(f"or, if this API is meant to accept it, add --audience {values[0]}")
    return Explanation(
        "aud",
        f"{label} {_show_list(values)} does not include {_one_of(expected)}{detail}",
        expected,
        aud,
        tuple(hints),
    )


def _invalid_client(case: _Case) -> Explanation:
    expected = list(case.error.expected or case.config.client_ids or ())
    client = case.claims.get("client_id")
    if "client_id" not in case.claims:
        return Explanation(
            "client_id",
            f"the token has no client_id claim; this API expects the app client {_one_of(expected)}",
            expected,
        )
    return Explanation(
        "client_id",
        f"client_id {quote(client)} is not the app client {_one_of(expected)}",
        expected,
        client,
        (f"issued to another app client; if this API should accept it, use --client-id {client}",),
    )


def _insufficient_scope(case: _Case) -> Explanation:
    if case.error.claim == "groups":
        groups = _strings(case.claims.get("cognito:groups"), split=False) + _strings(
            case.claims.get("groups"), split=False
        )
        required = list(case.error.expected)
        if not required:  # GroupsCheck does not report which groups it wanted (see the CLI's report)
            return Explanation(
                "groups", f"the token's groups {_show_list(groups)} are not the required ones", actual=groups
            )
        return Explanation(
            "groups",
            f"the token's groups {_show_list(groups)} include none of {_show_list(required)}",
            required,
            groups,
        )
    required = list(case.error.expected or case.config.scopes)
    granted = _strings(case.claims.get("scope"), split=True) + _strings(case.claims.get("scp"), split=True)
    if not granted:
        return Explanation(
            "scope",
            f"the token has no scope claim; this API requires {_scope_rule(required, case)}",
            required,
        )
    missing = [scope for scope in required if scope not in granted]
    if case.config.any_scope:
        reason = f"scope {quote(' '.join(granted))} has none of {_show_list(required)}"
    else:
        reason = f"scope {quote(' '.join(granted))} lacks {', '.join(quote(scope) for scope in missing)}"
    return Explanation(
        "scope", reason, required, granted, ("request the missing scopes when getting the token",)
    )


def _scope_rule(required: Sequence[str], case: _Case) -> str:
    joined = _show_list(required)
    return f"one of {joined}" if case.config.any_scope and len(required) > 1 else joined


def _invalid_claim(case: _Case) -> Explanation:
    claim = case.error.claim
    claims = case.claims
    if claim == "token_use":
        expected = list(case.error.expected or case.config.token_uses or ())
        use = claims.get("token_use")
        if "token_use" not in claims:
            return Explanation(
                "token_use",
                f"the token has no token_use claim, this API expects {_one_of(expected)}: "
                "Cognito user pool tokens always have one",
                expected,
            )
        other = "id" if use == "access" else "access"
        hints = (
            f"send the {other} token instead, or accept {quote(use)} tokens with --token-use {use}"
            if use in ("id", "access")
            else "Cognito's token_use is 'id' or 'access'",
        )
        return Explanation(
            "token_use",
            f"token_use is {quote(use)}, this API expects {_one_of(expected)}",
            expected,
            use,
            hints,
        )
    if claim == "typ":
        expected = list(case.error.expected or case.config.token_types)
        typ = case.header.get("typ")
        if "typ" not in case.header:
            return Explanation(
                "typ", f"the token has no typ header; this API expects {_one_of(expected)}", expected
            )
        return Explanation("typ", f"typ is {quote(typ)}, this API expects {_one_of(expected)}", expected, typ)
    if claim == "exp" and "exp" not in claims:
        return Explanation(
            "exp",
            "the token has no exp claim, and an expiry is required",
            hints=("tokens without an expiry stay valid forever if stolen; the issuer should set exp",),
        )
    if claim in TIME_CLAIMS and claim in claims and _date(claims, claim) is None:
        value = claims[claim]
        return Explanation(
            claim, f"{claim} {quote(value)} is not a valid NumericDate (seconds since 1970)", actual=value
        )
    if claim is not None and case.error.expected == (claim,):
        return Explanation(
            claim, f"the token lacks the required claim {quote(claim)}", [claim], claims.get(claim)
        )
    if claim is None:
        return Explanation("custom", f"a custom check rejected the token: {case.error.description}")
    return _generic(case)


def _generic(case: _Case) -> Explanation:
    error = case.error
    claim = error.claim
    actual = case.claims.get(claim) if claim is not None else None
    expected = list(error.expected) if error.expected else None
    check = claim or type(error).__name__
    return Explanation(check, error.description, expected, actual)


_HANDLERS: Final[tuple[tuple[type[JWTMiddlewareError], Callable[[_Case], Explanation]], ...]] = (
    (MalformedTokenError, _malformed),
    (UnsupportedAlgorithmError, _unsupported_algorithm),
    (UnknownKeyError, _unknown_key),
    (InvalidSignatureError, _bad_signature),
    (KeysUnavailableError, _keys_unavailable),
    (ExpiredTokenError, _expired),
    (NotYetValidError, _not_yet_valid),
    (InvalidIssuerError, _invalid_issuer),
    (InvalidAudienceError, _invalid_audience),
    (InsufficientScopeError, _insufficient_scope),
    (InvalidClaimError, _invalid_claim),
)
