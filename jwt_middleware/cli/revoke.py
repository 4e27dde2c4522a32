"""``jwt-middleware revoke``: revoke a token, a refresh-token family or a subject, or list revocations.

It writes to the same Redis keys a ``RedisRevocationList`` reads (``--redis URL``, or the
``JWT_MIDDLEWARE_REDIS_URL`` environment variable, which keeps a password out of the shell
history), so every replica refuses the tokens within milliseconds. A token given to ``revoke
token`` is decoded, not verified: only its ``iss``, ``jti`` and ``exp`` are read, to name what to
revoke, and revoking a forged token's ``jti`` can only refuse tokens, never admit one.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any, TextIO

from jwt_middleware.cli.console import Console
from jwt_middleware.cli.errors import CommandError, ExitCode
from jwt_middleware.cli.input import read_token
from jwt_middleware.errors import (
    ConfigurationError,
    JWTMiddlewareError,
    RevocationListFullError,
    StoreUnavailableError,
)
from jwt_middleware.jws import parse_compact
from jwt_middleware.revocation import RedisRevocationList, RevocationEntry
from jwt_middleware.safe_json import JSONError, parse_object

__all__ = ["REDIS_URL_VARIABLE", "run_revoke"]

REDIS_URL_VARIABLE = "JWT_MIDDLEWARE_REDIS_URL"


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _document(entry: RevocationEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind.name.lower(),
        "claim": entry.kind.value,
        "issuer": entry.issuer,
        "value": entry.value,
        "issued_before": _when(entry.issued_before),
        "until": _when(entry.until),
    }


def _describe(entry: RevocationEntry) -> str:
    document = _document(entry)
    text = f"{document['kind']:<8} {entry.kind.value}={entry.value}  iss={entry.issuer}"
    if entry.issued_before is not None:
        text += f"  issued before {document['issued_before']}"
    return f"{text}  until {document['until']}"


def _claims_of(token: str) -> dict[str, Any]:
    try:
        return dict(parse_object(parse_compact(token).payload))
    except JWTMiddlewareError as exc:
        raise CommandError(f"the token cannot be decoded: {exc.description}") from None
    except JSONError:
        raise CommandError(
            "the token's payload is not a JSON object (see 'jwt-middleware inspect')"
        ) from None


def _revocations(args: argparse.Namespace) -> RedisRevocationList:
    url = args.redis or os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        raise CommandError(f"give --redis URL or set {REDIS_URL_VARIABLE}")
    try:
        return RedisRevocationList(url, key_prefix=args.key_prefix, timeout=args.timeout)
    except ConfigurationError as exc:
        raise CommandError(str(exc)) from None


def _revoke(
    args: argparse.Namespace, revocations: RedisRevocationList, stdin: TextIO | None
) -> RevocationEntry:
    if args.revoke_command == "token":
        if args.jti is not None:
            if args.issuer is None:
                raise CommandError("--jti needs --issuer")
            claims: dict[str, Any] = {"iss": args.issuer, "jti": args.jti}
        else:
            claims = _claims_of(read_token(args.token, stdin))
        return revocations.revoke_token_sync(claims, until=args.until)
    if args.revoke_command == "origin":
        return revocations.revoke_origin_sync(args.issuer, args.origin_jti, until=args.until)
    return revocations.revoke_subject_sync(
        args.issuer, args.sub, issued_before=args.issued_before, until=args.until
    )


def run_revoke(args: argparse.Namespace, console: Console, stdin: TextIO | None) -> ExitCode:
    if args.list == (args.revoke_command is not None):
        raise CommandError("give either --list or one of: token, origin, subject")
    revocations = _revocations(args)
    try:
        if args.list:
            entries = revocations.stored_entries()
            if args.json:
                console.json({"entries": [_document(entry) for entry in entries]})
            else:
                for entry in entries:
                    console.result(_describe(entry))
                console.status(f"{len(entries)} live revocation(s) in {revocations.store.label}")
            return ExitCode.OK
        entry = _revoke(args, revocations, stdin)
    except StoreUnavailableError:
        raise CommandError(f"{revocations.store.label} could not be reached", ExitCode.UNAVAILABLE) from None
    except RevocationListFullError as exc:
        raise CommandError(str(exc), ExitCode.REJECTED) from None
    except ConfigurationError as exc:
        raise CommandError(str(exc)) from None
    finally:
        revocations.close()
    if args.json:
        console.json({"revoked": _document(entry)})
    else:
        console.result(f"revoked {_describe(entry)}")
    return ExitCode.OK
