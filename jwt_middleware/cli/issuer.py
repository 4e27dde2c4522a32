"""``jwt-middleware issuer serve`` and ``issuer mint``: a development identity provider.

``serve`` runs the test kit's ``LocalIssuer`` (discovery document, JWKS, real HTTP on 127.0.0.1)
as a long-lived process, adds the loopback-only mint endpoint (``cli.mint_endpoint``, which
explains why ``mint`` talks to ``serve`` over HTTP), prints what an app's development settings
need, and stops cleanly on Ctrl-C or SIGTERM. Its key lives in memory only: nothing is written to
disk, and tokens die with the process.

``serve --json`` prints one JSON line: ``issuer``, ``jwks_url``, ``discovery_url``, ``mint_url``,
``alg``, ``kid``, ``audience``, ``sample_token`` and the authorization server's ``client_id`` (its
default public client), ``authorization_endpoint`` and ``token_endpoint``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import threading
from typing import TYPE_CHECKING, Any

from jwt_middleware.cli.console import Console
from jwt_middleware.cli.errors import CommandError, ExitCode
from jwt_middleware.cli.humanize import duration
from jwt_middleware.cli.mint_endpoint import MINT_PATH, MintError, MintRequest, install, request_token
from jwt_middleware.cli.parser import DEFAULT_ISSUER_PORT

if TYPE_CHECKING:
    from jwt_middleware.testing.issuer import LocalIssuer

__all__ = ["parse_claim", "run_mint", "run_serve"]

#: The sample token printed at start-up lives long enough for an afternoon of curl.
SAMPLE_LIFETIME = 3600


def _port_option(port: int) -> str:
    return "" if port == DEFAULT_ISSUER_PORT else f" --port {port}"


def _try_lines(issuer_url: str, jwks_url: str, iss: str, audience: str | None, port: int) -> list[str]:
    mint = f"jwt-middleware issuer mint{_port_option(port)}"
    verify = f"jwt-middleware verify --issuer {shlex.quote(iss)}"
    verify += f" --audience {shlex.quote(audience)}" if audience else " --no-audience"
    if iss != issuer_url:
        verify += f" --jwks-url {shlex.quote(jwks_url)}"
    return [
        f"{mint} --sub alice | {verify}",
        f'curl -H "Authorization: Bearer $({mint})" http://127.0.0.1:8000/',
    ]


def run_serve(args: argparse.Namespace, console: Console, *, stop: threading.Event | None = None) -> ExitCode:
    """Serve until ``stop`` is set, Ctrl-C or SIGTERM; exit code 0 for all three."""
    # The test kit, imported lazily and only by the issuer command, which is its front end: no
    # other production code imports jwt_middleware.testing (tests/package/test_layers.py enforces it).
    from jwt_middleware.testing.issuer import LocalIssuer

    if not 0 <= args.port <= 65535:
        raise CommandError("--port must be between 0 and 65535")
    issuer = LocalIssuer(
        alg=args.alg,
        audience=args.audience,
        port=args.port,
        issuer=args.issuer,
        users={name: {} for name in args.users} or None,
        auto_approve=args.auto_approve,
    )
    for client in args.clients:
        client_id, separator, secret = client.partition(":")
        if not (separator and client_id and secret):
            raise CommandError(f"--client needs ID:SECRET, got {client_id!r}")
        issuer.register_client(client_id, secret, grant_types=["client_credentials"])
    install(issuer)
    try:
        issuer.start()
    except OSError as exc:
        raise CommandError(
            f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}); "
            "choose another --port (0 picks a free one)"
        ) from None
    stop = stop or threading.Event()
    try:
        _announce(args, console, issuer)
        console.status("development only: never trust this issuer in production. Press Ctrl-C to stop.")
        _wait(stop)
    finally:
        issuer.stop()
    console.status("dev issuer stopped")
    return ExitCode.OK


def _announce(args: argparse.Namespace, console: Console, issuer: LocalIssuer) -> None:
    sample = issuer.mint(expires_in=SAMPLE_LIFETIME)
    port = issuer.server.port
    details = {
        "issuer": issuer.issuer,
        "jwks_url": issuer.jwks_url,
        "discovery_url": issuer.discovery_url,
        "mint_url": issuer.url + MINT_PATH,
        "alg": issuer.current_key.alg,
        "kid": issuer.current_key.kid,
        "audience": issuer.audience,
        "sample_token": sample,
        "client_id": issuer.default_client_id,
        "authorization_endpoint": issuer.authorization_endpoint,
        "token_endpoint": issuer.token_endpoint,
        "introspection_endpoint": issuer.introspection_endpoint,
    }
    if args.json:
        console.json(details, indent=None)
        console.flush()
        return
    console.result("jwt-middleware dev issuer (development only)")
    console.result(f"  issuer     {issuer.issuer}")
    console.result(f"  jwks_url   {issuer.jwks_url}")
    console.result(f"  discovery  {issuer.discovery_url}")
    console.result(f"  mint_url   {details['mint_url']}  (POST, loopback only)")
    console.result(f"  alg        {details['alg']} (kid {details['kid']})")
    console.result(f"  audience   {issuer.audience if issuer.audience else '(none: tokens carry no aud)'}")
    console.result(
        f"  sign-in    {issuer.authorization_endpoint}  (public client '{issuer.default_client_id}', PKCE)"
    )
    console.result(f"  token      {issuer.token_endpoint}")
    console.result(f"  introspect {issuer.introspection_endpoint}  (RFC 7662, confidential clients)")
    console.result()
    console.result(f"Sample token (sub 'user-123', valid for {duration(SAMPLE_LIFETIME)}):")
    console.result(sample)
    console.result()
    console.result("Try it:")
    for line in _try_lines(issuer.url, issuer.jwks_url, issuer.issuer, issuer.audience, port):
        console.result(f"  {line}")
    console.flush()


def _wait(stop: threading.Event) -> None:
    """Block until ``stop``, Ctrl-C or SIGTERM (signals can only be handled on the main thread)."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if on_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        # A short timeout keeps Ctrl-C prompt on every platform.
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def parse_claim(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: VALUE as JSON when it parses (``42``, ``true``, ``null``, ``["a"]``), else a string."""
    name, separator, raw = text.partition("=")
    if not separator or not name:
        raise CommandError(f"--claim needs NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except ValueError:
        value = raw
    return name, value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def run_mint(args: argparse.Namespace, console: Console) -> ExitCode:
    """Print one token (and only the token) from the dev issuer."""
    base_url = args.url or f"http://127.0.0.1:{args.port}"
    claims: dict[str, Any] = {}
    if args.sub is not None:
        claims["sub"] = args.sub
    if args.audiences:
        claims["aud"] = args.audiences[0] if len(args.audiences) == 1 else list(args.audiences)
    if args.scopes:
        claims["scope"] = " ".join(args.scopes)
    for item in args.claims:
        name, value = parse_claim(item)
        claims[name] = value
    wanted = MintRequest(claims=claims, expires_in=args.expires_in, alg=args.alg)
    console.progress(f"asking the dev issuer at {base_url} for a token")
    try:
        token = request_token(base_url, wanted, timeout=args.timeout)
    except MintError as exc:
        raise CommandError(exc.message, ExitCode.UNAVAILABLE if exc.unreachable else ExitCode.USAGE) from None
    console.result(token)
    return ExitCode.OK
