"""Lazy re-exports (PEP 562) for the package namespaces, written once.

A package's ``__init__`` names what it re-exports and where each name lives; the names are imported
on first use, so importing the package costs nothing beyond itself. Type checkers never see the
loader (the packages install it under ``if not TYPE_CHECKING``) but the real imports, which keeps a
misspelt name an error rather than ``Any``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], homes: Mapping[str, Iterable[str]], *, submodules: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a module's ``(__getattr__, __dir__)`` for ``homes``: home module -> names it provides.

    With ``submodules``, any other public name that is a submodule of the package is imported on
    first mention, so ``import pkg; pkg.sub.thing`` works as it did when the package imported its
    submodules eagerly.
    """
    package = namespace["__name__"]
    home_of = {name: home for home, names in homes.items() for name in names}
    for name, home in home_of.items():
        if home == f"{package}.{name}":
            # A name that is also its home submodule's name (``aws.gateway_claims``, the function)
            # is bound now: importing the submodule later would set the module in its place, and
            # ``__getattr__`` is never asked about a name that is set.
            namespace[name] = getattr(importlib.import_module(home), name)

    def __getattr__(name: str) -> Any:
        home = home_of.get(name)
        if home is not None:
            value = getattr(importlib.import_module(home), name)
            namespace[name] = value  # later look-ups are plain attribute reads
            return value
        if submodules and not name.startswith("_"):
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise  # the submodule exists but something it imports is missing
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *home_of})

    return __getattr__, __dir__
