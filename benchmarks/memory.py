"""Resident memory while verifying 100 000 distinct tokens: it must plateau at the cache sizes.

Every token is new, so the verified-token cache fills to its bound and then evicts; the header
memo stays tiny because all tokens share one header. RSS is sampled along the way: growth after
the caches are full would mean something is kept per token.
"""

from __future__ import annotations

import gc
import resource
from dataclasses import dataclass

from benchmarks.verify import AUDIENCE, ISSUER, cognito_sized_claims
from jwt_middleware import JWTVerifier
from jwt_middleware.testing import SigningKey, encode_compact

__all__ = ["MemoryResult", "run"]


@dataclass(frozen=True, slots=True)
class MemoryResult:
    tokens: int
    cache_entries: int
    #: (tokens verified so far, resident set size in MiB)
    samples: list[tuple[int, float]]

    @property
    def growth_after_fill_mib(self) -> float:
        """RSS growth from the first sample taken after the cache filled to the last sample."""
        filled = [rss for count, rss in self.samples if count >= 2 * self.cache_entries]
        return filled[-1] - filled[0] if len(filled) > 1 else 0.0


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(tokens: int = 100_000, cache_entries: int = 4096) -> MemoryResult:
    key = SigningKey.generate("EdDSA")  # the cheapest signer: minting dominates this run
    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks={"keys": [key.public_jwk()]}, token_cache_size=cache_entries
    )
    claims = cognito_sized_claims()
    samples: list[tuple[int, float]] = []
    step = tokens // 10
    for index in range(tokens):
        claims["jti"] = f"jti-{index}"
        verifier.verify_sync(encode_compact(claims, key))
        if (index + 1) % step == 0:
            gc.collect()
            samples.append((index + 1, _rss_mib()))
    return MemoryResult(tokens, cache_entries, samples)
