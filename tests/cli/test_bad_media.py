"""Awkward but valid media, and inputs that must fail cleanly, through the CLI as a user runs it.

The corpus is built with lavfi: odd sizes in two codecs that x264 cannot take as they are
(MPEG-4 Part 2 4:2:0 and H.264 4:4:4 at 321x181), an RGB PNG-in-MOV, a one-frame clip, a still
image. Every valid input must give a valid file; every failure must be one line with the right
exit code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.media.probe import probe
from tests.mediakit import ffmpeg


def shotline(*args: str | Path) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def corpus(clips) -> dict[str, Path]:
    return {
        "odd_mpeg4": clips(
            duration=1.0, width=321, height=181, source="testsrc", codec="mpeg4", audio="mono"
        ),
        "odd_444": clips(
            duration=1.0, width=321, height=181, source="testsrc", pix_fmt="yuv444p", audio=None
        ),
        "rgb_mov": clips(
            duration=0.4, source="testsrc", codec="png", pix_fmt="rgb24", container="mov", audio=None
        ),
        "one_frame": clips(duration=0.04, source="testsrc", audio=None),
    }


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("lut") / "identity.cube"
    corners = [f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)]
    p.write_text("LUT_3D_SIZE 2\n" + "\n".join(corners) + "\n")
    return p


ODD_COMMANDS = {
    "fade": ["fade", "--in", "0.3"],
    "speed": ["speed", "--factor", "2"],
    "trim": ["trim", "--start", "0.2", "--end", "0.8"],
    "burnin": ["burnin", "--shot-id", "s1"],
}


@pytest.mark.parametrize("kind", ["odd_mpeg4", "odd_444"])
@pytest.mark.parametrize("command", [*ODD_COMMANDS, "lut"])
def test_odd_sizes_give_a_valid_even_file_with_a_note(
    corpus, cube, out: Path, kind: str, command: str, caplog: pytest.LogCaptureFixture
):
    src = corpus[kind]
    assert (probe(src).video.width, probe(src).video.height) == (321, 181)  # type: ignore[union-attr]
    args = ODD_COMMANDS.get(command, ["lut", "--cube", str(cube)])
    code, _, err = shotline(args[0], src, *args[1:], "-o", out / "o.mp4")
    assert code == 0, err
    v = probe(out / "o.mp4").video
    assert v is not None and (v.width, v.height) == (322, 182) and v.pix_fmt == "yuv420p"
    assert "321x181 padded to 322x182" in caplog.text  # the note (stderr when logging is not set up)


@pytest.mark.parametrize(
    "args",
    [
        ["fade", "--in", "0.3", "--mode", "full"],
        ["speed", "--factor", "2"],
        ["trim", "--start", "0.2", "--end", "0.6"],
        ["loop", "--duration", "1.5"],
    ],
)
def test_crf_0_is_lossless_in_every_full_reencode(clips, out: Path, args: list[str]):
    src = clips(duration=1.0, gop=5)
    code, _, err = shotline(args[0], src, *args[1:], "--crf", "0", "-o", out / "o.mp4")
    assert code == 0, err
    v = probe(out / "o.mp4").video
    assert v is not None and v.profile == "High 4:4:4 Predictive" and v.pix_fmt == "yuv420p"


def test_lanczos_upscale_takes_an_rgb_source(corpus, out: Path):
    code, _, err = shotline(
        "upscale", corpus["rgb_mov"], "--backend", "lanczos", "--scale", "2", "-o", out / "up.mp4"
    )
    assert code == 0, err
    v = probe(out / "up.mp4").video
    assert v is not None and (v.width, v.height) == (640, 360)
    assert v.color_space == "bt709" and v.color_range == "tv"


# ----------------------------------------------------------------------------- false success


def test_thumbs_and_contact_sheet_on_a_one_frame_clip_write_what_they_say(corpus, out: Path):
    code, stdout, err = shotline("thumbs", corpus["one_frame"], "--count", "3", "-o", out / "th")
    assert code == 0, err
    files = sorted((out / "th").iterdir())
    assert [f.name for f in files] == ["thumb_001.png", "thumb_002.png", "thumb_003.png"]
    assert all(probe(f).video is not None for f in files)
    code, _, err = shotline("contact-sheet", corpus["one_frame"], "--count", "4", "-o", out / "s.png")
    assert code == 0, err
    assert probe(out / "s.png").video is not None


@pytest.mark.parametrize("kind", ["png", "one_frame"])
def test_speed_refuses_a_still_image(corpus, out: Path, kind: str, tmp_path: Path):
    src = corpus["one_frame"]
    if kind == "png":
        src = tmp_path / "still.png"
        ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x180", "-frames:v", "1", str(src))
    code, _, err = shotline("speed", src, "--factor", "2", "-o", out / "s.mp4")
    assert code == 3 and "single frame" in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


def _capped_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # an unbounded loop dies here, not the host


@pytest.mark.parametrize("how", [["--times", "1000000000"], ["--duration", "1e12"]])
def test_loop_is_bounded(clips, out: Path, how: list[str]):
    argv = [sys.executable, "-m", "shotline.cli.main", "loop", str(clips(duration=1.0)), *how]
    r = subprocess.run(
        [*argv, "-o", str(out / "l.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_capped_memory,
    )
    assert r.returncode == 2 and ("limit" in r.stderr or "at most" in r.stderr), r.stderr[-500:]
    assert list(out.iterdir()) == []


def test_an_unknown_provider_fails_before_any_folder_is_made(tmp_path: Path, out: Path):
    sb = tmp_path / "sb.yaml"
    sb.write_text('title: t\nshots:\n  - id: a\n    prompt: "a boat"\n    provider: nosuch\n')
    code, _, err = shotline("produce", sb, "-o", out / "film")
    assert code == 2 and "unknown provider 'nosuch'" in err
    assert not (out / "film").exists()


# ----------------------------------------------------------------------------- clean errors


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].isprintable(), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["frames", "extract", "{src}"], ["thumbs", "{src}"], ["trim", "{src}", "--start", "0.2"]],
)
def test_an_unwritable_folder_is_a_one_line_usage_error(clips, command: list[str]):
    # sysfs refuses new files even to root (a chmod 555 folder does not stop root)
    target = "/sys/shotline-out" + (".mp4" if command[0] == "trim" else "")
    code, _, err = shotline(*(a.format(src=clips()) for a in command), "-o", target)
    assert code == 2
    assert "cannot write in folder /sys" in _one_line(err)


def test_no_video_stream_is_bad_media_everywhere(clips, out: Path):
    audio_only = out / "sound.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio_only))
    for args in (["fade", "--in", "0.2"], ["speed", "--factor", "2"], ["trim", "--start", "0.2"]):
        code, _, err = shotline(args[0], audio_only, *args[1:], "-o", out / "o.mp4")
        assert code == 3 and "has no video stream" in _one_line(err), args


def test_a_missing_font_is_a_usage_error(clips, out: Path):
    code, _, err = shotline(
        "burnin", clips(), "--shot-id", "x", "--font", out / "none.ttf", "-o", out / "b.mp4"
    )
    assert code == 2 and "font file not found" in _one_line(err)


def test_messages_stay_one_line(clips, out: Path, tmp_path: Path):
    odd_name = tmp_path / "new\nline 'q' ü.mp4"
    odd_name.write_bytes(clips(duration=1.0).read_bytes())
    code, _, err = shotline("trim", odd_name, "--start", "5", "-o", out / "t.mp4")
    assert code == 2 and "new\\nline 'q' ü.mp4" in _one_line(err)
    png = tmp_path / "still.mp4"  # a PNG named .mp4
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64", "-frames:v", "1", "-f", "image2", "-c:v", "png", str(png))
    code, _, err = shotline("concat", png, clips(duration=1.0), "-o", out / "c.mp4")
    assert code == 3 and "not an MP4/MOV file" in _one_line(err)
    assert list(out.iterdir()) == []


def test_a_fifo_is_not_taken_for_an_empty_file(tmp_path: Path, out: Path):
    import os

    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    code, _, err = shotline("fade", fifo, "--in", "0.2", "-o", out / "f.mp4")
    assert code == 3 and "not a regular file" in _one_line(err)


def test_a_full_disk_says_so():
    from shotline.core.errors import FFmpegError
    from shotline.core.media.ffmpeg import ffmpeg_path
    from shotline.core.media.runner import execute

    argv = [
        ffmpeg_path(),
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=d=2",
        "-f",
        "mpegts",
        "-y",
        "/dev/full",
    ]
    with pytest.raises(FFmpegError) as info:
        execute(argv)
    assert str(info.value).splitlines()[0].endswith("no space left on device in /dev")


def test_a_full_disk_under_python_is_one_line_too(clips):
    with open("/dev/full", "w") as full:
        r = subprocess.run(
            [sys.executable, "-m", "shotline.cli.main", "probe", str(clips()), "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert r.returncode == 1 and _one_line(r.stderr) == "error: no space left on device"


def test_crf_0_timeline_render_is_lossless_not_a_broken_smart_render(clips, out: Path):
    from shotline.core.media.encode import DEFAULT
    from shotline.otio_adapters.conform.render import render_timeline
    from tests.timeline.conform_util import clip, timeline, track

    a = clips(duration=2, gop=10)
    tl = timeline()
    track(tl).extend([clip(a, 3, 40, media_frames=50)])
    res = render_timeline(tl, out / "lossless.mp4", settings=DEFAULT.with_(crf=0))
    assert res.mode == "full"  # copied GOPs are not lossless High 4:4:4: no smart render
    v = probe(out / "lossless.mp4").video
    assert v is not None and v.profile == "High 4:4:4 Predictive" and v.frame_count == 40
