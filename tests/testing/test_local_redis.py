"""``LocalRedis``: the test kit's real ``redis-server`` on loopback, and the faults it can play."""

from __future__ import annotations

import socket

import pytest

from jwt_middleware.testing import LocalRedis, redis_server


def test_a_server_on_a_free_loopback_port_that_restarts_empty_on_the_same_port() -> None:
    with LocalRedis() as redis:
        assert redis.url.startswith("redis://127.0.0.1:")
        assert redis.command("SET", "k", "v") == b"+OK\r\n"
        port = redis.port
        redis.restart_empty()
        assert redis.port == port
        assert redis.command("GET", "k") == b"$-1\r\n"  # nothing persisted
        assert "running=True" in repr(redis)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_a_paused_server_accepts_connections_but_never_answers() -> None:
    with LocalRedis() as redis:
        redis.pause()
        with pytest.raises(TimeoutError):
            redis.command("PING", timeout=0.3)
        redis.resume()
        assert redis.command("PING").startswith(b"+PONG")
        redis.pause()  # kill must still work on a paused server


def test_without_redis_server_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server, "_DEBIAN_BINARY", "/nonexistent/redis-server")
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install -y redis-server"):
        LocalRedis()
