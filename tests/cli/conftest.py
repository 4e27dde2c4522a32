"""Shared fixtures: run ``main(argv)`` in-process, real local issuers, and a port nobody listens on."""

from __future__ import annotations

import io
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.cli import main
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer

#: The console script of the environment running the tests (installed by ``pip install -e``).
CONSOLE_SCRIPT = Path(sys.executable).with_name("jwt-middleware")
POOL_ID = "us-east-1_TestPool1"
#: How long a subprocess may take to print what a test waits for.
STARTUP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def assert_token_not_printed(self, token: str) -> None:
        """Neither the token nor its signature may appear anywhere in what the command printed."""
        signature = token.rsplit(".", 1)[-1]
        for stream in (self.out, self.err):
            assert token not in stream
            if len(signature) > 16:
                assert signature not in stream


class TTYInput(io.StringIO):
    """An interactive terminal with nothing typed: what stdin is when the user pipes nothing."""

    def isatty(self) -> bool:
        return True


class OutputLines:
    """A subprocess's stdout, read line by line on a thread so that waiting for a line has a deadline.

    (``select`` on a buffered text pipe would miss lines already read into the buffer.)
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self._stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, done: Callable[[list[str]], bool]) -> list[str]:
        """Lines until ``done(lines)``; fails if the process ends or stalls first."""
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not done(lines):
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no complete output in time: {lines}") from None
            assert line is not None, f"serve exited early: {lines}"
            lines.append(line)
        return lines


Run = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``cli("verify", token, ...)`` runs ``main`` in-process; ``stdin=`` feeds (or replaces) stdin."""

    def run(*argv: str, stdin: str | io.StringIO | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin) if isinstance(stdin, str) else stdin)
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="orders-api") as running:
        yield running


@pytest.fixture(scope="module")
def cognito() -> Iterator[LocalCognitoIssuer]:
    with LocalIssuer.cognito(user_pool_id=POOL_ID, client_id="test-client") as running:
        yield running


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
