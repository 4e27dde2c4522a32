"""Algorithm and header attacks: ``none``, HMAC with the public key, key/alg mismatches, embedded
keys, key URLs (offline part), ``kid`` injection, ``crit``, ``b64``, ``zip``, nesting, JWE and the
JSON serialization (CVE-2022-39227)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jwt_middleware import (
    InvalidSignatureError,
    MalformedTokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    b64,
)
from jwt_middleware.testing import SigningKey
from tests.security.catalogue import Case
from tests.security.kit import (
    MARKER,
    Kit,
    b64json,
    dumps,
    hmac_token,
    jwk_text,
    signed_segments,
    standard_b64,
    with_signature,
)

CATEGORY: Final = "Algorithm and header"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []


def case(name: str, how: str, expect: Any, rule: str, build: Callable[[Kit], Any], **extra: Any) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule, **extra))


# -- positive controls: one valid token per supported algorithm --------------------------------------

for attribute in ("rs256", "ps256", "es256", "es384", "es512", "ed25519", "ed448"):
    case(
        f"control-valid-{attribute}",
        f"a valid token signed by the published {attribute} key",
        None,
        "positive control",
        lambda k, attribute=attribute: k.token(getattr(k, attribute)),
    )
case(
    "control-valid-rsa-key-without-alg-ps256",
    "PS256 token under an RSA JWK without 'alg' (an RSA key verifies RS* and PS*)",
    None,
    "positive control; RFC 7517 §4.4",
    lambda k: k.token(SigningKey(k.rsa_any.private_key, alg="PS256", kid="rsa-any")),
)

# -- alg: none (CVE-2015-9235) --------------------------------------------------------------------

_NONE_SPELLINGS: Final = {
    "none": "none",
    "none-capitalised": "None",
    "none-upper": "NONE",
    "none-mixed": "nOnE",
    "none-trailing-space": "none ",
    "none-leading-space": " none",
    "none-nul": "none\u0000",
    "none-cyrillic": "\u043d\u043e\u043d\u0435",
}
for label, spelling in _NONE_SPELLINGS.items():
    case(
        f"alg-{label}-unsigned",
        f"alg {spelling!r} with an empty signature segment",
        MalformedTokenError,
        "RFC 8725 §3.1; CVE-2015-9235",
        lambda k, spelling=spelling: k.raw(k.header(alg=spelling)).rsplit(".", 1)[0] + ".",
    )
    case(
        f"alg-{label}-with-signature",
        f"alg {spelling!r} followed by a genuine Ed25519 signature",
        UnsupportedAlgorithmError,
        "RFC 8725 §3.1; CVE-2015-9235",
        lambda k, spelling=spelling: k.raw(k.header(alg=spelling)),
    )
case(
    "alg-none-signature-of-garbage",
    "alg none with a non-empty arbitrary signature",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1",
    lambda k: with_signature(k.raw(k.header(alg="none")), b"\x00"),
)

# -- alg missing, non-string, mis-cased -----------------------------------------------------------

case(
    "alg-missing",
    "header without 'alg'",
    MalformedTokenError,
    "RFC 7515 §4.1.1",
    lambda k: k.raw(k.header(alg=None)),
)
for label, value in {
    "null": None,
    "integer": 256,
    "true": True,
    "list": ["EdDSA"],
    "object": {"EdDSA": True},
    "empty-list": [],
}.items():
    case(
        f"alg-{label}",
        f"'alg' is {json.dumps(value)}",
        MalformedTokenError,
        "RFC 7515 §4.1.1",
        lambda k, value=value: k.raw(json.dumps({**k.header(), "alg": value}).encode()),
    )
_MISSPELLINGS: Final = {
    "lower-eddsa": "eddsa",
    "upper-eddsa": "EDDSA",
    "lower-rs256": "rs256",
    "mixed-rs256": "Rs256",
    "lower-es256": "es256",
    "trailing-space-eddsa": "EdDSA ",
    "lower-ed25519": "ed25519",
}
for label, spelling in _MISSPELLINGS.items():
    case(
        f"alg-case-{label}",
        f"alg {spelling!r}: algorithm names are case-sensitive and exact",
        UnsupportedAlgorithmError,
        "RFC 7515 §4.1.1; RFC 7518 §3.1",
        lambda k, spelling=spelling: k.raw(k.header(alg=spelling)),
    )
for unknown in ("HS256", "RSA-OAEP", "dir", "ES256K", "RS1", "PS256 ", "A256GCM"):
    case(
        f"alg-unsupported-{unknown.strip().lower()}",
        f"alg {unknown!r}: not an asymmetric signature algorithm we implement",
        UnsupportedAlgorithmError,
        "RFC 8725 §3.1",
        lambda k, unknown=unknown: k.raw(k.header(alg=unknown)),
    )

# -- HMAC signed with the public key (algorithm confusion) -----------------------------------------


def _public_encodings(key: SigningKey) -> dict[str, bytes]:
    public = key.private_key.public_key()
    spki_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = {
        "pem-spki": spki_pem,
        "pem-spki-no-newline": spki_pem.rstrip(b"\n"),
        "der-spki": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "jwk-json": jwk_text(key),
        "jwk-json-pretty": jwk_text(key, pretty=True),
    }
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        modulus = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        forms["pem-pkcs1"] = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        forms["der-pkcs1"] = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        forms["raw-modulus"] = modulus
        forms["modulus-base64url"] = key.public_jwk()["n"].encode()
        forms["modulus-base64"] = standard_b64(modulus).encode()
    elif isinstance(public, ec.EllipticCurvePublicKey):
        forms["x962-uncompressed"] = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    else:
        forms["raw"] = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        forms["raw-base64url"] = key.public_jwk()["x"].encode()
    return forms


_CONFUSION_RULES: Final = {
    "pem-pkcs1": "RFC 8725 §3.1; CVE-2017-11424",
    "der-pkcs1": "RFC 8725 §3.1; CVE-2017-11424",
    "openssh": "RFC 8725 §3.1; CVE-2022-29217",
}


def _confused(attribute: str, form: str, alg: str) -> Callable[[Kit], str]:
    def build(k: Kit) -> str:
        key = getattr(k, attribute)
        secret = _public_encodings(key)[form]
        return hmac_token(secret, alg, k.header(key), k.payload())

    return build


_FORMS_BY_KEY: Final = {
    "rs256": (
        "pem-spki",
        "pem-spki-no-newline",
        "pem-pkcs1",
        "der-spki",
        "der-pkcs1",
        "jwk-json",
        "jwk-json-pretty",
        "raw-modulus",
        "modulus-base64url",
        "modulus-base64",
        "openssh",
    ),
    "es256": ("pem-spki", "der-spki", "x962-uncompressed", "jwk-json", "openssh"),
    "ed25519": ("pem-spki", "raw", "raw-base64url", "jwk-json", "openssh"),
}
for attribute, forms in _FORMS_BY_KEY.items():
    for form in forms:
        for alg in ("HS256", "HS384", "HS512"):
            case(
                f"confusion-{alg.lower()}-{attribute}-{form}",
                f"{alg} MAC keyed with the {attribute} public key as {form}, under that key's kid",
                UnsupportedAlgorithmError,
                _CONFUSION_RULES.get(form, "RFC 8725 §3.1; CVE-2016-10555"),
                _confused(attribute, form, alg),
            )

# -- the right key type, the wrong algorithm -------------------------------------------------------


def _resigned(attribute: str, alg: str, kid_of: str | None = None) -> Callable[[Kit], str]:
    def build(k: Kit) -> str:
        source = getattr(k, attribute)
        kid = getattr(k, kid_of).kid if kid_of else source.kid
        return k.token(SigningKey(source.private_key, alg=alg, kid=kid))

    return build


case(
    "mismatch-ps256-under-rs256-key",
    "a genuine PS256 signature by the RSA key, under the kid whose JWK says alg RS256",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1; RFC 7517 §4.4",
    _resigned("rs256", "PS256"),
)
case(
    "mismatch-rs256-under-ps256-key",
    "a genuine RS256 signature by the RSA key, under the kid whose JWK says alg PS256",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1; RFC 7517 §4.4",
    _resigned("ps256", "RS256"),
)
case(
    "mismatch-rs384-under-rs256-key",
    "a genuine RS384 signature under the RS256-bound key",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1",
    _resigned("rs256", "RS384"),
)
case(
    "mismatch-rs256-signature-labelled-ps256",
    "an RS256 signature whose header claims PS256, under the RSA key without 'alg'",
    InvalidSignatureError,
    "RFC 7518 §3.5",
    lambda k: signed_segments(
        SigningKey(k.rsa_any.private_key, alg="RS256", kid="rsa-any"),
        b64json(k.header(k.rsa_any, alg="PS256")),
        b64json(k.payload()),
    ),
)
case(
    "mismatch-es256-token-under-rsa-kid",
    "ES256 token (attacker's EC key) naming the RSA key's kid",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1",
    lambda k: k.token(SigningKey(k.attacker_ec.private_key, alg="ES256", kid=k.rs256.kid)),
)
case(
    "mismatch-rs256-token-under-ec-kid",
    "RS256 token (attacker's RSA key) naming the P-256 key's kid",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1",
    lambda k: k.token(SigningKey(k.attacker_rsa.private_key, alg="RS256", kid=k.es256.kid)),
)
case(
    "mismatch-es384-under-p256-kid",
    "ES384 signature by the P-384 key naming the P-256 key's kid",
    UnsupportedAlgorithmError,
    "RFC 7518 §3.4",
    _resigned("es384", "ES384", kid_of="es256"),
)
case(
    "mismatch-eddsa-under-ec-kid",
    "EdDSA token naming an EC key's kid",
    UnsupportedAlgorithmError,
    "RFC 8037 §3.1",
    _resigned("ed25519", "EdDSA", kid_of="es256"),
)
case(
    "mismatch-ed25519-token-under-ed448-kid",
    "alg Ed25519 (a genuine Ed25519 signature) naming the Ed448 key's kid",
    UnsupportedAlgorithmError,
    "RFC 9864; RFC 8037 §3.1",
    _resigned("ed25519", "Ed25519", kid_of="ed448"),
)
case(
    "mismatch-eddsa-ed25519-signature-under-ed448-kid",
    "alg EdDSA, an Ed25519 signature, naming the Ed448 key's kid",
    UnsupportedAlgorithmError,
    "RFC 8037 §3.1",
    _resigned("ed25519", "EdDSA", kid_of="ed448"),
)

# -- embedded keys: jwk (CVE-2018-0114), x5c, and key URLs that must never be followed -------------


def _embedded(attacker: str, kid_of: str | None, **extra_headers: Any) -> Callable[[Kit], str]:
    def build(k: Kit) -> str:
        key = getattr(k, attacker)
        kid = getattr(k, kid_of).kid if kid_of else key.kid
        headers = {"jwk": key.public_jwk(), **extra_headers}
        return k.token(SigningKey(key.private_key, alg=key.alg, kid=kid), **headers)

    return build


case(
    "embedded-jwk-ec-under-victim-kid",
    "attacker's EC key in the 'jwk' header, signed by it, naming the published P-256 kid",
    InvalidSignatureError,
    "CVE-2018-0114; RFC 8725 §3.10",
    _embedded("attacker_ec", "es256"),
)
case(
    "embedded-jwk-rsa-under-victim-kid",
    "attacker's RSA key in the 'jwk' header naming the published RS256 kid",
    InvalidSignatureError,
    "CVE-2018-0114",
    _embedded("attacker_rsa", "rs256"),
)
case(
    "embedded-jwk-own-kid",
    "attacker's key in 'jwk' under its own (unpublished) kid",
    UnknownKeyError,
    "CVE-2018-0114",
    _embedded("attacker_ed", None),
)
case(
    "embedded-jwk-no-kid-single-key-issuer",
    "attacker's key in 'jwk', no kid, against an issuer with exactly one key",
    InvalidSignatureError,
    "CVE-2018-0114",
    lambda k: k.token(k.attacker_ed, jwk=k.attacker_ed.public_jwk(), kid=None),
    verifier="single",
)
case(
    "embedded-jwk-victim-public-key",
    "the victim's own public key copied into 'jwk', but signed by the attacker",
    InvalidSignatureError,
    "CVE-2018-0114",
    lambda k: k.token(
        SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=k.ed25519.kid), jwk=k.ed25519.public_jwk()
    ),
)
case(
    "embedded-jwk-with-private-member",
    "attacker's key with its private 'd' in 'jwk' (a verifier that imports it can sign with it)",
    InvalidSignatureError,
    "CVE-2018-0114",
    lambda k: k.token(
        SigningKey(k.attacker_ec.private_key, alg="ES256", kid=k.es256.kid),
        jwk={**k.attacker_ec.public_jwk(), "d": b64.encode(b"\x01" * 32)},
    ),
)


def _self_signed_x5c(key: SigningKey) -> list[str]:
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example.com")])
    now = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key.private_key, hashes.SHA256())
    )
    return [standard_b64(certificate.public_bytes(serialization.Encoding.DER))]


case(
    "embedded-x5c-under-victim-kid",
    "a self-signed certificate for the attacker's RSA key in 'x5c', naming the RS256 kid",
    InvalidSignatureError,
    "RFC 7515 §4.1.6; RFC 8725 §3.10",
    lambda k: k.token(
        SigningKey(k.attacker_rsa.private_key, alg="RS256", kid=k.rs256.kid),
        x5c=_self_signed_x5c(k.attacker_rsa),
    ),
)
case(
    "embedded-x5c-no-kid-single-key-issuer",
    "a bogus certificate in 'x5c' and a bogus 'x5t#S256', no kid, one-key issuer",
    InvalidSignatureError,
    "RFC 7515 §4.1.6",
    lambda k: k.token(
        k.attacker_ed, kid=None, x5c=["MIIB" + MARKER], **{"x5t#S256": b64.encode(b"\x00" * 32)}
    ),
    verifier="single",
)
for parameter in ("jku", "x5u"):
    for label, url in {
        "attacker": "https://attacker.example/keys.json",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "file": "file:///etc/passwd",
    }.items():
        case(
            f"{parameter}-{label}-attacker-signed",
            f"'{parameter}' = {url}, signed by the attacker under the published kid",
            InvalidSignatureError,
            "RFC 7515 §4.1.2, §4.1.5; RFC 8725 §2.9, §3.10",
            lambda k, parameter=parameter, url=url: k.token(
                SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=k.ed25519.kid), **{parameter: url}
            ),
        )
case(
    "jku-genuine-token-is-unaffected",
    "a genuine token carrying a 'jku' to anywhere: the header is ignored, the token is valid",
    None,
    "RFC 8725 §3.10 (keys come from configuration only)",
    lambda k: k.token(jku="https://attacker.example/keys.json", x5u="https://attacker.example/cert.pem"),
)

# -- kid injection ---------------------------------------------------------------------------------

for label, kid in {
    "path-traversal": "../../../../../../dev/null",
    "path-traversal-windows": "..\\..\\..\\windows\\win.ini",
    "absolute-path": "/etc/passwd",
    "file-url": "file:///dev/null",
    "sql-or": "' OR '1'='1",
    "sql-union": "x' UNION SELECT 'secret' --",
    "shell": "$(touch /tmp/pwned)`id`",
    "nul": "okp-ed25519\u0000",
    "newline": f"okp-ed25519\n{MARKER}",
    "crlf": "k\r\nX-Injected: 1",
    "bidi-override": "\u202eokp-ed25519",
    "del": "\u007f",
    "victim-case": "OKP-ED25519",
    "victim-lookalike": "okp-ed25519".replace("e", "\u0435"),
    "marker": MARKER,
    "256-chars": "k" * 256,
}.items():
    case(
        f"kid-{label}",
        f"kid {kid[:40]!r}{'...' if len(kid) > 40 else ''} on a token signed by the attacker",
        UnknownKeyError,
        "RFC 8725 §3.10",
        lambda k, kid=kid: k.token(SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=kid)),
    )
for label, kid in {"257-chars": "k" * 257, "empty": ""}.items():
    case(
        f"kid-{label}",
        f"kid of {len(kid)} characters",
        MalformedTokenError,
        "RFC 8725 §3.10",
        lambda k, kid=kid: k.raw(k.header(kid=kid)),
    )
for label, kid in {
    "null": None,
    "integer": 7,
    "float": 1.5,
    "true": True,
    "list": ["okp-ed25519"],
    "object": {},
}.items():
    case(
        f"kid-{label}",
        f"kid is {json.dumps(kid)}",
        MalformedTokenError,
        "RFC 7515 §4.1.4",
        lambda k, kid=kid: k.raw(json.dumps({**k.header(), "kid": kid}).encode()),
    )
case(
    "kid-1mb",
    "a kid of one million characters (the token exceeds the size limit)",
    MalformedTokenError,
    "RFC 8725 §3.10; bounded input",
    lambda k: k.raw(k.header(kid="k" * 1_000_000)),
)
case(
    "kid-missing-several-keys",
    "no kid while the issuer publishes several keys (never try them all)",
    UnknownKeyError,
    "RFC 7515 §4.1.4",
    lambda k: k.raw(k.header(kid=None)),
)
case(
    "kid-missing-single-key",
    "no kid, issuer with exactly one key: that key verifies the genuine token",
    None,
    "positive control; RFC 7515 §4.1.4",
    lambda k: k.raw(k.header(kid=None)),
    verifier="single",
)

# -- crit, b64, zip ---------------------------------------------------------------------------------

for label, crit in {
    "empty-list": [],
    "exp": ["exp"],
    "b64": ["b64"],
    "kid": ["kid"],
    "self": ["crit"],
    "unknown": [MARKER],
    "string": "b64",
    "null": None,
    "object": {"b64": False},
    "integer": 1,
}.items():
    case(
        f"crit-{label}",
        f"'crit' = {json.dumps(crit)}",
        MalformedTokenError,
        "RFC 7515 §4.1.11",
        lambda k, crit=crit: k.raw(json.dumps({**k.header(), "crit": crit}).encode()),
    )
case(
    "crit-with-listed-parameter-present",
    "'crit': ['exp'] with 'exp' also present in the header",
    MalformedTokenError,
    "RFC 7515 §4.1.11",
    lambda k: k.raw(k.header(crit=["exp"], exp=1)),
)
for label, value in {"false": False, "true": True, "string": "false", "null": None}.items():
    case(
        f"b64-{label}",
        f"'b64' = {json.dumps(value)} (RFC 7797 unencoded payload)",
        MalformedTokenError,
        "RFC 7797 §3; RFC 7515 §4.1.11",
        lambda k, value=value: k.raw(json.dumps({**k.header(), "b64": value}).encode()),
    )
case(
    "b64-false-with-crit-and-raw-payload",
    "'b64': false, 'crit': ['b64'] and a payload that is not base64url-decoded",
    MalformedTokenError,
    "RFC 7797 §5",
    lambda k: signed_segments(k.ed25519, b64json(k.header(b64=False, crit=["b64"])), "$.claims"),
)
for label, value in {"deflate": "DEF", "empty": "", "null": None, "gzip": "GZIP"}.items():
    case(
        f"zip-{label}",
        f"'zip' = {json.dumps(value)} on a JWS",
        MalformedTokenError,
        "RFC 7516 §4.1.3; RFC 8725 §3.6",
        lambda k, value=value: k.raw(json.dumps({**k.header(), "zip": value}).encode()),
    )

# -- nested JWT (cty) -------------------------------------------------------------------------------

case(
    "cty-jwt-nested-attacker-token",
    "'cty': 'JWT', payload = a compact JWT signed by the attacker, outer signed by the issuer",
    MalformedTokenError,
    "RFC 7519 §5.2, §7.2 step 8",
    lambda k: k.raw(k.header(cty="JWT"), k.token(k.attacker_ed).encode()),
)
case(
    "cty-jwt-outer-attacker-inner-genuine",
    "a genuine token wrapped as the payload of an attacker-signed outer JWS (never unwrapped)",
    MalformedTokenError,
    "RFC 7519 §5.2",
    lambda k: k.raw(k.header(k.attacker_ed, cty="JWT"), k.token().encode(), key=k.attacker_ed),
)
case(
    "cty-jwt-with-json-claims",
    "'cty': 'JWT' on an issuer-signed JSON claim set: 'cty' is never acted on, the signed claims are read",
    None,
    "positive control; RFC 7519 §5.2",
    lambda k: k.raw(k.header(cty="JWT")),
)

# -- JWE: a real five-part token encrypted to the published RSA key ----------------------------------


def _jwe(k: Kit, *, alg: str = "RSA-OAEP", header_alg: str | None = None) -> str:
    public = k.rs256.private_key.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    header = {"alg": header_alg or alg, "enc": "A256GCM", "kid": k.rs256.kid, "cty": "JWT"}
    protected = b64json(header)
    cek = os.urandom(32)
    encrypted_key = public.encrypt(
        cek,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, dumps(k.payload()), protected.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join(
        [protected, b64.encode(encrypted_key), b64.encode(iv), b64.encode(ciphertext), b64.encode(tag)]
    )


case(
    "jwe-rsa-oaep-a256gcm",
    "a real JWE (RSA-OAEP + A256GCM) of valid claims, encrypted to the published RSA key",
    MalformedTokenError,
    "RFC 7516 §7.1, §9",
    _jwe,
)
case(
    "jwe-claiming-rs256",
    "a real five-part JWE whose protected header says alg RS256 (JWS/JWE confusion)",
    MalformedTokenError,
    "RFC 7516 §9",
    lambda k: _jwe(k, header_alg="RS256"),
)
case(
    "jwe-five-parts-from-jws",
    "a valid JWS with two extra empty-looking segments",
    MalformedTokenError,
    "RFC 7516 §9",
    lambda k: k.token() + ".AAAA.AAAA",
)

# -- JSON serialization and the CVE-2022-39227 polyglot ---------------------------------------------


def _parts(k: Kit) -> tuple[str, str, str]:
    header, payload, signature = k.token().split(".")
    return header, payload, signature


def _forged_payload(k: Kit) -> str:
    return b64json(k.payload(sub="admin", note=MARKER, admin=True))


case(
    "json-flattened",
    "a genuine token re-encoded as flattened JSON serialization",
    MalformedTokenError,
    "RFC 7515 §7.2.2",
    lambda k: json.dumps(dict(zip(("protected", "payload", "signature"), _parts(k), strict=True))),
)
case(
    "json-general",
    "a genuine token re-encoded as general JSON serialization",
    MalformedTokenError,
    "RFC 7515 §7.2.1",
    lambda k: json.dumps(
        {"payload": _parts(k)[1], "signatures": [{"protected": _parts(k)[0], "signature": _parts(k)[2]}]}
    ),
)
case(
    "json-unprotected-header-alg",
    "flattened JSON with 'alg' moved to the unprotected 'header'",
    MalformedTokenError,
    "RFC 7515 §7.2.1",
    lambda k: json.dumps({"header": {"alg": "none"}, "payload": _parts(k)[1], "signature": ""}),
)
case(
    "json-leading-whitespace",
    "flattened JSON preceded by whitespace",
    MalformedTokenError,
    "RFC 7515 §7.2",
    lambda k: "  \n" + json.dumps(dict(zip(("protected", "payload", "signature"), _parts(k), strict=True))),
)


def _polyglot(k: Kit) -> str:
    # CVE-2022-39227: a JSON document whose text, split on dots, also looks like a compact token
    # carrying forged claims, while its JSON members carry the genuine signed parts.
    header, payload, signature = _parts(k)
    forged = _forged_payload(k)
    return (
        '{"  '
        + header
        + "."
        + forged
        + '.":"","protected":"'
        + header
        + '","payload":"'
        + payload
        + '","signature":"'
        + signature
        + '"}'
    )


case(
    "polyglot-cve-2022-39227",
    "JSON serialization of a genuine token whose first key is 'header.forged-payload.' (python-jwt)",
    MalformedTokenError,
    "CVE-2022-39227; RFC 7515 §7",
    _polyglot,
)
case(
    "polyglot-cve-2022-39227-bytes",
    "the same polyglot passed as bytes",
    MalformedTokenError,
    "CVE-2022-39227",
    lambda k: _polyglot(k).encode(),
)
case(
    "polyglot-compact-then-json",
    "'header.forged.signature' followed by a JSON object holding the genuine parts",
    MalformedTokenError,
    "CVE-2022-39227",
    lambda k: (
        f"{_parts(k)[0]}.{_forged_payload(k)}.{_parts(k)[2]}"
        + json.dumps({"protected": _parts(k)[0], "payload": _parts(k)[1], "signature": _parts(k)[2]})
    ),
)
case(
    "polyglot-forged-payload-genuine-signature",
    "the compact form the polyglot smuggles: genuine header and signature around forged claims",
    InvalidSignatureError,
    "CVE-2022-39227",
    lambda k: f"{_parts(k)[0]}.{_forged_payload(k)}.{_parts(k)[2]}",
)
