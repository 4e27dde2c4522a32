"""``JWTVerifier``: compact JWS + key source + claim policy = verified ``Claims``.

The async ``verify`` and the sync ``verify_sync`` are two short shells around the same pure steps:
``_prepare`` (parse, algorithm allow-list, choice of the key source) before the key is known and
``_finish`` (signature, claim policy) after. Only obtaining the key differs, because only that may
do I/O.

Verifiers for tokens that are not an issuer's plain JWTs (AWS ALB's ``x-amzn-oidc-data``) need no
private hooks, only the public extension points: ``key_source_selector(header, payload)`` chooses
the key source, and may refuse, before any key is fetched (the default dispatches on ``iss``);
``checks=`` adds ``ClaimCheck`` rules, which see the protected header as well as the claims, after
the signature; ``allow_padding`` accepts ``=``-padded segments.

Who is at fault when something raises unexpectedly (not a ``JWTMiddlewareError``):

* Before the signature is verified (parsing, header rules, the algorithm allow-list, signature
  arithmetic), the input is anonymous and hostile until proven otherwise. An exception there means
  we failed to read a malformed token safely: the token's fault, a 401 ``invalid_token`` ("The
  token could not be verified"), failing closed. A 503 would let any client make the service look
  down, and send well-behaved clients into ``Retry-After`` loops, at will.
* Code the service plugged in (a ``checks=`` rule, ``custom_check``, a key source other than the
  library's own cache) and every claim rule, which only ever sees a token whose signature is
  verified: an exception there is the service's failure (a revocation store down, a bug), so it is
  a ``VerificationUnavailableError``, 503 ``temporarily_unavailable`` with ``Retry-After``.

Either way only the exception's type is logged, never its message, the token or the claims.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import anyio

from jwt_middleware import reasons
from jwt_middleware.algorithms import DEFAULT_ALGORITHMS, validate_algorithms
from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, ClaimMapping
from jwt_middleware.claims import Claims
from jwt_middleware.dpop.nonce import DPoPNonce
from jwt_middleware.dpop.policy import DPOP_SCHEME, DPoPMode, DPoPPolicy
from jwt_middleware.dpop.proof import DEFAULT_IAT_WINDOW, DEFAULT_LEEWAY, VerifiedProof
from jwt_middleware.dpop.replay import ReplayStore
from jwt_middleware.errors import (
    ConfigurationError,
    InvalidClaimError,
    JWTMiddlewareError,
    JWTMiddlewareException,
    KeysUnavailableError,
    MalformedTokenError,
    UnknownKeyError,
)
from jwt_middleware.events import (
    ACCEPTED,
    REFUSED,
    UNAVAILABLE,
    EventHooks,
    VerificationEvent,
    VerificationHook,
)
from jwt_middleware.issuer_template import IssuerTemplate
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.jwks_cache import CacheSettings, JWKSCache
from jwt_middleware.jws import (
    DEFAULT_MAX_TOKEN_LENGTH,
    ParsedJWS,
    check_algorithm,
    parse_compact,
    verify_signature,
)
from jwt_middleware.keysource import KeySource, StaticKeySource
from jwt_middleware.policy import (
    AudienceCheck,
    ClaimCheck,
    ClaimPolicy,
    RequiredClaimsCheck,
    TimeCheck,
    TokenTypeCheck,
    extension_failure,
    string_set,
)
from jwt_middleware.request_view import RequestView
from jwt_middleware.safe_json import FrozenDict, JSONError, parse_object
from jwt_middleware.token_cache import DEFAULT_TOKEN_CACHE_SIZE, CachedToken, TokenCache

if TYPE_CHECKING:
    from jwt_middleware.revocation import RevocationList

__all__ = ["CustomCheck", "JWTVerifier", "KeySourceSelector", "payload_claims"]

logger = logging.getLogger("jwt_middleware")

#: ``custom_check(header, claims, key)``: return ``False`` or raise a ``JWTMiddlewareError`` to
#: reject; may be a coroutine function. Any other exception is a server-side failure (a revocation
#: lookup that failed is not a bad token): ``VerificationUnavailableError``, answered 503.
CustomCheck = Callable[[Mapping[str, Any], Claims, VerificationKey], "bool | Awaitable[bool | None] | None"]

#: ``presented(claims)``: refuses a verified token presented the wrong way (a bound one as bearer).
Presentation = Callable[[Claims], None]

#: ``key_source_selector(header, payload)``: the ``KeySource`` whose key verifies this token,
#: chosen from its protected header and its payload (parsed and strict, but not yet verified), before
#: any key is fetched. Raise a ``JWTMiddlewareError`` to refuse the token without a fetch (an
#: unknown signer, say); any other exception is the service's failure (503).
KeySourceSelector = Callable[[Mapping[str, Any], Mapping[str, Any]], KeySource]


class _Pending(NamedTuple):
    """A token that passed every check possible before its key is known."""

    parsed: ParsedJWS
    payload: FrozenDict
    source: KeySource
    #: The accepted issuer as configured (a template's text for a templated one), if known.
    issuer: str | None


#: ``_Pending`` built from a tuple in C: a named tuple's own constructor is a Python frame, and
#: one is built for every token verified.
_pending: Callable[[tuple[ParsedJWS, FrozenDict, KeySource, str | None]], _Pending] = functools.partial(
    tuple.__new__, _Pending
)


def payload_claims(parsed: ParsedJWS) -> FrozenDict:
    """The payload of a JWT as its claims: a strict JSON object, or the token is malformed."""
    try:
        return parse_object(parsed.payload)
    except JSONError:
        raise _payload_invalid() from None


def _payload_invalid() -> MalformedTokenError:
    return MalformedTokenError("The token payload is not a valid JSON object", code=reasons.PAYLOAD_INVALID)


class JWTVerifier:
    """Verifies bearer JWTs from one or several issuers against their published keys.

    ``audience`` has no default on purpose: pass ``None`` to accept any audience, so that skipping
    the check is a visible decision rather than an omission.

    Sender-constrained tokens (DPoP, RFC 9449): ``dpop="allowed"`` (the default) accepts DPoP-bound
    tokens with a valid proof (``verify_dpop``, which every adapter uses for ``Authorization:
    DPoP``) and plain bearer tokens (``verify``), and never a bound token as a bearer one;
    ``"required"`` refuses bearer tokens, ``"disabled"`` bound ones. ``dpop_iat_window`` is how far
    a proof's ``iat`` may be from now (seconds, either way), ``dpop_nonce`` a ``DPoPNonce`` (or
    ``True``) to require server nonces, ``dpop_replay`` where proof ``jti`` values are remembered
    (in-process by default; a ``RedisReplayStore`` across replicas), ``dpop_algorithms`` the
    accepted proof algorithms. The URI a proof must name is the request's as the server received
    it, unless ``dpop_base_url`` gives the external one (behind a proxy) or
    ``dpop_trust_forwarded=True`` says that a proxy sets ``X-Forwarded-*``.
    """

    def __init__(
        self,
        *,
        issuer: str | IssuerTemplate | Sequence[str | IssuerTemplate],
        audience: str | Sequence[str] | None,
        jwks_url: str | Mapping[str, str] | None = None,
        jwks: Mapping[str, Any] | KeySet | None = None,
        jwks_cache: KeySource | Mapping[str, KeySource] | None = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 0,
        max_age: float | None = None,
        require_exp: bool = True,
        required_claims: Iterable[str] = (),
        token_type: str | Iterable[str] | None = None,
        checks: Iterable[ClaimCheck] = (),
        custom_check: CustomCheck | None = None,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        token_cache_size: int | None = DEFAULT_TOKEN_CACHE_SIZE,
        cache_settings: CacheSettings | None = None,
        expose_unverified_claims: bool = False,
        claim_mapping: ClaimMapping | None = None,
        revocations: RevocationList | None = None,
        on_event: VerificationHook | None = None,
        clock: Callable[[], float] = time.time,
        key_source_selector: KeySourceSelector | None = None,
        allow_padding: bool = False,
        dpop: DPoPMode = "allowed",
        dpop_iat_window: float = DEFAULT_IAT_WINDOW,
        dpop_nonce: DPoPNonce | bool | None = None,
        dpop_replay: ReplayStore | None = None,
        dpop_algorithms: Iterable[str] | None = None,
        dpop_base_url: str | None = None,
        dpop_trust_forwarded: bool = False,
    ) -> None:
        issuers, templates = _issuers(issuer)
        #: The accepted issuers: exact strings, then each template's text.
        self.issuers: tuple[str, ...] = (*sorted(issuers), *(template.template for template in templates))
        self.issuer_templates = templates
        audiences = string_set(audience, name="audience")
        self.audiences = audiences
        if claim_mapping is not None and not isinstance(claim_mapping, ClaimMapping):
            raise ConfigurationError("claim_mapping must be a ClaimMapping")
        single_audience = next(iter(audiences)) if audiences is not None and len(audiences) == 1 else None
        #: Where tokens carry their scopes, groups, roles and permissions; placeholders filled.
        self.claim_mapping = (
            (claim_mapping or DEFAULT_CLAIM_MAPPING).bind(audience=single_audience).require_bound()
        )
        self.algorithms = validate_algorithms(algorithms)
        all_checks: list[ClaimCheck] = []
        if audiences is not None:
            all_checks.append(AudienceCheck(audiences))
        # A single name is one claim, not the characters of one ("sub" must not mean s, u, b).
        required = (required_claims,) if isinstance(required_claims, str) else tuple(required_claims)
        if required:
            all_checks.append(RequiredClaimsCheck(required))
        types = string_set(token_type, name="token_type")
        if types is not None:
            all_checks.append(TokenTypeCheck(types))
        all_checks.extend(checks)
        self.policy = ClaimPolicy(
            issuers=issuers,
            templates=templates,
            time=TimeCheck(leeway=float(leeway), require_exp=require_exp, max_age=max_age),
            checks=all_checks,
        )
        self.max_token_length = max_token_length
        #: Whether ``=`` padding is accepted in the token's segments (AWS ALB writes it; no issuer
        #: of standard JWTs does, and RFC 7515 forbids it, so it is off unless asked for).
        self.allow_padding = bool(allow_padding)
        if key_source_selector is not None and not callable(key_source_selector):
            raise ConfigurationError("key_source_selector must be a function (header, payload) -> KeySource")
        self._select = key_source_selector
        self.expose_unverified_claims = expose_unverified_claims
        self._custom_check = custom_check
        if revocations is not None and float(leeway) > revocations.expiry_margin:
            raise ConfigurationError(
                "leeway exceeds the revocation list's expiry_margin: a revoked token would pass "
                "again once its entry expired"
            )
        #: Every token this verifier accepts is checked against it (``None``: no revocation).
        self.revocations = revocations
        self._clock = clock
        self._hooks: EventHooks[VerificationEvent] = EventHooks(on_event, what="verification event hook")
        #: Calls every verification hook (``on_event``, ``add_event_hook``); ``None`` while there is
        #: none, which is all the hot path checks. Read it, never set it.
        self.event_hook: VerificationHook | None = self._hooks.dispatch
        #: The configured issuer a refusal is reported under when no token issuer was matched.
        self._sole_issuer = self.issuers[0] if len(self.issuers) == 1 else None
        self._cached_events: dict[str | None, VerificationEvent] = {}
        #: The DPoP rules: mode, proof checks, replay store, challenges (``jwt_middleware.dpop``).
        self.dpop = DPoPPolicy(
            dpop,
            iat_window=dpop_iat_window,
            leeway=max(DEFAULT_LEEWAY, float(leeway)),
            nonce=dpop_nonce,
            replay=dpop_replay,
            algorithms=None if dpop_algorithms is None else tuple(dpop_algorithms),
            base_url=dpop_base_url,
            trust_forwarded=dpop_trust_forwarded,
        )
        self._token_cache = TokenCache(token_cache_size) if token_cache_size else None
        self._sources = self._build_sources(jwks_url, jwks, jwks_cache, cache_settings)

    def _build_sources(
        self,
        jwks_url: str | Mapping[str, str] | None,
        jwks: Mapping[str, Any] | KeySet | None,
        jwks_cache: KeySource | Mapping[str, KeySource] | None,
        settings: CacheSettings | None,
    ) -> dict[str, KeySource]:
        given = [
            name
            for name, value in (("jwks_url", jwks_url), ("jwks", jwks), ("jwks_cache", jwks_cache))
            if value is not None
        ]
        if len(given) > 1:
            raise ConfigurationError(
                f"give at most one of jwks_url, jwks and jwks_cache (got {', '.join(given)})"
            )
        if jwks is not None:
            static = StaticKeySource(jwks if isinstance(jwks, KeySet) else KeySet.from_jwks(jwks))
            return dict.fromkeys(self.issuers, static)
        if isinstance(jwks_cache, Mapping):
            return {issuer: self._per_issuer(jwks_cache, issuer, "jwks_cache") for issuer in self.issuers}
        if jwks_cache is not None:
            return dict.fromkeys(self.issuers, jwks_cache)
        if isinstance(jwks_url, Mapping):
            urls = {issuer: self._per_issuer(jwks_url, issuer, "jwks_url") for issuer in self.issuers}
        elif jwks_url is not None:
            if len(self.issuers) > 1:
                raise ConfigurationError("with several issuers, jwks_url must map each issuer to its URL")
            urls = {self.issuers[0]: jwks_url}
        else:
            if self.issuer_templates:
                raise ConfigurationError(
                    "a templated issuer's keys cannot be discovered: give jwks_url (or jwks, jwks_cache)"
                )
            return {issuer: JWKSCache.from_issuer(issuer, settings=settings) for issuer in self.issuers}
        caches: dict[str, JWKSCache] = {}
        for url in set(urls.values()):
            caches[url] = JWKSCache(url, settings=settings)
        return {issuer: caches[url] for issuer, url in urls.items()}

    @staticmethod
    def _per_issuer(mapping: Mapping[str, Any], issuer: str, name: str) -> Any:
        if issuer not in mapping:
            raise ConfigurationError(f"{name} has no entry for issuer {issuer!r}")
        return mapping[issuer]

    @property
    def key_sources(self) -> Mapping[str, KeySource]:
        """The key source serving each accepted issuer."""
        return dict(self._sources)

    def select_key_source(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> KeySource:
        """The key source for a token: ``key_source_selector``'s choice, or its issuer's source.

        Runs before any key is fetched, on a token whose header and payload are parsed but whose
        signature is not yet verified; raises a ``JWTMiddlewareError`` to refuse it.
        """
        if self._select is None:
            return self._sources[self.policy.issuer_of(payload)]
        try:
            return self._select(header, payload)
        except JWTMiddlewareException:
            raise
        except Exception as exc:
            raise extension_failure(self._select, exc, code=reasons.KEY_SOURCE_FAILED) from None

    # -- the two pure halves shared by verify and verify_sync ------------------------------------

    def _prepare(self, token: str) -> _Pending:
        parsed = parse_compact(token, max_length=self.max_token_length, allow_padding=self.allow_padding)
        check_algorithm(parsed, self.algorithms)
        try:
            payload = parse_object(parsed.payload)  # payload_claims, one call shorter
        except JSONError:
            raise _payload_invalid() from None
        issuer: str | None
        try:
            if self._select is None:
                # The token's issuer chooses its key source, and is reported with its verification.
                issuer = self.policy.issuer_of(payload)
                source = self._sources[issuer]
            else:
                # key_source_selector's choice is its own: reported under the verifier's only
                # issuer, if it has one.
                source = self.select_key_source(parsed.header, payload)
                issuer = self._sole_issuer
        except JWTMiddlewareError as exc:
            raise self._annotate(exc, payload) from None
        return _pending((parsed, payload, source, issuer))

    def _finish(self, token: str, pending: _Pending, key: VerificationKey) -> Claims:
        try:
            if key.retired:
                # Served by a source after a refresh dropped it: never trust it again.
                raise UnknownKeyError(
                    claim="kid", location="header", code=reasons.KID_RETIRED, found=pending.parsed.kid
                )
            verify_signature(pending.parsed, key)
            claims = Claims(pending.payload, pending.parsed.header, self.claim_mapping)
            now = self._clock()
            self.policy.check(claims.header, claims, now)
            # Only after the signature and the policy: a forged token learns nothing about revocations.
            generation = -1 if self.revocations is None else self.revocations.check(claims, now)
        except JWTMiddlewareError as exc:
            raise self._annotate(exc, pending.payload) from None
        if self._token_cache is not None and self._custom_check is None:
            time_check = self.policy.time
            entry = CachedToken(
                claims,
                key,
                time_check.valid_from(claims),
                time_check.valid_until(claims),
                generation,
                self._cached_event(pending.issuer),
            )
            self._token_cache.put(token, entry)
        return claims

    def _annotate(self, error: JWTMiddlewareError, payload: FrozenDict | None) -> JWTMiddlewareError:
        """Expose what the token held only when configured to; otherwise drop it from the error."""
        if self.expose_unverified_claims:
            error.expose(payload)
        else:
            error.conceal()
        return error

    @property
    def caches_tokens(self) -> bool:
        """Whether verified tokens are remembered (a token cache and no custom check)."""
        return self._token_cache is not None and self._custom_check is None

    def cached_claims(self, token: str) -> Claims | None:
        """The claims of ``token`` if this verifier already verified it and still accepts it now.

        Never does any other work: ``None`` means "not known" (or revoked), not "invalid".
        """
        try:
            claims = self._remembered(token)
        except JWTMiddlewareError:
            return None
        return None if claims is None or "cnf" in claims else claims

    def _remembered(
        self, token: str, hook: VerificationHook | None = None, presented: Presentation | None = None
    ) -> Claims | None:
        """The claims of a token in the cache; raises if it was revoked since it was verified.

        The revocation check costs a lookup only when the list changed (or went stale) since this
        token was last checked: see ``jwt_middleware.revocation.state``. With ``hook``, the answer
        is reported as a verification from the cache (the entry's shared event, or a refusal).
        """
        cache = self._token_cache
        if cache is None or self._custom_check is not None:
            return None
        now = self._clock()
        try:
            entry = cache.get(token, now)
        except TypeError:
            return None  # Unhashable, so not a token at all: parse_compact rejects it.
        if entry is None:
            return None
        revocations = self.revocations
        try:
            if revocations is not None and not revocations.state.is_current(entry.revocation_generation, now):
                entry.revocation_generation = revocations.check(entry.claims, now)
            if presented is not None:
                presented(entry.claims)
        except JWTMiddlewareError as exc:
            error = self._annotate(exc, entry.claims)
            if hook is not None:
                issuer = entry.event.issuer if entry.event is not None else self._sole_issuer
                hook(self._outcome(issuer, error, None, cached=True))
            raise error from None
        if hook is not None and entry.event is not None:
            hook(entry.event)
        return entry.claims

    def cached_entry(self, token: str) -> CachedToken | None:
        """The token cache's entry for ``token``, if still usable (see ``CachedToken.usable_at``).

        Middlewares keep the entry for a repeated ``Authorization`` value and re-check it with
        ``entry.usable_at(verifier.clock())``: the same rule the cache applies.
        """
        if self._token_cache is None or self._custom_check is not None:
            return None
        try:
            entry = self._token_cache.get(token, self._clock())
        except TypeError:
            return None  # Unhashable, so not a token at all: parse_compact rejects it.
        # A bound token is never answered from memory as a bearer one: its proof must be checked.
        return None if entry is None or "cnf" in entry.claims else entry

    @property
    def clock(self) -> Callable[[], float]:
        """The verifier's clock (``time.time`` unless one was injected), in seconds."""
        return self._clock

    @staticmethod
    def _check_result(result: object) -> None:
        if result is False:
            raise InvalidClaimError("The token was rejected by a custom check", code=reasons.CUSTOM_REJECTED)

    def _refusal(self, error: JWTMiddlewareError, pending: _Pending | None) -> JWTMiddlewareError:
        """A refusal on its way out of either shell: located, then exposed or concealed."""
        if pending is not None and isinstance(error, UnknownKeyError):
            # From the key source, which saw the kid but not the header it came in.
            error.locate("kid", location="header", found=pending.parsed.kid)
        return self._annotate(error, pending.payload if pending is not None else None)

    def _failed(
        self,
        exc: Exception,
        hook: VerificationHook | None,
        started: float,
        pending: _Pending | None,
        key: VerificationKey | None,
        claims: Claims | None,
    ) -> Exception:
        """What either shell raises when verification ends in ``exc``, reported as its event.

        A refusal is located and raised as it is; a configuration or programming error
        (``BlockingCallError``) is no refusal and is raised as it is, unreported; anything else is
        judged by how far verification got (``_unexpected``) and raised in its place. Both shells
        call this from one ``except`` clause, so the outcome of a failure is decided once.
        """
        if isinstance(exc, JWTMiddlewareError):
            self._refusal(exc, pending)
            if hook is not None:
                hook(self._ended(started, pending, exc))
            return exc
        if isinstance(exc, JWTMiddlewareException):
            return exc
        failure = self._unexpected(exc, pending, key, claims)
        if hook is not None:
            hook(self._ended(started, pending, failure))
        return failure

    @staticmethod
    def _unexpected(
        exc: Exception, pending: _Pending | None, key: VerificationKey | None, claims: Claims | None
    ) -> JWTMiddlewareError:
        """Whose fault an unexpected exception is, by where it happened (see the module docstring)."""
        if pending is not None and key is None:
            return extension_failure(type(pending.source), exc, code=reasons.KEY_SOURCE_FAILED)
        if claims is not None:  # verified, and the claim policy passed: only custom_check runs now
            return extension_failure("custom_check", exc)
        # The token is never logged; the exception type tells us what to fix.
        logger.error("jwt_middleware: unexpected %s while verifying a token; rejected it", type(exc).__name__)
        return MalformedTokenError("The token could not be verified")

    # -- observation ------------------------------------------------------------------------------

    def add_event_hook(self, hook: VerificationHook) -> None:
        """Call ``hook`` with a ``VerificationEvent`` for every verification from now on."""
        self._hooks.add(hook)
        self.event_hook = self._hooks.dispatch

    def remove_event_hook(self, hook: VerificationHook) -> None:
        self._hooks.remove(hook)
        self.event_hook = self._hooks.dispatch

    def _cached_event(self, issuer: str | None) -> VerificationEvent:
        """The event of a verification answered from the token cache for ``issuer``: one shared,
        immutable event per accepted issuer, kept in the cache entries (a hit allocates nothing)."""
        event = self._cached_events.get(issuer)
        if event is None:
            event = self._cached_events.setdefault(issuer, VerificationEvent(ACCEPTED, issuer, cached=True))
        return event

    def _ended(
        self, started: float, pending: _Pending | None, error: JWTMiddlewareError | None
    ) -> VerificationEvent:
        issuer = pending.issuer if pending is not None else self._sole_issuer
        return self._outcome(issuer, error, time.perf_counter() - started)

    @staticmethod
    def _outcome(
        issuer: str | None, error: JWTMiddlewareError | None, duration: float | None, *, cached: bool = False
    ) -> VerificationEvent:
        if error is None:
            return VerificationEvent(ACCEPTED, issuer, duration=duration, cached=cached)
        outcome = UNAVAILABLE if error.status_code >= 500 else REFUSED
        return VerificationEvent(outcome, issuer, error.code, error.error, duration, cached)

    # -- shells -----------------------------------------------------------------------------------
    # Both track how far they got (pending, key, claims): that decides whose fault a surprise is.

    async def verify(self, token: str) -> Claims:
        """Verify a bearer ``token`` and return its claims, or raise a ``JWTMiddlewareError``.

        A token bound to a key (``cnf``) is refused: it is only good with a proof (``verify_dpop``).
        """
        dpop = self.dpop
        if not dpop.accepts_bearer:
            self._bearer_refused()
        return await self._verify_token(token, dpop.check_bearer)

    def verify_sync(self, token: str) -> Claims:
        """``verify`` for threads without an event loop (WSGI, Django, Flask, Lambda)."""
        dpop = self.dpop
        if not dpop.accepts_bearer:
            self._bearer_refused()
        return self._verify_token_sync(token, dpop.check_bearer)

    async def verify_dpop(self, token: str, request: RequestView) -> Claims:
        """Verify a DPoP-bound ``token`` and the ``DPoP`` proof of ``request`` (RFC 9449).

        The proof is checked on every call, the token as ``verify`` would (from the token cache
        when it was verified before), then the binding, then the proof's ``jti`` is recorded:
        a proof is accepted once.
        """
        proof = self._dpop_proof(token, request)
        with _dpop_scheme():
            claims = await self._verify_token(token, functools.partial(self._dpop_bound, proof=proof))
        with self._replay_store():
            first = await self.dpop.replay.afirst_use(proof.replay_key, self._replay_ttl(proof))
        return self._dpop_accepted(first, claims)

    def verify_dpop_sync(self, token: str, request: RequestView) -> Claims:
        """``verify_dpop`` for threads without an event loop."""
        proof = self._dpop_proof(token, request)
        with _dpop_scheme():
            claims = self._verify_token_sync(token, functools.partial(self._dpop_bound, proof=proof))
        with self._replay_store():
            first = self.dpop.replay.first_use(proof.replay_key, self._replay_ttl(proof))
        return self._dpop_accepted(first, claims)

    # -- the pure DPoP steps shared by verify_dpop and verify_dpop_sync --------------------------

    def _dpop_proof(self, token: str, request: RequestView) -> VerifiedProof:
        try:
            return self.dpop.check_proof(token, request, self._clock())
        except JWTMiddlewareError as error:
            self._report_refusal(error)
            raise self._annotate(error, None) from None

    def _report_refusal(self, error: JWTMiddlewareError) -> None:
        """A refusal decided before the token is looked at is a verification event too."""
        hook = self.event_hook
        if hook is not None:
            hook(self._outcome(self._sole_issuer, error, None))

    def _bearer_refused(self) -> None:
        """``dpop="required"``: a bearer token is refused before it is read, and reported."""
        try:
            self.dpop.refuse_bearer_if_required()
        except JWTMiddlewareError as error:
            self._report_refusal(error)
            raise

    def _dpop_bound(self, claims: Claims, *, proof: VerifiedProof) -> None:
        """How the token was presented, checked as part of its verification: bound to this proof."""
        self.dpop.check_binding(claims, proof)

    def _replay_ttl(self, proof: VerifiedProof) -> float:
        return proof.replay_ttl(self.dpop.rules, self._clock())

    @contextlib.contextmanager
    def _replay_store(self) -> Iterator[None]:
        """A replay store that raises anything but our errors has failed: 503, as other plug-ins."""
        try:
            yield
        except JWTMiddlewareException:
            raise
        except Exception as exc:
            raise extension_failure(type(self.dpop.replay), exc) from None

    def _dpop_accepted(self, first_use: bool, claims: Claims) -> Claims:
        if not first_use:
            raise self.dpop.replayed()
        return claims

    async def _verify_token(self, token: str, presented: Presentation) -> Claims:
        """The token's checks (cache, signature, policy, custom check), then how it was presented.

        ``presented(claims)`` refuses a token presented the wrong way (bound, sent as bearer);
        its refusal is the verification's, from the cache or not, reported as one event.
        """
        hook = self.event_hook
        if self._token_cache is not None:
            cached = self._remembered(token, hook, presented)
            if cached is not None:
                return cached
        started = time.perf_counter() if hook is not None else 0.0
        pending: _Pending | None = None
        key: VerificationKey | None = None
        claims: Claims | None = None
        try:
            pending = self._prepare(token)
            key = await pending.source.get_key(pending.parsed.kid, pending.parsed.algorithm)
            claims = self._finish(token, pending, key)
            if self._custom_check is not None:
                result = self._custom_check(claims.header, claims, key)
                if inspect.isawaitable(result):
                    result = await result
                self._check_result(result)
            presented(claims)
        except Exception as exc:
            failure = self._failed(exc, hook, started, pending, key, claims)
            if failure is exc:
                raise
            raise failure from None
        if hook is not None:
            hook(self._ended(started, pending, None))
        return claims

    def _verify_token_sync(self, token: str, presented: Presentation) -> Claims:
        """``_verify_token`` for threads without an event loop."""
        hook = self.event_hook
        if self._token_cache is not None:
            cached = self._remembered(token, hook, presented)
            if cached is not None:
                return cached
        started = time.perf_counter() if hook is not None else 0.0
        pending: _Pending | None = None
        key: VerificationKey | None = None
        claims: Claims | None = None
        try:
            pending = self._prepare(token)
            key = pending.source.get_key_sync(pending.parsed.kid, pending.parsed.algorithm)
            claims = self._finish(token, pending, key)
            if self._custom_check is not None:
                result = self._custom_check(claims.header, claims, key)
                if inspect.isawaitable(result):
                    result = _run_coroutine_here(result)
                self._check_result(result)
            presented(claims)
        except Exception as exc:
            failure = self._failed(exc, hook, started, pending, key, claims)
            if failure is exc:
                raise
            raise failure from None
        if hook is not None:
            hook(self._ended(started, pending, None))
        return claims

    # -- lifecycle --------------------------------------------------------------------------------

    def _unique_sources(self) -> list[KeySource]:
        unique: dict[int, KeySource] = {}
        for source in self._sources.values():
            unique.setdefault(id(source), source)
        return list(unique.values())

    async def hydrate(self) -> None:
        """Fetch every issuer's keys now (at start-up), concurrently; failures are only logged."""
        async with anyio.create_task_group() as group:
            for source in self._unique_sources():
                group.start_soon(_hydrate_quietly, source)
            if self.revocations is not None:
                group.start_soon(self.revocations.start)

    def hydrate_sync(self) -> None:
        for source in self._unique_sources():
            try:
                source.hydrate_sync()
            except KeysUnavailableError:
                logger.warning(
                    "jwt_middleware: could not load signing keys at start-up; will retry on demand"
                )
        if self.revocations is not None:
            self.revocations.start_sync()

    async def aclose(self) -> None:
        for source in self._unique_sources():
            await source.aclose()
        if self.revocations is not None:
            await self.revocations.aclose()
        closer = getattr(self.dpop.replay, "aclose", None)
        if closer is not None:
            await closer()

    def close(self) -> None:
        for source in self._unique_sources():
            source.close()
        if self.revocations is not None:
            self.revocations.close()
        closer = getattr(self.dpop.replay, "close", None)
        if closer is not None:
            closer()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        audience = sorted(self.audiences) if self.audiences else None
        return f"JWTVerifier(issuer={list(self.issuers)!r}, audience={audience!r})"

    # -- presets ----------------------------------------------------------------------------------

    @classmethod
    def cognito(cls, **options: Any) -> JWTVerifier:
        """A verifier for Amazon Cognito user pool tokens; see ``jwt_middleware.cognito``."""
        from jwt_middleware.cognito import cognito_verifier

        return cognito_verifier(cls, **options)

    @classmethod
    def api_gateway(cls, **options: Any) -> JWTVerifier:
        """What an API Gateway HTTP API JWT authorizer accepts; see ``jwt_middleware.aws.apigateway``."""
        from jwt_middleware.aws.apigateway import api_gateway_verifier

        return api_gateway_verifier(cls, **options)

    @classmethod
    def auth0(cls, **options: Any) -> JWTVerifier:
        """Auth0: ``auth0(domain=, audience=)``; see ``jwt_middleware.providers.auth0``."""
        from jwt_middleware.providers.auth0 import auth0_verifier

        return auth0_verifier(cls, **options)

    @classmethod
    def entra(cls, **options: Any) -> JWTVerifier:
        """Microsoft Entra ID: ``entra(tenant_id=, audience=, allowed_tenants=None)``; see
        ``jwt_middleware.providers.entra``."""
        from jwt_middleware.providers.entra import entra_verifier

        return entra_verifier(cls, **options)

    @classmethod
    def keycloak(cls, **options: Any) -> JWTVerifier:
        """Keycloak: ``keycloak(server_url=, realm=, audience=, client_id=None)``; see
        ``jwt_middleware.providers.keycloak``."""
        from jwt_middleware.providers.keycloak import keycloak_verifier

        return keycloak_verifier(cls, **options)

    @classmethod
    def okta(cls, **options: Any) -> JWTVerifier:
        """Okta: ``okta(domain=, audience=, authorization_server="default")``; see
        ``jwt_middleware.providers.okta``."""
        from jwt_middleware.providers.okta import okta_verifier

        return okta_verifier(cls, **options)

    @classmethod
    def google(cls, **options: Any) -> JWTVerifier:
        """Google ID tokens: ``google(audience=)``; see ``jwt_middleware.providers.google``."""
        from jwt_middleware.providers.google import google_verifier

        return google_verifier(cls, **options)

    @classmethod
    def firebase(cls, **options: Any) -> JWTVerifier:
        """Firebase Authentication ID tokens: ``firebase(project_id=)``; see
        ``jwt_middleware.providers.firebase``."""
        from jwt_middleware.providers.firebase import firebase_verifier

        return firebase_verifier(cls, **options)


@contextlib.contextmanager
def _dpop_scheme() -> Iterator[None]:
    """Refusals of a token presented with the DPoP scheme are challenged in that scheme."""
    try:
        yield
    except JWTMiddlewareError as error:
        error.scheme = DPOP_SCHEME
        raise


def _issuers(
    issuer: str | IssuerTemplate | Sequence[str | IssuerTemplate],
) -> tuple[frozenset[str], tuple[IssuerTemplate, ...]]:
    """Split the configured issuers into exact strings and templates."""
    try:
        given = [issuer] if isinstance(issuer, str | IssuerTemplate) else list(issuer or ())
    except TypeError:
        raise ConfigurationError("issuer must be a string, an IssuerTemplate or a list of them") from None
    templates = tuple(item for item in given if isinstance(item, IssuerTemplate))
    strings = [item for item in given if not isinstance(item, IssuerTemplate)]
    if not strings and not templates:
        raise ConfigurationError("issuer is required: a string or a list of accepted issuers")
    issuers = string_set(strings, name="issuer") if strings else frozenset[str]()
    assert issuers is not None
    if len({template.template for template in templates}) != len(templates):
        raise ConfigurationError("each issuer template may be given once")
    return issuers, templates


async def _hydrate_quietly(source: KeySource) -> None:
    try:
        await source.hydrate()
    except KeysUnavailableError:
        logger.warning("jwt_middleware: could not load signing keys at start-up; will retry on demand")


def _run_coroutine_here(awaitable: Awaitable[Any]) -> Any:
    """Run an async custom check from ``verify_sync``, which only runs where no loop is running."""

    async def run() -> Any:
        return await awaitable

    try:
        return anyio.run(run)
    except RuntimeError as exc:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise ConfigurationError(
            "an async custom_check cannot run from verify_sync inside an event loop"
        ) from exc
