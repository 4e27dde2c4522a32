"""Production code does not import the test kit (issue 12, section 4).

``jwt_middleware.testing`` generates keys, runs loopback servers and mints tokens: nothing a
service needs, and nothing a service should be able to reach by accident. The one exception is
the command line's ``issuer`` command, which *is* the test kit's front end: its two modules may
import the kit, but only inside functions (so ``jwt-middleware inspect`` and ``verify`` never load
it) or for type checking. Read with ``ast``, so that a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "jwt_middleware"
TEST_KIT = "jwt_middleware.testing"

#: The issuer command: may import the test kit lazily (inside a function) or under TYPE_CHECKING.
ISSUER_COMMAND = frozenset({"cli/issuer.py", "cli/mint_endpoint.py"})


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
        # ``from jwt_middleware import testing`` names the kit as an imported name.
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _is_test_kit(module: str) -> bool:
    return module == TEST_KIT or module.startswith(TEST_KIT + ".")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _test_kit_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every import of the test kit as (line, where): ``module``, ``function`` or ``typing``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "function")
                continue
            if isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.body:
                    visit_statement(statement, "typing")
                for statement in child.orelse:
                    visit_statement(statement, where)
                continue
            visit_statement(child, where)

    def visit_statement(node: ast.AST, where: str) -> None:
        if any(_is_test_kit(module) for module in _imported_modules(node)):
            found.append((getattr(node, "lineno", 0), where))
        visit(node, where)

    visit(tree, "module")
    return found


def _production_modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "testing" not in path.relative_to(PACKAGE).parts)


def test_no_production_module_imports_the_test_kit() -> None:
    offenders = []
    for path in _production_modules():
        relative = path.relative_to(PACKAGE).as_posix()
        for line, where in _test_kit_imports(ast.parse(path.read_text(encoding="utf-8"))):
            allowed = relative in ISSUER_COMMAND and where in ("function", "typing")
            if not allowed:
                offenders.append(f"jwt_middleware/{relative}:{line} ({where})")
    assert offenders == []


def test_the_issuer_command_does_use_the_test_kit_lazily() -> None:
    # Keeps the allowance honest: if these modules stop importing the kit, drop them from the list.
    for relative in sorted(ISSUER_COMMAND):
        imports = _test_kit_imports(ast.parse((PACKAGE / relative).read_text(encoding="utf-8")))
        assert any(where == "function" for _, where in imports), relative


def test_the_checker_sees_every_form_of_import() -> None:
    source = """
import jwt_middleware.testing
from jwt_middleware import testing
from jwt_middleware.testing.server import Response
if TYPE_CHECKING:
    from jwt_middleware.testing import LocalIssuer
def lazy():
    from jwt_middleware.testing.issuer import LocalIssuer
class Holder:
    def method(self):
        import jwt_middleware.testing.keys
from jwt_middleware.testingfoo import nothing
from jwt_middleware import jws
"""
    assert _test_kit_imports(ast.parse(source)) == [
        (2, "module"),
        (3, "module"),
        (4, "module"),
        (6, "typing"),
        (8, "function"),
        (11, "function"),
    ]
