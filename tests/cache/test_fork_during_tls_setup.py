"""A process forked while the HTTP stack was still being set up (gunicorn ``--preload`` forks
right after the app is imported, while the set-up thread a verifier started may still run).

Forked in the middle of an import, the child would find that module's import lock held by a
thread it does not have, and its first fetch would hang forever; the fork waits instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Run in a fresh interpreter, where nothing of the HTTP stack is imported yet.
_SCRIPT = """
import os, signal, time
from jwt_middleware.network import NetworkSettings, prepare_ssl_context, ssl_context
prepare_ssl_context(NetworkSettings())  # the set-up thread starts importing httpx2
time.sleep(0.005)
child = os.fork()
if child == 0:
    signal.alarm(10)  # a hung child dies of SIGALRM instead of hanging the test
    import httpx2
    ssl_context(NetworkSettings())
    os._exit(0)
_, status = os.waitpid(child, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_during_set_up_leaves_the_child_a_working_http_stack() -> None:
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "0", (
            "the forked child hung on an import lock its parent's thread held"
        )
