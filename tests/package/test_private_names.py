"""No module reaches into another module's private names (issue 12, section 3).

A name starting with ``_`` belongs to the module that defines it: its functions, classes,
constants and the attributes its classes set. Another module of the library that imports such a
name (``from jwt_middleware.verifier import _Pending``) or reads such an attribute
(``self._sources`` in a subclass living elsewhere, ``verifier._annotate(...)``) depends on what its
owner may change at any time, which is what the public extension points are for. The reference
apps and the benchmarks use none of the library's private names at all.

The check reads the source with ``ast``: an attribute counts as another module's when no code
of the reading module defines a name of that spelling and some other module of the library does.
Names that only third-party libraries define (Django's ``_meta``) are theirs to document.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "jwt_middleware"
CLIENTS = [ROOT / "integrations", ROOT / "benchmarks"]

#: Third-party private-looking names that one of our modules happens to define too, by reader.
THIRD_PARTY = {
    # DRF documents Request._request, the HttpRequest it wraps; DjangoRequestView has its own.
    ("jwt_middleware/integrations/drf.py", "_request"): "rest_framework.request.Request._request",
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(tree: ast.AST) -> set[str]:
    """Every private name a module defines: bindings, attributes it assigns, ``__slots__`` entries."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # __slots__ entries, getattr/setattr names
    return {name for name in names if is_private(name)}


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def private_uses(path: str, tree: ast.AST, own: set[str], others: set[str]) -> Iterator[Use]:
    """Imports of the library's private names, and reads of private attributes only others define."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jwt_middleware"):
            for alias in node.names:
                if is_private(alias.name):
                    yield Use(path, node.lineno, f"from {node.module} import {alias.name}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and is_private(node.attr)
            and node.attr not in own
            and node.attr in others
            and (path, node.attr) not in THIRD_PARTY
        ):
            yield Use(path, node.lineno, ast.unparse(node))


def _library() -> dict[str, ast.AST]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(LIBRARY.rglob("*.py"))
    }


def _violations(modules: dict[str, ast.AST], clients: dict[str, ast.AST]) -> list[Use]:
    owned = {path: defined_names(tree) for path, tree in modules.items()}
    found: list[Use] = []
    for path, tree in modules.items():
        others = set().union(*(names for other, names in owned.items() if other != path))
        found.extend(private_uses(path, tree, owned[path], others))
    everything = set().union(*owned.values())
    for path, tree in clients.items():
        found.extend(private_uses(path, tree, set(), everything))
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    clients = {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for folder in CLIENTS
        for path in sorted(folder.rglob("*.py"))
    }
    violations = _violations(_library(), clients)
    assert not violations, "private names used across modules:\n" + "\n".join(map(str, violations))


def test_the_third_party_exceptions_are_still_needed() -> None:
    modules = _library()
    for (path, name), owner in THIRD_PARTY.items():
        uses = [
            node
            for node in ast.walk(modules[path])
            if isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.ctx, ast.Load)
        ]
        assert uses, f"{path} no longer reads {name} ({owner}): drop the exception"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("from jwt_middleware.verifier import _Pending\n", "from jwt_middleware.verifier import _Pending"),
        (
            "from jwt_middleware.verifier import JWTVerifier\n"
            "class Mine(JWTVerifier):\n"
            "    def sources(self):\n"
            "        return self._sources\n",
            "self._sources",
        ),
        (
            "def annotate(verifier, error):\n    return verifier._annotate(error, None)\n",
            "verifier._annotate",
        ),
    ],
)
def test_the_check_catches_a_module_reaching_into_another(source: str, flagged: str) -> None:
    modules = _library()
    modules["jwt_middleware/aws/intruder.py"] = ast.parse(source)
    uses = [use for use in _violations(modules, {}) if use.path == "jwt_middleware/aws/intruder.py"]
    assert [use.text for use in uses] == [flagged]


def test_a_module_may_use_its_own_private_names() -> None:
    source = (
        "class Own:\n"
        "    def __init__(self):\n"
        "        self._state = 1\n"
        "    def read(self):\n"
        "        return self._state\n"
    )
    modules = _library()
    modules["jwt_middleware/aws/own.py"] = ast.parse(source)
    assert [use for use in _violations(modules, {}) if use.path == "jwt_middleware/aws/own.py"] == []


def test_no_adapter_overrides_the_private_steps() -> None:
    # The acceptance grep: grep -rn "\._prepare\|\._authenticate\|_Pending" aws integrations
    for folder in (LIBRARY / "aws", LIBRARY / "integrations"):
        for path in folder.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for needle in ("._prepare", "._authenticate", "_Pending"):
                assert needle not in text, f"{path.relative_to(ROOT)} mentions {needle}"
