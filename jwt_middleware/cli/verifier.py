"""From ``verify``'s options to the ``JWTVerifier`` an API would build, plus what explanations need.

The command line must reject and accept exactly what the library does, so it builds a real
``JWTVerifier`` (the Cognito preset for ``--cognito-pool``) and adds nothing of its own to the
checks. It differs from an API's verifier in three deliberate ways, none of which changes a
verdict: ``expose_unverified_claims=True`` so that a rejection can be explained with the token's
actual values; its own ``JWKSCache`` so that ``-v`` can narrate fetches and an explanation can name
the keys that were there; and no token cache, which one verification cannot use.

The library's rule that skipping a check is a visible decision carries over: the audience needs
``--audience`` or ``--no-audience``, and the Cognito preset needs ``--client-id`` or
``--any-client`` and ``--token-use``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jwt_middleware.algorithms import DEFAULT_ALGORITHMS
from jwt_middleware.aws.alb import ALBVerifier, alb_key_url, parse_alb_arn
from jwt_middleware.cli.errors import CommandError
from jwt_middleware.cli.explain import Configuration
from jwt_middleware.cognito import cognito_issuer, cognito_jwks_url, global_cognito_issuer
from jwt_middleware.discovery import discovery_url
from jwt_middleware.events import EventHook
from jwt_middleware.jwk import KeySet
from jwt_middleware.jwks_cache import CacheSettings, JWKSCache
from jwt_middleware.policy import ClaimCheck, ScopesCheck
from jwt_middleware.verifier import JWTVerifier

__all__ = ["VerifierSetup", "build_verifier"]


@dataclass(frozen=True, slots=True)
class VerifierSetup:
    verifier: JWTVerifier
    #: The key cache behind the verifier (``None`` for ALB tokens: one cache per ``kid``, inside).
    cache: JWKSCache | None
    config: Configuration
    #: Where keys come from: the JWKS URL, the discovery URL that will find it, or (ALB) a
    #: template with ``{kid}``.
    key_url: str

    def key_url_for(self, kid: object) -> str:
        """Where the key of ``kid`` was (or would be) fetched from."""
        if self.cache is not None and self.cache.url is not None:
            return self.cache.url
        return self.key_url.replace("{kid}", kid) if isinstance(kid, str) else self.key_url

    @property
    def keys(self) -> KeySet | None:
        return self.cache.keys if self.cache is not None else None


def _unique(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values or ()))


def _check_combinations(args: argparse.Namespace) -> None:
    if args.alb_arns:
        if args.cognito_pool or args.audiences or args.no_audience or args.token_use or args.jwks_url:
            raise CommandError(
                "--alb-arn verifies ALB tokens: --cognito-pool, --audience, --no-audience, --token-use "
                "and --jwks-url do not apply (--alb-key-url says where the keys are)"
            )
        if not args.client_ids and not args.any_client:
            raise CommandError("--alb-arn needs --client-id ID (the IdP app client) or --any-client")
        if bool(args.issuer) == bool(args.any_issuer):
            raise CommandError("--alb-arn needs --issuer URL (the IdP's 'iss') or --any-issuer, not both")
        return
    if args.alb_key_url or args.any_issuer:
        raise CommandError("--alb-key-url and --any-issuer need --alb-arn")
    if args.cognito_pool:
        if args.audiences or args.no_audience:
            raise CommandError(
                "--audience/--no-audience do not apply with --cognito-pool: Cognito names the app client "
                "in client_id or aud, checked with --client-id"
            )
        if args.token_use is None:
            raise CommandError(
                "--cognito-pool needs --token-use access, id or any (the tokens this API accepts)"
            )
        if not args.client_ids and not args.any_client:
            raise CommandError(
                "--cognito-pool needs --client-id ID (or --any-client to accept every app client)"
            )
        forms = (cognito_issuer(args.cognito_pool), global_cognito_issuer(args.cognito_pool))
        if args.issuer and args.issuer not in forms:
            raise CommandError(
                f"--issuer conflicts with --cognito-pool, whose issuers are {forms[0]} and {forms[1]}; "
                "drop --issuer"
            )
        return
    if args.client_ids or args.any_client or args.token_use:
        raise CommandError("--client-id, --any-client and --token-use need --cognito-pool or --alb-arn")
    if not args.issuer:
        raise CommandError(
            "--issuer URL is required (the exact 'iss' your API accepts), or use --cognito-pool"
        )
    if not args.audiences and not args.no_audience:
        raise CommandError(
            "choose the audience check: --audience AUD (repeatable), or --no-audience to accept any audience"
        )


def build_verifier(args: argparse.Namespace, on_event: EventHook) -> VerifierSetup:
    """The verifier ``verify``'s options describe.

    Raises ``CommandError`` for contradictory options and ``ConfigurationError`` (from the library)
    for values it refuses, such as a non-https issuer or a leeway over ten minutes.
    """
    _check_combinations(args)
    if args.timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    settings = CacheSettings(
        timeout=args.timeout,
        allow_http=args.allow_http,
        trust_env=args.trust_env,
        ca_bundle=args.ca_bundle,
        client_cert=args.client_cert,
        client_key=args.client_key,
        proxy=args.proxy,
    )
    scopes = _unique(args.scopes)
    checks: list[ClaimCheck] = []
    if scopes:
        checks.append(ScopesCheck(frozenset(scopes), any_of=args.any_scope))
    token_types = _unique(args.token_types)
    options: dict[str, Any] = {
        "leeway": args.leeway,
        "checks": checks,
        "token_type": token_types or None,
        "expose_unverified_claims": True,
        "token_cache_size": None,
    }
    if args.algorithms:
        options["algorithms"] = _unique(args.algorithms)

    if args.alb_arns:
        return _alb_setup(args, settings, scopes, on_event)
    if args.cognito_pool:
        pool = args.cognito_pool
        key_url = args.jwks_url or cognito_jwks_url(pool)
        cache = JWKSCache(key_url, settings=settings, on_event=on_event)
        client_ids = _unique(args.client_ids) or None
        token_use = None if args.token_use == "any" else args.token_use  # noqa: S105 (not a password)
        verifier = JWTVerifier.cognito(
            user_pool_id=pool, client_id=client_ids, token_use=token_use, jwks_cache=cache, **options
        )
        config = Configuration(
            issuers=verifier.issuers,
            audiences=None,
            algorithms=tuple(sorted(verifier.algorithms)),
            leeway=args.leeway,
            cognito=True,
            client_ids=client_ids,
            token_uses=(token_use,) if token_use else ("access", "id"),
            scopes=scopes,
            any_scope=args.any_scope,
            token_types=token_types,
            timeout=args.timeout,
        )
        return VerifierSetup(verifier, cache, config, key_url)

    issuer: str = args.issuer
    if args.jwks_url:
        key_url = args.jwks_url
        cache = JWKSCache(key_url, settings=settings, on_event=on_event)
    else:
        key_url = discovery_url(issuer, allow_http=args.allow_http)
        cache = JWKSCache.from_issuer(issuer, settings=settings, on_event=on_event)
    audiences = None if args.no_audience else _unique(args.audiences)
    verifier = JWTVerifier(issuer=issuer, audience=audiences, jwks_cache=cache, **options)
    config = Configuration(
        issuers=verifier.issuers,
        audiences=audiences,
        algorithms=tuple(sorted(verifier.algorithms)) if args.algorithms else DEFAULT_ALGORITHMS,
        leeway=args.leeway,
        scopes=scopes,
        any_scope=args.any_scope,
        token_types=token_types,
        timeout=args.timeout,
    )
    return VerifierSetup(verifier, cache, config, key_url)


def _alb_setup(
    args: argparse.Namespace, settings: CacheSettings, scopes: tuple[str, ...], on_event: EventHook
) -> VerifierSetup:
    """``ALBVerifier`` for ``--alb-arn``: the signer, client and issuer checks of the ALB token."""
    arns = _unique(args.alb_arns)
    client_ids = None if args.any_client else _unique(args.client_ids)
    issuer = None if args.any_issuer else args.issuer
    checks: list[ClaimCheck] = [ScopesCheck(frozenset(scopes), any_of=args.any_scope)] if scopes else []
    verifier = ALBVerifier(
        alb_arn=arns,
        client_id=client_ids,
        issuer=issuer,
        key_url=args.alb_key_url,
        leeway=args.leeway,
        checks=checks,
        cache_settings=settings,
        on_event=on_event,
        expose_unverified_claims=True,
    )
    partition, region = parse_alb_arn(arns[0])
    key_url = args.alb_key_url or alb_key_url(region, partition)
    config = Configuration(
        issuers=(issuer,) if issuer else (),
        audiences=None,
        algorithms=("ES256",),
        leeway=args.leeway,
        client_ids=client_ids,
        scopes=scopes,
        any_scope=args.any_scope,
        timeout=args.timeout,
        alb_arns=arns,
    )
    return VerifierSetup(verifier, None, config, key_url.replace("{region}", region))
