"""The README's first command: the demo runs its requests, checks them, and serves until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.interrupts import interruptible

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
    assert "✔ the site sent the browser to the issuer's sign-in page" in output
    assert "✔ signed in as alice" in output
    assert "Result: every answer as expected" in output
    assert "✘" not in output


def _until_serving(demo: subprocess.Popen[str]) -> str:
    """What the demo printed up to its Swagger UI line (the last line before it waits for Ctrl-C)."""
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Swagger UI" in line:
            break
    return "".join(lines)


def _finish(demo: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = demo.communicate(timeout=20)
    return demo.returncode, out, err


def test_demo_keeps_serving_with_working_curl_lines_until_interrupted() -> None:
    demo = subprocess.Popen(
        interruptible([sys.executable, "-m", "integrations.demo", "--port", "0"]),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        text = _until_serving(demo)
        match = re.search(
            r"curl -i -H 'Authorization: Bearer ([^']+)' (http://127\.0\.0\.1:\d+)/orders", text
        )
        assert match, text
        token, base_url = match.groups()
        response = httpx2.get(f"{base_url}/orders", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["owner"] == "you"
        site = re.search(r"Sign in with a browser: open (http://127\.0\.0\.1:\d+)/ ", text)
        assert site, text
        page = httpx2.get(site.group(1) + "/", headers={"Accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 200
        assert 'name="username"' in page.text  # the issuer's sign-in page, reached from the printed URL
        demo.send_signal(signal.SIGINT)
        code, out, err = _finish(demo)
        assert code == 0
        assert out.strip().endswith("stopped")
        assert "Traceback" not in err, err
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_ctrl_c_in_a_terminal_through_dev_py_prints_stopped_and_exits_0() -> None:
    """A terminal's Ctrl-C reaches dev.py and the demo together (one process group)."""
    wrapper = (
        "import sys, dev; "
        "raise SystemExit(dev._call([sys.executable, '-m', 'integrations.demo', '--port', '0']))"
    )
    demo = subprocess.Popen(
        interruptible([sys.executable, "-c", wrapper]),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
        start_new_session=True,  # its own process group, as a terminal's foreground job is
    )
    try:
        assert "Swagger UI" in _until_serving(demo)
        os.killpg(demo.pid, signal.SIGINT)
        code, out, err = _finish(demo)
        assert code == 0, err
        assert out.strip().endswith("stopped")
        assert "Traceback" not in err, err
        assert "KeyboardInterrupt" not in err, err
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()


def test_a_busy_port_is_named_with_the_port_chosen_instead() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "integrations.demo", "--once", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=_environment(),
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(rf"port {port} is busy \(.*\); using port (\d+) instead", result.stdout)
    assert match, result.stdout
    assert f"orders API         http://127.0.0.1:{match[1]} " in result.stdout
