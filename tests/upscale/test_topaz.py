"""Topaz Video AI: argv construction and detection only (its output is never imitated)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shotline.core.errors import DependencyError, UsageError
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.probe import probe
from shotline.upscale.ffmpeg_backends import (
    TopazOptions,
    find_topaz,
    topaz_candidates,
    topaz_plan,
    tvai_filter,
)


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_standard_locations_per_os() -> None:
    win = topaz_candidates({"ProgramFiles": r"D:\Apps"}, "win32")
    assert str(win[-1]).endswith("Topaz Video AI/ffmpeg.exe") or "Topaz Video AI" in str(win[-1])
    assert topaz_candidates({}, "darwin") == [Path("/Applications/Topaz Video AI.app/Contents/MacOS/ffmpeg")]
    assert Path("/opt/TopazVideoAIBETA/bin/ffmpeg") in topaz_candidates({}, "linux")
    assert topaz_candidates({"TVAI_FFMPEG": "/x/ffmpeg"}, "linux")[0] == Path("/x/ffmpeg")


def test_missing_topaz_says_what_is_missing(tmp_path) -> None:
    with pytest.raises(DependencyError, match="Topaz Video AI's ffmpeg was not found.*TVAI_FFMPEG"):
        find_topaz({"TVAI_FFMPEG": str(tmp_path / "nope")}, "linux")
    exe = _exe(tmp_path / "tvai" / "ffmpeg")
    with pytest.raises(DependencyError, match="TVAI_MODEL_DIR is not set; TVAI_MODEL_DATA_DIR is not set"):
        find_topaz({"TVAI_FFMPEG": str(exe)}, "linux")
    with pytest.raises(DependencyError, match="is not a folder"):
        find_topaz(
            {
                "TVAI_FFMPEG": str(exe),
                "TVAI_MODEL_DIR": str(tmp_path / "no"),
                "TVAI_MODEL_DATA_DIR": str(tmp_path),
            },
            "linux",
        )


def test_found_install_and_argv(tmp_path, clips) -> None:
    exe = _exe(tmp_path / "tvai" / "ffmpeg")
    (tmp_path / "models").mkdir()
    env = {
        "TVAI_FFMPEG": str(exe),
        "TVAI_MODEL_DIR": str(tmp_path / "models"),
        "TVAI_MODEL_DATA_DIR": str(tmp_path),
    }
    install = find_topaz(env, "linux")
    assert install.ffmpeg == exe and install.model_dir == tmp_path / "models"
    src = clips(width=64, height=36, duration=0.2, audio="stereo")
    opts = TopazOptions(model="ahq-12", scale=2, noise=0.1, details=-0.2, device=-2)
    plan = topaz_plan(probe(src), tmp_path / "o.mp4", opts, EncodeSettings(), install)
    (step,) = plan.steps
    assert step.tool == str(exe)
    args = list(step.args)
    vf = args[args.index("-vf") + 1]
    assert vf == "tvai_up=model=ahq-12:scale=2:noise=0.1:details=-0.2:estimate=8:device=-2:vram=1:instances=1"
    assert args[args.index("-i") + 1] == str(Path(src).resolve())
    for a, b in (("-map", "0:v:0"), ("-map", "0:a?"), ("-c:a", "copy"), ("-fps_mode", "passthrough")):
        assert any(args[i] == a and args[i + 1] == b for i in range(len(args) - 1))


def test_filter_values_are_validated_not_escaped() -> None:
    assert tvai_filter(TopazOptions(model="prob-4", scale=None, width=1920, height=1080)).startswith(
        "tvai_up=model=prob-4:w=1920:h=1080:"
    )
    for bad in (
        TopazOptions(model="prob-4:x=1"),
        TopazOptions(scale=5),
        TopazOptions(noise=3),
        TopazOptions(scale=None, width=100),
    ):
        with pytest.raises(UsageError):
            tvai_filter(bad)


def test_library_options_reach_the_topaz_filter() -> None:
    from shotline.upscale.api import UpscaleOptions, topaz_options

    t = topaz_options(UpscaleOptions(backend="topaz", model="ahq-12", scale=4))
    assert tvai_filter(t).startswith("tvai_up=model=ahq-12:scale=4:")
    assert topaz_options(UpscaleOptions(backend="topaz")).model == "prob-4"
