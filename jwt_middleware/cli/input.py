"""Where the token comes from: the command line, or stdin.

stdin is the better habit: a token given as an argument lands in the shell history and is visible
to other users in ``ps``. So ``-`` reads stdin explicitly, and an omitted token reads it when stdin
is piped; an omitted token at an interactive terminal is a usage error rather than a silent wait.

A pasted ``Authorization: Bearer`` prefix is removed, because copying the whole header out of a
browser's network tab or a log is the common way a token reaches this tool.
"""

from __future__ import annotations

import re
from typing import Final, TextIO

from jwt_middleware.cli.errors import CommandError

__all__ = ["MAX_INPUT", "read_token"]

#: Far above any real token (the verifier refuses more than 16 KiB); stops ``cat bigfile |`` early.
MAX_INPUT: Final = 1024 * 1024
_PREFIX: Final = re.compile(r"^(?:authorization\s*:\s*)?(?:bearer\s+)?", re.IGNORECASE)


def read_token(argument: str | None, stdin: TextIO | None) -> str:
    """The token from ``argument``, or from ``stdin`` for ``-`` or when omitted with piped input."""
    if argument is None or argument == "-":
        if stdin is None or (argument is None and stdin.isatty()):
            raise CommandError(
                "no token: pass it as an argument, or pipe it in ('... | jwt-middleware inspect')"
            )
        text = stdin.read(MAX_INPUT + 1)
        if len(text) > MAX_INPUT:
            raise CommandError(f"the input is larger than {MAX_INPUT} characters: that is not a token")
    else:
        text = argument
    token = _PREFIX.sub("", text.strip(), count=1).strip()
    if not token:
        raise CommandError("the token is empty")
    return token
