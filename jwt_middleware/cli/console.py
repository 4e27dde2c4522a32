"""Where the command line writes: results on stdout, progress and errors on stderr.

Keeping the two apart is what lets ``jwt-middleware verify ... --json | jq`` work while ``-v``
narrates the key fetch. Everything printed passes through ``printable``: token content is
attacker-controlled, and a claim must not be able to move the cursor, recolour the terminal or
reverse the text around it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["Console", "printable", "to_json"]


def printable(text: str) -> str:
    """``text`` with every non-printable character except newline escaped as ``\\uXXXX``.

    Covers C0 and C1 controls (terminal escape sequences), bidirectional overrides, and lone
    surrogates that would otherwise make writing to a UTF-8 stream fail.
    """
    if text.isprintable():
        return text
    return "".join(char if char == "\n" or char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    """``\\uXXXX``, as a UTF-16 surrogate pair above U+FFFF, so escaped JSON stays valid JSON."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def to_json(document: Any, *, indent: int | None = 2) -> str:
    """JSON for output: readable (non-ASCII kept) but with every unsafe character escaped."""
    return printable(json.dumps(document, indent=indent, ensure_ascii=False, default=str))


class Console:
    """The command's two output streams and the ``--verbose`` switch."""

    def __init__(self, stdout: TextIO, stderr: TextIO, *, verbose: bool = False) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.verbose = verbose

    def result(self, text: str = "") -> None:
        """A line of the command's result (stdout)."""
        self.stdout.write(printable(text) + "\n")

    def json(self, document: Mapping[str, Any], *, indent: int | None = 2) -> None:
        """The command's result as one JSON document (stdout)."""
        self.stdout.write(to_json(document, indent=indent) + "\n")

    def flush(self) -> None:
        """Push results out now (``issuer serve`` runs on; a reader waits for its first lines)."""
        self.stdout.flush()

    def progress(self, text: str) -> None:
        """What the command is doing, only with ``--verbose`` (stderr)."""
        if self.verbose:
            self.status(text)

    def status(self, text: str) -> None:
        """A message for the person at the terminal, not part of the result (stderr)."""
        self.stderr.write(printable(text) + "\n")
        self.stderr.flush()

    def error(self, text: str) -> None:
        self.status(f"jwt-middleware: error: {text}")
