"""One exchange with an authorization server's endpoint: a form POST, bounded, retried with backoff.

The token and introspection endpoints are both form POSTs authenticated as the client
(``client_auth``) and answered with a JSON object. The request goes through ``fetching.fetch_bytes``,
the library's one bounded HTTP primitive: one total deadline that a trickling server cannot
stretch, a size limit counted while streaming, no redirects, failures named by reason code.

What is worth trying again is decided once, here: a transport failure, a 5xx, a 408 or 429, or a
200 whose body is not a JSON object (an HTML page from a gateway) is transient, and the exchange
tries again after a short backoff while its deadline allows; an OAuth error (400, 401, 403 with
its ``error``) is the server's considered answer, returned at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

import anyio

from jwt_middleware.fetching import FetchError, fetch_bytes
from jwt_middleware.oauth.errors import oauth_error_code
from jwt_middleware.reasons import FETCH_CONNECT, FETCH_HTTP_STATUS, FETCH_NETWORK, FETCH_TIMEOUT
from jwt_middleware.safe_json import FrozenDict, JSONError, parse_object

if TYPE_CHECKING:
    import httpx2

__all__ = ["MAX_ANSWER_BYTES", "RETRY_DELAYS", "EndpointAnswer", "exchange"]

#: Seconds to wait before the second and third attempts of one exchange.
RETRY_DELAYS: Final = (0.1, 0.4)
#: A token or introspection answer is a few hundred bytes; anything near this is not one.
MAX_ANSWER_BYTES: Final = 64 * 1024
_EVERY_STATUS: Final = frozenset(range(100, 600))
_TRANSIENT_FETCH_CODES: Final = frozenset({FETCH_CONNECT, FETCH_NETWORK, FETCH_TIMEOUT, FETCH_HTTP_STATUS})
_TRANSIENT_STATUSES: Final = frozenset({408, 429})
_FORM_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class EndpointAnswer:
    """What the endpoint answered: its status and, when the body was a JSON object, that object."""

    status: int
    document: FrozenDict | None

    @property
    def transient(self) -> bool:
        """Whether asking again soon may get a better answer."""
        return (
            self.status >= 500
            or self.status in _TRANSIENT_STATUSES
            or (self.status == 200 and self.document is None)
        )

    @property
    def oauth_error(self) -> str | None:
        """The RFC 6749 5.2 ``error`` code of an error answer, when it is a plain code."""
        return oauth_error_code(self.document.get("error")) if self.document is not None else None


async def _post_once(
    client: httpx2.AsyncClient, url: str, body: bytes, auth: httpx2.Auth, timeout: float
) -> EndpointAnswer:
    fetched = await fetch_bytes(
        client,
        url,
        timeout=timeout,
        max_bytes=MAX_ANSWER_BYTES,
        method="POST",
        content=body,
        headers=_FORM_HEADERS,
        auth=auth,
        statuses=_EVERY_STATUS,
    )
    try:
        document: FrozenDict | None = parse_object(fetched.body)
    except JSONError:
        document = None
    return EndpointAnswer(fetched.status, document)


async def exchange(
    client: httpx2.AsyncClient,
    url: str,
    form: Sequence[tuple[str, str]],
    *,
    auth: httpx2.Auth,
    deadline: float,
) -> EndpointAnswer:
    """POST ``form`` to ``url`` as the client ``auth`` authenticates, until ``deadline``.

    ``deadline`` is a ``time.monotonic()`` instant. Transient failures are retried after
    ``RETRY_DELAYS`` while time remains; the last answer is returned, or the last ``FetchError``
    raised (``fetch.timeout`` once the deadline has passed).
    """
    body = urlencode(form).encode()
    failure: FetchError | None = None
    answer: EndpointAnswer | None = None
    for delay in (0.0, *RETRY_DELAYS):
        remaining = deadline - time.monotonic()
        if delay:
            if remaining <= delay:
                break
            await anyio.sleep(delay)
            remaining -= delay
        if remaining <= 0:
            break
        try:
            answer = await _post_once(client, url, body, auth, remaining)
        except FetchError as exc:
            if exc.code not in _TRANSIENT_FETCH_CODES:
                raise
            failure, answer = exc, None
            continue
        if not answer.transient:
            return answer
        failure = None
    if answer is not None:
        return answer
    raise failure or FetchError("timed out", code=FETCH_TIMEOUT)
