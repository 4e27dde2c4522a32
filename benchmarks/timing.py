"""Measuring small costs honestly on a shared 2-core machine.

Every figure is the median over several rounds of many calls, and the functions compared in one
table are measured in interleaved rounds (A, B, C, A, B, C, ...) so that frequency scaling or a
noisy neighbour affects them alike. Results are only ever reported as ratios to a baseline
measured in the same run; absolute microseconds are shown for orientation only.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Measurement", "calibrate", "measure_interleaved"]


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    #: Median microseconds per call over the rounds.
    median_us: float
    #: Spread of the round medians (max - min), as a fraction of the median.
    spread: float
    rounds: int
    calls_per_round: int


def calibrate(function: Callable[[], object], target_seconds: float = 0.02) -> int:
    """How many calls make one round last about ``target_seconds``."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - started
        if elapsed >= target_seconds or calls >= 1 << 22:
            return max(1, int(calls * target_seconds / max(elapsed, 1e-9)))
        calls *= 2


def measure_interleaved(
    functions: Mapping[str, Callable[[], object]], *, rounds: int = 15, target_seconds: float = 0.02
) -> dict[str, Measurement]:
    """Median per-call time of each function, measured in interleaved rounds."""
    calls = {name: calibrate(function, target_seconds) for name, function in functions.items()}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, function in functions.items():
                count = calls[name]
                started = time.perf_counter_ns()
                for _ in range(count):
                    function()
                samples[name].append((time.perf_counter_ns() - started) / count / 1000)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    results = {}
    for name, values in samples.items():
        median = statistics.median(values)
        results[name] = Measurement(name, median, (max(values) - min(values)) / median, rounds, calls[name])
    return results
