"""RFC 6750 token extraction: what counts as a token, as no token, or as a malformed request."""

from __future__ import annotations

import pytest

from jwt_middleware.bearer import TokenLocations, extract_token, parse_authorization
from jwt_middleware.errors import ConfigurationError, InvalidRequestError, MissingTokenError
from jwt_middleware.request_auth import SKIP, RequestPolicy

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"


@pytest.mark.parametrize(
    "value",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"BeArEr {TOKEN}",
        f"Bearer   {TOKEN}",
        f"  Bearer {TOKEN}  ",
    ],
)
def test_bearer_scheme_is_case_insensitive_and_allows_several_spaces(value: str) -> None:
    assert parse_authorization(value) == TOKEN


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Digest username=x", "Token abc", "Bearerx"])
def test_other_schemes_carry_no_bearer_token(value: str) -> None:
    if value == "Bearerx":
        with pytest.raises(InvalidRequestError):
            parse_authorization(value)
    else:
        assert parse_authorization(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer ",
        f"Bearer\t{TOKEN}",
        f"Bearer {TOKEN} {TOKEN}",
        f"Bearer {TOKEN}, Bearer {TOKEN}",
        f"Bearer {TOKEN},",
        'Bearer "quoted"',
        "Bearer tok\ten",
        "Bearer a=b",
        "Bearer ==",
        "Bearer tok\x00en",
        "Bearer t\u00f6ken",
    ],
)
def test_malformed_bearer_credentials_are_invalid_requests(value: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_authorization(value)


def test_b64token_characters_and_trailing_padding_are_accepted() -> None:
    assert parse_authorization("Bearer a-b.c_d~e+f/g==") == "a-b.c_d~e+f/g=="


def test_two_authorization_headers_are_an_invalid_request() -> None:
    with pytest.raises(InvalidRequestError):
        extract_token([f"Bearer {TOKEN}", f"Bearer {TOKEN}"])
    with pytest.raises(InvalidRequestError):
        extract_token(["Basic dXNlcjpwYXNz", f"Bearer {TOKEN}"])


def test_no_header_is_no_token() -> None:
    assert extract_token([]) is None


def test_query_and_cookie_tokens_are_ignored_unless_enabled() -> None:
    assert extract_token([], query_string=f"access_token={TOKEN}", cookie_headers=[f"at={TOKEN}"]) is None


def test_query_token_when_enabled() -> None:
    locations = TokenLocations(query_parameter="access_token")
    assert extract_token([], locations=locations, query_string=f"x=1&access_token={TOKEN}") == TOKEN
    with pytest.raises(InvalidRequestError):
        extract_token([], locations=locations, query_string=f"access_token={TOKEN}&access_token={TOKEN}")
    with pytest.raises(InvalidRequestError):
        extract_token([], locations=locations, query_string="access_token=a%20b")


def test_cookie_token_when_enabled() -> None:
    locations = TokenLocations(cookie="at")
    assert extract_token([], locations=locations, cookie_headers=[f"theme=dark; at={TOKEN}"]) == TOKEN
    assert extract_token([], locations=locations, cookie_headers=[f"xat={TOKEN}"]) is None
    with pytest.raises(InvalidRequestError):
        extract_token([], locations=locations, cookie_headers=[f"at={TOKEN}; at={TOKEN}"])


def test_token_in_two_places_is_an_invalid_request() -> None:
    locations = TokenLocations(query_parameter="access_token", cookie="at")
    with pytest.raises(InvalidRequestError):
        extract_token([f"Bearer {TOKEN}"], locations=locations, query_string=f"access_token={TOKEN}")
    with pytest.raises(InvalidRequestError):
        extract_token([f"Bearer {TOKEN}"], locations=locations, cookie_headers=[f"at={TOKEN}"])
    with pytest.raises(InvalidRequestError):
        extract_token(
            [], locations=locations, query_string=f"access_token={TOKEN}", cookie_headers=[f"at={TOKEN}"]
        )


def test_invalid_cookie_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        TokenLocations(cookie="bad name")


class TestRequestPolicy:
    def test_missing_token_raises_unless_optional(self) -> None:
        with pytest.raises(MissingTokenError):
            RequestPolicy().token_for("/", [])
        assert RequestPolicy(optional=True).token_for("/", []) is None

    def test_optional_mode_still_rejects_malformed_credentials(self) -> None:
        with pytest.raises(InvalidRequestError):
            RequestPolicy(optional=True).token_for("/", ["Bearer a b"])

    def test_excluded_paths_are_exact(self) -> None:
        policy = RequestPolicy(exclude_paths=["/health"])
        assert policy.token_for("/health", []) is SKIP
        with pytest.raises(MissingTokenError):
            policy.token_for("/health/x", [])
        with pytest.raises(MissingTokenError):
            policy.token_for("/healthz", [])

    def test_excluded_prefixes_stop_at_segment_boundaries(self) -> None:
        policy = RequestPolicy(exclude_prefixes=["/public/"])
        assert policy.token_for("/public", []) is SKIP
        assert policy.token_for("/public/docs/x", []) is SKIP
        with pytest.raises(MissingTokenError):
            policy.token_for("/publicity", [])

    @pytest.mark.parametrize("path", ["/public/../admin", "/public/./x", "/public//x", "/public/.."])
    def test_paths_with_dot_or_empty_segments_are_never_excluded(self, path: str) -> None:
        policy = RequestPolicy(exclude_prefixes=["/public"])
        with pytest.raises(MissingTokenError):
            policy.token_for(path, [])

    def test_a_token_that_reads_skip_is_just_a_token(self) -> None:
        assert RequestPolicy().token_for("/", ["Bearer skip"]) == "skip"

    def test_realm_must_be_quotable(self) -> None:
        with pytest.raises(ConfigurationError):
            RequestPolicy(realm='a"b')


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "=",
        "==",
        "a",
        "a=",
        "a==",
        "a=b",
        "=a",
        "a b",
        "a\tb",
        "a,b",
        'a"b',
        "a\\b",
        "é",
        "a\x00",
        "-._~+/",
        "A" * 5000,
    ],
)
def test_the_fast_b64token_check_is_exactly_the_rfc_6750_grammar(candidate: str) -> None:
    import re

    from jwt_middleware.bearer import is_b64token

    grammar = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
    assert is_b64token(candidate) == (grammar.fullmatch(candidate) is not None)
