"""``Challenge``: the public way an authenticator shapes ``WWW-Authenticate`` (RFC 9110 11.6.1)."""

from __future__ import annotations

import pytest

from jwt_middleware import ConfigurationError, InvalidTokenError, KeysUnavailableError, MissingTokenError
from jwt_middleware.challenge import (
    Challenge,
    bearer_challenge,
    bearer_challenges,
    error_response,
    render_challenges,
    www_authenticate,
)
from jwt_middleware.errors import JWTMiddlewareError


def test_a_challenge_renders_its_scheme_and_parameters_in_order() -> None:
    challenge = Challenge("DPoP", (("algs", "ES256 PS256"), ("error", "invalid_dpop_proof")))
    assert str(challenge) == 'DPoP algs="ES256 PS256", error="invalid_dpop_proof"'
    assert str(Challenge("Negotiate")) == "Negotiate"


def test_parameters_can_be_added_after_the_existing_ones() -> None:
    challenge = bearer_challenge("api").with_params(resource_metadata="https://api.example/.well-known/x")
    assert str(challenge) == 'Bearer realm="api", resource_metadata="https://api.example/.well-known/x"'


@pytest.mark.parametrize(
    ("scheme", "params"),
    [
        ("Bearer realm", ()),
        ("", ()),
        ("Bearer", (("realm", 'a"b'),)),
        ("Bearer", (("realm", "a\\b"),)),
        ("Bearer", (("realm", "line\r\nSet-Cookie: x=y"),)),
        ("Bearer", (("realm", "caf\u00e9"),)),
        ("Bearer", (("bad name", "x"),)),
        ("Bearer", (("", "x"),)),
    ],
)
def test_nothing_that_could_break_the_header_is_accepted(
    scheme: str, params: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(ConfigurationError):
        Challenge(scheme, params)


def test_several_challenges_share_one_header_value() -> None:
    both = [Challenge("DPoP", (("algs", "ES256"),)), bearer_challenge("api")]
    assert render_challenges(both) == 'DPoP algs="ES256", Bearer realm="api"'


def test_the_bearer_challenge_is_unchanged() -> None:
    error = InvalidTokenError("The token is invalid")
    assert www_authenticate("api", error) == str(bearer_challenge("api", error))
    assert www_authenticate("api") == 'Bearer realm="api"'
    assert bearer_challenges(MissingTokenError(), "api") == (bearer_challenge("api"),)


def test_error_response_uses_the_given_challenges() -> None:
    def challenges(error: JWTMiddlewareError, realm: str) -> tuple[Challenge, ...]:
        return (Challenge("ApiKey", (("realm", realm),)), *bearer_challenges(error, realm))

    answer = error_response(InvalidTokenError(), "orders", challenges)
    assert dict(answer.headers)["www-authenticate"] == (
        'ApiKey realm="orders", Bearer realm="orders", error="invalid_token", '
        'error_description="The token is invalid"'
    )
    # A 503 is a server-side failure: Retry-After, never a challenge to sign in again.
    unavailable = dict(error_response(KeysUnavailableError(), "orders", challenges).headers)
    assert "www-authenticate" not in unavailable
    assert unavailable["retry-after"] == "5"
