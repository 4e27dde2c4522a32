"""The catalogue: every adversarial case as a record, and the summary SECURITY.md publishes.

A case names the attack, says how its input is built, what must happen (the exact error class, or
acceptance for the positive controls that keep the rejections honest) and which rule it checks: an
RFC section, a CVE, or one of this library's documented rules. The corpus modules hold the records;
the test modules run them. ``python -m tests.security.catalogue`` prints the full list, and
``--summary`` prints the table that SECURITY.md embeds (``test_catalogue.py`` keeps them in sync).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from jwt_middleware.errors import JWTMiddlewareError

__all__ = ["CORPORA", "Case", "HttpCase", "all_cases", "render_full", "render_summary"]


@dataclass(frozen=True)
class Case:
    """One token-level attack (or control) and what the verifier must do with it.

    ``verifier`` names the verifier it is judged by (see ``Kit.verifier``; ``jws`` means the
    signature-only layer ``verify_compact``; ``remote`` cases need the live issuer and the
    attacker's server of ``test_remote_keys.py``). ``jwks`` replaces the trusted key set.
    """

    name: str
    how: str
    build: Callable[[Any], Any]
    expect: type[JWTMiddlewareError] | None
    rule: str
    verifier: str = "default"
    options: Mapping[str, Any] = field(default_factory=dict)
    jwks: Callable[[Any], Mapping[str, Any]] | None = None

    @property
    def outcome(self) -> str:
        return "accept" if self.expect is None else self.expect.__name__


@dataclass(frozen=True)
class HttpCase:
    """One request shape and the answer both middlewares must give it."""

    name: str
    how: str
    headers: Callable[[str], list[tuple[str, str]]]
    status: int
    error: str | None
    rule: str
    query: Callable[[str], str] = lambda token: ""
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return f"{self.status} {self.error}" if self.error else str(self.status)


def _corpora() -> list[ModuleType]:
    from tests.security import (
        corpus_claims,
        corpus_encoding,
        corpus_headers,
        corpus_http,
        corpus_json,
        corpus_keys,
        corpus_remote,
        corpus_signatures,
    )

    return [
        corpus_headers,
        corpus_remote,
        corpus_encoding,
        corpus_json,
        corpus_claims,
        corpus_keys,
        corpus_signatures,
        corpus_http,
    ]


CORPORA: list[ModuleType] = []


def corpora() -> list[ModuleType]:
    if not CORPORA:
        CORPORA.extend(_corpora())
    return CORPORA


def all_cases() -> list[tuple[ModuleType, Case | HttpCase]]:
    return [(module, case) for module in corpora() for case in module.CASES]


_REFERENCE = re.compile(r"CVE-\d{4}-\d+|RFC \d+|FIPS [\d-]+|NIST SP [\w-]+|SEC 1|Wycheproof|aws-jwt-verify")


def _order(reference: str) -> tuple[int, int, str]:
    kind = 0 if reference.startswith("CVE") else 1 if reference.startswith("RFC") else 2
    number = int(reference.split()[1]) if reference.startswith("RFC ") else 0
    return kind, number, reference


def render_summary() -> str:
    """The per-class table published in SECURITY.md."""
    lines = [
        "| class | cases | rejected | accepted (controls) | run by | references |",
        "|---|---:|---:|---:|---|---|",
    ]
    total = 0
    for module in corpora():
        cases = module.CASES
        total += len(cases)
        accepted = sum(1 for case in cases if case.outcome == "accept" or case.outcome == "200")
        documents = sorted({found for case in cases for found in _REFERENCE.findall(case.rule)}, key=_order)
        runners = ", ".join(f"`{name}`" for name in module.RUN_BY)
        lines.append(
            f"| {module.CATEGORY} | {len(cases)} | {len(cases) - accepted} | {accepted} | {runners} "
            f"| {', '.join(documents)} |"
        )
    lines.append(f"| **total** | **{total}** | | | | |")
    return "\n".join(lines)


def render_full() -> str:
    """Every case: class, name, outcome, rule and how it is built."""
    lines: list[str] = []
    for module in corpora():
        lines.append(f"## {module.CATEGORY} ({len(module.CASES)} cases, {module.__name__})")
        lines.append("")
        lines.append("| case | outcome | rule | how |")
        lines.append("|---|---|---|---|")
        for case in module.CASES:
            how = case.how.replace("|", "\\|")
            lines.append(f"| `{case.name}` | {case.outcome} | {case.rule} | {how} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    print(render_summary() if "--summary" in argv else render_full())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
