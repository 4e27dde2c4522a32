"""The sign-in cookies: their names, attributes, sizes, and how a large token is split.

Every cookie is ``HttpOnly`` (scripts never see a token), ``SameSite=Lax`` (cross-site
sub-requests and form posts do not carry it; top-level navigations do, which the callback needs)
and ``Path=/``. With ``secure_cookies`` they are also ``Secure`` and carry the ``__Host-`` prefix,
which a browser accepts only from a secure origin, for the exact host, without ``Domain``: a
sibling subdomain can then neither read nor overwrite them. Only the CSRF cookie of the optional
double-submit check is readable by scripts, since echoing it in a header is its whole point.

Browsers keep about 4 kB per cookie and servers cap the whole ``Cookie`` header (8 kB is common),
so a token is stored in one cookie when it fits and split over at most ``MAX_PARTS`` numbered
cookies otherwise; anything larger is refused with ``CookieTooLargeError``, never truncated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from jwt_middleware.errors import ConfigurationError

__all__ = [
    "MAX_COOKIE_BYTES",
    "MAX_PARTS",
    "CookieNames",
    "CookieTooLargeError",
    "CookieWriter",
    "read_split",
]

#: RFC 6265 6.1: browsers must keep at least 4096 bytes of name, value and attributes per cookie.
MAX_COOKIE_BYTES: Final = 4096
#: Room kept for the attributes (``; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=...``).
_ATTRIBUTE_ROOM: Final = 120
#: A token may span this many cookies at most (about 11 kB): more would break servers' header limits.
MAX_PARTS: Final = 3


class CookieTooLargeError(ConfigurationError):
    """A token does not fit the cookies it must be stored in (``MAX_PARTS`` of ``MAX_COOKIE_BYTES``)."""


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The cookie names of one ``SignIn``: ``__Host-`` prefixed when the cookies are ``Secure``."""

    session: str
    refresh: str
    login: str
    csrf: str

    @classmethod
    def for_prefix(cls, name: str, *, secure: bool) -> CookieNames:
        prefix = "__Host-" if secure else ""
        return cls(
            session=f"{prefix}{name}_session",
            refresh=f"{prefix}{name}_refresh",
            login=f"{prefix}{name}_login",
            csrf=f"{prefix}{name}_csrf",
        )


def _part_name(name: str, index: int) -> str:
    return name if index == 0 else f"{name}.{index}"


def read_split(cookie: Callable[[str], str | None], name: str) -> str | None:
    """A value stored with ``CookieWriter.split``: the cookie ``name``, then ``name.1``, ``name.2``."""
    first = cookie(name)
    if first is None:
        return None
    parts = [first]
    for index in range(1, MAX_PARTS):
        part = cookie(_part_name(name, index))
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


class CookieWriter:
    """Builds ``Set-Cookie`` values with one set of attributes."""

    __slots__ = ("secure",)

    def __init__(self, *, secure: bool) -> None:
        self.secure = secure

    def _attributes(self, *, http_only: bool, max_age: int | None) -> str:
        attributes = "; Path=/"
        if self.secure:
            attributes += "; Secure"
        if http_only:
            attributes += "; HttpOnly"
        attributes += "; SameSite=Lax"
        if max_age is not None:
            attributes += f"; Max-Age={max_age}"
        return attributes

    def set(self, name: str, value: str, *, max_age: int | None = None, http_only: bool = True) -> str:
        """One cookie; raises ``CookieTooLargeError`` when it would not be kept whole."""
        header = f"{name}={value}{self._attributes(http_only=http_only, max_age=max_age)}"
        if len(header.encode()) > MAX_COOKIE_BYTES:
            raise CookieTooLargeError(
                f"the {name} cookie would be {len(header.encode())} bytes; browsers keep {MAX_COOKIE_BYTES}"
            )
        return header

    def split(self, name: str, value: str, *, max_age: int | None = None) -> list[str]:
        """``value`` in as few cookies as it fits (at most ``MAX_PARTS``), unused parts cleared."""
        room = MAX_COOKIE_BYTES - _ATTRIBUTE_ROOM - len(name) - len(".0=")
        parts = [value[start : start + room] for start in range(0, len(value), room)] or [""]
        if len(parts) > MAX_PARTS:
            raise CookieTooLargeError(
                f"a {len(value)}-byte token does not fit in {MAX_PARTS} cookies of {MAX_COOKIE_BYTES} bytes; "
                "store the smaller token (session_token='access') or ask the provider for fewer claims"
            )
        headers = [
            self.set(_part_name(name, index), part, max_age=max_age) for index, part in enumerate(parts)
        ]
        headers.extend(self.clear(_part_name(name, index)) for index in range(len(parts), MAX_PARTS))
        return headers

    def clear(self, name: str) -> str:
        return f"{name}={self._attributes(http_only=True, max_age=0)}"

    def clear_split(self, name: str) -> list[str]:
        return [self.clear(_part_name(name, index)) for index in range(MAX_PARTS)]

    def clear_all(self, names: Iterable[str]) -> list[str]:
        return [header for name in names for header in self.clear_split(name)]
