"""``jwt-middleware inspect``: show what a token says, without verifying it, and what is wrong with it.

The output is labelled UNVERIFIED everywhere it shows token content: anybody can write a token
with these claims, and a developer skimming the output must not mistake "decodes" for "valid".

``--json`` prints one document with these keys, always all present:

``verified``     always ``false``: nothing here checks a signature
``well_formed``  whether the library's strict parser accepts the token (exit code 0)
``segments``     how many '.'-separated segments the token has
``header``       the decoded header, or ``null`` when it cannot be decoded
``claims``       the decoded payload, or ``null``
``times``        ``{name: {"value", "utc", "relative", "past"}}`` for ``iat``, ``auth_time``, ``nbf``
                 and ``exp`` when they are valid NumericDates
``refusal``      for a malformed token, the ``error_description`` an API answers it with (the
                 verifier's own sentence); ``null`` when the token is well-formed
``findings``     ``[{"severity", "code", "message"}]``; severity is ``error`` (malformed: the
                 verifier always rejects it), ``warning`` or ``note``; ``code`` is stable
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from jwt_middleware.cli.console import Console, to_json
from jwt_middleware.cli.errors import ExitCode
from jwt_middleware.cli.input import read_token
from jwt_middleware.cli.inspection import Severity, TokenReport, inspect_token

__all__ = ["report_document", "run_inspect"]

_SECTIONS: tuple[tuple[Severity, str], ...] = (
    ("error", "Problems"),
    ("warning", "Warnings"),
    ("note", "Notes"),
)
_LABEL = "UNVERIFIED: decoded without checking the signature; anyone can make a token that says this."


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def report_document(report: TokenReport) -> dict[str, Any]:
    """The ``--json`` document (keys in the module docstring)."""
    return {
        "verified": False,
        "well_formed": report.well_formed,
        "segments": report.segments,
        "header": report.header,
        "claims": report.claims,
        "times": {
            entry.name: {
                "value": _number(entry.value),
                "utc": entry.utc,
                "relative": entry.relative,
                "past": entry.past,
            }
            for entry in report.times
        },
        "refusal": report.refusal,
        "findings": [
            {"severity": finding.severity, "code": finding.code, "message": finding.message}
            for finding in report.findings
        ],
    }


def _print_report(console: Console, report: TokenReport) -> None:
    console.result(_LABEL)
    if report.header is not None:
        console.result()
        console.result("Header (unverified)")
        console.result(to_json(report.header))
    if report.claims is not None:
        console.result()
        console.result("Claims (unverified)")
        console.result(to_json(report.claims))
    if report.times:
        console.result()
        console.result("Times (UTC, unverified)")
        for entry in report.times:
            console.result(f"  {entry.name:<10} {entry.utc}  {entry.relative}")
    for severity, title in _SECTIONS:
        findings = report.by_severity(severity)
        if findings:
            console.result()
            console.result(title)
            for finding in findings:
                console.result(f"  {severity}: {finding.message}")
    console.result()
    if report.well_formed:
        console.result(
            "Well-formed (structure only). Run 'jwt-middleware verify' to check signature and claims."
        )
    else:
        count = len(report.by_severity("error"))
        answer = f' An API answers: "{report.refusal}"' if report.refusal else ""
        problems = f"{count} problem{'s' if count != 1 else ''}"
        console.result(f"MALFORMED: {problems}; every verifier rejects this token.{answer}")


def run_inspect(args: argparse.Namespace, console: Console, stdin: TextIO | None) -> ExitCode:
    token = read_token(args.token, stdin)
    report = inspect_token(token, now=time.time())
    if args.json:
        console.json(report_document(report))
    else:
        _print_report(console, report)
    return ExitCode.OK if report.well_formed else ExitCode.REJECTED
