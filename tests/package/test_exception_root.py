"""One exception root: every exception class the library defines derives from it (issue 12, 4).

The classes are found by walking every module of the package, so a new exception class anywhere
(an adapter, the command line, the test kit) is checked without being listed here.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import jwt_middleware
from jwt_middleware.errors import (
    BlockingCallError,
    ConfigurationError,
    JWKError,
    JWTMiddlewareError,
    JWTMiddlewareException,
)


def _classes_in(owner: object, module_name: str) -> list[type]:
    found = []
    for value in vars(owner).values():
        # type(), not isinstance(): a lazy proxy such as django.conf.settings answers __class__.
        if issubclass(type(value), type) and value.__module__ == module_name:
            found.append(value)
            found += _classes_in(value, module_name)  # classes nested in classes
    return found


def _exception_classes() -> dict[str, type[BaseException]]:
    names = ["jwt_middleware"]
    names += [info.name for info in pkgutil.walk_packages(jwt_middleware.__path__, "jwt_middleware.")]
    found: dict[str, type[BaseException]] = {}
    for name in names:
        module = importlib.import_module(name)
        for cls in _classes_in(module, name):
            if issubclass(cls, BaseException):
                found[f"{name}.{cls.__qualname__}"] = cls
    return found


EXCEPTIONS = _exception_classes()


def test_the_walk_finds_the_exceptions_of_every_layer() -> None:
    # Proof that the walk reaches the core, the fetcher, the command line and the adapters.
    for name in (
        "jwt_middleware.errors.ConfigurationError",
        "jwt_middleware.errors.JWTMiddlewareError",
        "jwt_middleware.errors.KeysUnavailableError",
        "jwt_middleware.fetching.FetchError",
        "jwt_middleware.safe_json.JSONError",
        "jwt_middleware.cli.errors.CommandError",
        "jwt_middleware.integrations.flask._Forbidden",
        "jwt_middleware.integrations.fastapi.JWTHTTPException",
        "jwt_middleware.integrations.drf.TemporarilyUnavailable",
    ):
        assert name in EXCEPTIONS


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_every_exception_class_derives_from_the_root(name: str) -> None:
    assert issubclass(EXCEPTIONS[name], JWTMiddlewareException), f"{name} does not derive from the root"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ConfigurationError, ValueError),
        (JWKError, ValueError),
        (BlockingCallError, RuntimeError),
        (EXCEPTIONS["jwt_middleware.safe_json.JSONError"], ValueError),
    ],
)
def test_the_older_builtin_bases_are_kept(cls: type[Exception], builtin: type[Exception]) -> None:
    """``except ValueError`` around a configuration step goes on catching what it caught."""
    assert issubclass(cls, builtin)
    with pytest.raises(builtin):
        raise cls("example")


def test_the_root_is_exported_at_the_top_level_and_refusals_are_one_branch_of_it() -> None:
    assert jwt_middleware.JWTMiddlewareException is JWTMiddlewareException
    assert issubclass(JWTMiddlewareError, JWTMiddlewareException)
    # Set-up and programming errors share the root but are not refusals of a request.
    for cls in (ConfigurationError, JWKError, BlockingCallError):
        assert not issubclass(cls, JWTMiddlewareError)
