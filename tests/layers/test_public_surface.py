"""Each package names what users may import (``__all__``); every such name imports and is documented."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import subprocess
import sys
import types

import pytest

PACKAGES = [
    "shotline.core",
    "shotline.core.media",
    "shotline.core.ops",
    "shotline.core.generate",
    "shotline.core.generate.providers",
    "shotline.core.produce",
    "shotline.otio_adapters",
    "shotline.otio_adapters.conform",
    "shotline.upscale",
    "shotline.resolve_plugin",
    "shotline.cli",
]


def _own_doc(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    if dataclasses.is_dataclass(obj) and doc.startswith(f"{getattr(obj, '__name__', '')}("):
        return ""  # the signature dataclasses write when a class has no docstring
    if isinstance(obj, type) and obj.__doc__ is None:
        return ""
    return doc.strip()


CASES = [(p, n) for p in PACKAGES for n in getattr(importlib.import_module(p), "__all__", ["<no __all__>"])]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_has_a_curated_surface(package: str) -> None:
    mod = importlib.import_module(package)
    assert (mod.__doc__ or "").strip(), f"{package} has no docstring"
    assert isinstance(getattr(mod, "__all__", None), list) and mod.__all__, f"{package} has no __all__"
    assert sorted(set(mod.__all__)) == sorted(mod.__all__)


@pytest.mark.parametrize(("package", "name"), CASES, ids=[f"{p}:{n}" for p, n in CASES])
def test_public_name_imports_and_is_documented(package: str, name: str) -> None:
    mod = importlib.import_module(package)
    obj = getattr(mod, name)
    assert name in dir(mod)
    if isinstance(obj, types.ModuleType):
        assert obj.__name__ == f"{package}.{name}"
        assert (obj.__doc__ or "").strip(), f"module {obj.__name__} has no docstring"
    elif callable(obj):
        assert _own_doc(obj), f"{package}.{name} has no docstring"


def test_a_misspelt_name_is_an_attribute_error() -> None:
    import shotline.core.media as media

    with pytest.raises(AttributeError, match="no attribute 'prob'"):
        _ = media.prob  # type: ignore[attr-defined]


def test_importing_a_package_does_not_import_its_modules() -> None:
    """The packages stay cheap to import: the CLI starts without loading OTIO, PyAV or numpy."""
    code = (
        "import sys, shotline.core, shotline.core.media, shotline.core.ops, shotline.otio_adapters, "
        "shotline.core.produce, shotline.cli\n"
        "heavy = [m for m in ('opentimelineio', 'av', 'numpy', 'torch', 'shotline.core.media.probe') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
