"""The README's first command: the demo runs its requests, checks them, and serves until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def test_demo_once_shows_every_case_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "integrations.demo", "--once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "✔ 401 Unauthorized" in output
    assert "✔ 200 OK" in output
    assert 'error="insufficient_scope"' in output
    assert "The token has expired" in output
    assert "JWKS fetched 1 time(s) for the rotation" in output
    assert "Result: every answer as expected" in output
    assert "✘" not in output


def test_demo_keeps_serving_with_working_curl_lines_until_interrupted() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "integrations.demo", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            lines.append(line)
            if "Swagger UI" in line:
                break
        text = "".join(lines)
        match = re.search(
            r"curl -i -H 'Authorization: Bearer ([^']+)' (http://127\.0\.0\.1:\d+)/orders", text
        )
        assert match, text
        token, base_url = match.groups()
        response = httpx2.get(f"{base_url}/orders", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["owner"] == "you"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(20) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
