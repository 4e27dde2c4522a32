"""RFC 9449's proof checks, one attack at a time: each is refused with its own error and code.

Every case starts from a request that is accepted (``test_the_baseline_is_accepted``) and breaks
exactly one thing, so a case can only pass because the check it names refused it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from jwt_middleware import JWTVerifier, b64, reasons
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.authenticator import BearerAuthenticator
from jwt_middleware.dpop import DPoPNonce
from jwt_middleware.errors import (
    DPoPBindingError,
    InvalidDPoPProofError,
    JWTMiddlewareError,
    UseDPoPNonceError,
)
from jwt_middleware.request_view import RequestView
from jwt_middleware.testing import DPoPKey, SigningKey
from tests.dpop.conftest import URL, TokenFactory, request


def _signed(
    key: DPoPKey, header: dict[str, Any], payload: dict[str, Any], signer: SigningKey | None = None
) -> str:
    """A proof with exactly this header and payload, signed by ``signer`` (default: the key)."""
    signing_input = ".".join(b64.encode(json.dumps(part).encode()) for part in (header, payload))
    signature = (signer or key.signing_key).sign(signing_input.encode())
    return f"{signing_input}.{b64.encode(signature)}"


def _payload(token: str, **changes: Any) -> dict[str, Any]:
    from jwt_middleware.dpop import access_token_hash

    payload: dict[str, Any] = {"jti": "j-1", "htm": "GET", "htu": URL, "iat": int(time.time())}
    payload["ath"] = access_token_hash(token)
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


@dataclass(frozen=True)
class Attack:
    """One way to break a DPoP request: builds the request from (key, bound token)."""

    name: str
    build: Callable[[DPoPKey, str], RequestView]
    error: type[JWTMiddlewareError]
    code: str


def _proof_request(
    make: Callable[[DPoPKey, str], str], method: str = "GET", url: str = URL
) -> Callable[[DPoPKey, str], RequestView]:
    def build(key: DPoPKey, token: str) -> RequestView:
        return request(method, url, token=token, proofs=[make(key, token)])

    return build


def _weak_rsa_proof(key: DPoPKey, token: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=1024), alg="RS256")  # noqa: S505
    jwk = {k: v for k, v in weak.public_jwk(include_alg=False, use=None).items() if k in ("kty", "n", "e")}
    return _signed(key, {"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}, _payload(token), signer=weak)


def _padded_jwk_proof(key: DPoPKey, token: str) -> str:
    jwk = dict(key.jwk, x=key.jwk["x"] + "=")
    return _signed(key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}, _payload(token))


def _hmac_proof(key: DPoPKey, token: str) -> str:
    import hashlib
    import hmac

    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64.encode(b"secret" * 4)}}
    signing_input = ".".join(b64.encode(json.dumps(part).encode()) for part in (header, _payload(token)))
    mac = hmac.new(b"secret" * 4, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64.encode(mac)}"


def _none_proof(key: DPoPKey, token: str) -> str:
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk}
    # A signature segment, or the proof is merely malformed (an empty one is refused earlier).
    return ".".join(b64.encode(json.dumps(part).encode()) for part in (header, _payload(token))) + ".AAAA"


def _private_jwk_proof(key: DPoPKey, token: str) -> str:
    private = key.signing_key.private_key
    d = private.private_numbers().private_value.to_bytes(32, "big")  # type: ignore[union-attr]
    jwk = dict(key.jwk, d=b64.encode(d))
    return _signed(key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}, _payload(token))


def _symmetric_jwk_proof(key: DPoPKey, token: str) -> str:
    return _signed(
        key, {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}, _payload(token)
    )


def _other_key_signature(key: DPoPKey, token: str) -> str:
    return _signed(
        key,
        {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk},
        _payload(token),
        SigningKey.generate("ES256"),
    )


def _alg_of_another_curve(key: DPoPKey, token: str) -> str:
    return _signed(
        key,
        {"typ": "dpop+jwt", "alg": "ES384", "jwk": key.jwk},
        _payload(token),
        SigningKey.generate("ES384"),
    )


def _two_proofs(key: DPoPKey, token: str) -> RequestView:
    return request(token=token, proofs=[key.proof("GET", URL, token), key.proof("GET", URL, token)])


def _folded_proofs(key: DPoPKey, token: str) -> RequestView:
    return request(token=token, proofs=[key.proof("GET", URL, token) + ", " + key.proof("GET", URL, token)])


ATTACKS = [
    Attack(
        "no proof", lambda key, token: request(token=token), InvalidDPoPProofError, reasons.DPOP_PROOF_MISSING
    ),
    Attack("two proof headers", _two_proofs, InvalidDPoPProofError, reasons.DPOP_PROOF_MULTIPLE),
    Attack(
        "two proofs folded into one header",
        _folded_proofs,
        InvalidDPoPProofError,
        reasons.DPOP_PROOF_MULTIPLE,
    ),
    Attack(
        "oversized proof",
        _proof_request(lambda key, token: key.proof("GET", URL, token, claims={"pad": "x" * 9000})),
        InvalidDPoPProofError,
        reasons.DPOP_PROOF_TOO_LARGE,
    ),
    Attack(
        "not a JWS",
        _proof_request(lambda key, token: "not-a-jws"),
        InvalidDPoPProofError,
        reasons.DPOP_PROOF_MALFORMED,
    ),
    Attack(
        "padded base64url",
        _proof_request(lambda key, token: key.proof("GET", URL, token).replace(".", "=.", 1)),
        InvalidDPoPProofError,
        reasons.DPOP_PROOF_MALFORMED,
    ),
    Attack(
        "no jwk",
        _proof_request(lambda key, token: key.proof("GET", URL, token, headers={"jwk": None})),
        InvalidDPoPProofError,
        reasons.DPOP_JWK_MISSING,
    ),
    *(
        Attack(
            f"no {claim}",
            _proof_request(
                lambda key, token, claim=claim: key.proof("GET", URL, token, claims={claim: None})
            ),
            InvalidDPoPProofError,
            reasons.DPOP_CLAIM_MISSING,
        )
        for claim in ("jti", "htm", "htu", "iat")
    ),
    Attack(
        "iat as a string",
        _proof_request(lambda key, token: key.proof("GET", URL, token, iat="1700000000")),  # type: ignore[arg-type]
        InvalidDPoPProofError,
        reasons.DPOP_CLAIM_INVALID,
    ),
    Attack(
        "overlong jti",
        _proof_request(lambda key, token: key.proof("GET", URL, token, jti="j" * 257)),
        InvalidDPoPProofError,
        reasons.DPOP_CLAIM_INVALID,
    ),
    Attack(
        "typ JWT",
        _proof_request(lambda key, token: key.proof("GET", URL, token, headers={"typ": "JWT"})),
        InvalidDPoPProofError,
        reasons.DPOP_TYP_MISMATCH,
    ),
    Attack("alg none", _proof_request(_none_proof), InvalidDPoPProofError, reasons.DPOP_ALG_NOT_ALLOWED),
    Attack(
        "alg HS256 with a symmetric key",
        _proof_request(_hmac_proof),
        InvalidDPoPProofError,
        reasons.DPOP_ALG_NOT_ALLOWED,
    ),
    Attack(
        "private key in jwk",
        _proof_request(_private_jwk_proof),
        InvalidDPoPProofError,
        reasons.DPOP_JWK_PRIVATE,
    ),
    Attack(
        "symmetric jwk", _proof_request(_symmetric_jwk_proof), InvalidDPoPProofError, reasons.DPOP_JWK_INVALID
    ),
    Attack("weak RSA key", _proof_request(_weak_rsa_proof), InvalidDPoPProofError, reasons.DPOP_JWK_INVALID),
    Attack(
        "padded key member",
        _proof_request(_padded_jwk_proof),
        InvalidDPoPProofError,
        reasons.DPOP_JWK_INVALID,
    ),
    Attack(
        "alg of another curve",
        _proof_request(_alg_of_another_curve),
        InvalidDPoPProofError,
        reasons.DPOP_JWK_INVALID,
    ),
    Attack(
        "signed by another key",
        _proof_request(_other_key_signature),
        InvalidDPoPProofError,
        reasons.DPOP_SIGNATURE_INVALID,
    ),
    Attack(
        "wrong htm",
        _proof_request(lambda key, token: key.proof("POST", URL, token)),
        InvalidDPoPProofError,
        reasons.DPOP_HTM_MISMATCH,
    ),
    Attack(
        "htm in lower case",
        _proof_request(lambda key, token: key.proof("get", URL, token)),
        InvalidDPoPProofError,
        reasons.DPOP_HTM_MISMATCH,
    ),
    *(
        Attack(
            f"wrong htu: {what}",
            _proof_request(lambda key, token, htu=htu: key.proof("GET", URL, token, claims={"htu": htu})),
            InvalidDPoPProofError,
            reasons.DPOP_HTU_MISMATCH,
        )
        for what, htu in (
            ("scheme", "http://api.example.com/orders"),
            ("host", "https://api.example.org/orders"),
            ("port", "https://api.example.com:8443/orders"),
            ("path", "https://api.example.com/invoices"),
            ("trailing slash", "https://api.example.com/orders/"),
            ("query smuggling", "https://api.example.com/orders?x=1"),
            ("fragment", "https://api.example.com/orders#x"),
            ("escaped question mark", "https://api.example.com/orders%3Fx"),
            ("user information", "https://user@api.example.com/orders"),
            ("relative", "/orders"),
            ("malformed escape", "https://api.example.com/%zzorders"),
        )
    ),
    Attack(
        "stale iat",
        _proof_request(lambda key, token: key.proof("GET", URL, token, iat=time.time() - 306)),
        InvalidDPoPProofError,
        reasons.DPOP_IAT_TOO_OLD,
    ),
    Attack(
        "future iat",
        _proof_request(lambda key, token: key.proof("GET", URL, token, iat=time.time() + 306)),
        InvalidDPoPProofError,
        reasons.DPOP_IAT_IN_FUTURE,
    ),
    Attack(
        "missing ath",
        _proof_request(lambda key, token: key.proof("GET", URL)),
        InvalidDPoPProofError,
        reasons.DPOP_ATH_MISSING,
    ),
    Attack(
        "ath of another token",
        _proof_request(lambda key, token: key.proof("GET", URL, token + "x")),
        InvalidDPoPProofError,
        reasons.DPOP_ATH_MISMATCH,
    ),
]


def _bound(key: DPoPKey, make_token: TokenFactory) -> str:
    return make_token(key)


def test_the_baseline_is_accepted(verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory) -> None:
    token = _bound(dpop_key, make_token)
    claims = verifier.verify_dpop_sync(
        token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)])
    )
    assert claims.subject == "alice"


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_each_attack_is_refused_with_its_own_code(
    attack: Attack, verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    with pytest.raises(attack.error) as refused:
        verifier.verify_dpop_sync(token, attack.build(dpop_key, token))
    assert refused.value.code == attack.code
    assert refused.value.scheme == "DPoP"


@pytest.mark.anyio
@pytest.mark.parametrize("attack", ATTACKS[:6], ids=[attack.name for attack in ATTACKS[:6]])
async def test_the_async_path_refuses_the_same(
    attack: Attack, verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    with pytest.raises(attack.error) as refused:
        await verifier.verify_dpop(token, attack.build(dpop_key, token))
    assert refused.value.code == attack.code


def test_a_replayed_proof_is_refused(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    proof = dpop_key.proof("GET", URL, token)
    verifier.verify_dpop_sync(token, request(token=token, proofs=[proof]))
    with pytest.raises(InvalidDPoPProofError) as refused:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[proof]))
    assert refused.value.code == reasons.DPOP_REPLAYED
    # The token itself is cached; a new proof for it still passes.
    verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))


def test_the_proof_key_must_be_the_one_the_token_is_bound_to(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(DPoPKey.generate(), make_token)
    with pytest.raises(DPoPBindingError) as refused:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    assert (refused.value.code, refused.value.error) == (reasons.DPOP_KEY_MISMATCH, "invalid_token")


def test_a_proof_on_a_bearer_token_is_refused(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token()
    with pytest.raises(DPoPBindingError) as refused:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    assert refused.value.code == reasons.DPOP_TOKEN_UNBOUND


def test_a_bound_token_sent_as_bearer_is_refused_even_once_cached(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    with pytest.raises(DPoPBindingError) as first:
        verifier.verify_sync(token)
    assert first.value.code == reasons.TOKEN_SENDER_CONSTRAINED
    verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    with pytest.raises(DPoPBindingError):
        verifier.verify_sync(token)  # now from the token cache: still refused
    assert verifier.cached_claims(token) is None
    assert verifier.cached_entry(token) is None


@pytest.mark.parametrize("cnf", [["jkt"], {"jkt": 7}, {"jkt": "short"}, {"x5t#S256": "A" * 43}])
def test_a_malformed_or_unknown_confirmation_is_refused_both_ways(
    cnf: Any, verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(cnf=cnf)
    with pytest.raises(JWTMiddlewareError) as bearer:
        verifier.verify_sync(token)
    with pytest.raises(JWTMiddlewareError) as dpop:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    expected = reasons.CNF_UNSUPPORTED if isinstance(cnf, dict) and "x5t#S256" in cnf else reasons.CNF_INVALID
    assert bearer.value.code == dpop.value.code == expected


SIGNING_ALGORITHMS = sorted(ALGORITHMS)


@pytest.mark.parametrize("alg", SIGNING_ALGORITHMS)
def test_a_valid_proof_of_every_allowed_algorithm_is_accepted(
    alg: str, verifier: JWTVerifier, make_token: TokenFactory
) -> None:
    key = DPoPKey.generate(alg)
    token = make_token(key)
    claims = verifier.verify_dpop_sync(
        token, request("POST", URL, token=token, proofs=[key.proof("POST", URL, token)])
    )
    assert claims["cnf"] == {"jkt": key.thumbprint}


def test_dpop_algorithms_narrow_what_proofs_may_use(jwks: dict[str, Any], make_token: TokenFactory) -> None:
    from tests.dpop.conftest import AUDIENCE, ISSUER

    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_algorithms=["EdDSA"])
    key = DPoPKey.generate("ES256")
    token = make_token(key)
    with pytest.raises(InvalidDPoPProofError) as refused:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[key.proof("GET", URL, token)]))
    assert refused.value.code == reasons.DPOP_ALG_NOT_ALLOWED


@pytest.mark.parametrize(
    "htu",
    [
        "HTTPS://API.EXAMPLE.COM/orders",
        "https://api.example.com:443/orders",
        "https://api.example.com/./orders",
        "https://api.example.com/x/../orders",
        "https://api.example.com/%6Frders",
    ],
)
def test_equivalent_uris_match_after_normalisation(
    htu: str, verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    proof = dpop_key.proof("GET", URL, token, claims={"htu": htu})
    verifier.verify_dpop_sync(token, request(token=token, proofs=[proof]))


def test_the_query_of_the_request_is_ignored(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = _bound(dpop_key, make_token)
    proof = dpop_key.proof("GET", URL + "?page=2", token)
    verifier.verify_dpop_sync(token, request("GET", URL + "?page=2", token=token, proofs=[proof]))


# -- nonces -------------------------------------------------------------------------------------------


def test_server_nonces_are_required_then_accepted(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from tests.dpop.conftest import AUDIENCE, ISSUER

    clock = [1_000_000.0]
    nonces = DPoPNonce(secret=b"s" * 32, lifetime=60, clock=lambda: clock[0])
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_nonce=nonces)
    token = _bound(dpop_key, make_token)
    with pytest.raises(UseDPoPNonceError) as asked:
        verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
    nonce = asked.value.nonce
    assert asked.value.headers == (("dpop-nonce", nonce),)
    assert asked.value.code == reasons.DPOP_NONCE_REQUIRED
    proof = dpop_key.proof("GET", URL, token, nonce)
    verifier.verify_dpop_sync(token, request(token=token, proofs=[proof]))
    with pytest.raises(UseDPoPNonceError):  # a nonce that is not the server's
        verifier.verify_dpop_sync(
            token, request(token=token, proofs=[dpop_key.proof("GET", URL, token, nonce[:-2] + "AA")])
        )


def test_nonces_rotate_and_stay_valid_for_one_more_period() -> None:
    clock = [6_000.0]
    nonces = DPoPNonce(secret="a shared secret, 16+ bytes", lifetime=60, clock=lambda: clock[0])
    first = nonces.current()
    assert nonces.is_valid(first)
    clock[0] += 60
    assert nonces.current() != first
    assert nonces.is_valid(first)
    clock[0] += 60
    assert not nonces.is_valid(first)
    other = DPoPNonce(secret="another shared secret, 16+ bytes", lifetime=60, clock=lambda: clock[0])
    assert not other.is_valid(nonces.current())
    assert DPoPNonce(secret="a shared secret, 16+ bytes", lifetime=60, clock=lambda: clock[0]).is_valid(
        nonces.current()
    )


# -- policy -------------------------------------------------------------------------------------------


def test_required_refuses_bearer_tokens(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from tests.dpop.conftest import AUDIENCE, ISSUER

    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop="required")
    with pytest.raises(DPoPBindingError) as refused:
        verifier.verify_sync(make_token())
    assert refused.value.code == reasons.DPOP_REQUIRED
    token = _bound(dpop_key, make_token)
    verifier.verify_dpop_sync(token, request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))


def test_disabled_treats_the_dpop_scheme_as_no_credentials(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from tests.dpop.conftest import AUDIENCE, ISSUER

    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop="disabled")
    token = _bound(dpop_key, make_token)
    authenticator = BearerAuthenticator(verifier)
    assert (
        authenticator.authenticate_sync(request(token=token, proofs=[dpop_key.proof("GET", URL, token)]))
        is None
    )
    with pytest.raises(DPoPBindingError):
        verifier.verify_sync(token)  # and a bound token is still never a bearer one
    assert verifier.verify_sync(make_token()).subject == "alice"
