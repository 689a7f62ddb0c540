"""docs/api.md runs: every python block, in order, in one namespace, in an empty folder.

Also: ``import shotline`` stays cheap, and the natural inputs the API promises are accepted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import shotline
from shotline.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"


def test_every_example_in_docs_api_md_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 7
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__api_doc__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC.name} block {i + 1}", "exec"), namespace)
    # what the examples wrote is real media
    assert shotline.probe(tmp_path / "edit.mp4").video.avg_rate == 25
    assert shotline.probe(tmp_path / "a_vertical.mp4").video.width == 1080
    assert (tmp_path / "board-out" / "report.html").is_file()


def test_import_shotline_is_cheap() -> None:
    code = "import sys, shotline; print(sorted(m for m in ('av', 'numpy', 'opentimelineio', 'click', 'PIL') if m in sys.modules))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_version_and_python_m_shotline() -> None:
    from importlib import metadata

    assert shotline.__version__ == metadata.version("shotline")
    r = subprocess.run(
        [sys.executable, "-m", "shotline", "--version"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and shotline.__version__ in r.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("29.97", Fraction(30000, 1001)),
        (29.97, Fraction(30000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        (24, Fraction(24)),
        ("25", Fraction(25)),
        (Fraction(24000, 1001), Fraction(24000, 1001)),
    ],
)
def test_rates_as_users_write_them(value: object, expected: Fraction) -> None:
    assert shotline.as_rate(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["fast", "0", -24, "1/0", True])
def test_bad_rates_are_usage_errors(bad: object) -> None:
    with pytest.raises(UsageError, match="rate"):
        shotline.as_rate(bad)  # type: ignore[arg-type]


def test_transitions_as_users_write_them() -> None:
    spec = shotline.as_transition("dissolve:0.5")
    assert spec is not None and spec.duration == 0.5 and spec.xfade == "fade"
    wipe = shotline.as_transition("wipeleft:1")
    assert wipe is not None and wipe.xfade == "wipeleft" and wipe.duration == 1.0
    assert shotline.as_transition(0.25) == shotline.as_transition("dissolve:0.25")
    assert shotline.as_transition("cut") is None
    with pytest.raises(UsageError, match="dissolve:0.5"):
        shotline.as_transition("dissolve:half")


def test_a_transition_string_is_not_iterated_by_build_timeline(clips) -> None:  # type: ignore[no-untyped-def]
    from shotline.otio_adapters.build import EditClip, build_timeline

    a, b = clips(duration=1.0, audio=None), clips(duration=1.0, audio=None, source="smptebars")
    built = build_timeline([EditClip(path=a), EditClip(path=b)], transitions="dissolve:0.5")  # type: ignore[arg-type]
    assert abs(built.duration - 1.5) < 0.05
    per_cut = build_timeline([EditClip(path=a), EditClip(path=b)], transitions=["wipeleft:0.25"])  # type: ignore[list-item]
    assert abs(per_cut.duration - 1.75) < 0.05


def test_top_level_functions_survive_importing_the_subpackages() -> None:
    """Importing a subpackage binds its name on ``shotline``: no top-level function may share one.

    ``shotline.upscale`` was the upscale function until any code imported ``shotline.upscale.*``;
    from then on it was the package and calling it raised "'module' object is not callable".
    """
    code = (
        "import shotline, shotline.upscale.models, shotline.core, shotline.cli.main, "
        "shotline.otio_adapters, shotline.resolve_plugin\n"
        "bad = [n for n in shotline.__all__ if n[0].islower() and n != '__version__' "
        "and not callable(getattr(shotline, n))]\n"
        "print(bad, callable(shotline.upscale_video))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True"
