"""The README's "Command line" section runs as written, and shows output the tool really prints.

Until the section is pasted into README.md it lives beside this test (``readme_command_line.md``);
once README.md has a "## Command line" heading, that text is tested instead. ``sh`` blocks run
under bash with the environment's console script on PATH, one after the other, against the dev
issuer the block containing ``issuer serve`` starts; a block preceded by ``<!-- fragment -->``
is skipped (it would need a real Cognito pool). Every command must exit 0 or 1 (1 is a rejection
the example means to show); and each ``REJECTED:``/``VALID:`` line of the ``text`` blocks must be
among the lines printed, up to timestamps.

The examples name the default port 8765; when something else holds it, the port is rewritten.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from tests.cli.conftest import CONSOLE_SCRIPT, OutputLines

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>\w+)\n(?P<code>.*?)\n```", re.DOTALL)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_DEFAULT_PORT = 8765


def _section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.find("\n## Command line\n")
    if start < 0:
        return Path(__file__).with_name("readme_command_line.md").read_text(encoding="utf-8")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end >= 0 else len(readme)]


def _port() -> int:
    """8765 when it is free, so the examples run verbatim; otherwise any free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", _DEFAULT_PORT))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _rewrite(code: str, port: int) -> str:
    if port == _DEFAULT_PORT:
        return code
    code = code.replace(f"127.0.0.1:{_DEFAULT_PORT}", f"127.0.0.1:{port}")
    return code.replace("issuer mint", f"issuer mint --port {port}").replace(
        "issuer serve", f"issuer serve --port {port}"
    )


def _checked(code: str) -> str:
    """A bash script that runs each command of ``code`` and stops at the first exit code above 1."""
    script = ["set -u"]
    for number, command in enumerate(code.replace("\\\n", " ").splitlines(), start=1):
        if command.strip() and not command.lstrip().startswith("#"):
            script.append(command)
            script.append(
                f'rc=$?; if [ "$rc" -gt 1 ]; then echo "line {number} exited $rc" >&2; exit "$rc"; fi'
            )
    return "\n".join(script)


def _normalise(text: str, port: int) -> str:
    return _TIMESTAMP.sub("<time>", text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{_DEFAULT_PORT}"))


def test_command_line_section_runs_as_written() -> None:
    blocks = list(_BLOCK.finditer(_section()))
    runnable = [m for m in blocks if m["lang"] == "sh" and m["before"].strip() != "<!-- fragment -->"]
    serve_blocks = [m for m in runnable if "issuer serve" in m["code"]]
    assert len(serve_blocks) == 1
    port = _port()
    environment = {**os.environ, "PATH": f"{CONSOLE_SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(
        ["bash", "-c", "exec " + _rewrite(serve_blocks[0]["code"], port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        OutputLines(server).until(lambda lines: any(line.startswith("Try it:") for line in lines))
        printed: list[str] = []
        for block in runnable:
            if block is serve_blocks[0]:
                continue
            completed = subprocess.run(
                ["bash", "-c", _checked(_rewrite(block["code"], port))],
                capture_output=True,
                text=True,
                timeout=60,
                env=environment,
                check=False,
            )
            assert completed.returncode == 0, f"{block['code']}\n{completed.stdout}\n{completed.stderr}"
            printed.extend(_normalise(completed.stdout, port).splitlines())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
    assert server.returncode == 0
    shown = [
        line
        for block in blocks
        if block["lang"] == "text"
        for line in block["code"].splitlines()
        if line.startswith(("REJECTED:", "VALID:"))
    ]
    assert shown
    for line in shown:
        assert _normalise(line, port) in printed, line
