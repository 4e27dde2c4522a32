"""Children a test interrupts with SIGINT must be interruptible, whatever the test run inherited.

A shell starts a background job (``python3 dev.py test &``) with SIGINT ignored, and an ignored
signal stays ignored across fork and exec; Python installs its ``KeyboardInterrupt`` handler only
when SIGINT is at its default, so a child started from such a run never sees the Ctrl-C a test
sends it and the test waits out its timeout. ``interruptible`` restores SIGINT's default in the
child just before the command runs. It does so with a one-line launcher that execs the command,
not with ``preexec_fn``, which Python documents as unsafe in a process with threads (the suite
runs servers on threads).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_LAUNCHER = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def interruptible(command: Sequence[str]) -> list[str]:
    """``command``, run with SIGINT at its default (so Ctrl-C, or a test's SIGINT, reaches it)."""
    return [sys.executable, "-c", _LAUNCHER, *command]
