"""The library's version and distribution name, in a module of their own.

Packaging (``setup.cfg``), the command line and the HTTP ``User-Agent`` read them from here, so
none of them has to import the package root, and the root imports nothing heavy to provide them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DISTRIBUTION", "__version__"]

__version__ = "0.1.0"

#: The name on the package index (``setup.cfg`` says the same; a test keeps the two in step). The
#: import package stays ``jwt_middleware`` and the command ``jwt-middleware``: the index name
#: ``jwt-middleware`` belongs to an unrelated project.
DISTRIBUTION: Final = "jwt-bearer-middleware"
