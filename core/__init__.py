"""shotline.core: everything below the CLI, split by stage.

``media`` (facts and the machinery every operation runs on), ``ops`` (post-processing),
``generate`` (storyboard to takes), ``review`` (take metrics), ``produce`` (the top of the
flow); ``vocab`` and ``errors`` hold what every stage shares. Import submodules directly
(``from shotline.core.media.probe import probe``); packages import their modules only when a
name is first used, so ``import shotline.cli`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, modules: str, names: str = ""
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """A package's ``__getattr__``, ``__dir__`` and ``__all__``, importing on first use.

    ``modules`` lists public submodules (``"probe runner"``); ``names`` lists public names as
    ``module:name`` pairs (``"probe:MediaInfo plan:Plan"``), the module relative to ``package``.
    """
    table = {m: f"{package}.{m}" for m in modules.split()}
    for pair in names.split():
        module, _, name = pair.partition(":")
        table[name] = f"{package}.{module}"

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(target)
        return module if target == f"{package}.{name}" else getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__, sorted(table)


__getattr__, __dir__, __all__ = lazy_exports(__name__, "errors vocab media ops generate review produce")
