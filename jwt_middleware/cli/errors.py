"""How the command line ends: its documented exit codes, and the error that carries one.

Scripts branch on the exit code (``jwt-middleware verify ... || handle``), so the codes are part of
the interface and never change meaning:

====  =========================================================================================
 0    success: ``verify``: the token is valid; ``inspect``: the token is well-formed (NOT
      verified); ``issuer``: done
 1    ``verify``: the token was rejected; ``inspect``: the token is malformed
 2    usage or configuration error (bad option, missing token, invalid issuer URL...)
 3    unavailable: the signing keys (``verify``) or the dev issuer (``issuer mint``) could not be
      reached
130   interrupted (Ctrl-C) during ``inspect``, ``verify`` or ``issuer mint``
====  =========================================================================================
"""

from __future__ import annotations

import enum

from jwt_middleware.errors import JWTMiddlewareException

__all__ = ["EXIT_CODES_HELP", "CommandError", "ExitCode"]


class ExitCode(enum.IntEnum):
    OK = 0
    REJECTED = 1
    USAGE = 2
    UNAVAILABLE = 3
    INTERRUPTED = 130


#: The exit codes as shown at the end of every ``--help``.
EXIT_CODES_HELP = """\
exit codes:
  0    verify: the token is valid; inspect: well-formed (NOT verified); issuer: done
  1    verify: the token was rejected; inspect: the token is malformed
  2    usage or configuration error
  3    the signing keys (verify) or the dev issuer (issuer mint) could not be reached
  130  interrupted"""


class CommandError(JWTMiddlewareException):
    """A command cannot run as asked; ``message`` is shown on stderr and ``code`` is the exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
