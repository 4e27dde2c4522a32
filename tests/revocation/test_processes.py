"""Several real server processes sharing one Redis: revoke through one, refused by all.

Four uvicorn processes (each its own mirror, token cache and middleware recall), and a gunicorn
with three forked sync workers whose app (and revocation mirror) was loaded in the master before
the fork (``--preload``). Every response names the process that answered (``x-worker-pid``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from jwt_middleware.revocation import RedisRevocationList
from jwt_middleware.testing import LocalRedis

from .conftest import AUDIENCE, ISSUER, TokenFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


class Servers:
    """Server processes started with the revocation app's environment; stopped on exit."""

    def __init__(self, redis: LocalRedis, jwks: dict[str, Any], directory: Path) -> None:
        self.environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REVOCATION_REDIS_URL": redis.url,
            "REVOCATION_ISSUER": ISSUER,
            "REVOCATION_AUDIENCE": AUDIENCE,
            "REVOCATION_JWKS": json.dumps(jwks),
        }
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], **environment: str) -> str:
        """Start ``command`` serving on a socket bound here first (``{fd}`` in it names the socket):
        a port probed and released could be taken by a parallel run before the server binds it."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            port: int = listener.getsockname()[1]
            log = (self.directory / f"server-{port}.log").open("wb")
            process = subprocess.Popen(
                [part.replace("{fd}", str(listener.fileno())) for part in command],
                cwd=ROOT,
                env={**self.environment, **environment},
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
            log.close()
        self.processes.append(process)
        return f"http://127.0.0.1:{port}"

    def wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.05)
        logs = "\n".join(path.read_text(errors="replace") for path in self.directory.glob("*.log"))
        raise RuntimeError(f"{url} did not start:\n{logs}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def servers(redis: LocalRedis, jwks: dict[str, Any], tmp_path: Path) -> Iterator[Servers]:
    running = Servers(redis, jwks, tmp_path)
    yield running
    running.stop()


def _me(url: str, token: str) -> httpx2.Response:
    return httpx2.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)


def _refused_as_revoked(response: httpx2.Response) -> bool:
    return (
        response.status_code == 401 and "The token has been revoked" in response.headers["www-authenticate"]
    )


def test_a_sign_out_through_one_uvicorn_is_enforced_by_all(
    servers: Servers, make_token: TokenFactory
) -> None:
    uvicorn = [sys.executable, "-m", "uvicorn", "tests.revocation.app:asgi_app", "--fd", "{fd}"]
    urls = [servers.start([*uvicorn, "--log-level", "warning"]) for _ in range(4)]
    for url in urls:
        servers.wait_ready(url)
    token, bystander = make_token(), make_token(sub="bob")
    pids = set()
    for url in urls:
        for _ in range(3):  # verified, then from the token cache and the middleware's recall
            response = _me(url, token)
            assert response.status_code == 200
            pids.add(response.headers["x-worker-pid"])
    assert len(pids) == 4

    logout = httpx2.post(f"{urls[0]}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert logout.status_code == 204
    assert _refused_as_revoked(_me(urls[0], token))  # the revoking process, at once
    deadline = time.monotonic() + 10
    pending = set(urls[1:])
    while pending and time.monotonic() < deadline:
        pending = {url for url in pending if not _refused_as_revoked(_me(url, token))}
    assert not pending, f"still accepted by {sorted(pending)}"
    for url in urls:
        assert _me(url, bystander).status_code == 200

    # A global sign-out from outside (an admin tool, the CLI) reaches them all as well.
    admin = RedisRevocationList(servers.environment["REVOCATION_REDIS_URL"])
    try:
        admin.revoke_subject_sync(ISSUER, "bob")
    finally:
        admin.close()
    deadline = time.monotonic() + 10
    pending = set(urls)
    while pending and time.monotonic() < deadline:
        pending = {url for url in pending if not _refused_as_revoked(_me(url, bystander))}
    assert not pending


def test_forked_gunicorn_workers_each_run_their_own_mirror(
    servers: Servers, redis: LocalRedis, make_token: TokenFactory
) -> None:
    gunicorn = [sys.executable, "-m", "gunicorn", "--preload", "--workers", "3", "--bind", "fd://{fd}"]
    url = servers.start(
        [*gunicorn, "--log-level", "warning", "tests.revocation.app:wsgi_app"], REVOCATION_WSGI="1"
    )
    servers.wait_ready(url)
    token = make_token()

    def answers(count: int) -> list[tuple[str, int]]:
        seen = []
        for _ in range(count):
            with httpx2.Client(timeout=5) as client:  # a new connection: any worker may take it
                response = client.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"})
            seen.append((response.headers["x-worker-pid"], response.status_code))
        return seen

    before = answers(60)
    workers = {pid for pid, _ in before}
    assert len(workers) == 3, "every worker should have answered"
    assert {status for _, status in before} == {200}

    admin = RedisRevocationList(redis.url)
    try:
        admin.revoke_token_sync({"iss": ISSUER, "jti": _jti(token), "exp": time.time() + 300})
    finally:
        admin.close()
    deadline = time.monotonic() + 10  # well under max_stale (30 s): the mirrors, not expiry
    refused_by: set[str] = set()
    while refused_by != workers and time.monotonic() < deadline:
        refused_by |= {pid for pid, status in answers(10) if status == 401}
    assert refused_by == workers
    assert {status for _, status in answers(30)} == {401}


def _jti(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    jti: str = claims["jti"]
    return jti
