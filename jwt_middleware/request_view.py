"""``RequestView``: one read-only view of an HTTP request, whatever framework received it.

An ``Authenticator`` decides who a request comes from by reading it, and every adapter hands it a
``RequestView`` so that one authenticator serves Starlette, FastAPI, WSGI, Django, Flask and AWS
Lambda alike. A view is a thin wrapper over what the server already built (the ASGI scope, the
WSGI environ): creating one costs an object allocation, and nothing is parsed until an
authenticator asks for it, because most requests are answered from the token alone.

What a view reads is what the server received: ``url`` is built from the scope or environ exactly
as Starlette's and Werkzeug's ``request.url`` are, from the ``Host`` header (else the server's
address) and never from ``X-Forwarded-*`` headers, which any client can send. Behind a proxy that
rewrites the host or scheme, configure the external URL where a check needs it (DPoP's ``htu``,
an origin check) rather than trusting forwarded headers.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from jwt_middleware.errors import InvalidRequestError

__all__ = [
    "ASGIRequestView",
    "RequestView",
    "WSGIRequestView",
    "asgi_header",
    "cookie_values",
    "wsgi_path",
    "wsgi_url",
]


def cookie_values(cookie_headers: Sequence[str], name: str) -> list[str]:
    """Every value of the cookie ``name`` in the request's ``Cookie`` header(s), in order.

    RFC 6265 section 5.4: pairs separated by ``;``, names compared exactly; a value may be quoted.
    A name that appears more than once is returned more than once, so that callers can refuse
    the ambiguity (a sibling subdomain can set a second cookie of the same name).
    """
    found: list[str] = []
    for header in cookie_headers:
        for pair in header.split(";"):
            key, sep, value = pair.strip(" \t").partition("=")
            if sep and key == name:
                found.append(value.strip('"'))
    return found


class RequestView(abc.ABC):
    """A framework-neutral, read-only view of one HTTP request.

    ``method`` is upper-case; ``url`` is absolute, as the server received it (see the module
    docstring); ``path`` is the path the application routes on, percent-decoded; ``header(name)``
    returns every value of a header, names compared case-insensitively; ``query(name)`` every
    value of a query parameter, percent-decoded; ``cookie(name)`` the value of one cookie;
    ``raw`` is the object the view reads (the ASGI scope, the WSGI environ, the Lambda event), for
    what no view can express.

    Adapters build views; an ``Authenticator`` only reads them. Implementations for other request
    shapes subclass this and provide the abstract members; ``cookie`` and ``query`` are derived
    from ``header`` and ``query_string``.
    """

    __slots__ = ("_query",)

    def __init__(self) -> None:
        self._query: dict[str, list[str]] | None = None

    @property
    @abc.abstractmethod
    def method(self) -> str:
        """The request method, upper-case (``"GET"``)."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The absolute URL of the request, query string included."""

    @property
    @abc.abstractmethod
    def path(self) -> str:
        """The request path the application routes on, percent-decoded."""

    @property
    @abc.abstractmethod
    def query_string(self) -> str:
        """The raw query string, without the ``?`` (``""`` when there is none)."""

    @property
    @abc.abstractmethod
    def raw(self) -> Any:
        """The underlying request object: the ASGI scope, the WSGI environ, the Lambda event."""

    @abc.abstractmethod
    def header(self, name: str) -> list[str]:
        """Every value of the header ``name`` (case-insensitive), in the order received."""

    def cookie(self, name: str) -> str | None:
        """The value of the cookie ``name`` (exact name), ``None`` when the request has none.

        A cookie sent twice under one name raises ``InvalidRequestError`` (400): which one is
        meant cannot be known, and guessing would let a cookie set by a sibling site win.
        """
        values = cookie_values(self.header("cookie"), name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidRequestError("The request has more than one cookie of the same name")
        return values[0]

    def query(self, name: str) -> list[str]:
        """Every value of the query parameter ``name``, percent-decoded, blank values included."""
        parsed = self._query
        if parsed is None:
            query_string = self.query_string
            parsed = self._query = parse_qs(query_string, keep_blank_values=True) if query_string else {}
        return list(parsed.get(name, ()))

    def __repr__(self) -> str:
        # Never the headers or the query: they carry credentials.
        return f"{type(self).__name__}(method={self.method!r}, path={self.path!r})"


# -- ASGI -------------------------------------------------------------------------------------------


class ASGIRequestView(RequestView):
    """A ``RequestView`` over an ASGI HTTP or websocket scope (``raw`` is the scope itself)."""

    __slots__ = ("_scope",)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self._query = None
        self._scope = scope

    @property
    def method(self) -> str:
        # Websocket scopes have no method: the handshake is a GET.
        method: str = self._scope.get("method", "GET")
        return method

    @property
    def url(self) -> str:
        """Starlette's ``request.url`` for this scope, so the two can never disagree."""
        from starlette.datastructures import URL

        scope = self._scope
        if isinstance(scope.get("query_string"), str):
            # Django's AsyncClient builds scopes with a text query string; servers send bytes.
            scope = {**scope, "query_string": self.query_string.encode("latin-1")}
        return str(URL(scope=scope))  # type: ignore[arg-type]  # any mapping is read the same

    @property
    def path(self) -> str:
        path: str = self._scope["path"]
        return path

    @property
    def query_string(self) -> str:
        query = self._scope.get("query_string", b"")
        return query.decode("latin-1") if isinstance(query, bytes) else str(query)

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._scope

    def header(self, name: str) -> list[str]:
        # ASGI servers lower-case header names; values are bytes, latin-1 by HTTP's definition.
        try:
            wanted = name.lower().encode("latin-1")
        except UnicodeEncodeError:
            return []
        return asgi_header(self._scope, wanted)


def asgi_header(scope: Mapping[str, Any], name: bytes) -> list[str]:
    """Every value of the header ``name`` (lower-case bytes, as ASGI servers send names) in ``scope``.

    Header values are bytes in ASGI, latin-1 by HTTP's definition. An adapter that reads a header
    before building a view (the ``Authorization`` header, on every request) reads it here too.
    """
    found = []  # a loop, not a comprehension: this runs on every request, and 3.11 calls those
    for key, value in scope["headers"]:
        if key == name:
            found.append(value.decode("latin-1"))
    return found


# -- WSGI -------------------------------------------------------------------------------------------

#: PEP 3333 keeps these two request headers without the ``HTTP_`` prefix.
_UNPREFIXED: Final = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
#: What Werkzeug accepts as a host (``host_is_trusted``): a name or IPv4, or a bracketed IPv6,
#: with an optional port from 1 to 65535 without leading zeros. Anything else counts as no host.
_WSGI_HOST: Final = re.compile(
    r"(?:[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::(?P<port>[1-9][0-9]{0,4}))?", re.ASCII | re.IGNORECASE
)
_DEFAULT_PORT_SUFFIX: Final = {"http": ":80", "ws": ":80", "https": ":443", "wss": ":443"}
#: Characters left as they are when the path and query are quoted (the WHATWG path-segment and
#: query sets, plus ``%`` for what is quoted already), then what stays quoted when the URI is
#: turned back into an IRI: controls, space, ``%`` and DEL everywhere, plus each part's delimiters.
_PATH_SAFE: Final = "!$&'()*+,/:;=@%"
_QUERY_SAFE: Final = "!$&'()*+,/:;=?@%"
_ALWAYS_QUOTED: Final = frozenset([*range(0x21), 0x25, 0x7F])
_PATH_QUOTED: Final = _ALWAYS_QUOTED | {ord(c) for c in "/?#"}
_QUERY_QUOTED: Final = _ALWAYS_QUOTED | {ord(c) for c in "&=+#"}
_ESCAPES: Final = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _wsgi_text(value: object) -> str:
    """PEP 3333 carries request bytes as latin-1 strings; the path is UTF-8 on the wire."""
    if not isinstance(value, str):
        return ""
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def wsgi_path(environ: Mapping[str, Any]) -> str:
    """The path a WSGI app routes on: ``PATH_INFO`` decoded as UTF-8, ``/`` when empty."""
    return _wsgi_text(environ.get("PATH_INFO", "")) or "/"


def _wsgi_host(environ: Mapping[str, Any], scheme: str) -> str:
    """The request's ``host[:port]`` as Werkzeug's ``get_host`` finds it; ``""`` if invalid."""
    host = environ.get("HTTP_HOST")
    if not isinstance(host, str):
        name = environ.get("SERVER_NAME")
        try:
            port = int(environ.get("SERVER_PORT"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return ""  # a Unix socket
        if not isinstance(name, str):
            return ""  # no host at all (HTTP/1.0 without a server name)
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"
        host = f"{name}:{port}"
    suffix = _DEFAULT_PORT_SUFFIX.get(scheme)
    if suffix is not None:
        host = host.removesuffix(suffix)
    match = _WSGI_HOST.fullmatch(host)
    if match is None or (match["port"] is not None and int(match["port"]) > 65535):
        return ""
    return host


def _unquote_except(value: str, keep: frozenset[int]) -> str:
    """Decode the percent-escapes of ``value`` that are UTF-8 text, except those of ``keep``.

    Escapes of ``keep`` bytes stay as written and invalid UTF-8 stays escaped, so that decoding
    never changes what the URL means.
    """

    def decode(run: re.Match[str]) -> str:
        escapes = run[0]
        out: list[str] = []
        pending = bytearray()
        for index in range(0, len(escapes), 3):
            escape = escapes[index : index + 3]
            byte = int(escape[1:], 16)
            if byte in keep:
                out.append(_decode_utf8(bytes(pending)))
                out.append(escape)
                pending.clear()
            else:
                pending.append(byte)
        out.append(_decode_utf8(bytes(pending)))
        return "".join(out)

    return _ESCAPES.sub(decode, value)


def _decode_utf8(data: bytes) -> str:
    text = data.decode("utf-8", "surrogateescape")
    return "".join(f"%{ord(ch) - 0xDC00:02X}" if 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in text)


def _display_host(host: str) -> str:
    """The host as an IRI shows it: lower-case, punycode labels decoded (as Werkzeug does)."""
    parts = urlsplit(f"//{host}")
    name = parts.hostname or ""
    try:
        name = name.encode("ascii").decode("idna")
    except UnicodeError:
        labels = []
        for label in name.split("."):
            try:
                labels.append(label.encode("ascii").decode("idna"))
            except UnicodeError:
                labels.append(label)
        name = ".".join(labels)
    if ":" in name:
        name = f"[{name}]"
    return name if parts.port is None else f"{name}:{parts.port}"


def wsgi_url(environ: Mapping[str, Any]) -> str:
    """Werkzeug's ``request.url`` for ``environ``: scheme, host, ``SCRIPT_NAME``, ``PATH_INFO``, query.

    Like Werkzeug's, the result is an IRI: percent-escapes of UTF-8 text are decoded, delimiters,
    spaces and controls stay escaped.
    """
    scheme = environ.get("wsgi.url_scheme", "http")
    scheme = scheme if isinstance(scheme, str) else "http"
    host = _display_host(_wsgi_host(environ, scheme))
    root = _wsgi_text(environ.get("SCRIPT_NAME") or "").rstrip("/")
    path = _wsgi_text(environ.get("PATH_INFO") or "").lstrip("/")
    query = environ.get("QUERY_STRING", "")
    quoted_path = quote(root, safe=_PATH_SAFE) + "/" + quote(path, safe=_PATH_SAFE)
    quoted_query = (
        quote(query.encode("latin-1", "replace"), safe=_QUERY_SAFE) if isinstance(query, str) else ""
    )
    return urlunsplit(
        (
            scheme,
            host,
            _unquote_except(quoted_path, _PATH_QUOTED),
            _unquote_except(quoted_query, _QUERY_QUOTED),
            "",
        )
    )


class WSGIRequestView(RequestView):
    """A ``RequestView`` over a PEP 3333 environ (``raw`` is the environ itself).

    WSGI servers join repeated headers into one value, so ``header`` returns at most one value
    (a comma-joined one for a repeated header). Header names with ``_`` and ``-`` share one
    environ key, as they do for every WSGI framework (see SECURITY.md).
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._query = None
        self._environ = environ

    @property
    def method(self) -> str:
        method = self._environ.get("REQUEST_METHOD", "GET")
        return method.upper() if isinstance(method, str) else "GET"

    @property
    def url(self) -> str:
        return wsgi_url(self._environ)

    @property
    def path(self) -> str:
        return wsgi_path(self._environ)

    @property
    def query_string(self) -> str:
        query = self._environ.get("QUERY_STRING", "")
        return query if isinstance(query, str) else ""

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._environ

    def header(self, name: str) -> list[str]:
        key = name.upper().replace("-", "_")
        value = self._environ.get(key if key in _UNPREFIXED else "HTTP_" + key)
        return [value] if isinstance(value, str) else []
