"""``dev.py`` and the system programs the suite drives (Chromium, its driver, Redis).

Present programs cost nothing; a missing one is installed with apt when running as root, and
otherwise the run stops with the exact command to type. The second case runs as a real
unprivileged user (``nobody``), so nothing is installed and nothing is faked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ensure(table: str, *, user: int | None = None) -> subprocess.CompletedProcess[str]:
    code = (
        f"import dev, sys; dev.SYSTEM_PROGRAMS = {table}; "
        "sys.exit(0 if dev._ensure_system_programs('test') else 3)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        user=user,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_present_programs_need_nothing() -> None:
    result = _ensure(f"{{'test': {{{sys.executable!r}: 'python3'}}}}")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to the unprivileged user needs root")
def test_without_root_it_stops_with_the_exact_command() -> None:
    result = _ensure(
        "{'test': {'/nonexistent/chromium': 'chromium', '/nonexistent/driver': 'chromium-driver'}}",
        user=65534,
    )
    assert result.returncode == 3, result.stderr
    assert "sudo apt-get update && sudo apt-get install -y -q chromium chromium-driver" in result.stderr


def test_the_browser_tests_programs_are_listed() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import dev
    finally:
        sys.path.remove(str(ROOT))
    assert dev.SYSTEM_PROGRAMS["test"]["/usr/bin/chromium"] == "chromium"
    assert dev.SYSTEM_PROGRAMS["test"]["/usr/bin/chromedriver"] == "chromium-driver"
