"""``RequestView`` over each request shape reads what the server received, as the frameworks do.

The URL of a view must be the framework's own ``request.url`` (Starlette's for a scope,
Werkzeug's for an environ), so an authenticator comparing URLs (DPoP's ``htu``, an origin check)
sees what the app sees; these tests hold the views to the frameworks on the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import HTTPConnection
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from jwt_middleware import InvalidRequestError
from jwt_middleware.request_view import ASGIRequestView, RequestView, WSGIRequestView, cookie_values


def scope(
    path: str = "/orders",
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers if headers is not None else [(b"host", b"api.example.com")],
        "server": ("10.0.0.1", 8000),
        "client": ("10.0.0.2", 50000),
    }
    base.update(extra)
    return base


def environ(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/orders",
        "QUERY_STRING": "",
        "SERVER_NAME": "10.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "api.example.com",
    }
    base.update(extra)
    return base


def wsgi_string(text: str) -> str:
    """How PEP 3333 carries request bytes: UTF-8 on the wire, decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


# -- the URL, as Starlette and Werkzeug build it -------------------------------------------------

ASGI_URL_CASES = {
    "host header": scope(),
    "query": scope(query=b"a=1&b=%20c&c=%E2%82%AC&d=+&d=2"),
    "encoded path": scope("/caf\u00e9/a b/100%"),
    "https default port": scope(scheme="https", headers=[(b"host", b"api.example.com:443")]),
    "non-default port": scope(headers=[(b"host", b"api.example.com:8443")]),
    "ipv6 host": scope(headers=[(b"host", b"[::1]:8080")]),
    "no host header": scope(headers=[]),
    "no host, default port": scope(headers=[], server=("api.internal", 80)),
    "invalid host header": scope(headers=[(b"host", b"evil.example/x")]),
    "forwarded headers are ignored": scope(
        headers=[
            (b"host", b"internal:8000"),
            (b"x-forwarded-host", b"evil.example"),
            (b"x-forwarded-proto", b"https"),
        ]
    ),
    "websocket": scope(type="websocket", scheme="ws"),
    "root path": scope("/app/orders", root_path="/app"),
}


@pytest.mark.parametrize("case", ASGI_URL_CASES.values(), ids=ASGI_URL_CASES.keys())
def test_asgi_url_is_starlettes(case: dict[str, Any]) -> None:
    assert ASGIRequestView(case).url == str(HTTPConnection(case).url)


def test_asgi_url_with_query_and_forwarded_headers() -> None:
    assert ASGIRequestView(ASGI_URL_CASES["query"]).url == (
        "http://api.example.com/orders?a=1&b=%20c&c=%E2%82%AC&d=+&d=2"
    )
    assert (
        ASGIRequestView(ASGI_URL_CASES["forwarded headers are ignored"]).url == "http://internal:8000/orders"
    )


WSGI_URL_CASES = {
    "host header": environ(),
    "server name without host header": {
        key: value for key, value in environ(SERVER_PORT="8443").items() if key != "HTTP_HOST"
    },
    "default port dropped": environ(HTTP_HOST="api.example.com:80"),
    "https default port dropped": environ(HTTP_HOST="api.example.com:443", **{"wsgi.url_scheme": "https"}),
    "host lower-cased": environ(HTTP_HOST="API.Example.COM:8443"),
    "ipv6 host": environ(HTTP_HOST="[::1]:8080"),
    "ipv6 server name": {**environ(SERVER_NAME="::1", SERVER_PORT="8080"), "HTTP_HOST": None},
    "invalid host": environ(HTTP_HOST="evil.example/x"),
    "port out of range": environ(HTTP_HOST="api.example.com:99999"),
    "punycode host": environ(HTTP_HOST="xn--n3h.net"),
    "query": environ(QUERY_STRING="a=1&b=%20c&c=%E2%82%AC&d=+&d=2&e=%26&f=%2f"),
    "non-ascii query": environ(QUERY_STRING=wsgi_string("q=\u00e9&r=%ff")),
    "space in path": environ(PATH_INFO="/a b/c"),
    "utf-8 path": environ(PATH_INFO=wsgi_string("/caf\u00e9/\u00fc")),
    "invalid utf-8 path": environ(PATH_INFO="/\xff\xfe"),
    "percent in path": environ(PATH_INFO="/100%"),
    "escaped slash in path": environ(PATH_INFO="/a%2Fb/%e2%82%ac%25"),
    "question mark in path": environ(PATH_INFO="/x?y#z"),
    "double slashes": environ(PATH_INFO="//a//b"),
    "script name": environ(SCRIPT_NAME="/app/", PATH_INFO="/orders"),
    "empty path": environ(SCRIPT_NAME="/app", PATH_INFO=""),
    "forwarded headers are ignored": environ(
        HTTP_X_FORWARDED_HOST="evil.example", HTTP_X_FORWARDED_PROTO="https"
    ),
}


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@pytest.mark.parametrize("case", WSGI_URL_CASES.values(), ids=WSGI_URL_CASES.keys())
def test_wsgi_url_is_werkzeugs(case: dict[str, Any]) -> None:
    case = _without_none(case)
    assert WSGIRequestView(case).url == WerkzeugRequest(case).url


def test_wsgi_url_with_query_and_forwarded_headers() -> None:
    assert (
        WSGIRequestView(environ(QUERY_STRING="a=1&b=%20c")).url == "http://api.example.com/orders?a=1&b=%20c"
    )
    forwarded = WSGI_URL_CASES["forwarded headers are ignored"]
    assert WSGIRequestView(forwarded).url == "http://api.example.com/orders"


def test_an_invalid_punycode_host_is_kept_as_sent() -> None:
    # Werkzeug itself raises UnicodeError here (a 500 in any Flask view reading request.url).
    assert WSGIRequestView(environ(HTTP_HOST="xn--zz.example")).url == "http://xn--zz.example/orders"


_URL_PIECES = [*"abz09-._~!$&'()*+,;=:@/?#[]% \u00e9\u20ac\U0001f600", "%2F", "%25", "%e2%82%ac", "%ff", "%4"]
_URL_TEXT = st.lists(st.sampled_from(_URL_PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    path=_URL_TEXT,
    script=_URL_TEXT,
    query=_URL_TEXT,
    host=st.sampled_from(["api.example.com", "API.example.com:8080", "[::1]:443", "bad host", "h:0", None]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_wsgi_url_matches_werkzeug_for_any_input(
    path: str, script: str, query: str, host: str | None, scheme: str
) -> None:
    case = _without_none(
        environ(
            PATH_INFO=wsgi_string("/" + path),
            SCRIPT_NAME=wsgi_string("/" + script if script else ""),  # PEP 3333: empty or from "/"
            QUERY_STRING=wsgi_string(query),
            HTTP_HOST=host,
            **{"wsgi.url_scheme": scheme},
        )
    )
    assert WSGIRequestView(case).url == WerkzeugRequest(case).url


# -- method, path, headers, cookies, query -----------------------------------------------------------


def asgi_view(**extra: Any) -> RequestView:
    return ASGIRequestView(
        scope(
            "/caf\u00e9/orders",
            method="POST",
            query=b"tag=a&tag=b&blank=&encoded=%E2%82%AC%20x&plus=a+b",
            headers=[
                (b"host", b"api.example.com"),
                (b"x-forwarded-for", b"10.0.0.1"),
                (b"x-forwarded-for", b"10.0.0.2"),
                (b"cookie", b"theme=dark; session=abc"),
                (b"cookie", b'lang="en"'),
                (b"content-type", b"application/json"),
            ],
            **extra,
        )
    )


def wsgi_view() -> RequestView:
    return WSGIRequestView(
        environ(
            REQUEST_METHOD="post",
            PATH_INFO=wsgi_string("/caf\u00e9/orders"),
            QUERY_STRING="tag=a&tag=b&blank=&encoded=%E2%82%AC%20x&plus=a+b",
            HTTP_X_FORWARDED_FOR="10.0.0.1, 10.0.0.2",
            HTTP_COOKIE='theme=dark; session=abc; lang="en"',
            CONTENT_TYPE="application/json",
        )
    )


@pytest.fixture(params=["asgi", "wsgi"])
def view(request: pytest.FixtureRequest) -> RequestView:
    return asgi_view() if request.param == "asgi" else wsgi_view()


def test_method_is_upper_case_and_path_is_decoded(view: RequestView) -> None:
    assert view.method == "POST"
    assert view.path == "/caf\u00e9/orders"


def test_headers_are_case_insensitive(view: RequestView) -> None:
    assert view.header("Content-Type") == view.header("content-type") == ["application/json"]
    assert view.header("CONTENT-TYPE") == ["application/json"]
    assert view.header("x-missing") == []


def test_repeated_headers_keep_every_value() -> None:
    # ASGI keeps repeated headers apart; WSGI servers join them with a comma (PEP 3333).
    assert asgi_view().header("X-Forwarded-For") == ["10.0.0.1", "10.0.0.2"]
    assert wsgi_view().header("X-Forwarded-For") == ["10.0.0.1, 10.0.0.2"]


def test_cookies(view: RequestView) -> None:
    assert view.cookie("theme") == "dark"
    assert view.cookie("session") == "abc"
    assert view.cookie("lang") == "en"
    assert view.cookie("Theme") is None  # cookie names are exact
    assert view.cookie("missing") is None


def test_a_cookie_sent_twice_is_an_invalid_request() -> None:
    doubled = ASGIRequestView(scope(headers=[(b"cookie", b"at=one"), (b"cookie", b"at=two")]))
    with pytest.raises(InvalidRequestError):
        doubled.cookie("at")
    with pytest.raises(InvalidRequestError):
        WSGIRequestView(environ(HTTP_COOKIE="at=one; at=two")).cookie("at")
    assert cookie_values(["at=one", "x=1; at=two"], "at") == ["one", "two"]


def test_query_values(view: RequestView) -> None:
    assert view.query("tag") == ["a", "b"]
    assert view.query("blank") == [""]
    assert view.query("encoded") == ["\u20ac x"]
    assert view.query("plus") == ["a b"]
    assert view.query("missing") == []
    assert view.query_string.startswith("tag=a&tag=b")
    view.query("tag").append("mutated")  # a copy: the view stays read-only
    assert view.query("tag") == ["a", "b"]


def test_raw_is_the_scope_or_environ() -> None:
    request_scope = scope()
    assert ASGIRequestView(request_scope).raw is request_scope
    request_environ = environ()
    assert WSGIRequestView(request_environ).raw is request_environ


def test_websocket_handshakes_are_gets() -> None:
    assert ASGIRequestView(scope(type="websocket", scheme="ws", method=None)).method in ("GET", None)
    websocket = scope(type="websocket", scheme="ws")
    del websocket["method"]
    assert ASGIRequestView(websocket).method == "GET"


def test_urls_of_both_shapes_include_the_query() -> None:
    # Each is its framework's request.url: Werkzeug's is an IRI (UTF-8 escapes decoded).
    query = "tag=a&tag=b&blank=&encoded=%E2%82%AC%20x&plus=a+b"
    assert asgi_view().url == f"http://api.example.com/caf\u00e9/orders?{query}"
    iri_query = query.replace("%E2%82%AC", "\u20ac")
    assert wsgi_view().url == f"http://api.example.com/caf\u00e9/orders?{iri_query}"


def test_the_repr_shows_no_header_or_query() -> None:
    text = repr(asgi_view())
    assert "session" not in text
    assert "tag" not in text
    assert "POST" in text


class Recording(dict[str, Any]):
    """A scope or environ that records every key read from it."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.append(key)
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        self.reads.append("*")
        return super().__iter__()


def test_building_a_view_reads_nothing() -> None:
    recorded_scope, recorded_environ = Recording(scope()), Recording(environ())
    asgi, wsgi = ASGIRequestView(recorded_scope), WSGIRequestView(recorded_environ)
    assert recorded_scope.reads == []
    assert recorded_environ.reads == []
    asgi.header("authorization")
    wsgi.header("authorization")
    assert recorded_scope.reads == ["headers"]
    assert recorded_environ.reads == ["HTTP_AUTHORIZATION"]


def test_the_query_is_parsed_once() -> None:
    recorded = Recording(scope(query=b"a=1"))
    view = ASGIRequestView(recorded)
    assert view.query("a") == ["1"]
    assert view.query("b") == []
    assert recorded.reads.count("query_string") == 1


def test_werkzeug_builder_environs_read_the_same() -> None:
    built = EnvironBuilder(
        path="/caf\u00e9",
        query_string="x=1&x=2",
        headers=[("Cookie", "a=b"), ("X-Thing", "1")],
        method="PATCH",
    ).get_environ()
    view = WSGIRequestView(built)
    assert (view.method, view.path, view.query("x"), view.cookie("a"), view.header("x-thing")) == (
        "PATCH",
        "/caf\u00e9",
        ["1", "2"],
        "b",
        ["1"],
    )
    assert view.url == WerkzeugRequest(built).url
