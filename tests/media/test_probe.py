from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from shotline.core.errors import MediaError
from shotline.core.media.probe import header_duration, probe


def test_plain_clip_facts(clips):
    p = clips(duration=1.0, rate="25", audio="stereo", sample_rate=48000)
    info = probe(p)
    assert info.container.startswith("mov,mp4")
    assert info.duration == pytest.approx(1.0, abs=0.05)
    v = info.video
    assert v is not None
    assert (v.codec, v.width, v.height, v.pix_fmt, v.bit_depth) == ("h264", 320, 180, "yuv420p", 8)
    assert v.avg_rate == 25 and v.rate == 25 and not v.vfr
    assert v.frame_count == 25
    assert v.rotation == 0 and v.sar == 1
    assert info.has_audio and info.audio is not None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)
    assert info.audio.layout == "stereo"


def test_ntsc_rate_is_exact_rational(clips):
    info = probe(clips(duration=1.0, rate="30000/1001", audio=None))
    assert info.video is not None
    assert info.video.rate == Fraction(30000, 1001)
    assert not info.has_audio


def test_mono_44k(clips):
    info = probe(clips(audio="mono", sample_rate=44100))
    assert info.audio is not None
    assert (info.audio.sample_rate, info.audio.channels, info.audio.layout) == (44100, 1, "mono")


def test_vfr_detected(clips):
    info = probe(clips(duration=2.0, rate="30", vfr=True, audio=None))
    assert info.video is not None and info.video.vfr
    assert info.video.frame_count is not None and info.video.frame_count < 60


def test_rotation_and_display_size(clips):
    info = probe(clips(rotation=90, audio=None))
    assert info.video is not None
    assert info.video.rotation in (90, 270)
    assert info.video.display_size == (180, 320)


def test_ten_bit_and_sar(clips):
    info = probe(clips(pix_fmt="yuv420p10le", sar="4:3", width=322, audio=None))
    v = info.video
    assert v is not None
    assert v.bit_depth == 10 and v.pix_fmt == "yuv420p10le"
    assert v.sar == Fraction(4, 3) and v.width == 322
    assert v.dar == Fraction(322 * 4, 180 * 3)


def test_to_dict_is_json_ready(clips):
    import json

    d = probe(clips(rate="30000/1001")).to_dict()
    json.dumps(d)
    assert d["video"]["avg_rate"] == "30000/1001"
    assert d["has_audio"] is True


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("missing.mp4", None, "no such file"),
        ("empty.mp4", b"", "empty"),
        ("notes.mp4", b"not a video at all\n" * 50, "not a media"),
        ("", None, "directory"),
    ],
)
def test_bad_files_raise_naming_the_file(tmp_path: Path, name, content, words):
    path = tmp_path / name if name else tmp_path
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError) as exc:
        probe(path)
    assert str(path) in str(exc.value)
    assert words in str(exc.value)


def test_truncated_file(clips, tmp_path: Path):
    src = clips(duration=1.0)
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # faststart: header intact, media data cut
    with pytest.raises(MediaError) as exc:
        probe(cut)
    assert str(cut) in str(exc.value)


def test_header_duration_reads_the_container_only(clips, tmp_path: Path):
    clip = clips(duration=1.5, rate="30000/1001")
    assert header_duration(clip) == pytest.approx(probe(clip).duration, abs=1e-6)
    junk = tmp_path / "not media.mp4"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(MediaError, match="not media.mp4"):
        header_duration(junk)
