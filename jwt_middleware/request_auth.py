"""Per-request authentication policy shared by every adapter: skip, anonymous, or authenticate.

The adapters differ only in how they read a request and send a response. What to do with a
request (excluded path? credentials found? anonymous allowed?) is decided here, once: an excluded
path is never authenticated, and a request in which the ``Authenticator`` finds no credentials
passes anonymously only in optional mode.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from jwt_middleware.bearer import TokenLocations, extract_header_token, extract_token
from jwt_middleware.challenge import check_realm
from jwt_middleware.errors import ConfigurationError, MissingTokenError

__all__ = ["SKIP", "HeaderReader", "RequestPolicy", "Skip", "environ_headers"]

#: Every value of one request header, by lower-case name: how each adapter lets the policy read
#: exactly the headers it needs, from whatever request object the framework has.
HeaderReader = Callable[[str], Sequence[str]]


def environ_headers(environ: Mapping[str, Any]) -> HeaderReader:
    """A ``HeaderReader`` over a WSGI environ (or Django's ``request.META``), per PEP 3333."""

    def read(name: str) -> Sequence[str]:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        return [value] if isinstance(value, str) else []

    return read


def _no_query() -> str:
    return ""


class Skip(enum.Enum):
    """A type of its own, so that no token string can ever be mistaken for "skip this request"."""

    SKIP = enum.auto()


#: Returned by ``RequestPolicy.token_for`` for a path that is not authenticated at all.
SKIP: Final = Skip.SKIP

_DOT_SEGMENTS: Final = ("/./", "/../", "//")


class RequestPolicy:
    """Which requests are authenticated at all, and whether anonymous ones may pass.

    ``exclude_paths`` match exactly; ``exclude_prefixes`` match a path segment boundary (``/public``
    covers ``/public`` and ``/public/x``, not ``/publicity``). A path with dot segments or empty
    segments is never excluded: routers disagree on whether ``/health/../admin`` is ``/admin``, so
    such a path is authenticated rather than guessed about.

    Where a token comes from is the authenticator's concern (``BearerAuthenticator`` takes the
    same ``query_parameter``, ``cookie`` and ``header``). They are accepted here too, as
    ``token_locations``, for code that reads tokens with ``token_for``/``token_from`` directly.
    """

    __slots__ = (
        "bearer_only",
        "exclude_paths",
        "exclude_prefixes",
        "has_exclusions",
        "header",
        "locations",
        "optional",
        "realm",
        "token_locations",
    )

    def __init__(
        self,
        *,
        realm: str = "api",
        exclude_paths: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        optional: bool = False,
        query_parameter: str | None = None,
        cookie: str | None = None,
        header: str | None = None,
    ) -> None:
        self.realm = check_realm(realm)
        self.token_locations = TokenLocations(query_parameter=query_parameter, cookie=cookie, header=header)
        #: The lower-cased name of the header carrying the raw token, or ``None`` for bearer tokens.
        self.header = self.token_locations.header
        self.exclude_paths = frozenset(exclude_paths)
        prefixes = []
        for prefix in exclude_prefixes:
            if not prefix.startswith("/"):
                raise ConfigurationError("exclude_prefixes must start with '/'")
            prefixes.append(prefix.rstrip("/"))
        self.exclude_prefixes = tuple(prefixes)
        self.optional = optional
        #: Whether any path is excluded (so the per-request check can be skipped when none is).
        self.has_exclusions = bool(self.exclude_paths or self.exclude_prefixes)
        #: The query and cookie locations, ``None`` when neither is enabled.
        locations = self.token_locations
        self.locations = locations if locations.query_parameter or locations.cookie else None
        #: Tokens come only from a single ``Authorization`` header (no query, cookie or custom header).
        self.bearer_only = self.token_locations.bearer_only

    def is_excluded(self, path: str) -> bool:
        if not self.has_exclusions:
            return False
        if any(segment in path for segment in _DOT_SEGMENTS) or path.endswith(("/.", "/..")):
            return False
        if path in self.exclude_paths:
            return True
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.exclude_prefixes)

    def admit_anonymous(self) -> None:
        """Let a request without credentials through (optional mode) or raise ``MissingTokenError``.

        Every adapter calls this when its authenticator found no credentials in a request.
        """
        if not self.optional:
            raise MissingTokenError()

    def token_for(
        self,
        path: str,
        authorization: Sequence[str],
        *,
        query_string: str = "",
        cookie_headers: Sequence[str] = (),
        header_values: Sequence[str] = (),
    ) -> str | Skip | None:
        """The token to verify; ``SKIP`` for excluded paths; ``None`` for an allowed anonymous request.

        ``header_values`` are the values of the configured token header (ignored without one).
        Raises ``MissingTokenError`` (401) or ``InvalidRequestError`` (400).
        """
        if self.is_excluded(path):
            return SKIP
        if self.header is not None:
            token = extract_header_token(header_values)
        else:
            token = extract_token(
                authorization,
                locations=self.locations,
                query_string=query_string,
                cookie_headers=cookie_headers,
            )
        if token is None:
            self.admit_anonymous()
        return token

    def token_from(
        self, path: str, header: HeaderReader, query_string: Callable[[], str] = _no_query
    ) -> str | Skip | None:
        """``token_for``, reading only the headers (and query) this policy looks at."""
        if self.is_excluded(path):
            return SKIP
        token = self.token_locations.read(header, query_string)
        if token is None:
            self.admit_anonymous()
        return token
