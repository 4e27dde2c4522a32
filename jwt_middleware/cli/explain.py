"""Turn a verification error, the token and the verifier's configuration into an explanation.

A server must answer a rejected token with a fixed sentence, so ``JWTMiddlewareError`` carries no
token content in its message. What it does carry is its ``report`` (``errors.CheckReport``): the
stable reason code of the one rule that refused, the claim or header field, the configured
expectation, the instant a time rule compared against and, because the command line's verifier
is built with ``expose_unverified_claims=True``, what the token held. This module renders that
report in words; it never re-derives a verdict:

* the reason code chooses the explanation (one handler per code or family of codes), never the
  error's message nor its class;
* ``expected`` and ``limit`` come from the report; ``found`` too, and only when a report does not
  carry it (a verifier that does not expose claims) is the value read from the token, decoded
  here without verifying it, at the report's claim and location;
* the key source's state (the key set it fetched, the fetches that failed) names the keys and URLs.

The result is plain data, rendered as text or JSON by the command line. Everything in it that comes
from the token is unverified, and token strings are always shown through ``quote`` so that a
hostile claim cannot inject terminal control sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import GrantKind
from jwt_middleware.claims import granted
from jwt_middleware.cli.humanize import duration, iso_utc, relative
from jwt_middleware.cli.inspection import (
    cognito_pool,
    decode_unverified,
    inspect_token,
    quote,
    unsupported_algorithm,
)
from jwt_middleware.errors import ABSENT, HIDDEN, CheckReport, JWTMiddlewareError
from jwt_middleware.events import FetchFailed
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.policy import MAX_LEEWAY, is_numeric_date

__all__ = ["Configuration", "Explanation", "KeyState", "explain"]

_KEY_TYPES: Final = {"RSA": "an RSA", "EC": "an EC", "OKP": "an EdDSA (OKP)"}
#: The refusals of a route's (or a preset's) required grants, and the kind each is about.
_GRANT_KINDS: Final[dict[str, GrantKind]] = {
    reasons.SCOPE_INSUFFICIENT: "scopes",
    reasons.GROUPS_MISSING: "groups",
    reasons.ROLES_MISSING: "roles",
    reasons.PERMISSIONS_MISSING: "permissions",
}
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
    #: The accepted signing load balancers, when ALB tokens are verified (``--alb-arn``).
    alb_arns: tuple[str, ...] = ()


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
    ``scope``, ``groups``, ``custom``, ``server``, or the name of another claim; ``code`` is the
    error's reason code (``jwt_middleware.reasons``), finer still. ``reason`` is one sentence for
    people; ``expected`` (configuration) and ``actual`` (unverified token content) are for display.
    """

    check: str
    reason: str
    expected: Any = None
    actual: Any = None
    hints: tuple[str, ...] = ()
    code: str = ""


@dataclass(frozen=True, slots=True)
class _Case:
    error: JWTMiddlewareError
    report: CheckReport
    token: str
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    config: Configuration
    keys: KeyState
    now: float

    @property
    def found(self) -> Any:
        """What the token held where the rule looked: from the report, else from the token itself."""
        if self.report.found is not HIDDEN:
            return self.report.found
        claim = self.report.claim
        if claim is None:
            return ABSENT
        kind = _GRANT_KINDS.get(self.report.code)
        if kind is not None:
            return tuple(sorted(granted(self.claims, kind)))
        source = self.header if self.report.location == "header" else self.claims
        return source.get(claim, ABSENT)

    @property
    def expected(self) -> list[str]:
        return list(self.report.expected)


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
    report = error.report
    case = _Case(error, report, token, header or {}, claims or {}, config, keys, now)
    handler = _HANDLERS.get(report.code) or _FAMILIES.get(report.code.split(".")[0], _generic)
    explanation = handler(case)
    return Explanation(
        explanation.check,
        explanation.reason,
        explanation.expected,
        explanation.actual,
        explanation.hints,
        report.code,
    )


# -- wording helpers ----------------------------------------------------------------------------


def _one_of(values: Sequence[str]) -> str:
    """``'a'`` for one value, ``any of 'a', 'b'`` for several."""
    if len(values) == 1:
        return quote(values[0])
    return "any of " + ", ".join(quote(value) for value in values)


def _show_list(values: Sequence[object]) -> str:
    return "[" + ", ".join(quote(value) for value in values) + "]"


def _present(value: Any) -> Any:
    """A found value for ``actual``: ``None`` when the token has none."""
    return None if value is ABSENT else value


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


# -- the token's form -----------------------------------------------------------------------------


def _malformed(case: _Case) -> Explanation:
    report = inspect_token(case.token, now=case.now)
    problems = [finding.message for finding in report.by_severity("error")]
    if problems:
        return Explanation("format", f"the token is malformed: {problems[0]}", hints=tuple(problems[1:]))
    return Explanation("format", f"the token is malformed: {case.error.description}")


# -- algorithm, key and signature ---------------------------------------------------------------


def _alg_unsupported(case: _Case) -> Explanation:
    alg = case.found
    allowed = sorted(case.config.algorithms)
    wording = unsupported_algorithm(alg)
    if wording is None:  # a supported algorithm reported as unsupported: say what the rule said
        return Explanation("alg", f"the token's algorithm is not accepted ({case.error.description})")
    reason, hint = wording
    return Explanation("alg", reason, allowed, _present(alg), (hint,) if hint else ())


def _alg_not_allowed(case: _Case) -> Explanation:
    alg = case.found
    allowed = case.expected
    return Explanation(
        "alg",
        f"alg {quote(alg)} is not accepted here (accepted: {', '.join(allowed)})",
        allowed,
        alg,
        (f"if the issuer really signs with {alg}, add --algorithm {alg}",),
    )


def _alg_key_mismatch(case: _Case) -> Explanation:
    alg = case.found
    kid = case.header.get("kid")
    matching = _keys_with_kid(case.keys.keys, kid)
    if matching:
        return Explanation(
            "alg",
            f"key {quote(kid)} is {_describe_key(matching[0])}; it cannot verify an {alg} signature",
            case.expected,
            alg,
            ("the header names an algorithm its key cannot have: the issuer did not make this token",),
        )
    return Explanation("alg", f"the token's algorithm {alg} does not match its key", case.expected, alg)


def _unknown_key(case: _Case) -> Explanation:
    keys = case.keys.keys
    kid = _present(case.found)
    source = _source(case.keys)
    code = case.report.code
    if keys is None:
        return Explanation("kid", f"key {quote(kid)} is unknown: no key set was loaded{source}", actual=kid)
    available = [key.kid for key in keys.keys]
    if code == reasons.KID_MISSING:
        return Explanation(
            "kid",
            f"the token has no kid and the JWKS{source} holds {len(available)} keys ({_kid_list(keys)}): "
            "the verifier cannot tell which one signed it",
            available,
            None,
            ("the issuer must put a kid in the token's header when it publishes several keys",),
        )
    if code == reasons.KID_AMBIGUOUS:
        return Explanation(
            "kid",
            f"several keys in the JWKS{source} share kid {quote(kid)}, so none of them can be trusted for it",
            available,
            kid,
        )
    if code == reasons.KID_RETIRED:
        return Explanation("kid", f"key {quote(kid)} was withdrawn from the JWKS{source}", available, kid)
    if code == reasons.KID_INVALID:
        return Explanation("kid", f"kid {quote(kid)} is not a key id this verifier can use", actual=kid)
    return Explanation(
        "kid",
        f"key {quote(kid)} is not in the issuer's JWKS (keys there: {_kid_list(keys)})",
        available,
        kid,
        (
            "was the token issued by another environment or tenant (staging vs production)?",
            f"the keys were fetched{source}; check that this is the JWKS of the issuer that made the token",
        ),
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


# -- keys and the service -----------------------------------------------------------------------


def _failure_hint(failure: FetchFailed, config: Configuration) -> str | None:
    code = failure.code
    if code == reasons.FETCH_CONNECT:
        host = urlsplit(failure.url).netloc or failure.url
        return f"nothing answered at {host}: is the issuer running, and is the URL right?"
    if code == reasons.FETCH_TLS:
        return (
            "the TLS connection failed: for a private CA give it with --ca-bundle (or --trust-env to "
            "use SSL_CERT_FILE); a server that wants a client certificate needs --client-cert"
        )
    if code == reasons.FETCH_PROXY:
        return "the proxy refused: check --proxy (or HTTPS_PROXY with --trust-env) and its credentials"
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


def _check_failed(case: _Case) -> Explanation:
    kind = getattr(case.error, "exception_type", "an exception")
    where = "the key source" if case.report.code == reasons.KEY_SOURCE_FAILED else "a check"
    return Explanation(
        "server",
        f"{where} raised {kind}: a failure of the service, not of the token (answered 503)",
        hints=("the service's log names the check; the token itself was not judged",),
    )


# -- time -----------------------------------------------------------------------------------------


def _expired(case: _Case) -> Explanation:
    leeway = case.config.leeway
    exp, limit = case.found, case.report.limit
    if not is_numeric_date(exp) or limit is None:
        return _generic(case)
    ago = case.now - exp
    hints = ["get a new token from the issuer (refresh it or sign in again)"]
    if 0 <= ago - leeway < 120 and leeway < MAX_LEEWAY:
        hints.append(f"if clocks disagree slightly, allow skew with --leeway (at most {MAX_LEEWAY:g} s)")
    return Explanation(
        "exp",
        f"the token expired {iso_utc(exp)} ({relative(exp, case.now)}); leeway is {leeway:g} s",
        expected=f"exp after {iso_utc(round(limit))} (now minus {leeway:g} s leeway)",
        actual=iso_utc(exp),
        hints=tuple(hints),
    )


def _too_old(case: _Case) -> Explanation:
    iat, limit = case.found, case.report.limit
    if not is_numeric_date(iat) or limit is None:
        return _generic(case)
    return Explanation(
        "iat",
        f"the token was issued {iso_utc(iat)} ({relative(iat, case.now)}), longer ago than this API's "
        "maximum token age allows",
        expected=f"iat after {iso_utc(round(limit))} (now minus the maximum age and the leeway)",
        actual=iso_utc(iat),
        hints=("get a new token from the issuer (sign in again)",),
    )


def _not_yet_valid(case: _Case) -> Explanation:
    claim = case.report.claim or "nbf"
    value, limit = case.found, case.report.limit
    if not is_numeric_date(value) or limit is None:
        return _generic(case)
    leeway = case.config.leeway
    skew = f"the issuer's clock and this machine's disagree by about {duration(value - case.now)}"
    if case.report.code == reasons.IAT_IN_FUTURE:
        reason = f"the token was issued in the future, {iso_utc(value)} ({relative(value, case.now)})"
    else:
        reason = f"the token is not valid until {iso_utc(value)} ({relative(value, case.now)})"
    return Explanation(
        claim,
        f"{reason}; leeway is {leeway:g} s",
        expected=f"{claim} before {iso_utc(round(limit))} (now plus {leeway:g} s leeway)",
        actual=iso_utc(value),
        hints=(f"if {skew}, fix the clock (NTP) or allow skew with --leeway (at most {MAX_LEEWAY:g} s)",),
    )


def _missing_date(case: _Case) -> Explanation:
    if case.report.code == reasons.EXP_MISSING:
        return Explanation(
            "exp",
            "the token has no exp claim, and an expiry is required",
            hints=("tokens without an expiry stay valid forever if stolen; the issuer should set exp",),
        )
    return Explanation("iat", "the token has no iat claim, and this API limits a token's age (max_age)")


def _invalid_date(case: _Case) -> Explanation:
    claim = case.report.claim or "date"
    value = case.found
    return Explanation(
        claim, f"{claim} {quote(value)} is not a valid NumericDate (seconds since 1970)", actual=value
    )


# -- issuer, audience, client -------------------------------------------------------------------


def _invalid_issuer(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.issuers)
    iss = case.found
    if iss is ABSENT:
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
    expected = case.expected or list(case.config.audiences or case.config.client_ids or ())
    what = "the app client" if case.config.cognito else "this API's audience"
    ask = (
        f"ask the issuer for a token meant for {_one_of(expected)} (the OAuth 'audience' or 'resource' "
        "parameter)"
    )
    code = case.report.code
    if code == reasons.AUD_MISSING:
        hint = _cognito_access_hint(case.claims)
        return Explanation(
            "aud",
            f"the token has no aud claim; {what} is {_one_of(expected)}",
            expected,
            None,
            (hint or ask,),
        )
    aud = case.found
    if code == reasons.AUD_INVALID:
        return Explanation(
            "aud", f"aud must be a string or a non-empty list of strings, not {quote(aud)}", expected, aud
        )
    values = [aud] if isinstance(aud, str) else list(aud) if isinstance(aud, list) else []
    differences = [
        f"{quote(value)} vs {quote(wanted)}: {difference}"
        for value in values
        for wanted in expected
        if (difference := _difference(value, wanted, near_only=True)) is not None
    ]
    detail = f" ({'; '.join(differences)})" if differences else ""
    label = "the ID token's aud" if case.config.cognito else "audience"
    hints = [ask]
    if not case.config.cognito and values:
        hints.append(f"or, if this API is meant to accept it, add --audience {values[0]}")
    return Explanation(
        "aud",
        f"{label} {_show_list(values)} does not include {_one_of(expected)}{detail}",
        expected,
        aud,
        tuple(hints),
    )


def _invalid_client(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.client_ids or ())
    client = case.found
    if client is ABSENT:
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


# -- other claims -------------------------------------------------------------------------------


def _token_use(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.token_uses or ())
    use = case.found
    if use is ABSENT:
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
        "token_use", f"token_use is {quote(use)}, this API expects {_one_of(expected)}", expected, use, hints
    )


def _token_type(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.token_types)
    typ = case.found
    if typ is ABSENT:
        return Explanation(
            "typ", f"the token has no typ header; this API expects {_one_of(expected)}", expected
        )
    return Explanation("typ", f"typ is {quote(typ)}, this API expects {_one_of(expected)}", expected, typ)


def _required_claim(case: _Case) -> Explanation:
    claim = case.report.claim or "?"
    return Explanation(
        claim, f"the token lacks the required claim {quote(claim)}", [claim], _present(case.found)
    )


def _custom(case: _Case) -> Explanation:
    return Explanation("custom", f"a custom check rejected the token: {case.error.description}")


def _insufficient_scope(case: _Case) -> Explanation:
    required = case.expected or list(case.config.scopes)
    have = list(case.found) if isinstance(case.found, list | tuple) else []
    if not have:
        return Explanation(
            "scope",
            f"the token has no scope claim; this API requires {_scope_rule(required, case)}",
            required,
        )
    missing = [scope for scope in required if scope not in have]
    if case.config.any_scope:
        reason = f"scope {quote(' '.join(have))} has none of {_show_list(required)}"
    else:
        reason = f"scope {quote(' '.join(have))} lacks {', '.join(quote(scope) for scope in missing)}"
    return Explanation(
        "scope", reason, required, have, ("request the missing scopes when getting the token",)
    )


def _scope_rule(required: Sequence[str], case: _Case) -> str:
    joined = _show_list(required)
    return f"one of {joined}" if case.config.any_scope and len(required) > 1 else joined


def _missing_grant(case: _Case) -> Explanation:
    """Groups, roles or permissions a route (or the verifier) requires and the token lacks."""
    kind = _GRANT_KINDS[case.report.code]
    have = list(case.found) if isinstance(case.found, list | tuple) else []
    required = case.expected
    return Explanation(
        case.report.claim or kind,
        f"the token's {kind} {_show_list(have)} include none of {_show_list(required)}",
        required,
        have,
    )


def _invalid_identity(case: _Case) -> Explanation:
    claim = case.report.claim or "sub"
    value = _present(case.found)
    return Explanation(
        claim,
        f"{claim} is {quote(value)}, not a non-empty string: it would read as no identity at all",
        actual=value,
        hints=(f"the issuer must send {claim} as a non-empty string (RFC 7519), or leave it out",),
    )


def _tenant_not_allowed(case: _Case) -> Explanation:
    claim = case.report.claim or "tid"
    value = _present(case.found)
    return Explanation(
        claim,
        f"tenant {quote(value)} is not among the accepted ones ({_show_list(case.expected)})",
        case.expected,
        value,
    )


def _certificate_not_valid(case: _Case) -> Explanation:
    kid = case.header.get("kid")
    return Explanation(
        "kid",
        f"the certificate of key {quote(kid)} is outside its validity period now",
        actual=kid,
        hints=(
            "the issuer signs with a current certificate; get a new token, or check this machine's clock",
        ),
    )


def _generic(case: _Case) -> Explanation:
    report = case.report
    found = case.found if report.claim is not None else ABSENT
    return Explanation(
        report.claim or type(case.error).__name__,
        case.error.description,
        case.expected or None,
        _present(found),
    )


def _wrong_signer(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.alb_arns)
    signer = case.found
    if signer is ABSENT:
        return Explanation("signer", "the header names no signing load balancer ('signer')", expected)
    return Explanation(
        "signer",
        f"signed by load balancer {quote(signer)}, not {_one_of(expected)}",
        expected,
        signer,
        (
            "every ALB of a region signs with the same keys, so only the signer tells yours apart; "
            f"if this API sits behind that load balancer too, add --alb-arn {signer}",
        ),
    )


def _wrong_alb_client(case: _Case) -> Explanation:
    expected = case.expected or list(case.config.client_ids or ())
    client = case.found
    if client is ABSENT:
        return Explanation("client", "the header names no IdP app client ('client')", expected)
    return Explanation(
        "client",
        f"the header's client {quote(client)} is not the app client {_one_of(expected)}",
        expected,
        client,
        (f"if the listener rule authenticates with that app client, use --client-id {client}",),
    )


_Handler = Callable[[_Case], Explanation]

#: One handler per reason code...
_HANDLERS: Final[dict[str, _Handler]] = {
    reasons.TOKEN_MISSING: _generic,
    reasons.TOKEN_INVALID: _generic,
    reasons.ALG_UNSUPPORTED: _alg_unsupported,
    reasons.ALG_NOT_ALLOWED: _alg_not_allowed,
    reasons.ALG_KEY_MISMATCH: _alg_key_mismatch,
    reasons.ALG_MISSING: _malformed,
    reasons.KID_INVALID: _malformed,
    reasons.SIGNATURE_INVALID: _bad_signature,
    reasons.EXP_EXPIRED: _expired,
    reasons.EXP_MISSING: _missing_date,
    reasons.IAT_MISSING: _missing_date,
    reasons.IAT_TOO_OLD: _too_old,
    reasons.NBF_NOT_YET_VALID: _not_yet_valid,
    reasons.IAT_IN_FUTURE: _not_yet_valid,
    reasons.DATE_INVALID: _invalid_date,
    reasons.ISS_MISSING: _invalid_issuer,
    reasons.ISS_MISMATCH: _invalid_issuer,
    reasons.CLIENT_ID_MISMATCH: _invalid_client,
    reasons.TOKEN_USE_MISMATCH: _token_use,
    reasons.TYP_MISMATCH: _token_type,
    reasons.CLAIM_MISSING: _required_claim,
    reasons.CUSTOM_REJECTED: _custom,
    reasons.SCOPE_INSUFFICIENT: _insufficient_scope,
    reasons.GROUPS_MISSING: _missing_grant,
    reasons.ROLES_MISSING: _missing_grant,
    reasons.PERMISSIONS_MISSING: _missing_grant,
    reasons.CHECK_FAILED: _check_failed,
    reasons.KEY_SOURCE_FAILED: _check_failed,
    reasons.IDENTITY_INVALID: _invalid_identity,
    reasons.TENANT_NOT_ALLOWED: _tenant_not_allowed,
    reasons.KID_CERTIFICATE_NOT_VALID: _certificate_not_valid,
    reasons.SIGNER_MISMATCH: _wrong_signer,
    reasons.CLIENT_MISMATCH: _wrong_alb_client,
}
#: ...and one per family, by the code's subject (the part before the dot).
_FAMILIES: Final[dict[str, _Handler]] = {
    "token": _malformed,
    "header": _malformed,
    "payload": _malformed,
    "kid": _unknown_key,
    "aud": _invalid_audience,
    "keys": _keys_unavailable,
    "fetch": _keys_unavailable,
    "discovery": _keys_unavailable,
    "jwks": _keys_unavailable,
}
