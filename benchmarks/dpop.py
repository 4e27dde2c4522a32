"""The added cost of a DPoP check next to a plain verify, in one process and one run.

A DPoP request costs the token's own verification (usually a token-cache hit) plus the proof:
parsing it, importing its key, one signature check, the URI normalisation, and the replay
store. The proof's cost is set against a plain bearer verify measured in the same rounds. Each
call needs a proof the replay store has not seen, so the proof check runs against a store that
always answers "first use", and the in-process store's own cost is measured apart, with a new
key per call.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks.timing import Measurement, measure_interleaved
from jwt_middleware import JWTVerifier
from jwt_middleware.dpop import MemoryReplayStore
from jwt_middleware.request_view import ASGIRequestView
from jwt_middleware.testing import DPoPKey, SigningKey, encode_compact

__all__ = ["DPoPFigures", "run"]

ISSUER = "https://issuer.bench"
AUDIENCE = "https://api.bench"
URL = "https://api.bench/orders"


class _AlwaysFirst:
    """A replay store that never refuses: the benchmark replays one proof on purpose."""

    def first_use(self, key: str, ttl: float) -> bool:
        return True

    async def afirst_use(self, key: str, ttl: float) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class DPoPFigures:
    proof_alg: str
    measurements: dict[str, Measurement]

    def median(self, name: str) -> float:
        return self.measurements[name].median_us


def _request(token: str, proof: str) -> ASGIRequestView:
    headers = [
        (b"host", b"api.bench"),
        (b"authorization", f"DPoP {token}".encode()),
        (b"dpop", proof.encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "server": ("api.bench", 443),
        "path": "/orders",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
    }
    return ASGIRequestView(scope)


def _fresh_first_use(store: MemoryReplayStore) -> Callable[[], object]:
    """One ``first_use`` of a key never seen before, per call."""
    keys = (f"k{number}" for number in itertools.count())
    return lambda: store.first_use(next(keys), 300)


def run(rounds: int = 15, algorithms: tuple[str, ...] = ("ES256", "EdDSA")) -> list[DPoPFigures]:
    issuer_key = SigningKey.generate("ES256")
    jwks = {"keys": [issuer_key.public_jwk()]}
    figures = []
    for alg in algorithms:
        client = DPoPKey.generate(alg)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 3600}
        bearer_token = encode_compact({**claims, "jti": str(uuid.uuid4())}, issuer_key)
        bound_token = encode_compact(
            {**claims, "jti": str(uuid.uuid4()), "cnf": client.confirmation}, issuer_key
        )
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_replay=_AlwaysFirst())
        uncached = JWTVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=None, dpop_replay=_AlwaysFirst()
        )
        request = _request(bound_token, client.proof("GET", URL, bound_token))
        verifier.verify_sync(bearer_token)
        verifier.verify_dpop_sync(bound_token, request)
        first_use = _fresh_first_use(MemoryReplayStore(max_entries=1 << 24))
        functions: dict[str, Callable[[], object]] = {
            "bearer: token cache hit": partial(verifier.verify_sync, bearer_token),
            "DPoP: token cache hit + proof": partial(verifier.verify_dpop_sync, bound_token, request),
            "bearer: full verify": partial(uncached.verify_sync, bearer_token),
            "DPoP: full verify + proof": partial(uncached.verify_dpop_sync, bound_token, request),
            "replay store: first use (in process)": first_use,
        }
        figures.append(DPoPFigures(alg, measure_interleaved(functions, rounds=rounds)))
    return figures
