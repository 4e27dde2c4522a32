"""``jwt-middleware``, the command line: parse, run one command, turn its outcome into an exit code.

Deliberately thin. The grammar is in ``cli.parser``, each command in its own module of this
package (imported only when chosen, so ``inspect`` never loads the HTTP server), and the reasoning
in plain modules beside them (``cli.inspection``, ``cli.explain``, ``cli.humanize``). ``main``
returns the exit code instead of exiting, so tests drive it in-process exactly as the console
script does.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from jwt_middleware.cli.console import Console
from jwt_middleware.cli.errors import CommandError, ExitCode
from jwt_middleware.cli.parser import build_parser
from jwt_middleware.errors import ConfigurationError

__all__ = ["main"]


@contextlib.contextmanager
def _library_logging_silenced() -> Iterator[None]:
    """Keep the library's own log records off stderr while a command runs.

    With no logging configured, Python prints warnings such as "fetching ... failed" on stderr; the
    command already reports those in its own words (and with ``-v``), so they would only repeat.
    """
    logger = logging.getLogger("jwt_middleware")
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _run(args: argparse.Namespace, console: Console) -> ExitCode:
    if args.command == "inspect":
        from jwt_middleware.cli.inspect import run_inspect

        return run_inspect(args, console, sys.stdin)
    if args.command == "verify":
        from jwt_middleware.cli.verify import run_verify

        return run_verify(args, console, sys.stdin)
    if args.command == "revoke":
        from jwt_middleware.cli.revoke import run_revoke

        return run_revoke(args, console, sys.stdin)
    from jwt_middleware.cli.issuer import run_mint, run_serve

    if args.command == "issuer serve":
        return run_serve(args, console)
    return run_mint(args, console)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has already printed
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parsed = _parse(argv)
    if isinstance(parsed, int):
        return parsed
    console = Console(sys.stdout, sys.stderr, verbose=getattr(parsed, "verbose", False))
    try:
        with _library_logging_silenced():
            return int(_run(parsed, console))
    except CommandError as exc:
        console.error(exc.message)
        return int(exc.code)
    except ConfigurationError as exc:
        console.error(f"invalid configuration: {exc}")
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        console.status("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, and keep the interpreter's final flush quiet too.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.REJECTED)
