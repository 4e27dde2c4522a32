"""The command line's grammar: every command, option and help text, and nothing that runs them.

Kept apart from the commands so that ``--help`` is the single reference of the interface (the
README's "Command line" section is written from it) and so that parsing never imports the heavier
modules a command needs.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime
from typing import Final

from jwt_middleware._version import __version__
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.cli.errors import exit_codes_help

__all__ = ["DEFAULT_ISSUER_PORT", "build_parser"]

#: Where ``issuer serve`` listens and ``issuer mint`` looks unless told otherwise. A fixed default
#: lets an app's development settings name the issuer once (``http://127.0.0.1:8765``).
DEFAULT_ISSUER_PORT: Final = 8765

_DESCRIPTION: Final = """\
Find out why a JWT bearer token is rejected, and run a local identity provider for development.

  jwt-middleware inspect TOKEN         decode without verifying: header, claims, dates, problems
  jwt-middleware verify TOKEN ...      verify like your API does; explain exactly what failed
  jwt-middleware issuer serve          a dev identity provider on 127.0.0.1 (OIDC discovery, JWKS)
  jwt-middleware issuer mint           a token from the running dev issuer
  jwt-middleware revoke ...            revoke tokens for every replica (Redis), or --list them

Tokens are read from stdin when TOKEN is '-' or omitted with piped input, which keeps them out of
your shell history:  pbpaste | jwt-middleware inspect"""

_INSPECT_DESCRIPTION: Final = """\
Decode a token WITHOUT verifying it: header, claims, dates (UTC and relative), notes (kid, typ,
Cognito token_use, scopes, groups) and every structural problem. Nothing printed is trustworthy
until 'verify' says so. Exit code 0 means well-formed, not valid."""

_VERIFY_DESCRIPTION: Final = """\
Verify a token exactly as JWTVerifier does in your API, then print the verified claims, or explain
which check failed, what was expected and what the token holds."""

_VERIFY_EPILOG: Final = f"""\
examples:
  jwt-middleware verify "$TOKEN" --issuer https://auth.example.com/ --audience orders-api
  jwt-middleware verify - --issuer http://127.0.0.1:8765 --no-audience --jwks-url http://127.0.0.1:8765/.well-known/jwks.json
  jwt-middleware verify "$TOKEN" --cognito-pool eu-west-1_AbC123 --client-id 3n4b5urk1ft --token-use access
  jwt-middleware verify "$ALB_DATA" --alb-arn "$LOAD_BALANCER_ARN" --client-id my-app --issuer https://idp.example

{exit_codes_help("verify")}"""

_SERVE_DESCRIPTION: Final = """\
Run a development identity provider on 127.0.0.1 until Ctrl-C: an OIDC discovery document, a JWKS,
a loopback-only mint endpoint for 'issuer mint', and an OAuth 2.0 authorization server that signs
browsers in (a sign-in page, authorization code with PKCE, refresh, client credentials,
revocation, userinfo, logout). Its signing key lives in memory only and nothing is written to
disk. Never point a production service at it."""

_MINT_DESCRIPTION: Final = """\
Print a token signed by a running 'issuer serve' (and only the token, for $(...) and pipes)."""

_MINT_EPILOG: Final = f"""\
examples:
  jwt-middleware issuer mint --sub alice --scope orders:read
  jwt-middleware issuer mint --expires-in -60            # already expired
  jwt-middleware issuer mint --claim tenant=acme --claim 'roles=["admin"]' --claim exp=null

{exit_codes_help("issuer mint")}"""


_REVOKE_DESCRIPTION: Final = """\
Revoke tokens in the Redis that every RedisRevocationList replica mirrors, or list what is revoked.
Each replica refuses a revoked token within milliseconds; an entry expires by itself once the tokens
it refuses would have expired anyway.

  revoke token [TOKEN]                     one token (its iss, jti and exp are read, NOT verified)
  revoke token --issuer URL --jti ID       the same, by its claims
  revoke origin --issuer URL --origin-jti ID   every token from one refresh token (Cognito)
  revoke subject --issuer URL --sub SUB    a global sign-out: the subject's tokens issued before now
  revoke --list                            the live entries

The Redis URL comes from --redis or the JWT_MIDDLEWARE_REDIS_URL environment variable (which keeps
its password out of your shell history)."""

_MOMENT_HELP: Final = "a UNIX timestamp or an ISO 8601 date-time with a zone (2026-12-01T10:00:00Z)"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _output_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--json", action="store_true", help="print one JSON document (keys documented in the README)"
    )
    options.add_argument(
        "-v", "--verbose", action="store_true", help="report progress (key fetches) on stderr"
    )
    return options


def _token_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "token",
        nargs="?",
        metavar="TOKEN",
        help="the token; '-' or omitted (with piped input) reads stdin; "
        "an 'Authorization: Bearer' prefix is removed",
    )


def _add_inspect(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inspect = commands.add_parser(
        "inspect",
        parents=[_output_options()],
        help="decode a token without verifying it",
        description=_INSPECT_DESCRIPTION,
        epilog=exit_codes_help("inspect"),
        formatter_class=_formatter,
    )
    _token_argument(inspect)
    inspect.set_defaults(command="inspect")


def _add_verify(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify",
        parents=[_output_options()],
        help="verify a token and explain a rejection",
        description=_VERIFY_DESCRIPTION,
        epilog=_VERIFY_EPILOG,
        formatter_class=_formatter,
    )
    _token_argument(verify)
    accept = verify.add_argument_group("what the API accepts")
    accept.add_argument("--issuer", metavar="URL", help="the exact 'iss' accepted (compared as a string)")
    audience = accept.add_mutually_exclusive_group()
    audience.add_argument(
        "--audience",
        metavar="AUD",
        action="append",
        dest="audiences",
        help="an accepted 'aud' (repeat for several); this or --no-audience is required",
    )
    audience.add_argument(
        "--no-audience", action="store_true", help="accept any audience (an explicit choice)"
    )
    accept.add_argument(
        "--algorithm",
        metavar="ALG",
        action="append",
        dest="algorithms",
        choices=list(ALGORITHMS),
        help=f"an accepted 'alg' (repeat for several; default: all of {', '.join(ALGORITHMS)}; "
        "RS256 with Cognito)",
    )
    accept.add_argument(
        "--leeway",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="clock skew allowed (default 0, at most 600)",
    )
    accept.add_argument(
        "--scope",
        metavar="SCOPE",
        action="append",
        dest="scopes",
        help="a required scope (repeat: all are required)",
    )
    accept.add_argument(
        "--any-scope", action="store_true", help="with several --scope, one of them is enough"
    )
    accept.add_argument(
        "--token-type",
        metavar="TYP",
        action="append",
        dest="token_types",
        help="a required 'typ' header, e.g. at+jwt",
    )

    keys = verify.add_argument_group("where the keys come from")
    keys.add_argument(
        "--jwks-url",
        metavar="URL",
        help="the JWKS URL (default: OIDC discovery at ISSUER/.well-known/openid-configuration)",
    )
    keys.add_argument(
        "--timeout", metavar="SECONDS", type=float, default=3.0, help="total time for one fetch (default 3)"
    )
    keys.add_argument(
        "--allow-http", action="store_true", help="allow plain http to non-loopback hosts (emulators only)"
    )
    network = verify.add_argument_group("how the keys are reached (proxies, private CAs)")
    network.add_argument(
        "--trust-env",
        action="store_true",
        help="honour HTTPS_PROXY/NO_PROXY and SSL_CERT_FILE/SSL_CERT_DIR (ignored by default)",
    )
    network.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="trust these CAs (PEM file or hashed directory) instead of the system's",
    )
    network.add_argument(
        "--client-cert", metavar="PEM", help="a client certificate for mutual TLS (and its key)"
    )
    network.add_argument(
        "--client-key", metavar="PEM", help="the client certificate's key, if in its own file"
    )
    network.add_argument(
        "--proxy", metavar="URL", help="fetch through this proxy, e.g. http://proxy.internal:3128"
    )

    cognito = verify.add_argument_group("Amazon Cognito (JWTVerifier.cognito)")
    cognito.add_argument(
        "--cognito-pool", metavar="POOL_ID", help="the user pool id, e.g. eu-west-1_AbC123; sets the issuer"
    )
    client = cognito.add_mutually_exclusive_group()
    client.add_argument(
        "--client-id",
        metavar="ID",
        action="append",
        dest="client_ids",
        help="an accepted app client (repeat for several)",
    )
    client.add_argument(
        "--any-client", action="store_true", help="accept every app client of the pool (explicit choice)"
    )
    cognito.add_argument(
        "--token-use",
        choices=("access", "id", "any"),
        help="which Cognito token the API accepts (required with --cognito-pool)",
    )

    alb = verify.add_argument_group(
        "AWS Application Load Balancer (ALBVerifier, x-amzn-oidc-data); --client-id and --any-client "
        "name the IdP app client in the ALB token's header"
    )
    alb.add_argument(
        "--alb-arn",
        metavar="ARN",
        action="append",
        dest="alb_arns",
        help="an accepted signing load balancer (repeat for several); verifies ALB tokens",
    )
    alb.add_argument(
        "--alb-key-url",
        metavar="TEMPLATE",
        help="where the ALB keys are, with {kid} (default: AWS's public-keys.auth.elb URL of the region)",
    )
    alb.add_argument(
        "--any-issuer", action="store_true", help="with --alb-arn: accept any IdP 'iss' (explicit choice)"
    )
    verify.set_defaults(command="verify")


def _add_issuer(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    issuer = commands.add_parser(
        "issuer",
        help="a local identity provider for development",
        description="A local identity provider for development: 'serve' runs it, 'mint' asks it for tokens.",
        epilog=exit_codes_help("issuer serve", "issuer mint"),
        formatter_class=_formatter,
    )
    actions = issuer.add_subparsers(dest="issuer_command", metavar="COMMAND", required=True)

    serve = actions.add_parser(
        "serve",
        help="run the dev issuer on 127.0.0.1 until Ctrl-C",
        description=_SERVE_DESCRIPTION,
        epilog=exit_codes_help("issuer serve"),
        formatter_class=_formatter,
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_ISSUER_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_ISSUER_PORT}; 0 picks a free one)",
    )
    serve.add_argument(
        "--alg",
        metavar="ALG",
        choices=list(ALGORITHMS),
        default="RS256",
        help="signing algorithm (default RS256)",
    )
    serve.add_argument("--audience", metavar="AUD", help="the 'aud' of minted tokens (default: none)")
    serve.add_argument(
        "--issuer",
        metavar="URL",
        help="the 'iss' of minted tokens (default: the server's URL); verify then needs --jwks-url",
    )
    serve.add_argument(
        "--user",
        metavar="NAME",
        action="append",
        dest="users",
        default=[],
        help="a username that may sign in (repeat for several; default: any username)",
    )
    serve.add_argument(
        "--client",
        metavar="ID:SECRET",
        action="append",
        dest="clients",
        default=[],
        help="register a confidential client for client_credentials (repeat for several)",
    )
    serve.add_argument(
        "--auto-approve", action="store_true", help="sign browsers in without showing the sign-in page"
    )
    serve.add_argument(
        "--json", action="store_true", help="print the addresses and sample token as one JSON line"
    )
    serve.set_defaults(command="issuer serve")

    mint = actions.add_parser(
        "mint",
        help="print a token from the running dev issuer",
        description=_MINT_DESCRIPTION,
        epilog=_MINT_EPILOG,
        formatter_class=_formatter,
    )
    where = mint.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        type=int,
        default=DEFAULT_ISSUER_PORT,
        help=f"the dev issuer's port (default {DEFAULT_ISSUER_PORT})",
    )
    where.add_argument("--url", help="the dev issuer's URL, e.g. http://127.0.0.1:8765 (loopback only)")
    mint.add_argument("--sub", help="the subject (default user-123)")
    mint.add_argument(
        "--audience", metavar="AUD", action="append", dest="audiences", help="the 'aud' (repeat for a list)"
    )
    mint.add_argument(
        "--scope", metavar="SCOPE", action="append", dest="scopes", help="a scope (repeat for several)"
    )
    mint.add_argument(
        "--claim",
        metavar="NAME=VALUE",
        action="append",
        dest="claims",
        default=[],
        help="any claim; VALUE is JSON if it parses, else a string; null removes a default claim",
    )
    mint.add_argument(
        "--expires-in",
        metavar="SECONDS",
        type=float,
        default=300.0,
        help="lifetime (default 300; negative: already expired)",
    )
    mint.add_argument(
        "--alg",
        metavar="ALG",
        choices=list(ALGORITHMS),
        help="sign with a key of this algorithm (published on first use)",
    )
    mint.add_argument("--timeout", metavar="SECONDS", type=float, default=5.0, help=argparse.SUPPRESS)
    mint.add_argument("-v", "--verbose", action="store_true", help="report progress on stderr")
    mint.set_defaults(command="issuer mint")


def _revoke_store_options(*, defaults: bool) -> argparse.ArgumentParser:
    """``--redis`` and friends, accepted before or after the kind (``revoke --redis URL token``).

    Only the ``revoke`` parser itself holds the defaults: a sub-parser's default would overwrite a
    value given before the kind.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--redis", metavar="URL", default=default(None), help="redis://, rediss:// or unix:// URL"
    )
    options.add_argument(
        "--key-prefix",
        metavar="PREFIX",
        default=default("jwt_middleware"),
        help="the key prefix the replicas use (default jwt_middleware)",
    )
    options.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=default(3.0),
        help="for connecting and each reply (default 3)",
    )
    options.add_argument(
        "--json", action="store_true", default=default(False), help="print one JSON document"
    )
    return options


def moment(text: str) -> float:
    """A UNIX timestamp, or an ISO 8601 date-time with a time zone (``2026-12-01T10:00:00Z``)."""
    try:
        value = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a timestamp or an ISO 8601 date-time"
            ) from None
        if parsed.tzinfo is None:
            raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add Z or +00:00)") from None
        return parsed.timestamp()
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite timestamp")
    return value


def _add_revoke(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    revoke = commands.add_parser(
        "revoke",
        parents=[_revoke_store_options(defaults=True)],
        help="revoke tokens for every replica (Redis), or --list them",
        description=_REVOKE_DESCRIPTION,
        epilog=exit_codes_help("revoke"),
        formatter_class=_formatter,
    )
    revoke.add_argument("--list", action="store_true", help="print the live revocations and exit")
    kinds = revoke.add_subparsers(dest="revoke_command", metavar="KIND")
    shared = [_revoke_store_options(defaults=False)]

    token = kinds.add_parser(
        "token",
        parents=shared,
        help="one token",
        description="Revoke one token, by its jti.",
        formatter_class=_formatter,
    )
    _token_argument(token)
    token.add_argument("--issuer", metavar="URL", help="with --jti: the token's 'iss'")
    token.add_argument("--jti", metavar="ID", help="the token's 'jti', instead of the token itself")
    token.add_argument(
        "--until", metavar="WHEN", type=moment, help=f"keep until (default: exp); {_MOMENT_HELP}"
    )

    origin = kinds.add_parser(
        "origin",
        parents=shared,
        help="every token from one refresh token",
        description="Revoke every token derived from one refresh token (Cognito's origin_jti).",
        formatter_class=_formatter,
    )
    origin.add_argument("--issuer", metavar="URL", required=True, help="the tokens' 'iss'")
    origin.add_argument("--origin-jti", metavar="ID", required=True, help="the tokens' 'origin_jti'")
    origin.add_argument(
        "--until", metavar="WHEN", type=moment, help=f"keep until (default: a day); {_MOMENT_HELP}"
    )

    subject = kinds.add_parser(
        "subject",
        parents=shared,
        help="a subject's tokens issued before a moment",
        description="Revoke every token of one subject issued before a moment: a global sign-out.",
        formatter_class=_formatter,
    )
    subject.add_argument("--issuer", metavar="URL", required=True, help="the tokens' 'iss'")
    subject.add_argument("--sub", metavar="SUB", required=True, help="the subject ('sub')")
    subject.add_argument("--issued-before", metavar="WHEN", type=moment, help=f"default: now; {_MOMENT_HELP}")
    subject.add_argument(
        "--until", metavar="WHEN", type=moment, help=f"keep until (default: a day after); {_MOMENT_HELP}"
    )
    revoke.set_defaults(command="revoke", revoke_command=None)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; ``parse_args`` leaves the command's name in ``command``."""
    parser = argparse.ArgumentParser(
        prog="jwt-middleware",
        description=_DESCRIPTION,
        epilog=exit_codes_help(),
        formatter_class=_formatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__} (Python {sys.version_info.major}.{sys.version_info.minor})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_inspect(commands)
    _add_verify(commands)
    _add_issuer(commands)
    _add_revoke(commands)
    return parser
