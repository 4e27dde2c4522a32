"""``LoopbackServer``: a real HTTP/1.1 server on 127.0.0.1 that can be told to misbehave.

The JWKS cache makes promises about the wire (one total deadline that a trickling body cannot
stretch, a byte limit counted while streaming, no redirects, stale keys through an outage). A
mocked transport cannot break those promises the way a real provider does, so the test kit serves
over a real socket and injects faults there: error statuses, junk bodies, slow headers, endless
bodies, redirects, huge bodies and refused connections.

It is deliberately generic (routes returning a ``Response``), so the same server can stand in for
any provider endpoint, not only a JWKS.

Threads: the listener runs ``serve_forever`` on a daemon thread and each connection gets its own
daemon thread. Every wait inside a fault is on an event that ``stop()`` sets, and ``stop()`` shuts
down every open connection, so stopping never waits for a delay or a trickle to run its course.
"""

from __future__ import annotations

import contextlib
import enum
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Self
from urllib.parse import urlsplit

__all__ = ["HOST", "Fault", "FaultKind", "Handler", "LoopbackServer", "Request", "Response"]

#: The only address this server ever binds.
HOST: Final = "127.0.0.1"

#: How long ``stop()`` waits for connection threads; they are daemons, so a stuck route handler
#: cannot hold the test run hostage beyond this.
_JOIN_TIMEOUT: Final = 2.0
_HUGE_CHUNK: Final = 64 * 1024
_NO_BODY_STATUSES: Final = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Request:
    """What a route handler sees of a request; header names are lower-cased."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def _headers(content_type: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    """``Content-Type`` unless ``extra`` sets it (in any letter case), then ``extra``."""
    given = dict(extra or {})
    if any(name.lower() == "content-type" for name in given):
        return given
    return {"Content-Type": content_type, **given}


@dataclass(frozen=True, slots=True)
class Response:
    """What a route handler answers. ``Content-Length`` is always computed, never taken from here."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, document: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(document, separators=(",", ":")).encode()
        return cls(status, body, _headers("application/json", headers))

    @classmethod
    def text(
        cls,
        text: str,
        *,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return cls(status, text.encode(), _headers(content_type, headers))


Handler = Callable[[Request], Response]


class FaultKind(enum.Enum):
    STATUS = "status"
    BODY = "body"
    DELAY = "delay"
    TRICKLE = "trickle"
    REDIRECT = "redirect"
    HUGE = "huge"
    REFUSE = "refuse"


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Fault:
    """One way for the server to misbehave; build it with the class methods, not the constructor.

    A fault replaces the route's answer for every request that arrives while it is set (``delay``
    serves the route's answer late). Requests already under way keep the fault they started with.
    """

    kind: FaultKind
    http_status: int = 200
    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    #: The delay, or the interval between trickled chunks.
    seconds: float = 0.0
    total: int | None = None
    size: int = 0
    declare_length: bool = False

    @classmethod
    def status(
        cls, code: int = 500, *, body: bytes | str = b"", headers: Mapping[str, str] | None = None
    ) -> Fault:
        """Answer ``code`` (an outage looks like 500/502/503, a moved key set like 404)."""
        _check_status(code)
        merged = _headers("text/plain; charset=utf-8", headers)
        return cls(FaultKind.STATUS, http_status=code, content=_as_bytes(body), headers=tuple(merged.items()))

    @classmethod
    def body(
        cls,
        content: bytes | str,
        *,
        content_type: str = "application/json",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer 200 with ``content``: truncated JSON, an HTML error page, a JWKS with no usable key."""
        _check_status(status)
        merged = _headers(content_type, headers)
        return cls(
            FaultKind.BODY, http_status=status, content=_as_bytes(content), headers=tuple(merged.items())
        )

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Send nothing, not even the status line, for ``seconds``; then answer normally."""
        if not seconds >= 0:
            raise ValueError("delay must be a non-negative number of seconds")
        return cls(FaultKind.DELAY, seconds=float(seconds))

    @classmethod
    def trickle(
        cls,
        chunk: bytes | str = b" ",
        *,
        interval: float = 0.2,
        total: int | None = None,
        content_type: str = "application/json",
    ) -> Fault:
        """Answer 200 at once, then dribble ``chunk`` every ``interval`` seconds, forever or up to
        ``total`` bytes: the slow body that per-read timeouts never catch."""
        data = _as_bytes(chunk)
        if not data:
            raise ValueError("trickle chunk must not be empty")
        if not interval > 0:
            raise ValueError("trickle interval must be positive")
        if total is not None and total < 0:
            raise ValueError("trickle total must be non-negative")
        return cls(
            FaultKind.TRICKLE,
            content=data,
            seconds=float(interval),
            total=total,
            headers=(("Content-Type", content_type),),
        )

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> Fault:
        """Answer a redirect to ``location`` (a key fetch must refuse to follow it)."""
        if status not in (301, 302, 303, 307, 308):
            raise ValueError("redirect status must be 301, 302, 303, 307 or 308")
        return cls(FaultKind.REDIRECT, http_status=status, headers=(("Location", location),))

    @classmethod
    def huge(cls, size: int = 10 * 1024 * 1024, *, declare_length: bool = False) -> Fault:
        """Stream a valid JSON object of exactly ``size`` bytes (``{"keys":[]`` padded with spaces).

        Chunked by default, so only a limit counted while reading can stop it; ``declare_length``
        sends ``Content-Length`` instead, which a careful client refuses before reading.
        """
        if size < len(b'{"keys":[]}'):
            raise ValueError("huge size must be at least 11 bytes")
        return cls(FaultKind.HUGE, size=size, declare_length=declare_length)

    @classmethod
    def refuse(cls) -> Fault:
        """Close the listening socket: connections are refused until the fault is cleared.

        Only global (``path=None``): refusal happens before any path is known. Open connections are
        cut too. While down, the port stays bound (not listening) so that the kernel does not hand
        it to someone else; a process that binds it with ``SO_REUSEADDR`` could still take it.
        """
        return cls(FaultKind.REFUSE)


def _check_status(code: int) -> None:
    if not (isinstance(code, int) and 100 <= code <= 599):
        raise ValueError("HTTP status must be an integer between 100 and 599")


class _Listener(ThreadingHTTPServer):
    """One bound, listening socket and the connections it accepted.

    A new listener is created each time the server comes (back) up, so ``closing`` and the
    connection registry belong to one generation and a refused-then-recovered server never
    interrupts the new generation's requests.
    """

    daemon_threads = True
    block_on_close = False  # stop() joins with a deadline instead of forever
    #: The listen backlog. socketserver's default of 5 drops the SYNs of a burst of new
    #: connections (twenty services introspecting at once), which then arrive a second late, the
    #: kernel's retransmit delay: no real provider's front end behaves so.
    request_queue_size = 256

    def __init__(self, owner: LoopbackServer, port: int) -> None:
        self.owner = owner
        self.closing = threading.Event()
        self._registry_lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__((HOST, port), _RequestHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        tls = self.owner.tls
        if tls is not None:
            # The handshake happens on the connection's own thread (``_RequestHandler.setup``),
            # so a client that never completes one cannot hold up accepting the others.
            connection = tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN: a reverse DNS query that can stall
        # for seconds on a machine without network. The name is never needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def track(self, connection: socket.socket) -> bool:
        """Register a connection; false if the listener is already closing (then do not serve it)."""
        with self._registry_lock:
            self._connections[connection] = threading.current_thread()
        return not self.closing.is_set()

    def untrack(self, connection: socket.socket) -> None:
        with self._registry_lock:
            self._connections.pop(connection, None)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's, with the thread named after this server: a thread dump, or a test
        # checking that stop() left nothing running, can tell this server's connections from
        # another server's in the same process.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.owner._thread_name}-connection",
            daemon=self.daemon_threads,
        )
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection errors are the normal end of faults (client gave up, server stopping) and
        # not worth a traceback on stderr; anything else is a bug worth surfacing to the test.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.owner._record(error)

    def close_all(self) -> None:
        """Stop accepting, cut every open connection, and wait (bounded) for their threads."""
        self.closing.set()
        self.shutdown()
        self.server_close()
        with self._registry_lock:
            connections = list(self._connections.items())
        for connection, _ in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_TIMEOUT
        current = threading.current_thread()
        for _, thread in connections:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each keep-alive response
    # would wait for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "jwt-middleware-loopback"
    #: Idle keep-alive connections end on their own; stop() cuts them sooner.
    timeout = 30.0

    server: _Listener  # narrowed from socketserver.BaseServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()  # a failed handshake ends the connection (an OSError)
        super().setup()
        self._serve = self.server.track(self.connection)

    def handle(self) -> None:
        if self._serve:
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines can carry tokens in query strings: never log them.
        return

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- dispatching --------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        try:
            body = self._read_body()
            if body is None:
                return
            owner._count(parts.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            fault = owner._fault_for(parts.path)
            if fault is None:
                self._send(owner._answer(request))
            else:
                self._apply(fault, request)
        except OSError:
            # The client went away, or stop()/refuse cut the connection.
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(Response.text("chunked request bodies are not supported", status=501))
            self.close_connection = True
            return None
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            self._send(Response.text("bad Content-Length", status=400))
            self.close_connection = True
            return None
        return self.rfile.read(int(length)) if int(length) else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        if response.status not in _NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(response.body)))
        if not self.server.owner.keep_alive:
            self.send_header("Connection", "close")  # also makes the handler close after this answer
        self.end_headers()
        if self.command != "HEAD" and response.status not in _NO_BODY_STATUSES:
            self.wfile.write(response.body)

    def _apply(self, fault: Fault, request: Request) -> None:
        kind = fault.kind
        if kind in (FaultKind.STATUS, FaultKind.BODY, FaultKind.REDIRECT):
            self._send(Response(fault.http_status, fault.content, dict(fault.headers)))
        elif kind is FaultKind.DELAY:
            if self.server.closing.wait(fault.seconds):
                self.close_connection = True
                return
            self._send(self.server.owner._answer(request))
        elif kind is FaultKind.TRICKLE:
            self._trickle(fault)
        elif kind is FaultKind.HUGE:
            self._huge(fault)
        else:
            # A request on a connection opened just before the listener went down.
            self.close_connection = True

    def _start_chunked(self, headers: tuple[tuple[str, str], ...]) -> None:
        self.close_connection = True
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _trickle(self, fault: Fault) -> None:
        self._start_chunked(fault.headers)
        if self.command == "HEAD":
            return
        sent = 0
        while fault.total is None or sent < fault.total:
            piece = fault.content if fault.total is None else fault.content[: fault.total - sent]
            self._write_chunk(piece)
            sent += len(piece)
            if (fault.total is None or sent < fault.total) and self.server.closing.wait(fault.seconds):
                return
        self.wfile.write(b"0\r\n\r\n")

    def _huge(self, fault: Fault) -> None:
        head, tail = b'{"keys":[]', b"}"
        padding = fault.size - len(head) - len(tail)
        self.close_connection = True
        if fault.declare_length:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(fault.size))
            self.send_header("Connection", "close")
            self.end_headers()
            write: Callable[[bytes], object] = self.wfile.write
        else:
            self._start_chunked((("Content-Type", "application/json"),))
            write = self._write_chunk
        if self.command == "HEAD":
            return
        write(head)
        filler = b" " * _HUGE_CHUNK
        while padding > 0:
            if self.server.closing.is_set():
                return
            piece = filler[: min(padding, _HUGE_CHUNK)]
            write(piece)
            padding -= len(piece)
        write(tail)
        if not fault.declare_length:
            self.wfile.write(b"0\r\n\r\n")


class LoopbackServer:
    """A threaded HTTP/1.1 server on ``127.0.0.1`` with routes, request counts and fault injection.

    ``port=0`` lets the OS pick a free port (read it from ``port``/``url`` once started). The port
    is kept across ``refuse`` and across ``stop()``/``start()``, so URLs handed out stay valid.
    Every method is safe to call from any thread.

    ``tls`` (a server-side ``ssl.SSLContext``, e.g. ``LocalCA().server_context()``) serves
    https instead of http.

    ``keep_alive=False`` answers every request with ``Connection: close``. Clients then hold no
    pooled connection once a response is read, which matters when a client outlives the event
    loop that opened its connections (a verifier fixture used by an async test): a kept-alive
    connection would be garbage-collected unclosed, and ``ResourceWarning`` fails ``-W error`` runs.
    """

    def __init__(self, port: int = 0, *, keep_alive: bool = True, tls: ssl.SSLContext | None = None) -> None:
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise ValueError("port must be an integer between 0 and 65535")
        self.keep_alive = keep_alive
        self.tls = tls
        self._requested_port = port
        self._port: int | None = None
        # Routes, counts and faults: taken briefly by request threads.
        self._lock = threading.Lock()
        # Start, stop, going down and coming back up: never taken by request threads.
        self._lifecycle = threading.RLock()
        self._routes: dict[str, Handler] = {}
        self._prefix_routes: dict[str, Handler] = {}
        self._counts: dict[str, int] = {}
        self._faults: dict[str | None, Fault] = {}
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._placeholder: socket.socket | None = None
        self._started = False
        #: Exceptions raised while serving: by route handlers (each answered with a 500) or, if the
        #: server itself has a bug, by the connection thread. Tests may assert it stays empty.
        self.errors: list[BaseException] = []

    # -- addresses ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has no port until it is started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:{port}`` (``https`` with ``tls``), without a trailing slash."""
        return f"{'https' if self.tls is not None else 'http'}://{HOST}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + _checked_path(path)

    @property
    def _thread_name(self) -> str:
        """What this server's threads are called (its connections' threads add ``-connection``)."""
        return f"loopback-server-{self.port}"

    @property
    def running(self) -> bool:
        """Started and not stopped (possibly refusing connections because of a fault)."""
        return self._started

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        with self._lifecycle:
            if not self._started:
                self._bring_up()
                self._started = True
                if self._refusing():
                    self._take_down()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (even mid-delay or mid-trickle) and release the port."""
        with self._lifecycle:
            if not self._started:
                return
            self._started = False
            self._take_down()
            self._release_placeholder()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bring_up(self) -> None:
        port = self._port if self._port is not None else self._requested_port
        # The listener binds beside the placeholder (both SO_REUSEADDR, neither listening yet),
        # so the port is never free in between.
        listener = _Listener(self, port)
        self._release_placeholder()
        self._port = listener.server_address[1]
        thread = threading.Thread(
            target=listener.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._thread_name,
            daemon=True,
        )
        self._listener, self._thread = listener, thread
        thread.start()

    def _take_down(self) -> None:
        listener, thread = self._listener, self._thread
        self._listener = self._thread = None
        if listener is None:
            return
        listener.close_all()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
        if self._started:
            self._hold_port()

    def _hold_port(self) -> None:
        """Keep the port bound but not listening: connections are refused, the port stays ours."""
        placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            placeholder.bind((HOST, self.port))
        except OSError:
            placeholder.close()  # Best effort: without it the port is merely unreserved.
            return
        self._placeholder = placeholder

    def _release_placeholder(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None

    # -- routes -------------------------------------------------------------------------------------

    def route(self, path: str, handler: Handler, *, prefix: bool = False) -> None:
        """Answer requests for ``path`` (any method) with ``handler(request)``.

        With ``prefix=True`` the handler serves every path under ``path`` (for keys published at
        ``/{kid}``); exact routes win, then the longest prefix.
        """
        path = _checked_path(path)
        with self._lock:
            (self._prefix_routes if prefix else self._routes)[path] = handler

    def remove_route(self, path: str) -> None:
        with self._lock:
            self._routes.pop(path, None)
            self._prefix_routes.pop(path, None)

    def serve(self, path: str, response: Response) -> None:
        """Answer ``path`` with a fixed response."""
        self.route(path, lambda _request: response)

    def serve_json(
        self,
        path: str,
        document: Any | Callable[[], Any],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``path`` with JSON; a callable ``document`` is called per request (live state)."""

        def answer(_request: Request) -> Response:
            current = document() if callable(document) else document
            return Response.json(current, status=status, headers=headers)

        self.route(path, answer)

    def _answer(self, request: Request) -> Response:
        with self._lock:
            handler = self._routes.get(request.path)
            if handler is None:
                matches = [prefix for prefix in self._prefix_routes if request.path.startswith(prefix)]
                if matches:
                    handler = self._prefix_routes[max(matches, key=len)]
        if handler is None:
            return Response.text("not found", status=404)
        try:
            return handler(request)
        except Exception as exc:
            self._record(exc)
            return Response.text("route handler failed", status=500)

    def _record(self, error: BaseException) -> None:
        with self._lock:
            self.errors.append(error)

    # -- request counts -----------------------------------------------------------------------------

    def _count(self, path: str) -> None:
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1

    def requests(self, path: str | None = None) -> int:
        """Requests received for ``path`` (all paths if ``None``), faulted ones included.

        Connections refused by ``Fault.refuse`` never become requests, so they are not counted.
        """
        with self._lock:
            if path is None:
                return sum(self._counts.values())
            return self._counts.get(path, 0)

    def reset_requests(self) -> None:
        with self._lock:
            self._counts.clear()

    # -- faults -------------------------------------------------------------------------------------

    def set_fault(self, path: str | None, fault: Fault | None) -> None:
        """Make requests for ``path`` (every path if ``None``) misbehave; ``None`` clears.

        A path's own fault takes precedence over the global one. Takes effect for requests that
        arrive afterwards; ``refuse`` takes effect at once.
        """
        if path is not None:
            path = _checked_path(path)
            if fault is not None and fault.kind is FaultKind.REFUSE:
                raise ValueError("Fault.refuse() applies to the whole server: use path=None")
        with self._lifecycle:
            with self._lock:
                if fault is None:
                    self._faults.pop(path, None)
                else:
                    self._faults[path] = fault
            self._apply_refusal()

    @contextlib.contextmanager
    def fault(self, path: str | None, fault: Fault) -> Iterator[Fault]:
        """Set ``fault`` for the block, then put back whatever was set before."""
        with self._lock:
            previous = self._faults.get(path)
        self.set_fault(path, fault)
        try:
            yield fault
        finally:
            self.set_fault(path, previous)

    def clear_faults(self) -> None:
        with self._lifecycle:
            with self._lock:
                self._faults.clear()
            self._apply_refusal()

    def _refusing(self) -> bool:
        with self._lock:
            current = self._faults.get(None)
        return current is not None and current.kind is FaultKind.REFUSE

    def _apply_refusal(self) -> None:
        if not self._started:
            return
        refusing = self._refusing()
        if refusing and self._listener is not None:
            self._take_down()
        elif not refusing and self._listener is None:
            self._bring_up()

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            return self._faults.get(path) or self._faults.get(None)

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "unbound"
        return f"LoopbackServer({where}, running={self._started})"


def _checked_path(path: str) -> str:
    if not (isinstance(path, str) and path.startswith("/")):
        raise ValueError("paths must start with '/'")
    return path
