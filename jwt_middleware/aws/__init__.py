"""AWS modes: each gives exactly the semantics AWS documents for one service.

* ``JWTVerifier.cognito`` (``jwt_middleware.cognito``): Amazon Cognito user pool tokens.
* ``JWTVerifier.api_gateway`` (``apigateway``): what an API Gateway HTTP API JWT authorizer accepts.
* ``gateway_claims``: the claims as the authorizers hand them to a Lambda, both ways (HTTP APIs'
  and REST APIs' renderings), with the one table of claim types (``CLAIM_TYPES``).
* ``partitions``: AWS partitions, their regions and DNS suffixes (Cognito, ALB, API Gateway).
* ``routes``, ``route_policy`` and ``identity_sources``: API Gateway's route matching, the
  authorizer policies that stay right under its cache, and its identity source syntax.
* ``APIGatewayClaimsAuthenticator`` (``gateway_authenticator``) and its ASGI middleware
  ``APIGatewayClaimsMiddleware`` (``gateway_trust``): trust the gateway's verification, by opt-in.
* ``ALBVerifier`` (``alb``, keys in ``alb_keys``): Application Load Balancer ``x-amzn-oidc-data``.
* The stand-in load balancer for tests is the test kit's ``jwt_middleware.testing.LocalALB``.
* Lambda authorizers live with the other adapters, in ``jwt_middleware.integrations.aws_lambda``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from jwt_middleware.aws.alb import (
        ALB_ACCESS_TOKEN_HEADER,
        ALB_DATA_HEADER,
        ALB_IDENTITY_HEADER,
        ALBHeaderExpiryCheck,
        ALBKeySelector,
        ALBVerifier,
        alb_identity,
        alb_key_url,
        parse_alb_arn,
    )
    from jwt_middleware.aws.alb_keys import ALBKeySource
    from jwt_middleware.aws.apigateway import (
        API_GATEWAY_ALGORITHMS,
        api_gateway_verifier,
        identity_source_token,
    )
    from jwt_middleware.aws.gateway_authenticator import AWS_EVENT_KEY, APIGatewayClaimsAuthenticator
    from jwt_middleware.aws.gateway_claims import (
        CLAIM_TYPES,
        authorizer_context,
        claims_from_event,
        gateway_claims,
        parse_gateway_claims,
        render_claim,
        rest_gateway_claims,
    )
    from jwt_middleware.aws.gateway_trust import APIGatewayClaimsMiddleware
    from jwt_middleware.aws.identity_sources import IdentitySources
    from jwt_middleware.aws.partitions import Partition, partition_of
    from jwt_middleware.aws.route_policy import RouteTable
    from jwt_middleware.aws.routes import Route

__all__ = [
    "ALB_ACCESS_TOKEN_HEADER",
    "ALB_DATA_HEADER",
    "ALB_IDENTITY_HEADER",
    "API_GATEWAY_ALGORITHMS",
    "AWS_EVENT_KEY",
    "CLAIM_TYPES",
    "ALBHeaderExpiryCheck",
    "ALBKeySelector",
    "ALBKeySource",
    "ALBVerifier",
    "APIGatewayClaimsAuthenticator",
    "APIGatewayClaimsMiddleware",
    "IdentitySources",
    "Partition",
    "Route",
    "RouteTable",
    "alb_identity",
    "alb_key_url",
    "api_gateway_verifier",
    "authorizer_context",
    "claims_from_event",
    "gateway_claims",
    "identity_source_token",
    "parse_alb_arn",
    "parse_gateway_claims",
    "partition_of",
    "render_claim",
    "rest_gateway_claims",
]

# Imported on first use, so a Lambda authorizer or a WSGI app that reads ``jwt_middleware.aws`` never
# loads Starlette for the ASGI-only ``APIGatewayClaimsMiddleware``.
_HOMES = {
    "jwt_middleware.aws.alb": (
        "ALB_ACCESS_TOKEN_HEADER",
        "ALB_DATA_HEADER",
        "ALB_IDENTITY_HEADER",
        "ALBHeaderExpiryCheck",
        "ALBKeySelector",
        "ALBVerifier",
        "alb_identity",
        "alb_key_url",
        "parse_alb_arn",
    ),
    "jwt_middleware.aws.alb_keys": ("ALBKeySource",),
    "jwt_middleware.aws.apigateway": (
        "API_GATEWAY_ALGORITHMS",
        "api_gateway_verifier",
        "identity_source_token",
    ),
    "jwt_middleware.aws.gateway_claims": (
        "CLAIM_TYPES",
        "authorizer_context",
        "claims_from_event",
        "gateway_claims",
        "parse_gateway_claims",
        "render_claim",
        "rest_gateway_claims",
    ),
    "jwt_middleware.aws.identity_sources": ("IdentitySources",),
    "jwt_middleware.aws.partitions": ("Partition", "partition_of"),
    "jwt_middleware.aws.route_policy": ("RouteTable",),
    "jwt_middleware.aws.routes": ("Route",),
    "jwt_middleware.aws.gateway_authenticator": ("AWS_EVENT_KEY", "APIGatewayClaimsAuthenticator"),
    "jwt_middleware.aws.gateway_trust": ("APIGatewayClaimsMiddleware",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES)
