"""The stable reason codes: why a token was refused, why a fetch failed. One name per rule.

Every refusal carries exactly one of these in ``JWTMiddlewareError.code`` (and in its ``report``),
every failed fetch in ``FetchError.code`` and ``FetchFailed.code``. They are for programs:
metrics labels, alerts, the command line's explanations, tests. They never change meaning once
published; new rules get new codes. The sentence a client sees (``description``) is separate and
may be reworded; a program must never match on it.

A code is ``<subject>.<what happened>``: the subject is the claim or header field the rule is
about (``exp``, ``aud``, ``alg``), or ``token``, ``keys``, ``fetch``, ``discovery`` and ``jwks``
for the rules that are about no single field.
"""

from __future__ import annotations

from typing import Final

# -- the request and the token's form ----------------------------------------------------------
AUTH_FAILED: Final = "auth.failed"  # the base class's code; every real refusal names a rule
TOKEN_MISSING: Final = "token.missing"
REQUEST_INVALID: Final = "request.invalid"
REQUEST_CROSS_SITE: Final = "request.cross_site"  # an unsafe cross-origin request carried the cookie
TOKEN_INVALID: Final = "token.invalid"
TOKEN_MALFORMED: Final = "token.malformed"
TOKEN_TOO_LARGE: Final = "token.too_large"
TOKEN_NOT_COMPACT: Final = "token.not_compact"
TOKEN_ENCRYPTED: Final = "token.encrypted"
TOKEN_JSON_SERIALIZED: Final = "token.json_serialized"
TOKEN_NOT_BASE64URL: Final = "token.not_base64url"
HEADER_INVALID: Final = "header.invalid"
HEADER_UNSUPPORTED: Final = "header.unsupported"  # crit, b64 or zip: semantics we do not implement
PAYLOAD_INVALID: Final = "payload.invalid"

# -- algorithm, key and signature --------------------------------------------------------------
ALG_MISSING: Final = "alg.missing"
ALG_UNSUPPORTED: Final = "alg.unsupported"  # not an asymmetric JWS algorithm at all (none, HS256)
ALG_NOT_ALLOWED: Final = "alg.not_allowed"  # supported, but not in this verifier's allow-list
ALG_KEY_MISMATCH: Final = "alg.key_mismatch"  # the key found cannot have this algorithm
KID_INVALID: Final = "kid.invalid"
KID_MISSING: Final = "kid.missing"  # no kid, and the key set holds several keys
KID_AMBIGUOUS: Final = "kid.ambiguous"  # several keys share the kid: none can be trusted
KID_UNKNOWN: Final = "kid.unknown"
KID_RETIRED: Final = "kid.retired"
KID_CERTIFICATE_NOT_VALID: Final = "kid.certificate_not_valid"  # outside its X.509 validity period
SIGNATURE_INVALID: Final = "signature.invalid"

# -- claims ---------------------------------------------------------------------------------------
EXP_EXPIRED: Final = "exp.expired"
EXP_MISSING: Final = "exp.missing"
NBF_NOT_YET_VALID: Final = "nbf.not_yet_valid"
IAT_IN_FUTURE: Final = "iat.in_future"
IAT_TOO_OLD: Final = "iat.too_old"
IAT_MISSING: Final = "iat.missing"
DATE_INVALID: Final = "date.invalid"  # exp, nbf or iat is not a NumericDate (``claim`` says which)
ISS_MISSING: Final = "iss.missing"
ISS_MISMATCH: Final = "iss.mismatch"
ISS_HEADER_MISMATCH: Final = "iss.header_mismatch"
AUD_MISSING: Final = "aud.missing"
AUD_MISMATCH: Final = "aud.mismatch"
AUD_INVALID: Final = "aud.invalid"
CLIENT_ID_MISMATCH: Final = "client_id.mismatch"
TOKEN_USE_MISMATCH: Final = "token_use.mismatch"
TYP_MISMATCH: Final = "typ.mismatch"
CLAIM_MISSING: Final = "claim.missing"  # a required claim; ``claim`` names it
CLAIM_INVALID: Final = "claim.invalid"
SUB_MISSING: Final = "sub.missing"
SUB_IDENTITY_MISMATCH: Final = "sub.identity_mismatch"
SIGNER_MISMATCH: Final = "signer.mismatch"  # ALB: not one of the configured load balancers
CLIENT_MISMATCH: Final = "client.mismatch"  # ALB: the header's ``client``
SCOPE_INSUFFICIENT: Final = "scope.insufficient"
GROUPS_MISSING: Final = "groups.missing"
ROLES_MISSING: Final = "roles.missing"
PERMISSIONS_MISSING: Final = "permissions.missing"
IDENTITY_INVALID: Final = "identity.invalid"  # sub, iss, client_id... not a non-empty string (``claim``)
TENANT_NOT_ALLOWED: Final = "tenant.not_allowed"  # a templated issuer's tenant claim (Entra ``tid``)
VERSION_MISMATCH: Final = "ver.mismatch"  # Entra: a v1.0 token where v2.0 is accepted, or the reverse
AUTH_TIME_IN_FUTURE: Final = "auth_time.in_future"
HOSTED_DOMAIN_MISMATCH: Final = "hd.mismatch"  # Google: not the configured Workspace domain
TOKEN_TYPE_MISMATCH: Final = "token_type.mismatch"  # a provider's own access/ID marker (Keycloak ``typ``)
CUSTOM_REJECTED: Final = "custom.rejected"
JTI_REVOKED: Final = "jti.revoked"  # this very token was revoked
ORIGIN_JTI_REVOKED: Final = "origin_jti.revoked"  # the refresh token it came from was revoked
SUB_REVOKED: Final = "sub.revoked"  # its subject was signed out after it was issued

# -- introspected tokens (RFC 7662, ``jwt_middleware.oauth``) ---------------------------------------
TOKEN_INACTIVE: Final = "token.inactive"  # the introspection endpoint answered ``active: false``

# -- sender-constrained tokens (DPoP, RFC 9449) -----------------------------------------------------
CNF_INVALID: Final = "cnf.invalid"  # ``cnf`` is not an object, or its ``jkt`` is not a SHA-256 thumbprint
CNF_UNSUPPORTED: Final = "cnf.unsupported"  # bound to a key by a method other than DPoP (mTLS...)
DPOP_REQUIRED: Final = "dpop.required"  # a plain bearer token where only DPoP-bound ones are accepted
#: A token bound to a key (``cnf``) sent with the Bearer scheme: one code whoever finds it (the
#: DPoP rules for a JWT bound by ``cnf.jkt``, introspection for any ``cnf`` in the answer).
TOKEN_SENDER_CONSTRAINED: Final = "token.sender_constrained"
DPOP_TOKEN_UNBOUND: Final = "dpop.token_unbound"  # the DPoP scheme with a token bound to no key
DPOP_KEY_MISMATCH: Final = "dpop.key_mismatch"  # the proof's key is not the one the token is bound to
DPOP_PROOF_MISSING: Final = "dpop.missing"
DPOP_PROOF_MULTIPLE: Final = "dpop.multiple"
DPOP_PROOF_TOO_LARGE: Final = "dpop.too_large"
DPOP_PROOF_MALFORMED: Final = "dpop.malformed"  # not a strict compact JWS with a JSON header and payload
DPOP_TYP_MISMATCH: Final = "dpop.typ_mismatch"
DPOP_ALG_NOT_ALLOWED: Final = "dpop.alg_not_allowed"  # none, HMAC, or not in the accepted proof algorithms
DPOP_JWK_MISSING: Final = "dpop.jwk_missing"
DPOP_JWK_PRIVATE: Final = "dpop.jwk_private"
DPOP_JWK_INVALID: Final = "dpop.jwk_invalid"  # symmetric, weak, malformed or not canonical
DPOP_SIGNATURE_INVALID: Final = "dpop.signature_invalid"
DPOP_CLAIM_MISSING: Final = "dpop.claim_missing"  # jti, htm, htu or iat (``claim`` says which)
DPOP_CLAIM_INVALID: Final = "dpop.claim_invalid"  # of the wrong type or too long (``claim`` says which)
DPOP_HTM_MISMATCH: Final = "dpop.htm_mismatch"
DPOP_HTU_MISMATCH: Final = "dpop.htu_mismatch"
DPOP_NONCE_REQUIRED: Final = "dpop.nonce_required"  # missing or no longer current: ``use_dpop_nonce``
DPOP_IAT_TOO_OLD: Final = "dpop.iat_too_old"
DPOP_IAT_IN_FUTURE: Final = "dpop.iat_in_future"
DPOP_ATH_MISSING: Final = "dpop.ath_missing"
DPOP_ATH_MISMATCH: Final = "dpop.ath_mismatch"
DPOP_REPLAYED: Final = "dpop.replayed"  # the proof's ``jti`` was seen within the window
DPOP_REPLAY_FULL: Final = "dpop.replay_full"  # the in-process replay store is full of live proofs (503)

# -- server-side ----------------------------------------------------------------------------------
SERVER_UNAVAILABLE: Final = "server.unavailable"
KEYS_UNAVAILABLE: Final = "keys.unavailable"
CHECK_FAILED: Final = "check.failed"  # a checks= rule or custom_check raised unexpectedly
KEY_SOURCE_FAILED: Final = "keys.source_failed"  # a key source raised unexpectedly
REVOCATION_UNAVAILABLE: Final = "revocation.unavailable"  # the revocation mirror is too old to tell
STORE_UNAVAILABLE: Final = "store.unavailable"  # the shared store (Redis) did not answer
INTROSPECTION_UNAVAILABLE: Final = "introspection.unavailable"  # the endpoint gave no usable answer
INTROSPECTION_REFUSED: Final = "introspection.refused"  # the endpoint refused our client (its credentials)
INTROSPECTION_INVALID: Final = "introspection.invalid_response"  # no JSON object with a boolean ``active``
INTROSPECTION_BUSY: Final = "introspection.busy"  # too many introspection calls under way at once

# -- the token endpoint, for outgoing calls (``ClientCredentialsAuth``) ---------------------------
TOKEN_ENDPOINT_REFUSED: Final = "token_endpoint.refused"  # an OAuth error: invalid_client, invalid_scope...
TOKEN_ENDPOINT_INVALID: Final = "token_endpoint.invalid_response"  # a 200 without a usable access token

# -- fetching keys and discovery documents -------------------------------------------------------
FETCH_FAILED: Final = "fetch.failed"
FETCH_TIMEOUT: Final = "fetch.timeout"
FETCH_CONNECT: Final = "fetch.connect"  # nothing accepted the connection
FETCH_NETWORK: Final = "fetch.network"  # any other transport error
FETCH_TLS: Final = "fetch.tls"  # the TLS handshake failed: an untrusted certificate, a wrong host
FETCH_PROXY: Final = "fetch.proxy"  # the proxy refused or failed the request
FETCH_REDIRECT: Final = "fetch.redirect"
FETCH_NOT_FOUND: Final = "fetch.not_found"  # HTTP 404 or 410
FETCH_HTTP_STATUS: Final = "fetch.http_status"  # any other status but 200
FETCH_TOO_LARGE: Final = "fetch.too_large"
FETCH_NOT_JSON: Final = "fetch.not_json"
FETCH_UNEXPECTED: Final = "fetch.unexpected"
DISCOVERY_ISSUER_MISMATCH: Final = "discovery.issuer_mismatch"
DISCOVERY_NO_JWKS_URI: Final = "discovery.no_jwks_uri"
DISCOVERY_INSECURE_JWKS_URI: Final = "discovery.insecure_jwks_uri"
DISCOVERY_NO_ENDPOINT: Final = "discovery.no_endpoint"  # no token or introspection endpoint listed
DISCOVERY_INSECURE_ENDPOINT: Final = "discovery.insecure_endpoint"  # the endpoint listed is not https
JWKS_UNUSABLE: Final = "jwks.unusable"


def all_codes() -> frozenset[str]:
    """Every code above (for tests and documentation)."""
    return frozenset(value for name, value in globals().items() if name.isupper() and isinstance(value, str))
