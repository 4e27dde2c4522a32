"""Edges of credential reading and of the RFC 6750 answer that the mutation run found unguarded.

See tests/MUTATION.md. The custom token header (AWS ALB's ``x-amzn-oidc-data``), the query and
cookie locations through ``TokenLocations.read``, and the exact bytes ``error_response`` sends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from jwt_middleware.bearer import (
    TokenLocations,
    check_header_name,
    extract_header_token,
    extract_token,
    is_b64token,
    parse_authorization,
    parse_raw_token,
)
from jwt_middleware.challenge import (
    bearer_challenge,
    check_realm,
    check_scope_tokens,
    error_response,
    safe_description,
)
from jwt_middleware.errors import (
    ConfigurationError,
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    KeysUnavailableError,
    MissingTokenError,
)

TOKEN = "aaa.bbb.ccc"


# -- the custom token header ------------------------------------------------------------------


def test_token_header_names_are_http_tokens_and_lower_cased() -> None:
    assert check_header_name("X-Amzn-OIDC-Data") == "x-amzn-oidc-data"
    assert TokenLocations(header="X-Token").header == "x-token"
    for bad in ("x token", "", "x:token", 42):
        with pytest.raises(ConfigurationError):
            check_header_name(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Authorization", "AUTHORIZATION", "authorization"])
def test_the_authorization_header_cannot_be_the_custom_one(name: str) -> None:
    with pytest.raises(ConfigurationError, match="read by default"):
        check_header_name(name)


@pytest.mark.parametrize("other", [{"query_parameter": "access_token"}, {"cookie": "at"}])
def test_a_token_header_stands_alone(other: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="cannot be combined"):
        TokenLocations(header="x-token", **other)


def test_a_raw_token_is_trimmed_and_checked() -> None:
    assert parse_raw_token(f" \t{TOKEN} ") == TOKEN
    assert parse_raw_token("aGVhZA==.cGF5.c2ln") == "aGVhZA==.cGF5.c2ln"  # ALB pads every segment
    with pytest.raises(InvalidRequestError, match="empty"):
        parse_raw_token("  ")
    with pytest.raises(InvalidRequestError, match="malformed"):
        parse_raw_token("Bearer abc")


def test_the_custom_header_is_read_once() -> None:
    assert extract_header_token([]) is None
    assert extract_header_token([TOKEN]) == TOKEN
    with pytest.raises(InvalidRequestError) as refused:
        extract_header_token([TOKEN, TOKEN])
    assert refused.value.description == "The request has more than one token header"


# -- locations through read(): only what is configured is looked at ------------------------------


class Request:
    """Header values by lower-case name, and a query string, counting what was read."""

    def __init__(self, headers: dict[str, list[str]], query: str = "") -> None:
        self.headers = headers
        self.query = query
        self.asked: list[str] = []

    def header(self, name: str) -> Sequence[str]:
        self.asked.append(name)
        return self.headers.get(name, [])

    def query_string(self) -> str:
        self.asked.append("?")
        return self.query


def test_read_looks_only_where_it_is_told() -> None:
    request = Request({"authorization": [f"Bearer {TOKEN}"], "cookie": ["at=x"]}, "access_token=y")
    assert TokenLocations().read(request.header, request.query_string) == TOKEN
    assert request.asked == ["authorization"]
    custom = Request({"x-token": [TOKEN], "authorization": ["Bearer other"]})
    assert TokenLocations(header="X-Token").read(custom.header, custom.query_string) == TOKEN
    assert custom.asked == ["x-token"]


def test_read_finds_query_and_cookie_tokens_when_enabled() -> None:
    query = Request({}, f"access_token={TOKEN}")
    assert TokenLocations(query_parameter="access_token").read(query.header, query.query_string) == TOKEN
    assert query.asked == ["authorization", "?"]
    cookie = Request({"cookie": [f"at={TOKEN}"]})
    assert TokenLocations(cookie="at").read(cookie.header, cookie.query_string) == TOKEN
    assert cookie.asked == ["authorization", "cookie"]
    both = Request({"authorization": [f"Bearer {TOKEN}"], "cookie": [f"at={TOKEN}"]})
    with pytest.raises(InvalidRequestError, match="more than one place"):
        TokenLocations(cookie="at").read(both.header, both.query_string)


def test_an_empty_query_token_is_malformed_not_absent() -> None:
    locations = TokenLocations(query_parameter="access_token")
    with pytest.raises(InvalidRequestError, match="malformed"):
        extract_token([], locations=locations, query_string="access_token=")


def test_two_of_one_kind_say_which_kind() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        extract_token([f"Bearer {TOKEN}", f"Bearer {TOKEN}"])
    assert refused.value.description == "The request has more than one Authorization header"
    with pytest.raises(InvalidRequestError) as refused:
        extract_token([], locations=TokenLocations(cookie="at"), cookie_headers=["at=a; at=b"])
    assert refused.value.description == "The request has more than one token cookie"
    locations = TokenLocations(query_parameter="access_token")
    with pytest.raises(InvalidRequestError) as refused:
        extract_token([], locations=locations, query_string="access_token=a&access_token=b")
    assert refused.value.description == "The request has more than one access token in the query string"


def test_a_token_outside_latin_1_is_no_b64token() -> None:
    assert not is_b64token("abc€")
    with pytest.raises(InvalidRequestError):
        parse_authorization("Bearer abc€")


# -- the answer -----------------------------------------------------------------------------------


def test_realms_and_scopes_are_checked_where_they_are_configured() -> None:
    for realm in ("", 'a"b', "a\\b", 7):
        with pytest.raises(ConfigurationError):
            check_realm(realm)  # type: ignore[arg-type]
    assert check_realm("api") == "api"
    for scope in ("a b", 'a"b', "", 5):
        with pytest.raises(ConfigurationError):
            check_scope_tokens([scope])  # type: ignore[list-item]


def test_an_unsafe_description_is_replaced_everywhere() -> None:
    error = InvalidTokenError('The "token" is bad')
    assert safe_description(error) == "Authentication failed"
    answer = error_response(error, "api")
    headers = dict(answer.headers)
    assert json.loads(answer.body) == {"error": "invalid_token", "error_description": "Authentication failed"}
    assert headers["www-authenticate"].endswith('error_description="Authentication failed"')


def test_the_401_answer_byte_for_byte() -> None:
    answer = error_response(InvalidTokenError("The token is invalid"), "api")
    body = b'{"error":"invalid_token","error_description":"The token is invalid"}'
    assert answer.status_code == 401
    assert answer.body == body
    assert answer.headers == (
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        (
            "www-authenticate",
            'Bearer realm="api", error="invalid_token", error_description="The token is invalid"',
        ),
        ("content-length", str(len(body))),
    )


def test_a_bare_challenge_has_no_error_in_the_body() -> None:
    answer = error_response(MissingTokenError(), "api")
    assert json.loads(answer.body) == {"error_description": "Authentication is required"}
    assert dict(answer.headers)["www-authenticate"] == 'Bearer realm="api"'


def test_the_503_answer_has_retry_after_and_no_challenge() -> None:
    answer = error_response(KeysUnavailableError(retry_after=7), "api")
    assert answer.status_code == 503
    headers = dict(answer.headers)
    assert headers["retry-after"] == "7"
    assert "www-authenticate" not in headers
    assert json.loads(answer.body)["error"] == "temporarily_unavailable"


def test_a_scope_challenge_names_the_scopes() -> None:
    challenge = bearer_challenge("api", InsufficientScopeError(scopes=("orders:read", "orders:write")))
    assert str(challenge) == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The token lacks the required scope", scope="orders:read orders:write"'
    )


def _read(value: str) -> str | None:
    """What a request with this ``Authorization`` value authenticates with: a token, or none."""
    try:
        return parse_authorization(value)
    except InvalidRequestError:
        return None


@pytest.mark.parametrize("space", ["\x0b", "\x0c", "\xa0", "\u2003"])
def test_only_spaces_and_tabs_surround_a_token(space: str) -> None:
    # RFC 9110 optional whitespace is SP and HTAB; anything else is part of the value, and is no
    # b64token character: such a credential is never read as the token.
    for value in (f"Bearer {TOKEN}{space}", f"Bearer {space}{TOKEN}", f"{space}Bearer {TOKEN}"):
        assert _read(value) is None, repr(value)
    assert _read(f" \tBearer  {TOKEN}\t ") == TOKEN
    with pytest.raises(InvalidRequestError):
        parse_raw_token(f"{TOKEN}{space}")


def test_nothing_but_spaces_and_tabs_is_trimmed() -> None:
    # The token's own first and last characters are kept, whatever they are.
    assert parse_authorization("Bearer XabcX") == "XabcX"
    assert parse_raw_token("XabcX") == "XabcX"
