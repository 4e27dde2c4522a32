"""The adversarial suite's fixtures and its two fuzzing profiles.

The bounded profile runs in every test run. The long profile (tests marked ``fuzz_long``) runs only
on demand: ``pytest tests/security -m fuzz_long --fuzz-long``, or with the environment variable
``JWT_MIDDLEWARE_FUZZ_LONG=1`` (for runners that cannot pass options, such as the whole suite).
"""

from __future__ import annotations

import os

import pytest

from tests.security.kit import Kit, get_kit

FUZZ_LONG_ENV = "JWT_MIDDLEWARE_FUZZ_LONG"


def pytest_addoption(parser: pytest.Parser) -> None:
    # Only registered when this directory is named on the command line; the environment variable
    # works everywhere.
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        default=False,
        help="run the long fuzzing profile of tests/security (tests marked fuzz_long)",
    )


def fuzz_long_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--fuzz-long", default=False)) or os.environ.get(FUZZ_LONG_ENV) == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if fuzz_long_enabled(config):
        return
    skip = pytest.mark.skip(reason=f"long fuzzing profile: run with --fuzz-long or {FUZZ_LONG_ENV}=1")
    for item in items:
        if item.get_closest_marker("fuzz_long") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kit() -> Kit:
    return get_kit()
