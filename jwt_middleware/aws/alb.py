"""AWS Application Load Balancer authentication: verify ``x-amzn-oidc-data``, the ALB's own token.

When a listener rule authenticates users (OIDC or Cognito), the ALB forwards three headers:

* ``x-amzn-oidc-data``: the user claims as a JWT signed by the load balancer: ES256, base64url
  segments *with* ``=`` padding, a header holding ``alg``, ``kid``, ``signer`` (the ALB's ARN),
  ``iss``, ``client`` and ``exp``, and a payload of the IdP's user claims plus ``exp`` and ``iss``.
  Its key is a PEM at ``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}``.
* ``x-amzn-oidc-identity``: the ``sub`` from the user info endpoint, in plain text, unsigned.
* ``x-amzn-oidc-accesstoken``: the IdP's access token, in plain text. The ALB vouches for nothing
  about it; verify it like any bearer token (``JWTVerifier.cognito(..., token_use="access")`` for a
  Cognito user pool) if the service uses it.

AWS asks that the ``signer`` be checked against the expected load balancer before the claims are
used: any ALB in a region signs with the same regional keys, so the signature alone proves only
that *some* ALB made the token. ``ALBVerifier`` checks the ``signer``, the ``kid``'s form and the
``client`` before any key is fetched, then the signature, ``exp`` wherever it appears (header and
payload) and, when configured, ``iss``. It is a ``JWTVerifier``: the middlewares take it as they
take any verifier, with ``header=ALB_DATA_HEADER``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware import reasons
from jwt_middleware.aws.alb_keys import ALB_KID, ALBKeySource
from jwt_middleware.aws.partitions import REGION_PATTERN, partition_of
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    ABSENT,
    ConfigurationError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    UnknownKeyError,
)
from jwt_middleware.events import EventHook
from jwt_middleware.jwks_state import CacheSettings
from jwt_middleware.jws import DEFAULT_MAX_TOKEN_LENGTH
from jwt_middleware.keysource import KeySource
from jwt_middleware.policy import ClaimCheck, ClaimPolicy, TimeCheck, string_set
from jwt_middleware.verifier import CustomCheck, JWTVerifier

if TYPE_CHECKING:
    from jwt_middleware.revocation import RevocationList

__all__ = [
    "ALB_ACCESS_TOKEN_HEADER",
    "ALB_DATA_HEADER",
    "ALB_IDENTITY_HEADER",
    "ALBHeaderExpiryCheck",
    "ALBKeySelector",
    "ALBVerifier",
    "alb_identity",
    "alb_key_url",
    "parse_alb_arn",
]

ALB_DATA_HEADER: Final = "x-amzn-oidc-data"
ALB_IDENTITY_HEADER: Final = "x-amzn-oidc-identity"
ALB_ACCESS_TOKEN_HEADER: Final = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

_ALB_ARN: Final = re.compile(
    rf"arn:(?P<partition>aws[a-z-]*):elasticloadbalancing:(?P<region>{REGION_PATTERN}):[0-9]{{12}}:"
    r"loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}"
)
#: GovCloud keys live in S3 (AWS's ALB guide); commercial regions share one pattern.
_GOVCLOUD_KEY_URLS: Final = {
    "us-gov-west-1": "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/{kid}",
    "us-gov-east-1": "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1/{kid}",
}


def parse_alb_arn(arn: str) -> tuple[str, str]:
    """Validate an Application Load Balancer ARN; return its partition and region."""
    match = _ALB_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or partition_of(match["region"]).name != match["partition"]:
        raise ConfigurationError(
            f"{arn!r} is not an Application Load Balancer ARN "
            "(arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)"
        )
    return match["partition"], match["region"]


def alb_key_url(region: str, partition: str = "aws") -> str:
    """The documented key URL template (``{kid}`` left in) for load balancers in ``region``."""
    if region in _GOVCLOUD_KEY_URLS:
        return _GOVCLOUD_KEY_URLS[region]
    if partition != "aws":
        raise ConfigurationError(f"no documented ALB key URL for {region}; pass key_url")
    return f"https://public-keys.auth.elb.{region}.amazonaws.com/{{kid}}"


@dataclass(frozen=True, slots=True)
class ALBHeaderExpiryCheck:
    """ALB puts ``exp`` in the protected header as well as the payload; both must be in the future.

    The header's ``exp`` is read with the core's ``TimeCheck``, so it must be a real NumericDate.
    """

    time: TimeCheck

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        self.time.check(header, now, location="header")


def alb_identity(claims: Claims, identity: str | None) -> str:
    """The user's ``sub``, checked against the ``x-amzn-oidc-identity`` header when one was sent.

    The identity header is not signed; it is only believed when it equals the verified ``sub``.
    """
    subject = claims.subject
    if subject is None:
        raise InvalidClaimError("The token has no subject", claim="sub", code=reasons.SUB_MISSING)
    if identity is not None and identity != subject:
        raise InvalidClaimError(
            "The identity header does not match the token", claim="sub", code=reasons.SUB_IDENTITY_MISMATCH
        )
    return subject


@dataclass(frozen=True, slots=True)
class ALBKeySelector:
    """The checks an ALB token passes before any key is fetched, then its signer's key source.

    A ``KeySourceSelector`` (see ``jwt_middleware.verifier``), in the order that rejects forgeries
    cheapest: the ``kid`` must have the form of an ALB key id (it becomes part of a URL), the
    ``signer`` must be an accepted load balancer (``sources`` maps each ARN to its region's keys),
    the ``client`` an accepted app client (``None``: any), and the payload's ``iss`` an accepted
    issuer (``None``: any), the same in the header when it names one.
    """

    sources: Mapping[str, KeySource]
    client_ids: frozenset[str] | None
    issuers: ClaimPolicy | None

    def __call__(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> KeySource:
        kid = header.get("kid", ABSENT)
        if not isinstance(kid, str) or ALB_KID.fullmatch(kid) is None:
            raise UnknownKeyError(
                "The token's key id is not an ALB key id",
                claim="kid",
                location="header",
                code=reasons.KID_INVALID,
                found=kid,
            )
        signer = header.get("signer", ABSENT)
        source = self.sources.get(signer) if isinstance(signer, str) else None
        if source is None:
            raise InvalidIssuerError(
                "The token was not signed by an accepted load balancer",
                claim="signer",
                expected=tuple(sorted(self.sources)),
                code=reasons.SIGNER_MISMATCH,
                location="header",
                found=signer,
            )
        if self.client_ids is not None:
            client = header.get("client", ABSENT)
            if not isinstance(client, str) or client not in self.client_ids:
                raise InvalidAudienceError(
                    "The token's client is not accepted",
                    claim="client",
                    expected=tuple(sorted(self.client_ids)),
                    code=reasons.CLIENT_MISMATCH,
                    location="header",
                    found=client,
                )
        if self.issuers is not None:
            issuer = self.issuers.issuer_of(payload)
            if "iss" in header and header["iss"] != issuer:
                raise InvalidIssuerError(
                    "The token's header and payload name different issuers",
                    claim="iss",
                    code=reasons.ISS_HEADER_MISMATCH,
                    location="header",
                    found=header["iss"],
                )
        return source


class ALBVerifier(JWTVerifier):
    """Verifies ``x-amzn-oidc-data`` tokens signed by one or several of your load balancers.

    ``alb_arn`` (one ARN or several, in any regions) is required; ``client_id`` (the ``client``
    header, your IdP app client) and ``issuer`` (``iss``, your IdP) must be given, ``None`` skipping
    that check explicitly, as in aws-jwt-verify. ``key_url`` overrides where keys are fetched from:
    a template with ``{kid}`` and optionally ``{region}`` (tests serve keys on loopback).

    It is a ``JWTVerifier`` configured through the verifier's public extension points: padded
    segments allowed, ``ALBKeySelector`` choosing the signing load balancer's keys (so
    ``issuers`` holds the accepted ARNs and ``key_sources`` maps each to its region's keys), and
    ``ALBHeaderExpiryCheck`` among the checks. The verified-token cache is off: it tracks payload
    times only, and ALB puts an ``exp`` of its own in the header (an ES256 check costs well under a
    millisecond).
    """

    def __init__(
        self,
        *,
        alb_arn: str | Iterable[str],
        client_id: str | Iterable[str] | None,
        issuer: str | Iterable[str] | None,
        key_url: str | None = None,
        leeway: float = 0,
        max_age: float | None = None,
        required_claims: Iterable[str] = (),
        checks: Iterable[ClaimCheck] = (),
        custom_check: CustomCheck | None = None,
        cache_settings: CacheSettings | None = None,
        max_kids: int = 16,
        new_kid_burst: int = 3,
        on_event: EventHook | None = None,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        expose_unverified_claims: bool = False,
        claim_mapping: ClaimMapping | None = None,
        revocations: RevocationList | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        arns = string_set(alb_arn, name="alb_arn")
        if arns is None:
            raise ConfigurationError("ALBVerifier needs the ARN of your load balancer (alb_arn)")
        sources: dict[str, ALBKeySource] = {}
        by_arn: dict[str, KeySource] = {}
        for arn in sorted(arns):
            partition, region = parse_alb_arn(arn)
            template = (key_url or alb_key_url(region, partition)).replace("{region}", region)
            if template not in sources:
                sources[template] = ALBKeySource(
                    template,
                    settings=cache_settings,
                    max_kids=max_kids,
                    new_kid_burst=new_kid_burst,
                    on_event=on_event,
                )
            by_arn[arn] = sources[template]
        self.client_ids = string_set(client_id, name="client_id")
        accepted_issuers = string_set(issuer, name="issuer")
        time_check = TimeCheck(leeway=float(leeway), require_exp=True)
        # Only the issuer rule of a claim policy is used, for the payload's iss.
        payload_issuers = (
            ClaimPolicy(issuers=accepted_issuers, time=time_check) if accepted_issuers is not None else None
        )
        super().__init__(
            issuer=sorted(arns),  # the signers: see the class docstring
            audience=None,
            jwks_cache=by_arn,
            algorithms=("ES256",),
            leeway=leeway,
            max_age=max_age,
            required_claims=required_claims,
            checks=(ALBHeaderExpiryCheck(time_check), *checks),
            custom_check=custom_check,
            max_token_length=max_token_length,
            token_cache_size=None,
            expose_unverified_claims=expose_unverified_claims,
            claim_mapping=claim_mapping,
            revocations=revocations,
            clock=clock,
            key_source_selector=ALBKeySelector(by_arn, self.client_ids, payload_issuers),
            allow_padding=True,
        )
        self.alb_arns = self.issuers

    def __repr__(self) -> str:
        return f"ALBVerifier(alb_arn={list(self.alb_arns)!r})"
