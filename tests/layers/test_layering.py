"""Imports flow one way: cli -> core.produce -> (otio_adapters, upscale, resolve_plugin) -> the rest of core.

Every module of the five code folders is parsed (not imported) and every import it makes,
at the top or inside a function, is checked against the layer table below. A module may
import its own layer and any layer below it, never one above. Peers of one rank (upscale and
otio_adapters) do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"core": "shotline.core", "otio_adapters": "shotline.otio_adapters", "upscale": "shotline.upscale",
           "resolve_plugin": "shotline.resolve_plugin", "cli": "shotline.cli"}  # fmt: skip

# (module prefix, rank): the longest matching prefix decides a module's layer.
LAYERS = [
    ("shotline.core", 0),  # the package itself (its __init__)
    ("shotline.core.errors", 0),
    ("shotline.core.vocab", 1),
    ("shotline.core.media", 2),
    ("shotline.core.ops", 3),
    ("shotline.core.review", 3),
    ("shotline.core.generate", 4),
    ("shotline.otio_adapters", 5),
    ("shotline.upscale", 5),
    ("shotline.resolve_plugin", 6),
    ("shotline.core.produce", 7),
    ("shotline.cli", 8),
    ("shotline", 9),  # the top-level API sits above everything
]


def layer(module: str) -> tuple[str, int]:
    best = max(
        (p for p in LAYERS if module == p[0] or module.startswith(p[0] + ".")), key=lambda p: len(p[0])
    )
    return best


def modules() -> list[tuple[str, Path]]:
    out = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if folder == "cli" and parts[:1] == ["api"]:  # cli/api installs as the top-level package
                out.append((".".join(["shotline", *parts[1:]]), path))
                continue
            out.append((".".join([package, *parts]), path))
    return out


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from shotline.core import x` imports the submodule shotline.core.x
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
    return [(line, name) for line, name in found if name == "shotline" or name.startswith("shotline.")]


ALL = modules()


def test_every_module_is_seen() -> None:
    names = {m for m, _ in ALL}
    assert {"shotline.core.vocab", "shotline.core.produce.producer", "shotline.cli.main"} <= names
    assert len(ALL) > 60


@pytest.mark.parametrize(("module", "path"), ALL, ids=[m for m, _ in ALL])
def test_no_upward_import(module: str, path: Path) -> None:
    me, rank = layer(module)
    bad = []
    for line, target in imports_of(module, path):
        its, its_rank = layer(target)
        if its_rank > rank or (its_rank == rank and its != me):
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({its}, layer {its_rank} > {rank})")
    assert not bad, "\n".join(bad)


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule above is not vacuous: a core module importing produce or the CLI is reported."""
    p = tmp_path / "x.py"
    p.write_text(
        "def f():\n    from shotline.core.produce.producer import Producer\n    import shotline.cli.main\n"
    )
    found = [t for _, t in imports_of("shotline.core.ops.x", p)]
    assert "shotline.core.produce.producer" in found and "shotline.cli.main" in found
    assert layer("shotline.core.produce.producer")[1] > layer("shotline.core.ops.x")[1]
    assert layer("shotline.upscale.api")[0] != layer("shotline.otio_adapters.export")[0]
