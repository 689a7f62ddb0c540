"""The Resolve script must parse as Python 3.6 and import only the standard library."""

from __future__ import annotations

import ast
import sys

import pytest

from shotline.resolve_plugin import shotline_resolve

SOURCE = open(shotline_resolve.__file__, encoding="utf-8").read()


def py36_problems(source: str) -> list[str]:
    """What stops ``source`` from running on Python 3.6 (empty when nothing does)."""
    try:
        tree = ast.parse(source, feature_version=(3, 6))  # walrus, f"{x=}", pos-only...
    except SyntaxError as exc:
        return [f"syntax: {exc.msg}"]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            if "annotations" in [a.name for a in node.names]:
                out.append("from __future__ import annotations is 3.7+")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            if any(a.annotation is not None for a in args.args + args.kwonlyargs) or node.returns:
                out.append(f"{node.name}: annotations are evaluated on 3.6 (list[str] fails there)")
    return out


def imported_top_level(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_script_is_python_3_6():
    assert py36_problems(SOURCE) == []


@pytest.mark.parametrize(
    "bad",
    [
        "x = 1\nprint(f'{x=}')\n",
        "if (n := 3):\n    pass\n",
        "from __future__ import annotations\n",
        "def f(a: list[str]):\n    pass\n",
        "def f(a, /):\n    pass\n",
    ],
)
def test_the_check_catches_newer_python(bad):
    assert py36_problems(bad)


def test_script_imports_only_the_standard_library():
    names = imported_top_level(SOURCE)
    # DaVinciResolveScript is Resolve's own module, imported only for external runs
    assert {n for n in names if n not in sys.stdlib_module_names} == {"DaVinciResolveScript"}
    assert not {"dataclasses", "typing"} & names  # missing or different on 3.6
    assert imported_top_level("import opentimelineio\nfrom shotline import x\n") - set(
        sys.stdlib_module_names
    )
