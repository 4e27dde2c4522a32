"""How the command line ends: its documented exit codes, and the error that carries one.

Scripts branch on the exit code (``jwt-middleware verify ... || handle``), so the codes are part of
the interface and never change meaning. What each one means for each command is the table
``EXIT_CODES`` below, from which every ``--help`` shows the rows of its own command.
"""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Mapping
from typing import Final

from jwt_middleware.errors import JWTMiddlewareException

__all__ = ["EXIT_CODES", "CommandError", "ExitCode", "exit_codes_help"]


class ExitCode(enum.IntEnum):
    OK = 0
    REJECTED = 1
    USAGE = 2
    UNAVAILABLE = 3
    INTERRUPTED = 130


#: What each exit code means for each command: the one table every ``--help`` is written from.
#: A command's help shows its own rows only; the top-level help shows them all.
EXIT_CODES: Final[Mapping[str, tuple[tuple[ExitCode, str], ...]]] = {
    "inspect": (
        (ExitCode.OK, "the token is well-formed (NOT verified)"),
        (ExitCode.REJECTED, "the token is malformed"),
        (ExitCode.USAGE, "usage error (no token given...)"),
        (ExitCode.INTERRUPTED, "interrupted"),
    ),
    "verify": (
        (ExitCode.OK, "the token is valid"),
        (ExitCode.REJECTED, "the token was rejected"),
        (ExitCode.USAGE, "usage or configuration error (missing option, invalid issuer URL...)"),
        (ExitCode.UNAVAILABLE, "the signing keys could not be fetched"),
        (ExitCode.INTERRUPTED, "interrupted"),
    ),
    "issuer serve": (
        (ExitCode.OK, "stopped by Ctrl-C or SIGTERM"),
        (ExitCode.USAGE, "usage error, or the port is in use"),
    ),
    "issuer mint": (
        (ExitCode.OK, "the token was printed"),
        (ExitCode.USAGE, "usage error, or the dev issuer refused the request"),
        (ExitCode.UNAVAILABLE, "no dev issuer answered"),
        (ExitCode.INTERRUPTED, "interrupted"),
    ),
    "revoke": (
        (ExitCode.OK, "revoked (or listed)"),
        (ExitCode.REJECTED, "not revoked: the list holds its maximum of live entries"),
        (ExitCode.USAGE, "usage error (no Redis URL, a token without jti...)"),
        (ExitCode.UNAVAILABLE, "Redis could not be reached"),
    ),
}


def exit_codes_help(*commands: str) -> str:
    """The ``exit codes:`` epilog for ``commands`` (all of them when none is named)."""
    chosen = commands or tuple(EXIT_CODES)
    # code -> meaning -> the commands it holds for, in table order
    meanings: dict[ExitCode, dict[str, list[str]]] = {}
    for command in chosen:
        for code, meaning in EXIT_CODES[command]:
            meanings.setdefault(code, {}).setdefault(meaning, []).append(command)
    lines = ["exit codes:"]
    for code in sorted(meanings):
        parts = [
            meaning if len(chosen) == 1 else f"{', '.join(names)}: {meaning}"
            for meaning, names in meanings[code].items()
        ]
        lines += textwrap.wrap(
            "; ".join(parts), 100, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines)


class CommandError(JWTMiddlewareException):
    """A command cannot run as asked; ``message`` is shown on stderr and ``code`` is the exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
