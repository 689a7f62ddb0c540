from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, OutputExistsError, UsageError
from shotline.core.media.normalize import video_duration
from shotline.core.media.probe import probe
from shotline.core.ops.concat import concat, concat_list, plan_concat
from tests.mediakit import audio_samples, decode_gray, read_barcodes


def _frame_dur(path: Path) -> float:
    v = probe(path).video
    assert v is not None
    return float(1 / v.rate)


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_matching_clips_stream_copy_with_awkward_names(clips, out: Path):
    a = clips(duration=1.0, barcode=True, name='it\'s a "clip" é.mp4')
    b = clips(duration=1.0, barcode=True, tone=660.0, name="second clip ünï.mp4")
    before = (_digest(a), _digest(b))
    res = concat([a, b], out / "ab.mp4")
    assert res.mode == "copy" and res.reasons == ()
    info = probe(res.output)
    assert info.duration == pytest.approx(probe(a).duration + probe(b).duration, abs=_frame_dur(a))
    assert info.video is not None and info.video.frame_count == 50
    # copy: the pictures are the originals, frame for frame
    assert read_barcodes(res.output) == list(range(25)) * 2
    assert (_digest(a), _digest(b)) == before


def test_concat_list_escapes_quotes():
    text = concat_list([Path("/x/it's.mp4")])
    assert "file '/x/it'\\''s.mp4'" in text


def test_mismatched_clips_are_normalized_in_sync(clips, out: Path):
    a = clips(duration=1.0, rate="25", audio="stereo")
    b = clips(
        duration=1.0, rate="30000/1001", width=240, height=180, sar="4:3", audio="mono", sample_rate=44100
    )
    c = clips(
        duration=1.0, rate="24", width=181, height=320, audio=None, source="color=c=white", pix_fmt="yuv444p"
    )
    d = clips(duration=1.0, rate="25", pix_fmt="yuv420p10le", rotation=90, audio="stereo")
    plan = plan_concat([a, b, c, d], out / "x.mp4")
    assert plan.meta["mode"] == "normalize"
    assert any("rate" in r for r in plan.meta["reasons"])  # type: ignore[union-attr]
    res = concat([a, b, c, d], out / "abcd.mp4")
    info = probe(res.output)
    v = info.video
    assert v is not None and info.audio is not None
    assert (v.width, v.height, v.sar, v.pix_fmt) == (320, 180, 1, "yuv420p")
    assert v.rate == 25
    assert (info.audio.sample_rate, info.audio.channels) == (48000, 2)
    # b has 29 frames at 30000/1001 (0.968 s): the sum of the picture durations is 3.968 s
    expected = sum(video_duration(probe(p)) for p in (a, b, c, d))
    assert v.frame_count == round(expected * 25)
    assert info.duration == pytest.approx(expected, abs=0.04)
    # the third clip (white, portrait, no audio) sits pillarboxed at frames 50..74, in silence
    frames = decode_gray(res.output)
    mid = frames[62]
    assert mid[90, 160] > 200 and mid[90, 5] < 30  # white centre, black pad
    pcm = audio_samples(res.output)
    sr = 48000
    assert np.abs(pcm[int(2.05 * sr) : int(2.95 * sr)]).max() < 0.01  # silence where c plays
    assert np.abs(pcm[int(1.1 * sr) : int(1.9 * sr)]).max() > 0.1  # b's tone
    assert np.abs(pcm[int(3.1 * sr) : int(3.9 * sr)]).max() > 0.1  # d's tone
    # the rotated 320x180 clip arrives upright: 180x320 scaled into 320x180 -> pillarboxed too
    last = frames[90]
    assert last[90, 5] < 30


def test_vfr_clip_is_normalized_to_constant_rate(clips, out: Path):
    a = clips(duration=1.0, rate="25", barcode=True)
    b = clips(duration=1.0, rate="25", vfr=True, barcode=True)
    res = concat([a, b], out / "v.mp4")
    assert res.mode == "normalize"
    info = probe(res.output)
    assert info.video is not None and not info.video.vfr
    expected = probe(a).duration + probe(b).duration  # the VFR clip ends at 0.96 s
    assert info.duration == pytest.approx(expected, abs=0.04)
    assert info.video.frame_count == round(expected * 25)
    codes = read_barcodes(res.output)
    assert codes[:25] == list(range(25))
    tail = codes[25:]
    # dropped frames are filled by holding the previous one: never out of order, nothing invented
    assert tail[0] == 0 and all(x is not None and y is not None and x <= y for x, y in zip(tail, tail[1:]))
    assert set(tail) <= set(range(25)) and 22 not in tail


def test_copy_mode_refuses_mismatch_and_leaves_nothing(clips, out: Path):
    a = clips(duration=1.0, rate="25")
    b = clips(duration=1.0, rate="24")
    with pytest.raises(UsageError, match="rate"):
        concat([a, b], out / "x.mp4", mode="copy")
    assert list(out.iterdir()) == []


def test_bad_inputs(clips, out: Path, tmp_path: Path):
    a = clips(duration=1.0)
    missing = tmp_path / "nope.mp4"
    with pytest.raises(MediaError, match="nope.mp4"):
        concat([a, missing], out / "x.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(MediaError, match="corrupt.mp4"):
        concat([a, corrupt], out / "x.mp4")
    with pytest.raises(UsageError, match="at least two"):
        concat([a], out / "x.mp4")
    (out / "exists.mp4").write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        concat([a, a], out / "exists.mp4")
    assert (out / "exists.mp4").read_bytes() == b"keep"
    assert sorted(p.name for p in out.iterdir()) == ["exists.mp4"]


def test_rotation_alone_prevents_stream_copy(clips, out: Path):
    a = clips(duration=1.0)
    b = clips(duration=1.0, rotation=90)
    plan = plan_concat([a, b], out / "x.mp4")
    assert plan.meta["mode"] == "normalize"
    assert any("rotation" in r for r in plan.meta["reasons"])  # type: ignore[union-attr]
    assert plan_concat([a, a], out / "x.mp4").meta["mode"] == "copy"


def test_truncated_clip_is_named(clips, out: Path, tmp_path: Path):
    a = clips(duration=1.0)
    cut = tmp_path / "cut short.mp4"
    cut.write_bytes(a.read_bytes()[: a.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut short.mp4: truncated"):
        concat([a, cut], out / "x.mp4")
    assert list(out.iterdir()) == []
