"""``jwt-middleware verify``: verify a token as an API would, and explain a rejection precisely.

Text output starts with one verdict line (``VALID:``, ``REJECTED:`` or ``UNAVAILABLE:``) followed
by details; ``--json`` prints one document with these keys, always all present (``null`` when
they do not apply):

``valid``               true only when every check passed
``exit_code``           the process exit code (0 valid, 1 rejected, 3 keys unavailable)
``header``, ``claims``  the verified header and claims (valid tokens only)
``key``                 ``{"kid", "alg", "jwks_url"}``: the key that verified it (valid tokens only)
``error``               ``{"type", "status", "code", "reason_code", "description", "claim",
                        "expected"}``: the library's error, exactly as an API sees it (``code`` is
                        the RFC 6750 code, ``reason_code`` the rule's, see ``jwt_middleware.reasons``)
``explanation``         ``{"check", "code", "reason", "expected", "actual", "hints"}``: see
                        ``jwt_middleware.cli.explain.Explanation``; ``check`` and ``code`` are stable
``unverified_header``   the rejected token's header and claims, decoded without verification
``unverified_claims``   (untrustworthy; shown because the caller is debugging their own token)

Usage and configuration errors (exit code 2) print only a message on stderr.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from jwt_middleware.claims import Claims
from jwt_middleware.cli.console import Console, to_json
from jwt_middleware.cli.errors import ExitCode
from jwt_middleware.cli.explain import Explanation, KeyState, explain
from jwt_middleware.cli.humanize import describe_time, iso_utc
from jwt_middleware.cli.input import read_token
from jwt_middleware.cli.inspection import decode_unverified, quote
from jwt_middleware.cli.verifier import VerifierSetup, build_verifier
from jwt_middleware.errors import JWTMiddlewareError, TemporarilyUnavailableError
from jwt_middleware.events import CacheEvent, FetchFailed, FetchStarted, FetchSucceeded

__all__ = ["describe_event", "run_verify"]


def describe_event(event: CacheEvent) -> str:
    """A key-cache event as one line of ``--verbose`` progress (URLs and counts only, never tokens)."""
    if isinstance(event, FetchStarted):
        return f"fetching {event.url} ({event.reason})"
    if isinstance(event, FetchSucceeded):
        keys = f"{event.key_count} key{'s' if event.key_count != 1 else ''}"
        line = f"fetched {keys} from {event.url} in {event.duration:.3f} s"
        return line + "".join(f"\n  skipped {reason}" for reason in event.skipped_keys)
    if isinstance(event, FetchFailed):
        return f"fetching {event.url} failed: {event.reason}"
    return f"{type(event).__name__}: {event.url}"


def _describe_setup(setup: VerifierSetup) -> str:
    config = setup.config
    audience = (
        "checked by the Cognito preset"
        if config.cognito
        else "any (--no-audience)"
        if config.audiences is None
        else ", ".join(quote(value) for value in config.audiences)
    )
    if config.alb_arns:
        issuer = ", ".join(quote(value) for value in config.issuers) or "any (--any-issuer)"
        clients = ", ".join(quote(value) for value in config.client_ids or ()) or "any (--any-client)"
        return (
            f"verifying an ALB token: signer {', '.join(quote(arn) for arn in config.alb_arns)}; client "
            f"{clients}; issuer {issuer}; leeway {config.leeway:g} s; keys from {setup.key_url}"
        )
    source = "discovery at" if setup.cache is None or setup.cache.url is None else "JWKS at"
    return (
        f"verifying: issuer {', '.join(quote(value) for value in config.issuers)}; audience {audience}; "
        f"algorithms {', '.join(sorted(config.algorithms))}; leeway {config.leeway:g} s; keys from {source} "
        f"{setup.key_url}"
    )


def run_verify(args: argparse.Namespace, console: Console, stdin: TextIO | None) -> ExitCode:
    token = read_token(args.token, stdin)
    events: list[CacheEvent] = []

    def on_event(event: CacheEvent) -> None:
        events.append(event)
        console.progress(describe_event(event))

    setup = build_verifier(args, on_event)
    console.progress(_describe_setup(setup))
    try:
        claims = setup.verifier.verify_sync(token)
    except JWTMiddlewareError as error:
        failures = tuple(event for event in events if isinstance(event, FetchFailed))
        header, unverified = decode_unverified(token)
        kid = header.get("kid") if header is not None else None
        keys = KeyState(setup.keys, setup.key_url_for(kid), failures)
        explanation = explain(error, token=token, config=setup.config, keys=keys, now=time.time())
        code = ExitCode.UNAVAILABLE if isinstance(error, TemporarilyUnavailableError) else ExitCode.REJECTED
        if error.unverified_claims is not None:
            unverified = dict(error.unverified_claims)
        if args.json:
            console.json(_failure_document(code, error, explanation, header, unverified))
        else:
            _print_failure(console, code, error, explanation, unverified)
        return code
    finally:
        setup.verifier.close()
    key_url = setup.key_url_for(claims.header.get("kid"))
    if args.json:
        console.json(_success_document(claims, key_url))
    else:
        _print_success(console, claims, key_url)
    return ExitCode.OK


# -- success ------------------------------------------------------------------------------------


def _success_document(claims: Claims, key_url: str) -> dict[str, Any]:
    return {
        "valid": True,
        "exit_code": int(ExitCode.OK),
        "header": dict(claims.header),
        "claims": dict(claims),
        "key": {"kid": claims.header.get("kid"), "alg": claims.header.get("alg"), "jwks_url": key_url},
        "error": None,
        "explanation": None,
        "unverified_header": None,
        "unverified_claims": None,
    }


def _print_success(console: Console, claims: Claims, key_url: str) -> None:
    kid = claims.header.get("kid")
    key = f"key {quote(kid)}" if kid is not None else "the issuer's only key"
    console.result(f"VALID: signature verified with {key} ({claims.header.get('alg')}) from {key_url}")
    rows: list[tuple[str, str | None]] = [
        ("issuer", quote(claims.get("iss"))),
        ("audience", quote(claims["aud"]) if "aud" in claims else None),
        ("subject", quote(claims["sub"]) if "sub" in claims else None),
        ("client", quote(claims.client_id) if claims.client_id else None),
        ("token_use", quote(claims.token_use) if claims.token_use else None),
        ("scopes", " ".join(sorted(claims.scopes)) or None),
        ("groups", ", ".join(sorted(claims.groups)) or None),
        ("roles", ", ".join(sorted(claims.roles)) or None),
        ("permissions", " ".join(sorted(claims.permissions)) or None),
    ]
    now = time.time()
    for name in ("exp", "nbf", "iat"):
        if claims.get(name) is not None:
            moment = float(claims[name])
            rows.append((name, f"{iso_utc(moment)} ({describe_time(name, moment, now)})"))
    for label, text in rows:
        if text is not None:
            console.result(f"  {label:<{max(10, len(label) + 1)}}{text}")
    console.result()
    console.result("Verified claims")
    console.result(to_json(dict(claims)))


# -- failure ------------------------------------------------------------------------------------


def _error_document(error: JWTMiddlewareError) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "status": error.status_code,
        "code": error.error,
        "reason_code": error.code,
        "description": error.description,
        "claim": error.claim,
        "expected": list(error.expected),
    }


def _failure_document(
    code: ExitCode,
    error: JWTMiddlewareError,
    explanation: Explanation,
    header: dict[str, Any] | None,
    claims: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "valid": False,
        "exit_code": int(code),
        "header": None,
        "claims": None,
        "key": None,
        "error": _error_document(error),
        "explanation": {
            "check": explanation.check,
            "code": explanation.code,
            "reason": explanation.reason,
            "expected": explanation.expected,
            "actual": explanation.actual,
            "hints": list(explanation.hints),
        },
        "unverified_header": header,
        "unverified_claims": claims,
    }


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(quote(item) for item in value) + "]"
    return quote(value)


def _print_failure(
    console: Console,
    code: ExitCode,
    error: JWTMiddlewareError,
    explanation: Explanation,
    claims: dict[str, Any] | None,
) -> None:
    verdict = "UNAVAILABLE" if code is ExitCode.UNAVAILABLE else "REJECTED"
    console.result(f"{verdict}: {explanation.reason}")
    console.result(f"  check     {explanation.check} ({explanation.code})")
    if explanation.expected is not None:
        expected = explanation.expected
        console.result(f"  expected  {expected if isinstance(expected, str) else _show(expected)}")
    if explanation.actual is not None:
        actual = explanation.actual
        label = actual if explanation.check in ("exp", "nbf", "iat") else _show(actual)
        console.result(f"  actual    {label}  (from the token, unverified)")
    code_text = f", {error.error}" if error.error else ""
    console.result(
        f"  error     {type(error).__name__}: {error.description} (HTTP {error.status_code}{code_text})"
    )
    for hint in explanation.hints:
        console.result(f"  hint      {hint}")
    if claims is not None:
        console.result()
        console.result("Claims (UNVERIFIED: from the rejected token, not trustworthy)")
        console.result(to_json(claims))
