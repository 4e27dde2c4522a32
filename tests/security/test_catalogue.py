"""SECURITY.md publishes the catalogue: its summary table must be exactly what the corpus holds.

After adding cases, regenerate the table with ``python -m tests.security.catalogue --summary`` and
paste it between the ``catalogue`` markers of SECURITY.md.
"""

from __future__ import annotations

from pathlib import Path

from jwt_middleware import JWTMiddlewareError
from tests.security.catalogue import Case, HttpCase, all_cases, corpora, render_full, render_summary

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "SECURITY.md"
START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"


def _published_table() -> str:
    text = SECURITY.read_text(encoding="utf-8")
    assert START in text, "SECURITY.md lost its catalogue markers"
    assert END in text, "SECURITY.md lost its catalogue markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_security_md_publishes_the_current_catalogue() -> None:
    assert _published_table() == render_summary(), (
        "SECURITY.md is out of date: run `python -m tests.security.catalogue --summary` and paste the table"
    )


def test_every_case_is_a_complete_record() -> None:
    for module, case in all_cases():
        assert case.name, (module.__name__, case)
        assert case.how, case.name
        assert case.rule, case.name
        assert "\n" not in case.how, case.name
        if isinstance(case, Case):
            assert case.expect is None or issubclass(case.expect, JWTMiddlewareError), case.name
        else:
            assert isinstance(case, HttpCase)
            assert case.status in (200, 400, 401, 403)


def test_every_runner_named_in_the_catalogue_exists_and_is_cited() -> None:
    text = SECURITY.read_text(encoding="utf-8")
    here = Path(__file__).parent
    for module in corpora():
        for runner in module.RUN_BY:
            assert (here / runner).is_file(), runner
    for test_module in sorted(here.glob("test_*.py")):
        assert test_module.name in text, f"SECURITY.md does not mention {test_module.name}"
    assert "tests/cache/test_provider_faults.py" in text


def test_the_full_catalogue_renders() -> None:
    full = render_full()
    for module in corpora():
        assert module.CATEGORY in full
    assert full.count("\n| `") == len(all_cases())
