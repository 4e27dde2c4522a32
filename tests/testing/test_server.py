"""LoopbackServer over real sockets: routes, counts, every fault kind, and shutdown that never hangs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest

from jwt_middleware.fetching import FetchError, default_client_factory, fetch_json
from jwt_middleware.testing import Fault, LoopbackServer, Request, Response

DOCUMENT: dict[str, list[object]] = {"keys": []}


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        running.serve_json("/doc", DOCUMENT)
        yield running
    assert running.errors == []  # nothing went wrong inside the server


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    with httpx2.Client(trust_env=False, follow_redirects=False, timeout=5) as http:
        yield http


def raw_get(port: int, path: str, *, timeout: float = 5) -> bytes:
    """One HTTP/1.1 request on a fresh socket; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def threads_ended(port: int) -> list[threading.Thread]:
    """``handler_threads(port)`` once they have all ended, or whatever is left after a while.

    ``stop()`` waits for its connection threads only so long (a stuck route handler must not hold
    the test run hostage); a cut connection's thread on a loaded machine may need a moment more to
    be scheduled and finish, which is not a hang.
    """
    deadline = time.monotonic() + STOP_WITHIN
    while (alive := handler_threads(port)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return alive


def handler_threads(port: int) -> list[threading.Thread]:
    """The threads still alive of the server that had ``port``: its accept loop and connections.

    Selected by name, not by "started during the test": another server in the process (a
    session-scoped issuer, a background refresh from an earlier test) may start a connection
    thread of its own at any moment, and that is not this test's business.
    """
    prefix = f"loopback-server-{port}"
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


async def fetch(url: str, *, timeout: float = 2.0, max_bytes: int = 512 * 1024) -> object:
    async with default_client_factory() as http:
        return await fetch_json(http, url, timeout=timeout, max_bytes=max_bytes)


# -- routes and counting ----------------------------------------------------------------------------


def test_routes_answer_over_http(server: LoopbackServer, client: httpx2.Client) -> None:
    seen: list[Request] = []

    def echo(request: Request) -> Response:
        seen.append(request)
        return Response.text(f"{request.method} {request.path}", headers={"X-Test": "yes"})

    server.route("/echo", echo)
    server.serve("/fixed", Response(201, b"made", {"Content-Type": "text/plain"}))
    server.route("/keys/", lambda request: Response.text(request.path[len("/keys/") :]), prefix=True)

    assert server.url == f"http://127.0.0.1:{server.port}"
    response = client.post(server.url_for("/echo") + "?a=1", content=b"payload", headers={"X-In": "v"})
    assert (response.status_code, response.text, response.headers["x-test"]) == (200, "POST /echo", "yes")
    assert seen[0].query == "a=1"
    assert seen[0].body == b"payload"
    assert seen[0].headers["x-in"] == "v"
    assert client.get(server.url_for("/doc")).json() == DOCUMENT
    assert client.get(server.url_for("/fixed")).status_code == 201
    assert client.get(server.url_for("/keys/abc")).text == "abc"
    assert client.get(server.url_for("/nowhere")).status_code == 404
    head = client.head(server.url_for("/doc"))
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(json.dumps(DOCUMENT, separators=(",", ":")))


def test_serve_json_with_a_callable_is_live(server: LoopbackServer, client: httpx2.Client) -> None:
    state = {"n": 0}
    server.serve_json("/live", lambda: {"n": state["n"]}, headers={"Cache-Control": "max-age=5"})
    assert client.get(server.url_for("/live")).json() == {"n": 0}
    state["n"] = 7
    response = client.get(server.url_for("/live"))
    assert response.json() == {"n": 7}
    assert response.headers["cache-control"] == "max-age=5"


def test_requests_are_counted_per_path_exactly(server: LoopbackServer, client: httpx2.Client) -> None:
    for _ in range(3):
        client.get(server.url_for("/doc"))
    client.get(server.url_for("/doc") + "?ignored=query")
    client.get(server.url_for("/missing"))
    assert server.requests("/doc") == 4
    assert server.requests("/missing") == 1
    assert server.requests("/never") == 0
    assert server.requests() == 5
    server.reset_requests()
    assert server.requests() == 0


def test_counting_is_thread_safe(server: LoopbackServer) -> None:
    def hammer() -> None:
        with httpx2.Client(trust_env=False) as http:
            for _ in range(20):
                assert http.get(server.url_for("/doc")).status_code == 200

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.requests("/doc") == 120


def test_without_keep_alive_every_answer_closes_the_connection() -> None:
    with LoopbackServer(keep_alive=False) as server:
        server.serve_json("/doc", DOCUMENT)
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
            sock.sendall(b"GET /doc HTTP/1.1\r\nHost: x\r\n\r\n")  # the client asks for keep-alive
            received = b""
            while chunk := sock.recv(65536):  # ends only because the server closes
                received += chunk
    assert b"\r\nConnection: close\r\n" in received
    assert received.endswith(b'{"keys":[]}')


def test_route_handler_errors_become_500_and_are_recorded(
    server: LoopbackServer, client: httpx2.Client
) -> None:
    def broken(_request: Request) -> Response:
        raise LookupError("boom")

    server.route("/broken", broken)
    assert client.get(server.url_for("/broken")).status_code == 500
    assert [type(error) for error in server.errors] == [LookupError]
    server.errors.clear()


def test_paths_must_be_absolute(server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="start with"):
        server.route("doc", lambda request: Response())


# -- faults -----------------------------------------------------------------------------------------


def test_status_fault_per_path_global_and_precedence(server: LoopbackServer, client: httpx2.Client) -> None:
    server.serve_json("/other", {"ok": True})
    server.set_fault("/doc", Fault.status(503, body="down", headers={"Retry-After": "7"}))
    response = client.get(server.url_for("/doc"))
    assert (response.status_code, response.text, response.headers["retry-after"]) == (503, "down", "7")
    assert client.get(server.url_for("/other")).status_code == 200

    server.set_fault(None, Fault.status(500))
    assert client.get(server.url_for("/other")).status_code == 500
    assert client.get(server.url_for("/doc")).status_code == 503  # the path's own fault wins

    server.clear_faults()
    assert client.get(server.url_for("/doc")).json() == DOCUMENT
    assert server.requests("/doc") == 3  # faulted requests count too


def test_fault_context_manager_restores_the_previous_fault(
    server: LoopbackServer, client: httpx2.Client
) -> None:
    server.set_fault("/doc", Fault.status(404))
    with server.fault("/doc", Fault.status(502)):
        assert client.get(server.url_for("/doc")).status_code == 502
    assert client.get(server.url_for("/doc")).status_code == 404
    server.set_fault("/doc", None)
    assert client.get(server.url_for("/doc")).status_code == 200


def test_faults_can_be_set_from_another_thread(server: LoopbackServer, client: httpx2.Client) -> None:
    setter = threading.Thread(target=server.set_fault, args=("/doc", Fault.status(418)))
    setter.start()
    setter.join()
    assert client.get(server.url_for("/doc")).status_code == 418


def test_body_fault(server: LoopbackServer, client: httpx2.Client) -> None:
    with server.fault("/doc", Fault.body(b'{"keys": [', content_type="application/json")):
        response = client.get(server.url_for("/doc"))
    assert (response.status_code, response.content) == (200, b'{"keys": [')
    assert response.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_body_fault_is_rejected_by_the_fetcher(server: LoopbackServer) -> None:
    maintenance = Fault.body("<html>maintenance</html>", content_type="text/html")
    with server.fault("/doc", maintenance), pytest.raises(FetchError, match="not a JSON object"):
        await fetch(server.url_for("/doc"))


def test_delay_fault_withholds_even_the_headers(server: LoopbackServer, client: httpx2.Client) -> None:
    with server.fault("/doc", Fault.delay(0.6)):
        with pytest.raises(httpx2.ReadTimeout):
            client.get(server.url_for("/doc"), timeout=0.2)
        started = time.monotonic()
        response = client.get(server.url_for("/doc"))
        elapsed = time.monotonic() - started
    assert response.json() == DOCUMENT
    assert 0.55 <= elapsed < 3
    assert server.requests("/doc") == 2


def test_trickle_fault_dribbles_a_chunked_body(server: LoopbackServer, client: httpx2.Client) -> None:
    with server.fault("/doc", Fault.trickle(b"ab", interval=0.1, total=5)):
        started = time.monotonic()
        with client.stream("GET", server.url_for("/doc")) as response:
            assert response.headers["transfer-encoding"] == "chunked"
            arrivals = [(chunk, time.monotonic() - started) for chunk in response.iter_raw()]
    assert b"".join(chunk for chunk, _ in arrivals) == b"ababa"
    assert arrivals[-1][1] >= 0.2  # three chunks, two intervals between them
    assert len(arrivals) >= 2


def test_endless_trickle_is_cut_by_a_total_deadline(server: LoopbackServer) -> None:
    """Per-read timeouts never fire on a body that keeps moving; the fetcher's total deadline does."""
    with server.fault("/doc", Fault.trickle(interval=0.05)):
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            anyio.run(lambda: fetch(server.url_for("/doc"), timeout=0.4))
        assert time.monotonic() - started < 2


def test_redirect_fault(server: LoopbackServer, client: httpx2.Client) -> None:
    with server.fault("/doc", Fault.redirect("https://elsewhere.invalid/jwks", status=301)):
        response = client.get(server.url_for("/doc"))
    assert (response.status_code, response.headers["location"]) == (301, "https://elsewhere.invalid/jwks")


@pytest.mark.anyio
async def test_redirect_fault_is_refused_by_the_fetcher(server: LoopbackServer) -> None:
    redirect = Fault.redirect(server.url_for("/doc"))
    with server.fault("/doc", redirect), pytest.raises(FetchError, match="redirect refused"):
        await fetch(server.url_for("/doc"))


def test_huge_fault_streams_an_exact_valid_document(server: LoopbackServer, client: httpx2.Client) -> None:
    size = 10 * 1024 * 1024
    with server.fault("/doc", Fault.huge(size)), client.stream("GET", server.url_for("/doc")) as response:
        assert "content-length" not in response.headers
        body = response.read()
    assert len(body) == size
    assert json.loads(body) == {"keys": []}


def test_huge_fault_can_declare_its_length(server: LoopbackServer, client: httpx2.Client) -> None:
    with server.fault("/doc", Fault.huge(100_000, declare_length=True)):
        response = client.get(server.url_for("/doc"))
    assert response.headers["content-length"] == "100000"
    assert len(response.content) == 100_000


@pytest.mark.anyio
@pytest.mark.parametrize("declare_length", [False, True])
async def test_huge_fault_is_refused_by_the_fetcher(server: LoopbackServer, declare_length: bool) -> None:
    huge = Fault.huge(10 * 1024 * 1024, declare_length=declare_length)
    with server.fault("/doc", huge), pytest.raises(FetchError, match="too large"):
        await fetch(server.url_for("/doc"))


def test_refuse_fault_refuses_then_recovers_on_the_same_port(
    server: LoopbackServer, client: httpx2.Client
) -> None:
    port = server.port
    assert client.get(server.url_for("/doc")).status_code == 200  # a pooled keep-alive connection
    server.set_fault(None, Fault.refuse())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises(httpx2.TransportError):
        client.get(server.url_for("/doc"))  # the kept-alive connection was cut too
    assert server.requests("/doc") == 1  # refused connections never become requests

    server.set_fault(None, None)
    assert server.port == port
    assert client.get(server.url_for("/doc")).json() == DOCUMENT
    assert b"200 OK" in raw_get(port, "/doc")


def test_refuse_is_global_only(server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="whole server"):
        server.set_fault("/doc", Fault.refuse())


def test_refuse_context_manager_and_stop_while_refused(client: httpx2.Client) -> None:
    with LoopbackServer() as server:
        server.serve_json("/doc", DOCUMENT)
        with server.fault(None, Fault.refuse()), pytest.raises(httpx2.ConnectError):
            client.get(server.url_for("/doc"))
        assert client.get(server.url_for("/doc")).status_code == 200
        server.set_fault(None, Fault.refuse())
    assert not server.running


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fault.status(99),
        lambda: Fault.delay(-1),
        lambda: Fault.trickle(b""),
        lambda: Fault.trickle(interval=0),
        lambda: Fault.redirect("/x", status=200),
        lambda: Fault.huge(3),
    ],
)
def test_fault_constructors_validate(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


# -- lifecycle --------------------------------------------------------------------------------------


#: How long the stop tests' faults would hold a connection, and the bound a stop must beat: far
#: apart, so that a loaded machine (seconds of scheduling delay) never blurs "cut at once" into
#: "waited the fault out".
HOLD = 120.0
STOP_WITHIN = 15.0


def test_stop_while_a_delayed_request_is_waiting_does_not_hang() -> None:
    server = LoopbackServer().start()
    port = server.port
    server.serve_json("/doc", DOCUMENT)
    server.set_fault("/doc", Fault.delay(HOLD))
    outcome: list[bytes | BaseException] = []

    def request() -> None:
        try:
            outcome.append(raw_get(server.port, "/doc", timeout=HOLD))
        except OSError as exc:
            outcome.append(exc)

    client_thread = threading.Thread(target=request)
    client_thread.start()
    deadline = time.monotonic() + 5
    while server.requests("/doc") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.requests("/doc") == 1

    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < STOP_WITHIN
    client_thread.join(STOP_WITHIN)
    assert not client_thread.is_alive()
    assert outcome[0] == b"" or isinstance(outcome[0], OSError)  # cut without an answer
    assert threads_ended(port) == []


def test_stop_while_trickling_does_not_hang() -> None:
    with LoopbackServer() as server:
        port = server.port
        server.set_fault(None, Fault.trickle(interval=HOLD))
        sock = socket.create_connection(("127.0.0.1", port), timeout=STOP_WITHIN)
        sock.sendall(b"GET /anything HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in sock.recv(4096)
        started = time.monotonic()
    assert time.monotonic() - started < STOP_WITHIN
    assert threads_ended(port) == []
    sock.close()


def test_restart_keeps_the_port_and_the_routes(client: httpx2.Client) -> None:
    server = LoopbackServer()
    with pytest.raises(RuntimeError, match="no port"):
        _ = server.url
    with server:
        port = server.port
        server.serve_json("/doc", DOCUMENT)
    with pytest.raises(httpx2.ConnectError):
        client.get(f"http://127.0.0.1:{port}/doc")
    with server:
        assert server.port == port
        assert client.get(server.url_for("/doc")).json() == DOCUMENT


def test_a_given_port_is_used() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LoopbackServer(port) as server:
        assert server.port == port
        assert b"404" in raw_get(port, "/")
