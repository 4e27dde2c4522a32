"""The lazily re-exported names: each resolves, to the very object its home module defines.

The namespaces that re-export lazily (the package root, ``testing``, ``aws``, ``oauth``) each write
their names three times: the ``TYPE_CHECKING`` imports that type checkers read, ``__all__``, and
the table the loader reads. These tests keep the three identical.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import jwt_middleware
import jwt_middleware._version

ROOT = Path(__file__).resolve().parents[2]
LAZY_PACKAGES = ("jwt_middleware", "jwt_middleware.testing", "jwt_middleware.aws", "jwt_middleware.oauth")


def _type_checking_imports(module: ModuleType) -> dict[str, tuple[str, ...]]:
    tree = ast.parse(inspect.getsource(module))
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                assert statement.module is not None
                assert all(alias.asname is None for alias in statement.names)
                found[statement.module] = tuple(alias.name for alias in statement.names)
    return found


def _homes(module: ModuleType) -> dict[str, tuple[str, ...]]:
    return {home: tuple(names) for home, names in module._HOMES.items()}


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_the_three_lists_agree(package: str) -> None:
    module = importlib.import_module(package)
    homes = _homes(module)
    checked = _type_checking_imports(module)
    assert {home: sorted(names) for home, names in homes.items()} == {
        home: sorted(names) for home, names in checked.items()
    }
    exported = {name for names in homes.values() for name in names}
    assert set(module.__all__) - {"__version__"} == exported
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_name_is_the_object_of_its_home_module(package: str) -> None:
    module = importlib.import_module(package)
    for home, names in _homes(module).items():
        defining = importlib.import_module(home)
        for name in names:
            assert getattr(module, name) is getattr(defining, name), f"{package}.{name}"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_dir_lists_every_exported_name(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) <= set(dir(module))


def test_a_fresh_interpreter_resolves_every_name_lazily() -> None:
    """In this process everything is imported already; a fresh one shows the loader at work."""
    code = (
        "import sys, jwt_middleware\n"
        "assert 'jwt_middleware.verifier' not in sys.modules\n"
        "for name in jwt_middleware.__all__:\n"
        "    getattr(jwt_middleware, name)\n"
        "assert 'jwt_middleware.verifier' in sys.modules and 'starlette' in sys.modules\n"
        "from jwt_middleware import *\n"
        "assert JWTVerifier is sys.modules['jwt_middleware.verifier'].JWTVerifier\n"
        "from jwt_middleware.testing import LocalIssuer\n"
        "from jwt_middleware.aws import ALBVerifier\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_submodules_are_reachable_as_attributes_as_before() -> None:
    code = (
        "import sys, jwt_middleware\n"
        "assert 'jwt_middleware.safe_json' not in sys.modules\n"
        "parse = jwt_middleware.safe_json.parse_object\n"
        "assert parse is sys.modules['jwt_middleware.safe_json'].parse_object\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = jwt_middleware.no_such_name  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = jwt_middleware._private_thing  # type: ignore[attr-defined]
    assert not hasattr(jwt_middleware.testing, "no_such_name")
    with pytest.raises(ImportError):
        importlib.import_module("jwt_middleware.NoSuchName")


def test_the_version_lives_in_its_own_module_and_packaging_reads_it_there() -> None:
    assert jwt_middleware.__version__ is jwt_middleware._version.__version__
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    assert setup["metadata"]["version"] == "attr: jwt_middleware._version.__version__"
    # The module imports only the standard library: setuptools can read it without installing
    # anything, and nothing it imports can create a cycle with the package root.
    source = inspect.getsource(jwt_middleware._version)
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert {name.split(".")[0] for name in imported} <= {"__future__", *sys.stdlib_module_names}
