"""Every Python example in README.md runs as written, as a standalone script.

A block is skipped only when the line before its fence is ``<!-- fragment -->`` (configuration
excerpts such as a Django settings entry, which mean nothing on their own). A block that defines
``test_`` functions is a test module and runs under pytest, which must collect and pass all of
them. Examples start their own local issuer, so they run offline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    examples = []
    for match in _BLOCK.finditer(text):
        if match["before"].strip() == "<!-- fragment -->":
            continue
        line = text[: match.start("code")].count("\n") + 1
        examples.append((f"README.md:{line}", match["code"]))
    return examples


EXAMPLES = _examples()


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.slow
@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_example_runs_as_written(where: str, code: str, tmp_path: Path) -> None:
    is_test_module = re.search(r"^def test_", code, re.MULTILINE) is not None
    script = tmp_path / ("test_example.py" if is_test_module else "example.py")
    script.write_text(code, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    result = subprocess.run(
        command if is_test_module else [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
