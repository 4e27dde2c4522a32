"""The URI a DPoP proof's ``htu`` is compared with, in RFC 3986's normal form. Pure, no I/O.

RFC 9449 section 4.3 compares ``htu`` with the request's URI "ignoring any query and fragment
parts"; section 4.2 asks for syntax- and scheme-based normalisation (RFC 3986 sections 6.2.2 and
6.2.3) first, so that ``HTTPS://API.example:443/a/./b`` and ``https://api.example/a/b`` are the
same target. Both sides go through ``normalize_uri``; anything it cannot put in normal form
(another scheme, user information, a malformed escape or port) is ``None`` and matches nothing.

Which URI the request was sent to is a deployment fact: behind a proxy or load balancer the
application sees its own address, not the one the client signed. ``target_uri`` therefore takes
the external base URL from configuration, and reads ``X-Forwarded-*`` headers only when told to
(any client can send them; only a proxy that overwrites them makes them true).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final
from urllib.parse import urlsplit

from jwt_middleware.errors import ConfigurationError

__all__ = ["MAX_URI_LENGTH", "check_base_url", "normalize_uri", "target_uri"]

#: The longest URI compared; an ``htu`` or a request URI beyond it matches nothing.
MAX_URI_LENGTH: Final = 4096
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: RFC 3986 section 2.3.
_UNRESERVED: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: What a path may hold unescaped: unreserved, sub-delims, ":", "@" and "/" (RFC 3986 section 3.3).
_PATH_CHARACTERS: Final = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")
_HEX_DIGITS: Final = frozenset(b"0123456789ABCDEFabcdef")
#: Controls, space and DEL: never in a URI (``urlsplit`` would drop tabs and newlines silently).
_FORBIDDEN: Final = re.compile(r"[\x00-\x20\x7f]")
#: Normal forms already computed, by exact input: a service has few URIs, each seen many times.
_NORMAL_FORMS: dict[str, str | None] = {}
_NORMAL_FORMS_SIZE: Final = 1024
#: A trailing ``:port`` of an authority (after an IPv6 literal's bracket, if any).
_HOST_PORT: Final = re.compile(r":[0-9]*$")
_HOST: Final = re.compile(r"[a-z0-9.\-]+|[0-9a-f:.]*:[0-9a-f:.]*")


def _normal_path(path: str) -> str | None:
    """Escapes upper-cased, unreserved ones decoded, other characters escaped (as UTF-8)."""
    data = path.encode("utf-8", "surrogatepass")
    out: list[str] = []
    index = 0
    while index < len(data):
        byte = data[index]
        if byte == 0x25:  # "%"
            digits = data[index + 1 : index + 3]
            if len(digits) != 2 or not all(digit in _HEX_DIGITS for digit in digits):
                return None
            value = int(digits, 16)
            out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
            index += 3
            continue
        out.append(chr(byte) if byte in _PATH_CHARACTERS else f"%{byte:02X}")
        index += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on an absolute path."""
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.rsplit("/", 1)[-1] in {".", ".."}
    return "/" + "/".join(output) + ("/" if trailing and output else "")


def normalize_uri(uri: str) -> str | None:
    """``uri`` (absolute ``http``/``https``) in normal form, without query and fragment; else ``None``.

    Scheme and host lower-cased, the default port dropped, an empty path made ``/``, escapes of
    unreserved characters decoded and the others upper-cased, dot segments removed.
    """
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        return None
    try:
        return _NORMAL_FORMS[uri]
    except KeyError:
        pass
    normal = _normal_form(uri)
    if len(_NORMAL_FORMS) >= _NORMAL_FORMS_SIZE:
        _NORMAL_FORMS.clear()  # cheaper than LRU bookkeeping; a dict operation is atomic
    _NORMAL_FORMS[uri] = normal
    return normal


def _normal_form(uri: str) -> str | None:
    if _FORBIDDEN.search(uri):
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or "@" in parts.netloc or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if _HOST.fullmatch(host) is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normal_path(parts.path or "/")
    if path is None or not path.startswith("/"):
        return None
    return f"{scheme}://{authority}{_remove_dot_segments(path)}"


def check_base_url(base_url: str | None) -> str | None:
    """A configured external base URL: absolute http(s), no query or fragment; ``None`` stays."""
    if base_url is None:
        return None
    normal = normalize_uri(base_url) if isinstance(base_url, str) else None
    if normal is None or "?" in base_url or "#" in base_url:
        raise ConfigurationError(
            "dpop_base_url must be the absolute http(s) URL clients reach this service at, "
            "such as https://api.example.com (no query or fragment)"
        )
    return normal.rstrip("/")


def _last(values: Sequence[str]) -> str | None:
    """The value the nearest proxy set: the right-most of a comma-separated list."""
    if not values:
        return None
    value = values[-1].rsplit(",", 1)[-1].strip(" \t")
    return value or None


def target_uri(
    url: str,
    header: Callable[[str], Sequence[str]],
    *,
    base_url: str | None = None,
    trust_forwarded: bool = False,
) -> str | None:
    """The normalised URI a client had to sign for the request received as ``url``.

    With ``base_url`` (already checked by ``check_base_url``), the request's path is appended to
    it; with ``trust_forwarded``, ``X-Forwarded-Proto``, ``-Host``, ``-Port`` and ``-Prefix``
    replace what the server saw (the right-most value of each, the one the nearest proxy wrote).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if base_url is not None:
        return normalize_uri(base_url + (parts.path or "/"))
    if trust_forwarded:
        scheme = _last(header("x-forwarded-proto")) or parts.scheme
        host = _last(header("x-forwarded-host")) or parts.netloc
        port = _last(header("x-forwarded-port"))
        if port is not None:
            host = _HOST_PORT.sub("", host) + f":{port}"
        prefix = (_last(header("x-forwarded-prefix")) or "").rstrip("/")
        if prefix and not prefix.startswith("/"):
            return None
        return normalize_uri(f"{scheme}://{host}{prefix}{parts.path or '/'}")
    return normalize_uri(url)
