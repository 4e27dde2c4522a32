"""The test kit's private CA and proxy: what they promise the tests built on them."""

from __future__ import annotations

import socket
import ssl

import pytest

from jwt_middleware.testing import LocalCA, LocalIssuer, LocalProxy


def _connect(proxy: LocalProxy, target: str, headers: str = "") -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{headers}\r\n".encode())
        return sock.recv(4096)


def test_the_proxy_never_leaves_the_machine() -> None:
    with LocalProxy() as proxy:
        assert _connect(proxy, "example.com:443").startswith(b"HTTP/1.1 403")
        assert _connect(proxy, "10.0.0.1:443").startswith(b"HTTP/1.1 403")
        assert proxy.requests == [
            "CONNECT example.com:443 (refused: not loopback)",
            "CONNECT 10.0.0.1:443 (refused: not loopback)",
        ]


def test_the_proxy_asks_for_its_credentials() -> None:
    with LocalProxy(credentials=("svc", "pw")) as proxy, LocalIssuer() as issuer:
        target = f"127.0.0.1:{issuer.server.port}"
        assert _connect(proxy, target).startswith(b"HTTP/1.1 407")
        wrong = "Proxy-Authorization: Basic c3ZjOm5vcGU=\r\n"  # svc:nope
        assert _connect(proxy, target, wrong).startswith(b"HTTP/1.1 407")
        right = "Proxy-Authorization: Basic c3ZjOnB3\r\n"  # svc:pw
        assert _connect(proxy, target, right).startswith(b"HTTP/1.1 200")
        assert proxy.url_with_credentials == f"http://svc:pw@127.0.0.1:{proxy.port}"


def test_a_ca_signs_servers_other_cas_do_not_trust() -> None:
    with LocalCA() as ca, LocalCA("other") as other, LocalIssuer(tls=ca) as issuer:
        host, port = "127.0.0.1", issuer.server.port
        trusting = ssl.create_default_context(cafile=ca.bundle)
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            trusting.wrap_socket(raw, server_hostname=host) as tls,
        ):
            assert tls.version() is not None
        stranger = ssl.create_default_context(cafile=other.bundle)
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            stranger.wrap_socket(raw, server_hostname=host)


def test_the_ca_removes_its_files() -> None:
    ca = LocalCA()
    issued = ca.issue("client", client=True)
    assert issued.key.stat().st_mode & 0o077 == 0  # private keys are the owner's only
    assert ca.hashed_directory().is_dir()
    ca.close()
    assert not ca.directory.exists()
