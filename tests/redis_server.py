"""A real ``redis-server`` on a free loopback port, with the faults the tests inflict on it.

No Redis mock: the tests run Debian's ``redis-server`` (``python3 dev.py test`` installs it),
without persistence, so that a restart is a restart *empty*. ``stop``/``start`` keep the port, so
clients reconnect to the same URL; ``pause``/``resume`` freeze the process (SIGSTOP/SIGCONT), which
is what a hung server looks like from outside: connections open, no replies.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_server_binary() -> str:
    found = REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server")
    if found is None:
        pytest.fail(
            "redis-server is not installed; python3 dev.py test installs it as root, or run: "
            "sudo apt-get install -y redis-server"
        )
    return found


class RedisServer:
    """One ``redis-server`` process that a test may stop, restart empty, pause and resume."""

    def __init__(self, directory: Path) -> None:
        self.binary = redis_server_binary()
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--loglevel", "warning",
        ]  # fmt: skip
        version = subprocess.run([self.binary, "--version"], capture_output=True, text=True, check=True)
        if " v=6." not in version.stdout:
            command += ["--enable-debug-command", "local"]  # DEBUG SLEEP, for the slow-server tests
        return command

    def start(self) -> RedisServer:
        for _ in range(5):
            log = (self.directory / "redis.log").open("ab")
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=log)
            log.close()
            if self._wait_ready():
                return self
            self.kill()
            self.port = free_port()  # Someone took the port between probing and binding.
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def kill(self) -> None:
        """Stop the server at once (SIGKILL): every connection drops, and its data is gone."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a paused process must be able to die
            process.kill()
            process.wait(10)

    def restart_empty(self) -> None:
        self.kill()
        self.start()

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def command(self, *arguments: str) -> bytes:
        """Send one command over a raw socket (no client library) and return the raw reply."""
        parts = [f"*{len(arguments)}\r\n".encode()]
        for argument in arguments:
            data = argument.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(b"".join(parts))
            return connection.recv(65536)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
