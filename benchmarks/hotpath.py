"""What one request costs on the hot path, counted rather than timed.

Timings on a shared 2-core machine move by tens of percent with whatever else runs; counts do not.
Two counts, each for the bare app, the floor middleware (split, base64url, JSON, the RSA verify)
and ours (a warm ``JWKSCache``, token cache off), with 1,000 distinct RS256 tokens:

- Python calls per request, in process (``sys.setprofile``), the bare app's subtracted.
- Under uvicorn (uvloop, httptools) run inside valgrind's callgrind: machine instructions and
  simulated L1 data-cache misses per request of the server process, from a warm server (the
  difference of two dumps around a measured phase). Needs ``valgrind`` (Debian: ``apt-get
  install valgrind``); the section says so and is skipped without it.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import served
from benchmarks.loopback import exchange, free_port
from jwt_middleware.testing import LoopbackServer, SigningKey

__all__ = ["VARIANTS", "callgrind_missing", "python_calls", "uvicorn_instructions"]

VARIANTS = (served.BARE, served.MINIMAL, "jwt_middleware")
_ROOT = Path(__file__).resolve().parent.parent
#: The callgrind events reported: instructions, then L1 data-read misses.
_EVENTS = ("Ir", "D1mr")


def python_calls(requests: int = 50) -> dict[str, float]:
    """Python function calls per request for each variant, in process, the bare app's subtracted."""
    key = SigningKey.generate("RS256", kid="bench")
    tokens = served.tokens_for(key, requests + 10)
    counts: dict[str, float] = {}
    with LoopbackServer() as provider:
        provider.serve_json(served.JWKS_PATH, {"keys": [key.public_jwk()]})
        url = provider.url_for(served.JWKS_PATH)
        for variant in VARIANTS:
            app = served.protected_app(variant, url, 3600.0)
            statuses: list[int] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any], statuses: list[int] = statuses) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            calls: collections.Counter[str] = collections.Counter()

            def profile(frame: Any, event: str, arg: Any, calls: collections.Counter[str] = calls) -> None:
                if event == "call":
                    calls["python"] += 1

            async def run(app: Any = app, calls: collections.Counter[str] = calls) -> None:
                for token in tokens[:10]:  # warm: keys fetched, code paths taken
                    await app(served.asgi_scope(token), receive, send)
                sys.setprofile(profile)
                try:
                    for token in tokens[10:]:
                        await app(served.asgi_scope(token), receive, send)
                finally:
                    sys.setprofile(None)

            asyncio.run(run())
            if set(statuses) != {200}:
                raise RuntimeError(f"{variant} answered {sorted(set(statuses))}")
            counts[variant] = calls["python"] / requests
    bare = counts[served.BARE]
    return {variant: value - bare for variant, value in counts.items()}


def callgrind_missing() -> str | None:
    """Why the instruction counts cannot run here, or ``None`` when they can."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "valgrind is not installed (Debian: apt-get install valgrind)"
    return None


async def _load(port: int, tokens: list[str], count: int, connections: int = 16) -> int:
    per_connection = count // connections

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in range(per_connection):
                token = tokens[(offset + connections * index) % len(tokens)]
                request = f"GET / HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
                status = await exchange(reader, writer, request.encode())
                if status != 200:
                    raise RuntimeError(f"the server answered {status}")
        finally:
            writer.close()

    await asyncio.gather(*(worker(offset) for offset in range(connections)))
    return per_connection * connections


def _totals(dump: Path) -> dict[str, int]:
    events: list[str] = []
    totals: list[int] = []
    for line in dump.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            totals = [int(value) for value in line.split()[1:]]
    return dict(zip(events, totals, strict=False))


def _wait_ready(port: int, token: str, process: subprocess.Popen[bytes], timeout: float = 600.0) -> None:
    """Under valgrind start-up takes a while, and so may the first JWKS fetch: wait for a 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server under valgrind exited")
        try:
            if served.get(port, "/", token)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError("the server under valgrind did not answer")


def _dump(pid: int, expected: Path, timeout: float = 120.0) -> None:
    """Ask callgrind for a dump and wait until it is written."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True, capture_output=True)
    deadline = time.monotonic() + timeout
    while not expected.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # written, and closed
    if not expected.exists():
        raise RuntimeError("callgrind wrote no dump")


def uvicorn_instructions(warm: int = 300, measured: int = 1000) -> dict[str, dict[str, float]]:
    """Per request of a warm uvicorn server under callgrind: ``Ir`` and ``D1mr`` for each variant."""
    key = SigningKey.generate("RS256", kid="bench")
    tokens = served.tokens_for(key, served.DISTINCT_TOKENS)
    results: dict[str, dict[str, float]] = {}
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), *sys.path[1:]])}
    with LoopbackServer() as provider, tempfile.TemporaryDirectory() as directory:
        provider.serve_json(
            served.JWKS_PATH, {"keys": [key.public_jwk()]}, headers={"Cache-Control": "max-age=3600"}
        )
        url = provider.url_for(served.JWKS_PATH)
        for variant in VARIANTS:
            port = free_port()
            out = Path(directory) / variant.replace(" ", "_")
            code = f"from benchmarks import served; served.serve({variant!r}, {url!r}, 3600.0, {port})"
            command = [
                "valgrind",
                "--tool=callgrind",
                "--cache-sim=yes",
                f"--callgrind-out-file={out}.%p",
                sys.executable,
                "-c",
                code,
            ]
            process = subprocess.Popen(
                command, cwd=_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                _wait_ready(port, tokens[0], process)
                asyncio.run(_load(port, tokens, warm))
                _dump(process.pid, Path(f"{out}.{process.pid}.1"))
                done = asyncio.run(_load(port, tokens, measured))
                _dump(process.pid, Path(f"{out}.{process.pid}.2"))
            finally:
                process.terminate()
                process.wait(120)
            # Each dump holds what came since the one before: the second is the measured phase.
            measured_dump = Path(f"{out}.{process.pid}.2")
            totals = _totals(measured_dump)
            results[variant] = {event: totals[event] / done for event in _EVENTS}
    return results
