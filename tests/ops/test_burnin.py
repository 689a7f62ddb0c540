from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import UsageError
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.probe import probe
from shotline.core.media.text import filter_value, find_font, font_available
from shotline.core.ops.burnin import burnin, burnin_filter, drawtext
from tests.mediakit import audio_samples, decode_gray

pytestmark = pytest.mark.skipif(
    not font_available(), reason="no TrueType font here: install fonts-dejavu (or any font fontconfig finds)"
)

TRICKY = [
    'it\'s "quoted"',
    "a:b=c, d;e [f] \\g\\ 50% %{pts} %%",
    "ünïcödé — Ωμέγα, Привет",
    "'''",
    "\\",
    "line one\nline two",
]


def raw_frames(src: Path, vf: str, w: int, h: int) -> np.ndarray:
    argv = [
        ffmpeg_path(),
        "-v",
        "error",
        "-i",
        str(src),
        "-vf",
        vf,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
    ]
    data = subprocess.run(argv, capture_output=True, check=True).stdout
    return np.frombuffer(data, np.uint8).reshape(-1, h, w)


@pytest.mark.parametrize("text", TRICKY)
def test_user_text_arrives_unchanged(clips, tmp_path: Path, text: str):
    """Rendering text through the quoted option equals rendering the same bytes from a file."""
    src = clips(duration=0.1, audio=None, source="color=c=gray")
    font = find_font()
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    ours = drawtext(font, text=text, x="10", y="10", size=16)
    ref = ours.replace(
        f"expansion=none:text={filter_value(text)}",
        f"expansion=none:textfile={filter_value(tmp_path / 't.txt')}",
    )
    assert ref != ours
    a, b = raw_frames(src, ours, 320, 180), raw_frames(src, ref, 320, 180)
    assert np.array_equal(a, b)
    assert (a[0] > 200).sum() > 4  # something white was drawn


def test_timecode_counts_frames(clips):
    src = clips(duration=0.4, audio=None, rate="25", source="color=c=gray")
    info = probe(src)
    vf, rate = burnin_filter(info, timecode=True, start_tc="01:00:00:00", size=16)
    assert rate == 25
    frames = raw_frames(src, vf, 320, 180)
    font = find_font()
    for k, tc in [(0, "01:00:00:00"), (5, "01:00:00:05")]:
        ref = raw_frames(src, drawtext(font, text=tc, x="w-tw-8", y="8", size=16), 320, 180)
        assert np.array_equal(frames[k], ref[k])
    assert not np.array_equal(frames[1], frames[2])


def test_drop_frame_timecode_skips_labels(clips):
    src = clips(duration=0.2, audio=None, rate="30000/1001", source="color=c=gray")
    vf, rate = burnin_filter(probe(src), start_tc="00:00:59;28", size=16)
    assert rate == Fraction(30000, 1001)
    frames = raw_frames(src, vf, 320, 180)
    ref = raw_frames(src, drawtext(find_font(), text="00:01:00;02", x="w-tw-8", y="8", size=16), 320, 180)
    assert np.array_equal(frames[2], ref[2])  # ;28, ;29, then 01:00;02 (;00 and ;01 are dropped)


def test_review_copy_of_awkward_clip(clips, out: Path):
    src = clips(duration=1.0, vfr=True, sar="4:3", audio="stereo", name="shot 'A': 1%.mp4")
    res = burnin(
        src,
        out / "review.mp4",
        shot_id="SH010 'take 2'",
        caption="Note: 50% darker \\ here",
        frame_number=True,
    )
    info, before = probe(res.output), probe(src)
    assert info.duration == pytest.approx(before.duration, abs=0.05)
    assert (info.video.width, info.video.height, info.video.sar) == (428, 180, 1)
    assert not info.video.vfr
    assert len(audio_samples(res.output)) == pytest.approx(len(audio_samples(src)), abs=1100)
    g = decode_gray(res.output, 1)[0].astype(int)
    assert (g[6:14, 4:60] > 230).sum() > 10 or (g[6:14, 4:60] < 30).sum() > 10  # shot id box top-left


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"timecode": False}, "nothing to burn in"),
        ({"start_tc": "1:00:00"}, "HH:MM:SS:FF"),
        ({"start_tc": "00:00:00:30"}, "not valid at 25"),
        ({"start_tc": "00:00:00;00"}, "drop-frame"),
        ({"caption": "a\0b"}, "NUL"),
        ({"size": 2}, "font size"),
    ],
)
def test_burnin_rejects_bad_options(clips, out: Path, kw, match):
    with pytest.raises(UsageError, match=match):
        burnin(clips(), out / "x.mp4", **kw)
    assert list(out.iterdir()) == []


def test_font_lookup(tmp_path: Path):
    default = find_font()
    assert default.is_file() and default.suffix.lower() in (".ttf", ".otf", ".ttc")
    assert find_font(default) == default  # a file is used as given
    with pytest.raises(UsageError, match="font file not found"):
        find_font(tmp_path / "missing.ttf")
    if shutil.which("fc-match"):
        assert find_font("sans").is_file()  # a fontconfig pattern resolves to a file
