"""The library's version, in a module of its own.

Packaging (``setup.cfg``), the command line and the HTTP ``User-Agent`` read it from here, so none of
them has to import the package root, and the root imports nothing heavy to provide it.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
