"""What the README promises a first-day user, beyond its examples running (``test_readme``).

The quick start leads with the library's RFC 6750 guard, the reference apps are named and start,
the README says what the library is not, the query-string option carries its warning, and the
contents list and every link inside the README lead where they say.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_readme import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE_APPS = sorted(path.parent.name for path in (ROOT / "integrations").glob("*/__main__.py"))


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def test_the_quick_start_leads_with_require_scopes_and_shows_its_answer(tmp_path: Path) -> None:
    _, code = EXAMPLES[0]  # the README's first example is the quick start's
    assert "JWTAuthMiddleware" in code
    assert "@require_scopes(" in code
    assert "from starlette.authentication import requires" not in code
    script = tmp_path / "quick_start.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith('403 Bearer realm="api", error="insufficient_scope"')
    assert last.endswith('scope="orders:read"')
    quick_start = _section("Quick start")
    assert "`@requires(" in quick_start  # says when Starlette's own guard is fine
    assert "plain-text" in quick_start


def test_every_reference_app_is_in_the_readme() -> None:
    assert set(REFERENCE_APPS) == {"django_site", "fastapi_app", "flask_app"}
    for name in REFERENCE_APPS:
        assert f"python -m integrations.{name}" in README, name


@pytest.mark.parametrize("name", REFERENCE_APPS)
def test_each_reference_app_starts_as_the_readme_says(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"integrations.{name}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
    documented = re.search(rf"integrations\.{name}` \(port (\d+)", README)
    assert documented, name
    assert f"default: {documented[1]}" in result.stdout


def test_the_readme_says_what_the_library_is_not() -> None:
    intro = README[: README.index("## Contents")]
    paragraph = intro[intro.index("**What it is not.**") :]
    for phrase in ("does\nnot issue production tokens", "HS256", "RS256 or ES256", "PyJWT"):
        assert phrase in paragraph, phrase
    assert "secret" in paragraph


def test_the_query_parameter_option_warns_about_access_logs() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `query_parameter`"))
    assert "access logs" in row
    for mention in ("`query_parameter=`", "`QUERY_PARAMETER`", "`JWT_QUERY_PARAMETER`"):
        start = README.index(mention)
        assert "access logs" in README[start : start + 200], mention


@pytest.mark.parametrize(
    ("title", "must_name"),
    [
        (
            "Proxies and private CAs",
            ("trust_env", "ca_bundle", "client_cert", "proxy", "client_factory", "not trusted by default"),
        ),
        ("Metrics and traces", ("instrument(", "collector(", "VerificationEvent", "add_event_hook")),
    ],
)
def test_the_production_sections_exist_with_examples_that_run(title: str, must_name: tuple[str, ...]) -> None:
    section = _section(title)
    assert "```python" in section  # run by test_readme, like every example
    for name in must_name:
        assert name in section, name
    assert f"[{title}](#" in README  # listed in the contents


def _headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, title)`` of every heading outside fenced code blocks, in order."""
    headings, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#{1,6}) (.+)", line)):
            headings.append((len(match.group(1)), match.group(2).strip()))
    return headings


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_the_contents_link_every_section_in_order() -> None:
    contents = _section("Contents")
    listed = [re.match(r"- \[[^\]]+\]\(#([^)]+)\)", line) for line in contents.splitlines()]
    linked = [match.group(1) for match in listed if match]
    sections = [_anchor(title) for level, title in _headings(README) if level == 2 and title != "Contents"]
    assert linked == sections


def test_every_link_inside_the_readme_has_its_heading() -> None:
    anchors: set[str] = set()
    for _, title in _headings(README):
        anchor = base = _anchor(title)
        number = 0
        while anchor in anchors:  # GitHub numbers repeated headings
            number += 1
            anchor = f"{base}-{number}"
        anchors.add(anchor)
    targets = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert sorted(targets - anchors) == []
