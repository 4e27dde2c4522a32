"""Errors: fixed HTTP meaning per class, RFC 6750-safe descriptions, and never any token content."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

import jwt_middleware
from jwt_middleware import errors, jws
from jwt_middleware.errors import (
    DPoPBindingError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidDPoPProofError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidTokenError,
    JWTMiddlewareError,
    KeysUnavailableError,
    MalformedTokenError,
    MissingTokenError,
    NotYetValidError,
    ReplayStoreFullError,
    RevocationUnavailableError,
    RevokedTokenError,
    StoreUnavailableError,
    TemporarilyUnavailableError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    UseDPoPNonceError,
    VerificationUnavailableError,
    is_safe_description,
)
from tests.core.corpus import CASES, corpus_verifier
from tests.core.support import MARKER, NOW, Keyring, claims, token

# -- HTTP meaning ------------------------------------------------------------------------------------------

EXPECTED_HTTP: dict[type[JWTMiddlewareError], tuple[int, str | None]] = {
    MissingTokenError: (401, None),
    InvalidRequestError: (400, "invalid_request"),
    InvalidTokenError: (401, "invalid_token"),
    MalformedTokenError: (401, "invalid_token"),
    UnsupportedAlgorithmError: (401, "invalid_token"),
    InvalidSignatureError: (401, "invalid_token"),
    UnknownKeyError: (401, "invalid_token"),
    ExpiredTokenError: (401, "invalid_token"),
    NotYetValidError: (401, "invalid_token"),
    InvalidIssuerError: (401, "invalid_token"),
    InvalidAudienceError: (401, "invalid_token"),
    InvalidClaimError: (401, "invalid_token"),
    InsufficientScopeError: (403, "insufficient_scope"),
    KeysUnavailableError: (503, "temporarily_unavailable"),
    TemporarilyUnavailableError: (503, "temporarily_unavailable"),
    VerificationUnavailableError: (503, "temporarily_unavailable"),
    RevokedTokenError: (401, "invalid_token"),
    RevocationUnavailableError: (503, "temporarily_unavailable"),
    StoreUnavailableError: (503, "temporarily_unavailable"),
    DPoPBindingError: (401, "invalid_token"),
    InvalidDPoPProofError: (401, "invalid_dpop_proof"),
    UseDPoPNonceError: (401, "use_dpop_nonce"),
    ReplayStoreFullError: (503, "temporarily_unavailable"),
}
#: Constructor arguments of the classes that need some.
_ARGUMENTS: dict[type[JWTMiddlewareError], tuple[Any, ...]] = {UseDPoPNonceError: ("a-nonce",)}


def _error_classes() -> set[type[JWTMiddlewareError]]:
    found = {getattr(errors, name) for name in errors.__all__}
    return {cls for cls in found if isinstance(cls, type) and issubclass(cls, JWTMiddlewareError)} - {
        JWTMiddlewareError
    }


def test_every_error_class_has_a_documented_status_and_code() -> None:
    assert _error_classes() == set(EXPECTED_HTTP)
    for cls, (status, code) in EXPECTED_HTTP.items():
        error = cls(*_ARGUMENTS.get(cls, ()))
        assert (error.status_code, error.error) == (status, code), cls.__name__
        assert error.description == cls.default_description
        assert str(error) == error.description
        assert repr(error) == f"{cls.__name__}({error.description!r}, code={cls.default_code!r})"
        assert error.code == cls.default_code
        assert error.unverified_claims is None


def test_invalid_token_family_is_one_rfc6750_invalid_token() -> None:
    for cls, (_, code) in EXPECTED_HTTP.items():
        assert issubclass(cls, InvalidTokenError) == (code == "invalid_token")


def test_keys_unavailable_carries_retry_after() -> None:
    assert KeysUnavailableError().retry_after == 5
    assert KeysUnavailableError(retry_after=30).retry_after == 30


def test_insufficient_scope_names_the_configured_scopes_only() -> None:
    error = InsufficientScopeError(scopes=("orders/read",), claim="scope")
    assert error.scopes == error.expected == ("orders/read",)


# -- safe descriptions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("The token has expired", True),
        ("The token's issuer is not accepted", True),
        ('say "hi"', False),
        ("back\\slash", False),
        ("new\nline", False),
        ("caf\u00e9", False),
        ("tab\t", False),
        ("", True),
    ],
)
def test_is_safe_description_follows_rfc6750(text: str, safe: bool) -> None:
    assert is_safe_description(text) is safe


def _description_literals() -> list[tuple[str, str]]:
    """Every literal description passed to a JWTMiddlewareError anywhere in the package.

    f-strings contribute their literal parts; descriptions passed through variables are covered by
    the runtime corpus below.
    """
    names = {cls.__name__ for cls in _error_classes()} | {"JWTMiddlewareError"}
    package = Path(inspect.getfile(jwt_middleware)).parent
    found: list[tuple[str, str]] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name not in names:
                continue
            arguments = [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg == "description")]
            for argument in arguments:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.append((f"{path.name}:{node.lineno}", argument.value))
                elif isinstance(argument, ast.JoinedStr):
                    for part in argument.values:
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            found.append((f"{path.name}:{node.lineno}", part.value))
    return found


def test_every_literal_description_in_the_library_is_rfc6750_safe() -> None:
    literals = _description_literals()
    assert len(literals) >= 25, "the scan found too few descriptions to be looking in the right place"
    unsafe = [(where, text) for where, text in literals if not is_safe_description(text)]
    assert unsafe == []


def test_every_default_and_table_description_is_rfc6750_safe() -> None:
    texts = [cls.default_description for cls in _error_classes()] + list(jws.REJECTED_HEADERS.values())
    assert all(is_safe_description(text) for text in texts)


# -- no token content in errors ----------------------------------------------------------------------------


def _error_texts(error: JWTMiddlewareError) -> list[str]:
    return [
        str(error),
        repr(error),
        error.description,
        *map(str, error.args),
        str(error.claim),
        *error.expected,
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_errors_never_contain_token_content(keyring: Keyring, case: str) -> None:
    build, expected = CASES[case]
    with pytest.raises(expected) as caught:
        corpus_verifier(keyring).verify_sync(build(keyring))
    error = caught.value
    assert type(error) is expected
    assert error.description != "The token could not be verified"  # no internal error on the way
    for text in _error_texts(error):
        assert MARKER not in text
    assert is_safe_description(error.description)
    assert error.unverified_claims is None


def test_expose_unverified_claims_attaches_the_payload_only_when_enabled(keyring: Keyring) -> None:
    expired = token(keyring["EdDSA"], claims(sub=MARKER, exp=int(NOW) - 1))
    with pytest.raises(ExpiredTokenError) as hidden:
        corpus_verifier(keyring).verify_sync(expired)
    assert hidden.value.unverified_claims is None
    with pytest.raises(ExpiredTokenError) as exposed:
        corpus_verifier(keyring, expose_unverified_claims=True).verify_sync(expired)
    assert exposed.value.unverified_claims == claims(sub=MARKER, exp=int(NOW) - 1)
    # Even exposed, the claims stay out of the message.
    assert all(MARKER not in text for text in _error_texts(exposed.value))


@pytest.mark.parametrize(
    ("case", "has_payload"),
    [("issuer-marker", True), ("tampered-payload", True), ("audience-marker", True), ("padding", False)],
)
def test_exposed_claims_are_present_exactly_when_a_payload_was_parsed(
    keyring: Keyring, case: str, has_payload: bool
) -> None:
    build, expected = CASES[case]
    with pytest.raises(expected) as caught:
        corpus_verifier(keyring, expose_unverified_claims=True).verify_sync(build(keyring))
    exposed: Any = caught.value.unverified_claims
    assert (exposed is not None) == has_payload
    if has_payload:
        assert MARKER in str(exposed)
