"""Decode a token without verifying it, and say what is wrong with it, as precisely as possible.

The verifier's parser is strict on purpose and answers every malformed token with one fixed
sentence, which is right for a server and useless to the developer holding the token. This module
is the opposite: it decodes as far as it possibly can (padding, standard base64, duplicate keys,
two or five segments) so that it can show the content *and* name each deviation: "segment 2
(payload) has '=' padding", "the header has duplicate key 'alg'".

AWS ALB tokens (``x-amzn-oidc-data``) are recognised by the ``signer`` in their header: their
``=`` padding is then noted as ALB's format, and they are judged by the parser ``ALBVerifier``
uses, which admits it.

Leniency only ever serves the diagnosis. A token is reported well-formed only when the library's
own strict parser (``jws.parse_compact`` and ``safe_json.parse_object``) accepts it too, so a
token the verifier would refuse as malformed is never presented as fine. Nothing here checks a
signature: every value in a report is unverified, and the command line labels it so.

Findings have a severity:

* ``error``: the verifier rejects the token whatever its configuration (malformed, unsigned,
  HMAC, impossible signature length). ``TokenReport.well_formed`` is false.
* ``warning``: a default verifier rejects it, or something is suspicious (expired, no ``exp``,
  dates in milliseconds).
* ``note``: neutral facts worth knowing (Cognito token type, scopes, groups, ``typ``, ``kid``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from jwt_middleware import b64
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.aws.alb import parse_alb_arn
from jwt_middleware.claims import granted
from jwt_middleware.cli.humanize import describe_time, duration, iso_utc, relative
from jwt_middleware.cognito import parse_cognito_issuer
from jwt_middleware.errors import ConfigurationError, MalformedTokenError, UnsupportedAlgorithmError
from jwt_middleware.jwk import MAX_KID_LENGTH, MIN_RSA_BITS
from jwt_middleware.jws import DEFAULT_MAX_TOKEN_LENGTH, IGNORED_KEY_HEADERS, REJECTED_HEADERS, parse_compact
from jwt_middleware.policy import MAX_NUMERIC_DATE, is_numeric_date, media_type
from jwt_middleware.safe_json import JSONError, has_lone_surrogate, parse_object

__all__ = [
    "Finding",
    "Severity",
    "TimeClaim",
    "TokenReport",
    "cognito_pool",
    "decode_unverified",
    "inspect_token",
    "quote",
    "unsupported_algorithm",
]

Severity = Literal["error", "warning", "note"]

#: Time claims shown as dates, in display order.
TIME_CLAIMS: Final = ("iat", "auth_time", "nbf", "exp")

_SEGMENT_NAMES: Final = ("header", "payload", "signature")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]")


def cognito_pool(issuer: str) -> tuple[str, bool] | None:
    """The user pool id of a Cognito issuer URL and whether it is the global ``issuer-`` form."""
    return parse_cognito_issuer(issuer)


def unsupported_algorithm(alg: object) -> tuple[str, str | None] | None:
    """Why ``alg`` can never be verified here, and what to do (a hint), or ``None`` if it can be."""
    if not isinstance(alg, str):
        return "the token's header has no usable 'alg'", None
    if alg.lower() == "none":
        return f"alg {quote(alg)}: the token is unsigned, and unsigned tokens are never accepted", None
    if alg.upper().startswith("HS"):
        return (
            f"alg {quote(alg)} is HMAC (a shared secret); only public-key algorithms can be verified "
            "against an issuer's published keys",
            "configure the identity provider to sign with RS256 or ES256",
        )
    if alg not in ALGORITHMS:
        return (
            f"alg {quote(alg)} is not a supported signing algorithm (supported: {', '.join(ALGORITHMS)})",
            None,
        )
    return None


def quote(value: object) -> str:
    """A token value for a human: strings as ``'text'`` with control characters escaped.

    Token content is attacker-controlled; ``repr`` escapes terminal control sequences, so a claim
    can never rewrite the developer's terminal. Other values are shown as compact JSON.
    """
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, separators=(", ", ": "), ensure_ascii=True, default=str)
    except ValueError:
        return repr(value)


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a token; ``code`` is stable for scripts, ``message`` is for people."""

    severity: Severity
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TimeClaim:
    """A NumericDate claim as an instant and as words relative to the time of inspection."""

    name: str
    value: float
    utc: str
    relative: str
    past: bool


@dataclass(frozen=True, slots=True)
class TokenReport:
    """Everything ``inspect`` learned; ``header`` and ``claims`` are unverified and may be ``None``."""

    segments: int
    header: dict[str, Any] | None
    claims: dict[str, Any] | None
    times: tuple[TimeClaim, ...]
    findings: tuple[Finding, ...]
    #: The ``error_description`` an API sends for this token when its shape alone refuses it
    #: (the strict parser's own sentence); ``None`` when the shape is fine.
    refusal: str | None = None

    @property
    def well_formed(self) -> bool:
        """True only when the strict parser accepts the token too (no ``error`` finding)."""
        return not any(finding.severity == "error" for finding in self.findings)

    def by_severity(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.severity == severity)


class _Findings:
    """Collects findings in the order they were made."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def error(self, code: str, message: str) -> None:
        self.items.append(Finding("error", code, message))

    def warning(self, code: str, message: str) -> None:
        self.items.append(Finding("warning", code, message))

    def note(self, code: str, message: str) -> None:
        self.items.append(Finding("note", code, message))


# -- segments and base64url ---------------------------------------------------------------------


def _segment_label(index: int) -> str:
    name = _SEGMENT_NAMES[index] if index < len(_SEGMENT_NAMES) else "extra"
    return f"segment {index + 1} ({name})"


def _decode_segment(index: int, segment: str, found: _Findings, *, alb: bool = False) -> bytes | None:
    """Decode one segment as leniently as possible, recording every way it is not base64url.

    ``alb``: the token is an AWS ALB token, whose segments carry ``=`` padding by design.
    """
    label = _segment_label(index)
    text = segment
    if "=" in text:
        stripped = text.rstrip("=")
        if "=" in stripped:
            found.error("base64url_alphabet", f"{label} contains '=' inside it: not base64url")
            return None
        if not alb:  # an ALB token's padding is its format, said once by _check_alb_header
            found.error("base64url_padding", f"{label} has '=' padding; JWS uses unpadded base64url")
        text = stripped
    if "+" in text or "/" in text:
        found.error(
            "base64_standard",
            f"{label} uses '+' or '/': that is standard base64, JWS needs base64url ('-' and '_')",
        )
        text = text.replace("+", "-").replace("/", "_")
    for position, char in enumerate(text, start=1):
        if not _BASE64URL.fullmatch(char):
            what = "whitespace (was it line-wrapped when copied?)" if char.isspace() else quote(char)
            found.error(
                "base64url_alphabet",
                f"{label} is not valid base64url: {what} at position {position}",
            )
            return None
    if len(text) % 4 == 1:
        found.error(
            "base64url_length",
            f"{label} is not valid base64url: {len(text)} characters is an impossible length "
            "(was the token truncated?)",
        )
        return None
    try:
        return b64.decode(text)
    except ValueError:
        pass
    found.error(
        "base64url_canonical",
        f"{label} is not canonical base64url: its last character carries non-zero unused bits",
    )
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


# -- JSON ---------------------------------------------------------------------------------------


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


def _decode_json(part: str, raw: bytes, found: _Findings) -> dict[str, Any] | None:
    """Parse a header or payload; strictly first, then leniently to say what the strict parser hated."""
    try:
        return dict(parse_object(raw))
    except JSONError:
        pass
    before = len(found.items)
    if not raw:
        found.error("json_empty", f"the {part} is empty")
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        found.error("json_bom", f"the {part} starts with a byte order mark")
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        found.error("json_utf8", f"the {part} is not UTF-8 (invalid byte at offset {exc.start})")
        text = raw.decode("utf-8", "replace")
    duplicates: list[str] = []
    constants: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        return dict(pairs)

    def constant_hook(name: str) -> str:
        # Kept as the string it was, so that --json output stays standard JSON.
        constants.append(name)
        return name

    try:
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=constant_hook)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) - 1
        found.error(
            "json_invalid",
            f"the {part} is not valid JSON: {exc.msg} at character {exc.pos + 1}"
            + (" (it ends early: was the token truncated?)" if ends_early else ""),
        )
        return None
    except (ValueError, RecursionError):
        found.error("json_invalid", f"the {part} is not valid JSON (too deeply nested or a number too large)")
        return None
    for key in duplicates:
        found.error(
            "json_duplicate_key",
            f"the {part} has duplicate key {quote(key)}: parsers disagree on which value counts, "
            "so the token is refused (the value shown is the last one)",
        )
    if constants:
        found.error("json_non_finite", f"the {part} contains {', '.join(constants)}, which is not JSON")
    if not isinstance(value, dict):
        found.error("json_not_object", f"the {part} is {_json_type(value)}, not a JSON object")
        return None
    if has_lone_surrogate(value):
        found.error("json_surrogate", f"the {part} contains a lone UTF-16 surrogate escape")
    if len(found.items) == before:
        # The lenient parser saw nothing the strict one should refuse: say so rather than nothing.
        found.error("json_strict", f"the {part} is not strict JSON")
    return value


# -- header -------------------------------------------------------------------------------------


def _check_header(header: Mapping[str, Any], found: _Findings, *, alb: bool = False) -> None:
    alg = header.get("alg")
    refused = unsupported_algorithm(alg)
    if "alg" not in header:
        found.error("alg_missing", "the header has no 'alg'")
    elif not isinstance(alg, str):
        found.error("alg_invalid", f"the header's 'alg' is {_json_type(alg)}, not a string")
    elif refused is not None:
        code = "alg_none" if alg.lower() == "none" else "alg_hmac" if alg.upper().startswith("HS") else ""
        found.error(code or "alg_unsupported", refused[0])
    else:
        found.note("alg", f"signed with {alg}")

    if "kid" not in header:
        found.warning(
            "kid_missing",
            "no 'kid' in the header: a verifier can only pick the key if the issuer publishes exactly one",
        )
    else:
        kid = header["kid"]
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            found.error(
                "kid_invalid",
                f"the header's 'kid' must be a non-empty string of at most {MAX_KID_LENGTH} characters",
            )
        elif alb:
            found.note("kid", f"kid {quote(kid)}: the ALB key published under that id")
        else:
            found.note("kid", f"kid {quote(kid)}: the key in the issuer's JWKS that should verify it")

    typ = header.get("typ")
    if typ is None:
        if "typ" in header:
            found.warning("typ_invalid", "the header's 'typ' is null")
        else:
            found.note(
                "typ_missing", "no 'typ' header (Cognito omits it); matters only if the API requires one"
            )
    elif not isinstance(typ, str):
        found.warning("typ_invalid", f"the header's 'typ' is {_json_type(typ)}, not a string")
    elif media_type(typ) == "at+jwt":
        found.note("typ", f"typ {quote(typ)}: an OAuth 2.0 access token (RFC 9068)")
    elif media_type(typ) != "jwt":
        found.note("typ", f"typ {quote(typ)}")

    if isinstance(header.get("cty"), str) and header["cty"].upper() == "JWT":
        found.warning(
            "nested_jwt", "cty 'JWT': the payload is another token (nested JWT), which is not supported"
        )
    for name, why in REJECTED_HEADERS.items():
        if name in header:
            found.error(f"header_{name}", f"the header has {quote(name)}: {why[0].lower()}{why[1:]}")
    for name in IGNORED_KEY_HEADERS:
        if name in header:
            found.note(
                f"header_{name}",
                f"the header carries {quote(name)}: ignored, keys only come from configuration",
            )


def _check_signature(header: Mapping[str, Any], signature: bytes | None, found: _Findings) -> None:
    if signature is None:
        return
    alg = header.get("alg")
    if not signature:
        if not (isinstance(alg, str) and alg.lower() == "none"):
            found.error("signature_empty", "the signature segment is empty")
        return
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        return
    size = len(signature)
    algorithm = ALGORITHMS[alg]
    if algorithm.kty == "RSA":
        if size * 8 < MIN_RSA_BITS:
            found.warning(
                "rsa_key_small",
                f"the signature is {size} bytes: a {size * 8}-bit RSA key, "
                f"below the {MIN_RSA_BITS}-bit minimum",
            )
        else:
            found.note("signature", f"signature of {size} bytes (a {size * 8}-bit RSA key)")
        return
    expected = algorithm.signature_sizes
    if size in expected:
        return
    if alg.startswith("ES") and signature[0] == 0x30:
        found.error(
            "signature_der",
            f"the signature is {size} bytes and looks DER-encoded; {alg} signatures in a JWS are raw "
            f"R || S, exactly {expected[0]} bytes (RFC 7518 section 3.4)",
        )
    else:
        sizes = " or ".join(str(item) for item in expected)
        found.error(
            "signature_length", f"the signature is {size} bytes; {alg} signatures are exactly {sizes}"
        )


# -- claims -------------------------------------------------------------------------------------


def _numeric_date(name: str, value: object, found: _Findings) -> float | None:
    """A NumericDate as the verifier reads it, with a precise warning when it is not one."""
    if is_numeric_date(value):
        return float(value)  # type: ignore[arg-type]
    # Compared as numbers, never divided: a 4000-digit integer must not raise OverflowError.
    if (type(value) is int or type(value) is float) and MAX_NUMERIC_DATE < value <= MAX_NUMERIC_DATE * 1000:
        found.warning(
            f"{name}_milliseconds",
            f"{name} {value} looks like milliseconds: NumericDates are seconds since 1970",
        )
        return None
    if isinstance(value, str) and value.strip().isdigit():
        found.warning(f"{name}_string", f"{name} is a string ({quote(value)}), not a number of seconds")
        return None
    found.warning(
        f"{name}_invalid", f"{name} is not a valid NumericDate (seconds since 1970): {quote(value)}"
    )
    return None


def _time_claims(claims: Mapping[str, Any], now: float, found: _Findings) -> tuple[TimeClaim, ...]:
    times: list[TimeClaim] = []
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = _numeric_date(name, claims[name], found)
        if value is None:
            continue
        times.append(TimeClaim(name, value, iso_utc(value), describe_time(name, value, now), value <= now))
    by_name = {time.name: time for time in times}
    if "exp" not in claims:
        found.warning("exp_missing", "no 'exp': verifiers require an expiry by default and reject the token")
    elif "exp" in by_name and by_name["exp"].past:
        exp = by_name["exp"]
        found.warning("expired", f"the token expired {exp.utc} ({relative(exp.value, now)})")
    if "nbf" in by_name and not by_name["nbf"].past:
        nbf = by_name["nbf"]
        found.warning(
            "not_yet_valid", f"the token is not valid before {nbf.utc} ({relative(nbf.value, now)})"
        )
    if "iat" in by_name and not by_name["iat"].past:
        found.warning(
            "issued_in_future",
            f"iat {by_name['iat'].utc} is in the future: the issuer's clock or this machine's is off",
        )
    if "iat" in by_name and "exp" in by_name:
        iat, exp = by_name["iat"], by_name["exp"]
        if exp.value > iat.value:
            found.note("lifetime", f"lifetime {duration(exp.value - iat.value)} (from iat to exp)")
        else:
            found.warning(
                "exp_before_iat",
                f"exp {exp.utc} is {'before' if exp.value < iat.value else 'the same instant as'} "
                f"iat {iat.utc}: the token was already expired when it was issued (the issuer's "
                "lifetime is wrong)",
            )
    return tuple(times)


def _check_claims(claims: Mapping[str, Any], found: _Findings) -> None:
    iss = claims.get("iss")
    if "iss" not in claims:
        found.warning("iss_missing", "no 'iss': every verifier rejects a token without an issuer")
    elif not isinstance(iss, str):
        found.warning("iss_invalid", f"iss is {_json_type(iss)}, not a string")
    else:
        pool = cognito_pool(iss)
        if pool is not None:
            found.note("cognito_pool", f"issued by Cognito user pool {pool[0]}")
        else:
            found.note("issuer", f"issuer {quote(iss)}")
    if "aud" in claims:
        aud = claims["aud"]
        if isinstance(aud, str) or (
            isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud)
        ):
            found.note("audience", f"audience {quote(aud)}")
        else:
            found.warning(
                "aud_invalid", f"aud must be a string or a non-empty list of strings, not {quote(aud)}"
            )
    use = claims.get("token_use")
    if use == "id":
        found.note(
            "cognito_id_token",
            "Cognito ID token (token_use 'id'): the app client is in aud; meant for the client app, "
            "APIs usually expect the access token",
        )
    elif use == "access":
        found.note(
            "cognito_access_token",
            "Cognito access token (token_use 'access'): the app client is in client_id and there is no aud",
        )
    elif "token_use" in claims:
        found.warning("token_use_unknown", f"token_use {quote(use)} is neither 'id' nor 'access'")
    for name in ("client_id", "azp"):
        if isinstance(claims.get(name), str):
            found.note("client", f"client {quote(claims[name])} (from {name})")
            break
    for kind in ("scopes", "groups", "roles", "permissions"):
        names = sorted(granted(claims, kind))
        if names:
            found.note(kind, f"{kind}: " + ", ".join(quote(name) for name in names))


# -- the whole token ----------------------------------------------------------------------------


def _check_text(token: str, found: _Findings) -> None:
    if len(token) > DEFAULT_MAX_TOKEN_LENGTH:
        found.error(
            "too_large",
            f"the token is {len(token)} characters, over the verifier's limit of {DEFAULT_MAX_TOKEN_LENGTH}",
        )


def _check_shape(token: str, segments: list[str], found: _Findings) -> None:
    count = len(segments)
    if token.lstrip().startswith("{"):
        found.error(
            "json_serialization",
            "this is a JSON-serialized JWS; only the compact form (header.payload.signature) is accepted",
        )
    elif count == 1:
        found.error(
            "not_a_jwt",
            "no '.' separators: this is not a JWT. Some providers issue opaque access tokens that "
            "only their introspection endpoint can check",
        )
    elif count == 5:
        found.error(
            "jwe",
            "5 segments: this is an encrypted token (JWE). Only its recipient can read it, and this "
            "library accepts signed tokens (JWS) only",
        )
    elif count == 2:
        found.error("segments", "2 segments: the signature is missing (a JWS is header.payload.signature)")
    elif count != 3:
        found.error("segments", f"{count} segments; a JWS has exactly 3 (header.payload.signature)")


def _alb_signer(segments: list[str]) -> tuple[str, str] | None:
    """The signing load balancer's ARN and region, when the header says an AWS ALB signed the token.

    ALB tokens (``x-amzn-oidc-data``) name their signer in the header; only then is ``=`` padding
    part of the format rather than a defect.
    """
    try:
        raw = base64.urlsafe_b64decode(segments[0].rstrip("=") + "=" * (-len(segments[0].rstrip("=")) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    signer = header.get("signer") if isinstance(header, dict) else None
    if not isinstance(signer, str):
        return None
    try:
        return signer, parse_alb_arn(signer)[1]
    except ConfigurationError:
        return None


def _check_alb_header(
    header: Mapping[str, Any], signer: tuple[str, str], now: float, found: _Findings
) -> None:
    arn, region = signer
    found.note(
        "alb",
        f"an AWS ALB token (x-amzn-oidc-data) signed by load balancer {quote(arn)} in {region}, "
        "'=' padding and all; verify it with ALBVerifier, or 'jwt-middleware verify --alb-arn'",
    )
    for name, what in (("client", "the IdP app client"), ("iss", "the IdP")):
        if isinstance(header.get(name), str):
            found.note(f"alb_{name}", f"header {name} {quote(header[name])}: {what}")
    exp = header.get("exp")
    if isinstance(exp, int | float) and is_numeric_date(exp):
        found.note("alb_exp", f"header exp {iso_utc(float(exp))} ({describe_time('exp', float(exp), now)})")
    elif "exp" not in header:
        found.warning("alb_exp_missing", "no 'exp' in the header: ALBVerifier requires the ALB's own expiry")


def _strict_refusal(token: str, *, alb: bool = False) -> str | None:
    """What the verifier's strict parser answers for ``token``: its error's description, or ``None``."""
    try:
        parsed = parse_compact(token, allow_padding=alb)
    except (MalformedTokenError, UnsupportedAlgorithmError) as exc:
        return exc.description
    try:
        parse_object(parsed.payload)
    except JSONError:
        return "The token payload is not a valid JSON object"
    return None


def inspect_token(token: str, *, now: float) -> TokenReport:
    """Decode ``token`` without verifying it and report what it holds and what is wrong with it."""
    found = _Findings()
    _check_text(token, found)
    segments = token.split(".")
    _check_shape(token, segments, found)
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    times: tuple[TimeClaim, ...] = ()
    json_like = token.lstrip().startswith("{")
    signer = _alb_signer(segments) if len(segments) == 3 else None
    alb = signer is not None
    if not json_like and len(segments) > 1:
        # The encoding of every segment is judged before any content, in the verifier's order
        # (jws.parse_compact), so the first problem named is the one the API's error describes.
        decoded = 1 if len(segments) == 5 else 3  # a JWE's other segments are not a JWS's
        raw = [
            _decode_segment(index, segment, found, alb=alb) if segment or index == 0 else b""
            for index, segment in enumerate(segments[:decoded])
        ]
        if raw[0] is not None:
            header = _decode_json("header", raw[0], found)
        if len(segments) == 5:
            if header is not None and isinstance(header.get("enc"), str):
                found.note("jwe_enc", f"encrypted with {quote(header.get('alg'))} / {quote(header['enc'])}")
            return TokenReport(len(segments), header, None, (), tuple(found.items), _strict_refusal(token))
        if header is not None:
            _check_header(header, found, alb=alb)
            if signer is not None:
                _check_alb_header(header, signer, now, found)
        if segments[1] == "":
            found.error(
                "payload_empty", "segment 2 (payload) is empty (a detached payload), which is not accepted"
            )
        elif raw[1] is not None:
            claims = _decode_json("payload", raw[1], found)
        if len(segments) >= 3 and header is not None:
            _check_signature(header, raw[2], found)
        if claims is not None:
            times = _time_claims(claims, now, found)
            _check_claims(claims, found)
    refusal = _strict_refusal(token, alb=alb)
    if refusal is not None and not any(item.severity == "error" for item in found.items):
        # A refusal the lenient decoding above did not explain is still reported.
        found.error("strict_parser", f"the verifier's parser refuses it: {refusal}")
    return TokenReport(len(segments), header, claims, times, tuple(found.items), refusal)


def decode_unverified(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The token's header and claims, decoded as leniently as ``inspect_token``; for explanations."""
    report = inspect_token(token, now=0.0)
    return report.header, report.claims
