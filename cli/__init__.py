"""shotline.cli: the click command group. Thin commands over the libraries.

``main.cli`` is the group, ``main.main`` the console entry point.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "main",
    "main:cli",
)
