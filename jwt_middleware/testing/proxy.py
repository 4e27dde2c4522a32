"""``LocalProxy``: a small HTTP proxy on 127.0.0.1, to test fetches that go through a proxy.

Behind a corporate proxy, every https fetch opens a tunnel with ``CONNECT host:port`` and every
plain-http fetch sends the absolute URL to the proxy. ``LocalProxy`` does both, for real, over
loopback sockets, and records what it relayed, so a test can tell whether a fetch took the proxy
(``HTTPS_PROXY`` honoured) or went direct (``NO_PROXY``, or the environment ignored). It can
require credentials (``407`` without them), as authenticating proxies do.

It only ever connects to loopback addresses: a test can never reach beyond the machine through it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import selectors
import socket
import socketserver
import threading
from typing import Any, Final, Self
from urllib.parse import urlsplit

from jwt_middleware.fetching import is_loopback_host

__all__ = ["LocalProxy"]

_HOST: Final = "127.0.0.1"
_MAX_HEADER_BYTES: Final = 64 * 1024
_IDLE_TIMEOUT: Final = 30.0
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade"}
)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, owner: LocalProxy) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((_HOST, 0), _Handler)

    def track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    def close_all(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client or target going away mid-relay is the normal end of a tunnel


class _Handler(socketserver.StreamRequestHandler):
    server: _Server  # narrowed from socketserver.BaseServer
    timeout = _IDLE_TIMEOUT

    def handle(self) -> None:
        self.server.track(self.connection)
        try:
            self._handle()
        finally:
            self.server.untrack(self.connection)

    def _reply(self, status: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        lines = [
            f"HTTP/1.1 {status}",
            "Content-Length: 0",
            "Connection: close",
            *(f"{n}: {v}" for n, v in headers),
        ]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _read_head(self) -> tuple[str, list[tuple[str, str]]] | None:
        request_line = self.rfile.readline(_MAX_HEADER_BYTES).decode("latin-1").rstrip("\r\n")
        if not request_line:
            return None
        headers: list[tuple[str, str]] = []
        size = len(request_line)
        while True:
            line = self.rfile.readline(_MAX_HEADER_BYTES).decode("latin-1").rstrip("\r\n")
            size += len(line)
            if not line or size > _MAX_HEADER_BYTES:
                break
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return request_line, headers

    def _authorised(self, headers: list[tuple[str, str]]) -> bool:
        expected = self.server.owner.credentials
        if expected is None:
            return True
        for name, value in headers:
            if name.lower() == "proxy-authorization":
                scheme, _, encoded = value.partition(" ")
                try:
                    given = base64.b64decode(encoded, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    return False
                return scheme.lower() == "basic" and given == f"{expected[0]}:{expected[1]}"
        return False

    def _handle(self) -> None:
        head = self._read_head()
        if head is None:
            return
        request_line, headers = head
        method, _, rest = request_line.partition(" ")
        target, _, _ = rest.partition(" ")
        owner = self.server.owner
        if not self._authorised(headers):
            owner._record(f"{method} {target} (refused: 407)")
            self._reply("407 Proxy Authentication Required", (("Proxy-Authenticate", 'Basic realm="proxy"'),))
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self._open_tunnel(f"{method} {target}", host, port)
        else:
            self._forward(method, target, headers)

    def _connect(self, description: str, host: str, port: str) -> socket.socket | None:
        if not (is_loopback_host(host) and port.isdigit()):
            self.server.owner._record(f"{description} (refused: not loopback)")
            self._reply("403 Forbidden")
            return None
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=_IDLE_TIMEOUT)
        except OSError:
            self.server.owner._record(f"{description} (failed: 502)")
            self._reply("502 Bad Gateway")
            return None
        self.server.owner._record(description)
        self.server.track(upstream)
        return upstream

    def _open_tunnel(self, description: str, host: str, port: str) -> None:
        upstream = self._connect(description, host, port)
        if upstream is None:
            return
        try:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._relay(upstream)
        finally:
            self.server.untrack(upstream)
            upstream.close()

    def _forward(self, method: str, url: str, headers: list[tuple[str, str]]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            self._reply("400 Bad Request")
            return
        upstream = self._connect(f"{method} {url}", parts.hostname, str(parts.port or 80))
        if upstream is None:
            return
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
            length = next((int(v) for n, v in kept if n.lower() == "content-length" and v.isdigit()), 0)
            lines = [f"{method} {path} HTTP/1.1", *(f"{n}: {v}" for n, v in kept), "Connection: close"]
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.rfile.read(length))
            self._relay(upstream)
        finally:
            self.server.untrack(upstream)
            upstream.close()

    def _relay(self, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes or both stay idle for the timeout."""
        client = self.connection
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while True:
                ready = selector.select(_IDLE_TIMEOUT)
                if not ready:
                    return
                for key, _ in ready:
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        peers[source].sendall(data)
                    except OSError:
                        return


class LocalProxy:
    """An HTTP proxy on ``http://127.0.0.1:{port}`` that relays to loopback targets and records each.

    ``with LocalProxy() as proxy:`` then ``HTTPS_PROXY=proxy.url`` (or ``proxy=proxy.url``);
    ``proxy.requests`` lists what it relayed (``"CONNECT 127.0.0.1:8443"``,
    ``"GET http://127.0.0.1:8080/jwks.json"``) and what it refused. With ``credentials=(user,
    password)`` it answers ``407`` to requests without them; ``url_with_credentials`` carries them.
    """

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[str] = []

    def _record(self, description: str) -> None:
        with self._lock:
            self._requests.append(description)

    @property
    def requests(self) -> list[str]:
        """What the proxy was asked to relay, in order (refusals say so)."""
        with self._lock:
            return list(self._requests)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("start the proxy first: 'with LocalProxy() as proxy:'")
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    @property
    def url_with_credentials(self) -> str:
        if self.credentials is None:
            return self.url
        user, password = self.credentials
        return f"http://{user}:{password}@{_HOST}:{self.port}"

    def start(self) -> Self:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"local-proxy-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if thread is not None:
            thread.join(2.0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
