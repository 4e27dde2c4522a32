"""Fuzzing: exhaustive single-character mutations, and property tests over arbitrary input.

Bounded profile (every run, deterministic): every single-character substitution, insertion and
deletion of a short EdDSA token and a short ES256 token over a representative alphabet, then a few
hundred Hypothesis examples per property. Long profile (``-m fuzz_long --fuzz-long`` or
``JWT_MIDDLEWARE_FUZZ_LONG=1``): the same mutations over every Latin-1 character and for RS256 and
Ed448 tokens too, and tens of thousands of random examples per property.

Exceptions a single change cannot produce, constructed on purpose below: the ECDSA twin signature
(r, n - s) of a genuine token changes about half of the signature's characters; it verifies, and is
accepted by design (see SECURITY.md, non-goals). The EdDSA analogue (R, S + L) is refused.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Final
from urllib.parse import parse_qs

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwt_middleware import JWTMiddlewareError, JWTVerifier, KeySet, b64
from jwt_middleware.bearer import parse_authorization
from jwt_middleware.errors import InvalidRequestError
from jwt_middleware.testing import SigningKey, encode_compact
from tests.security.http_driver import asgi_request, check_error_response, wsgi_request
from tests.security.kit import (
    AUDIENCE,
    CURVE_ORDERS,
    CURVE_SIZES,
    ISSUER,
    NOW,
    attempt,
    get_kit,
    with_signature,
)

INTERNAL_ERROR: Final = "The token could not be verified"
BASE64URL: Final = string.ascii_letters + string.digits + "-_"
#: Every base64url character, the separators and padding of other encodings, whitespace, controls,
#: quoting characters and a few non-ASCII characters.
REPRESENTATIVE: Final = BASE64URL + '.=+/ \t\n\r\x00\x7f"\\,;:{}%é\u2028\uff0e'
EVERY_LATIN1: Final = "".join(chr(code) for code in range(256)) + "\u2028\uff0e\U0001f600"

BOUNDED: Final = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG: Final = settings(
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- exhaustive single-character mutations ----------------------------------------------------------------


def short_token(alg: str) -> tuple[str, KeySet]:
    """A small genuine token (one-letter kid, no typ, three claims) and the key set that verifies it."""
    kit = get_kit()
    source = {"EdDSA": kit.ed25519, "ES256": kit.es256, "RS256": kit.rs256, "Ed448": kit.ed448}[alg]
    key = SigningKey(source.private_key, alg=alg, kid="k")
    token = encode_compact({"iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 60}, key, headers={"typ": None})
    return token, KeySet.from_jwks({"keys": [key.public_jwk()]})


def mutations(token: str, alphabet: str) -> Iterator[str]:
    """Every deletion, substitution and insertion of one character, each candidate once."""
    seen = {token}
    for position in range(len(token) + 1):
        candidates = [token[:position] + char + token[position:] for char in alphabet]
        if position < len(token):
            candidates.append(token[:position] + token[position + 1 :])
            candidates.extend(token[:position] + char + token[position + 1 :] for char in alphabet)
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def assert_every_mutation_is_rejected(alg: str, alphabet: str) -> Counter[str]:
    token, keys = short_token(alg)
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keys, clock=lambda: float(NOW))
    assert verifier.verify_sync(token)  # the control, now in the token cache
    errors: Counter[str] = Counter()
    count = 0
    for candidate in mutations(token, alphabet):
        count += 1
        claims, error = attempt(verifier.verify_sync, candidate)
        assert error is not None, f"FALSE ACCEPT: mutation {candidate!r} of {token!r} -> {dict(claims)!r}"
        assert error.description != INTERNAL_ERROR, candidate
        errors[type(error).__name__] += 1
    expected = len(token) * (2 * len(alphabet) + 1) + len(alphabet)
    assert count > 0.95 * expected, (count, expected)  # only duplicate candidates are skipped
    assert verifier.verify_sync(token)
    return errors


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_every_single_character_mutation_is_rejected(alg: str) -> None:
    errors = assert_every_mutation_is_rejected(alg, REPRESENTATIVE)
    # Mutations land in every layer: shape, encoding, JSON/claims and the signature.
    assert errors["MalformedTokenError"], errors
    assert errors["InvalidSignatureError"], errors


@pytest.mark.fuzz_long
@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "Ed448"])
def test_every_single_character_mutation_is_rejected_long(alg: str) -> None:
    assert_every_mutation_is_rejected(alg, EVERY_LATIN1)


def test_byte_level_mutations_of_the_token_bytes_are_rejected() -> None:
    token, keys = short_token("ES256")
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keys, clock=lambda: float(NOW))
    raw = token.encode("ascii")
    for position in range(len(raw)):
        for bit in range(8):
            mutated = bytearray(raw)
            mutated[position] ^= 1 << bit
            with pytest.raises(JWTMiddlewareError) as caught:
                verifier.verify_sync(bytes(mutated))  # type: ignore[arg-type]
            assert caught.value.description != INTERNAL_ERROR


# -- the exceptions no single change can produce -------------------------------------------------------------


def test_ecdsa_twin_signature_is_accepted_by_design_and_is_far_from_any_single_change() -> None:
    for alg, attribute in (("ES256", "es256"), ("ES384", "es384"), ("ES512", "es512")):
        kit = get_kit()
        token = kit.token(getattr(kit, attribute))
        size = CURVE_SIZES[alg]
        signature = b64.decode(token.rsplit(".", 1)[1])
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        twin = with_signature(token, r.to_bytes(size, "big") + (CURVE_ORDERS[alg] - s).to_bytes(size, "big"))
        assert kit.verifier().verify_sync(twin) == kit.verifier().verify_sync(token)
        differing = sum(1 for a, b in zip(token, twin, strict=True) if a != b)
        assert differing > size // 2, differing


def test_eddsa_non_canonical_s_is_refused() -> None:
    kit = get_kit()
    token = kit.token()
    signature = b64.decode(token.rsplit(".", 1)[1])
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(signature[32:], "little")
    twin = with_signature(token, signature[:32] + (s + order).to_bytes(32, "little"))
    with pytest.raises(JWTMiddlewareError):
        kit.verifier().verify_sync(twin)


# -- properties of the verifier over arbitrary input --------------------------------------------------------


def _verifier() -> JWTVerifier:
    return get_kit().verifier()


def check_only_library_errors(token: Any) -> None:
    claims, error = attempt(_verifier().verify_sync, token)
    assert error is not None, f"FALSE ACCEPT of fuzzed input {token!r}: {dict(claims)!r}"
    assert error.description != INTERNAL_ERROR, repr(token)


@BOUNDED
@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_library_errors(raw: bytes) -> None:
    check_only_library_errors(raw)


@BOUNDED
@given(text=st.text(max_size=512))
def test_arbitrary_text_raises_only_library_errors(text: str) -> None:
    check_only_library_errors(text)


_JSON: Final = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_HEADER_VALUES: Final = st.fixed_dictionaries(
    {"alg": st.sampled_from(["EdDSA", "ES256", "RS256", "none", "HS256", "Ed448"]) | _JSON},
    optional={
        "kid": st.sampled_from(["okp-ed25519", "ec-p256", "rsa-rs256"]) | _JSON,
        "crit": _JSON,
        "typ": _JSON,
    },
)
_CLAIMS: Final = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([ISSUER, ISSUER + "/"]) | _JSON,
        "aud": st.sampled_from([AUDIENCE, [AUDIENCE], []]) | _JSON,
        "exp": st.sampled_from([NOW + 60, NOW - 1]) | _JSON,
        "nbf": _JSON,
        "iat": _JSON,
    },
).flatmap(
    lambda claims: st.dictionaries(st.text(max_size=8), _JSON, max_size=3).map(
        lambda extra: {**extra, **claims}
    )
)


def _segment(value: Any) -> str:
    return b64.encode(json.dumps(value).encode())


@BOUNDED
@given(header=_HEADER_VALUES, claims=_CLAIMS, signature=st.binary(max_size=300))
def test_structured_tokens_with_random_signatures_are_never_accepted(
    header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    check_only_library_errors(f"{_segment(header)}.{_segment(claims)}.{b64.encode(signature) or 'A'}")


def check_signed_claims(claims: dict[str, Any]) -> None:
    """Genuinely signed arbitrary claims: accepted only when every rule holds, never a crash."""
    kit = get_kit()
    token = encode_compact(claims, kit.ed25519)
    result, error = attempt(_verifier().verify_sync, token)
    if error is not None:
        assert error.description != INTERNAL_ERROR, claims
        return
    assert result == claims
    assert claims["iss"] == ISSUER
    audience = claims["aud"]
    assert audience == AUDIENCE or (isinstance(audience, list) and AUDIENCE in audience)
    assert type(claims["exp"]) in (int, float)
    assert claims["exp"] > NOW


@BOUNDED
@given(claims=_CLAIMS)
def test_genuinely_signed_arbitrary_claims_follow_the_policy(claims: dict[str, Any]) -> None:
    check_signed_claims(claims)


# -- arbitrary requests through both middlewares -------------------------------------------------------------

_SCHEMES: Final = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer,", "Bearer\t"])
_GAPS: Final = st.sampled_from(["", " ", "  ", "\t", ", ", ","])


def _authorization_values(token: str) -> st.SearchStrategy[str]:
    pieces = st.sampled_from([token, token[:20], token + "=", token.replace(".", ". "), '"' + token + '"'])
    return st.builds(
        lambda scheme, gap, piece, tail: f"{scheme}{gap}{piece}{tail}",
        _SCHEMES,
        _GAPS,
        pieces | st.text(alphabet=REPRESENTATIVE, max_size=30),
        st.sampled_from(["", " ", ",", ", Bearer x", "\x00"]) | st.text(max_size=5),
    )


def _requests() -> st.SearchStrategy[tuple[list[tuple[str, str]], str]]:
    token = get_kit().token()
    latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=40)
    # Header and query bytes as a server hands them over: UTF-8 on the wire, read as Latin-1.
    value = (_authorization_values(token) | latin1).map(lambda text: text.encode().decode("latin-1"))
    header = st.tuples(st.sampled_from(["authorization", "cookie", "x-other"]), value)
    query = (
        st.sampled_from(["", f"access_token={token}", "access_token=", "access_token=a&access_token=b"])
        | latin1
    )
    return st.tuples(st.lists(header, max_size=3), query.map(lambda text: text.encode().decode("latin-1")))


def _presented(headers: list[tuple[str, str]], query: str, *, folded: bool) -> list[str | None]:
    """Every token the request presents, by an independent reading of its three places.

    ``folded``: WSGI servers join repeated headers with ", ", so a WSGI app sees one value.
    """
    found: list[str | None] = []
    authorization = [value for name, value in headers if name == "authorization"]
    if folded and authorization:
        authorization = [", ".join(authorization)]
    if len(authorization) > 1:
        found.extend([None, None])
    elif authorization:
        try:
            token = parse_authorization(authorization[0])
        except InvalidRequestError:
            token = "malformed"
        if token is not None:
            found.append(token)
    found.extend(parse_qs(query, keep_blank_values=True).get("access_token", []))
    for name, value in headers:
        if name == "cookie":
            for pair in value.split(";"):
                key, sep, cookie = pair.strip(" \t").partition("=")
                if sep and key == "at":
                    found.append(cookie.strip('"'))
    return found


def _judge_request(
    answer: Any, headers: list[tuple[str, str]], query: str, valid_token: str, *, folded: bool
) -> None:
    assert answer.status in (200, 400, 401), answer.status
    if answer.status == 200:
        # Only the genuine token, alone, in exactly one place may be accepted.
        assert _presented(headers, query, folded=folded) == [valid_token], (headers, query)
        return
    check_error_response(answer)


def check_request(headers: list[tuple[str, str]], query: str) -> None:
    kit = get_kit()
    valid = kit.token()
    options: dict[str, Any] = {"query_parameter": "access_token", "cookie": "at"}
    asgi = anyio.run(lambda: asgi_request(kit.verifier(), headers, query, **options))
    wsgi = wsgi_request(kit.verifier(), headers, query, **options)
    _judge_request(asgi, headers, query, valid, folded=False)
    _judge_request(wsgi, headers, query, valid, folded=True)


@BOUNDED
@given(request=_requests())
def test_arbitrary_requests_never_give_a_5xx_or_a_leaky_error(
    request: tuple[list[tuple[str, str]], str],
) -> None:
    check_request(*request)


# -- the long profile of every property -------------------------------------------------------------


def _long(check: Callable[..., None], **strategies: Any) -> Any:
    return pytest.mark.fuzz_long(LONG(given(**strategies)(check)))


test_arbitrary_bytes_long = _long(check_only_library_errors, token=st.binary(max_size=4096))
test_arbitrary_text_long = _long(check_only_library_errors, token=st.text(max_size=4096))
test_genuinely_signed_arbitrary_claims_long = _long(check_signed_claims, claims=_CLAIMS)


def check_request_pair(request: tuple[list[tuple[str, str]], str]) -> None:
    check_request(*request)


test_arbitrary_requests_long = _long(check_request_pair, request=_requests())
