from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.media.probe import probe
from shotline.core.media.text import font_available

COMMANDS = [
    ["gif"],
    ["audio", "add"],
    ["audio", "normalize"],
    ["audio", "measure"],
    ["reframe"],
    ["resize"],
    ["frames", "extract"],
    ["frames", "build"],
    ["thumbs"],
    ["contact-sheet"],
    ["lut"],
    ["burnin"],
]

NEEDS_FONT = pytest.mark.skipif(
    not font_available(), reason="no TrueType font here: install fonts-dejavu (or any font fontconfig finds)"
)


def invoke(*args: object) -> tuple[int, str]:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r.exit_code, r.output


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cmd):
    code, text = invoke(*cmd, "--help")
    assert code == 0 and "Examples:" in text and f"shotline {cmd[0]}" in text


def test_gif_json_result(clips, out: Path):
    src = clips(duration=1.0)
    code, text = invoke("gif", src, "--fps", 10, "--width", 160, "-o", out / "p.gif", "--json")
    assert code == 0, text
    d = json.loads(text)
    assert (d["width"], d["height"], d["frames"], d["format"]) == (160, 90, 10, "gif")


def test_reframe_dry_run_runs_nothing_and_run_warns(clips, out: Path):
    src = clips(duration=0.3)
    code, text = invoke(
        "reframe", src, "--preset", "Reels", "--mode", "pad", "-o", out / "r.mp4", "--dry-run"
    )
    assert code == 0 and "overlay=0:656" in text and "boxblur" in text and "-profile:v high" in text
    assert list(out.iterdir()) == []
    code, text = invoke("reframe", src, "-p", "twitter", "--focus", "0.2,0.5", "-o", out / "x.mp4", "--json")
    assert code == 0, text
    d = json.loads(text)
    assert (d["width"], d["height"], d["preset"], d["warnings"]) == (1280, 720, "x", [])


def test_audio_commands(clips, out: Path):
    src = clips(duration=2.0, audio="mono", sample_rate=44100)
    code, text = invoke("audio", "normalize", src, "--target", "broadcast", "-o", out / "n.mp4", "--json")
    assert code == 0, text
    assert json.loads(text)["loudness"]["integrated"] == pytest.approx(-23, abs=0.5)
    code, text = invoke("audio", "measure", out / "n.mp4")
    assert code == 0 and "LUFS" in text
    music = clips(duration=0.5, tone=880.0, audio="stereo")
    code, text = invoke(
        "audio", "add", clips(duration=2.0, audio=None), music, "--fit", "loop", "-o", out / "a.mp4"
    )
    assert code == 0, text
    assert probe(out / "a.mp4").audio.sample_rate == 48000


@NEEDS_FONT
def test_resize_frames_thumbs_sheet_lut_burnin(clips, out: Path):
    src = clips(duration=1.0, name="my 'clip' ü.mp4")
    assert invoke("resize", src, "--scale", 0.5, "-o", out / "half.mp4")[0] == 0
    assert probe(out / "half.mp4").video.width == 160
    assert invoke("frames", "extract", src, "--fps", 4, "-o", out / "stills")[0] == 0
    assert len(list((out / "stills").iterdir())) == 4
    assert invoke("frames", "build", out / "stills", "--fps", 4, "-o", out / "built.mp4")[0] == 0
    assert probe(out / "built.mp4").video.frame_count == 4
    code, text = invoke("thumbs", src, "--at", "0.5", "--at", "0:00.8", "-o", out / "th", "--json")
    assert code == 0 and json.loads(text)["times"] == [0.5, 0.8]
    assert (
        invoke("contact-sheet", src, "--count", 4, "--columns", 2, "--width", 160, "-o", out / "s.png")[0]
        == 0
    )
    cube = out / "id.cube"
    cube.write_text(
        "LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))
    )
    assert invoke("lut", src, "--cube", cube, "-o", out / "g.mp4")[0] == 0
    caption = out / "caption.txt"
    caption.write_text("It's 100%: done \\o/\n", encoding="utf-8")
    code, text = invoke("burnin", src, "--shot-id", "SH010", "--caption-file", caption, "-o", out / "b.mp4")
    assert code == 0, text
    assert probe(out / "b.mp4").duration == pytest.approx(1.0, abs=0.05)


def test_errors_are_one_line_with_distinct_exit_codes(clips, out: Path):
    src = clips()
    existing = out / "exists.gif"
    existing.write_bytes(b"keep")
    code, text = invoke("gif", src, "-o", existing)
    assert code == 2 and "already exists" in text and existing.read_bytes() == b"keep"
    code, text = invoke("reframe", src, "--preset", "myspace", "-o", out / "r.mp4")
    assert code == 2 and "known presets" in text
    code, text = invoke("lut", src, "--cube", out / "exists.gif", "-o", out / "l.mp4")
    assert code == 3 and "exists.gif" in text
    bad = out / "bad clip.mp4"
    bad.write_text("nope")
    proc = subprocess.run(
        [sys.executable, "-m", "shotline.cli.main", "burnin", str(bad), "-o", str(out / "b.mp4")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3 and proc.stderr.startswith("error: ") and "bad clip.mp4" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["bad clip.mp4", "exists.gif"]
