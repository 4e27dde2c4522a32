"""Request-level attacks through both real middlewares, and the hygiene of every error response.

Two sweeps: every request shape of ``corpus_http`` (exact status and error code), then every token
of the whole catalogue sent as ``Authorization: Bearer <token>`` (never a 5xx, never an acceptance
the verifier itself would refuse, and an RFC 6750 answer whose description is a fixed library
sentence without quotes, backslashes or any part of the input).
"""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import JWTMiddlewareError, JWTVerifier
from jwt_middleware.bearer import parse_authorization
from jwt_middleware.errors import InvalidRequestError
from tests.security import corpus_http
from tests.security.catalogue import Case, HttpCase
from tests.security.http_driver import Answer, asgi_request, check_error_response, wsgi_request
from tests.security.kit import Kit
from tests.security.test_corpus import TOKEN_CASES, verifier_for

HTTP_CASES: list[HttpCase] = corpus_http.CASES


def _check(answer: Answer, case: HttpCase) -> None:
    assert answer.status == case.status, (case.name, answer.status, answer.body)
    if answer.status == 200:
        assert answer.body == b"ok"
        return
    error, _ = check_error_response(answer)
    assert error == case.error, (case.name, error)


@pytest.mark.anyio
@pytest.mark.parametrize("case", HTTP_CASES, ids=[case.name for case in HTTP_CASES])
async def test_request_shape_asgi(kit: Kit, case: HttpCase) -> None:
    token = kit.token()
    answer = await asgi_request(kit.verifier(), case.headers(token), case.query(token), **case.options)
    _check(answer, case)


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case.name for case in HTTP_CASES])
def test_request_shape_wsgi(kit: Kit, case: HttpCase) -> None:
    token = kit.token()
    answer = wsgi_request(kit.verifier(), case.headers(token), case.query(token), **case.options)
    _check(answer, case)


# -- the whole token catalogue through the middlewares -------------------------------------------------

SENDABLE: list[Case] = [case for case in TOKEN_CASES if case.verifier != "jws"]


def _header_value(token: Any) -> str | None:
    if isinstance(token, bytes):
        token = token.decode("latin-1")
    if not isinstance(token, str):
        return None
    try:
        token.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return f"Bearer {token}"


def _expected(verifier: JWTVerifier, header: str) -> tuple[int, str | None]:
    """What the middleware must answer: computed from the verifier on the token the header carries."""
    try:
        token = parse_authorization(header)
    except InvalidRequestError:
        return 400, "invalid_request"
    assert token is not None
    try:
        verifier.verify_sync(token)
    except JWTMiddlewareError as error:
        return error.status_code, error.error
    return 200, None


def _judge(answer: Answer, expected: tuple[int, str | None], case: Case, token: Any) -> None:
    assert answer.status < 500, case.name
    if case.expect is not None and answer.status == 200:
        # The only way a refused token may pass is as whitespace-padded genuine token (header OWS).
        assert isinstance(token, str | bytes)
        text = token.decode("latin-1") if isinstance(token, bytes) else token
        assert text != text.strip(" \t"), f"FALSE ACCEPT through the middleware: {case.name}"
    assert (answer.status, None if answer.status == 200 else check_error_response(answer)[0]) == expected, (
        case.name
    )


@pytest.mark.anyio
async def test_every_catalogue_token_through_asgi(kit: Kit) -> None:
    sent = 0
    for case in SENDABLE:
        token = case.build(kit)
        header = _header_value(token)
        if header is None:
            continue
        verifier = verifier_for(kit, case)
        expected = _expected(verifier_for(kit, case), header)
        answer = await asgi_request(verifier, [("authorization", header)])
        _judge(answer, expected, case, token)
        sent += 1
    assert sent > 0.9 * len(SENDABLE)


def test_every_catalogue_token_through_wsgi(kit: Kit) -> None:
    sent = 0
    for case in SENDABLE:
        token = case.build(kit)
        header = _header_value(token)
        if header is None:
            continue
        verifier = verifier_for(kit, case)
        expected = _expected(verifier_for(kit, case), header)
        answer = wsgi_request(verifier, [("authorization", header)])
        _judge(answer, expected, case, token)
        sent += 1
    assert sent > 0.9 * len(SENDABLE)


def test_the_description_check_has_teeth() -> None:
    # The sentence check must refuse anything the library does not contain verbatim.
    from tests.security.http_driver import is_library_sentence

    assert is_library_sentence("The token has expired")
    assert is_library_sentence("The request has more than one Authorization header")
    assert not is_library_sentence("The token has expired: eyJhbGciOi")
    assert not is_library_sentence('kid "../../etc/passwd" unknown')
