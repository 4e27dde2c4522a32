"""``LocalRedis``: a real ``redis-server`` on a free loopback port, for tests and benchmarks.

No Redis mock: this runs Debian's ``redis-server`` (``apt-get install redis-server``; the
project's ``python3 dev.py test`` installs it), without persistence, so that a restart is a
restart *empty*. ``kill``/``start`` keep the port, so clients reconnect to the same URL;
``pause``/``resume`` freeze the process (SIGSTOP/SIGCONT), which is what a hung server looks like
from outside: connections open, no replies. Only the standard library is used.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

__all__ = ["INSTALL_HINT", "LocalRedis"]

INSTALL_HINT: Final = "sudo apt-get install -y redis-server"
_DEBIAN_BINARY: Final = "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _binary() -> str:
    found = _DEBIAN_BINARY if Path(_DEBIAN_BINARY).exists() else shutil.which("redis-server")
    if found is None:
        raise RuntimeError(f"redis-server is not installed; install it with: {INSTALL_HINT}")
    return found


class LocalRedis:
    """One ``redis-server`` that a test may kill, restart empty, pause and resume."""

    def __init__(self) -> None:
        self.binary = _binary()
        self._directory = tempfile.TemporaryDirectory(prefix="jwt-middleware-redis-")
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return Path(self._directory.name) / "redis.log"

    def _command(self) -> list[str]:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._directory.name,
            "--loglevel", "warning",
        ]  # fmt: skip
        version = subprocess.run([self.binary, "--version"], capture_output=True, text=True, check=True)
        if " v=6." not in version.stdout:
            command += ["--enable-debug-command", "local"]  # DEBUG SLEEP, to play a slow server
        return command

    def start(self) -> LocalRedis:
        """Start the server (again, on the same port after ``kill``); returns when it answers."""
        for _ in range(5):
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(self._command(), stdout=log, stderr=log)
            if self._wait_ready():
                return self
            self._stop_process()
            self.port = _free_port()  # someone took the port between probing and binding
        raise RuntimeError(f"redis-server did not start; see {self.log}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                if self.command("PING").startswith(b"+PONG"):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a paused process must be able to die
            process.kill()
            process.wait(10)

    def kill(self) -> None:
        """Stop the server at once (SIGKILL): every connection drops and its data is gone."""
        self._stop_process()

    def restart_empty(self) -> None:
        self.kill()
        self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def command(self, *arguments: str, timeout: float = 5.0) -> bytes:
        """Send one command over a raw socket (no client library) and return the raw reply."""
        parts = [f"*{len(arguments)}\r\n".encode()]
        for argument in arguments:
            data = argument.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as connection:
            connection.sendall(b"".join(parts))
            return connection.recv(65536)

    def close(self) -> None:
        self.kill()
        self._directory.cleanup()

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalRedis({self.url!r}, running={self.process is not None})"
