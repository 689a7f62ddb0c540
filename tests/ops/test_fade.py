from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.media.smart import index_frames
from shotline.core.ops.effects import fade, plan_fade
from tests.mediakit import audio_samples, decode_gray, read_barcodes, reencode_h264


@pytest.fixture(scope="module")
def bframes(tmp_path_factory: pytest.TempPathFactory, clips) -> Path:
    """A 3 s barcoded H.264 clip with B-frames and a GOP of 12 (how real encoders write)."""
    src = clips(duration=3.0, rate="30000/1001", barcode=True, source="color=c=gray")
    return reencode_h264(src, tmp_path_factory.mktemp("bf") / "bframes clip's.mp4", gop=12, bframes=3)


def _mean(frame: np.ndarray) -> float:
    return float(frame[24:].mean())  # below the barcode band


def test_smart_fade_is_frame_exact_and_copies_the_middle(bframes: Path, out: Path):
    before = hashlib.sha256(bframes.read_bytes()).hexdigest()
    idx = index_frames(bframes)
    assert len(idx.keyframes) >= 7 and idx.cut_points == idx.keyframes
    smart = fade(bframes, out / "smart.mp4", fade_in=0.5, fade_out=0.5)
    full = fade(bframes, out / "full.mp4", fade_in=0.5, fade_out=0.5, mode="full")
    assert smart.mode == "smart" and full.mode == "full"
    assert 0 < smart.detail["copied_frames"] < idx.frames  # type: ignore[operator]
    n = idx.frames
    # same frames, same order, none lost or doubled: outside the fades the barcode is the frame number
    codes = read_barcodes(smart.output)
    assert len(codes) == n and codes == read_barcodes(full.output)
    assert codes[16:73] == list(range(16, 73))
    # the fades land on the same frames as a full re-encode
    s, f = decode_gray(smart.output), decode_gray(full.output)
    assert len(s) == len(f) == n
    for i in range(n):
        assert abs(_mean(s[i]) - _mean(f[i])) < 3, i
    assert _mean(s[0]) < 20 and _mean(s[-1]) < 25  # black at both ends
    assert _mean(s[n // 2]) == pytest.approx(_mean(decode_gray(bframes)[n // 2]), abs=2)
    mid = n // 2
    assert _mean(s[mid]) > 100
    info = probe(smart.output)
    assert info.duration == pytest.approx(probe(full.output).duration, abs=0.034)
    pcm = audio_samples(smart.output)
    sr = 48000
    assert np.abs(pcm[: int(0.02 * sr)]).max() < 0.01  # audio faded in
    assert np.abs(pcm[-int(0.02 * sr) :]).max() < 0.01  # and out
    assert np.abs(pcm[int(1.4 * sr) : int(1.6 * sr)]).max() > 0.1  # lavfi sine peaks at 1/8
    # audio: the AAC packets between the fades are copied, the faded ends re-encoded on the
    # same 1024-sample grid; it matches a full re-encode to coding noise, seams included
    assert smart.detail["audio"] == "smart"
    ref = audio_samples(full.output)
    assert len(pcm) == len(ref) == round(idx.end_time * sr)  # both end with the last frame, to the sample
    n = min(len(pcm), len(ref))
    assert n >= int(idx.end_time * sr) - 1024
    assert np.abs(pcm[:n] - ref[:n]).max() < 0.005
    assert hashlib.sha256(bframes.read_bytes()).hexdigest() == before


def test_fade_to_white_full_path_for_10bit(clips, out: Path):
    src = clips(duration=1.0, pix_fmt="yuv420p10le", source="color=c=gray", audio="mono", sample_rate=44100)
    plan = plan_fade(src, out / "w.mp4", fade_in=0.4, fade_out=0.4, color="white")
    assert plan.meta["mode"] == "full" and "pixel format" in str(plan.meta["reason"])
    res = fade(src, out / "w.mp4", fade_in=0.4, fade_out=0.4, color="white")
    frames = decode_gray(res.output)
    assert len(frames) == 25
    assert frames[0].mean() > 230 and frames[-1].mean() > 200 and 100 < frames[12].mean() < 150


def test_fade_out_start_comes_from_the_picture_length(clips, out: Path):
    # 29 frames at 30000/1001 (0.968 s) while the container says 1.0 s (audio)
    src = clips(duration=1.0, rate="30000/1001", source="color=c=gray")
    plan = plan_fade(src, out / "x.mp4", fade_out=0.3, mode="full")
    vf = plan.steps[0].args[plan.steps[0].args.index("-vf") + 1]
    assert "st=0.667" in vf  # 0.9676 - 0.3


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"fade_in": 0.8, "fade_out": 0.8}, "longer than the clip"),
        ({"fade_in": -1}, "zero or positive"),
        ({}, "nothing to do"),
        ({"fade_in": 0.2, "color": "red"}, "colour"),
    ],
)
def test_impossible_fades(clips, out: Path, kw, match):
    src = clips(duration=1.0)
    with pytest.raises(UsageError, match=match):
        fade(src, out / "x.mp4", **kw)
    assert list(out.iterdir()) == []


def test_fade_missing_and_empty_input(out: Path, tmp_path: Path):
    with pytest.raises(MediaError, match="missing.mp4: no such file"):
        fade(tmp_path / "missing.mp4", out / "x.mp4", fade_in=1)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        fade(empty, out / "x.mp4", fade_in=1)
    assert list(out.iterdir()) == []


def test_smart_fade_of_a_longer_clip_indexes_only_its_ends(clips, out: Path):
    """A 12 s clip of 10-frame GOPs: the fades' GOPs come from the windowed index (the middle
    ones are never read) and the copied middle is every frame, once, in order."""
    src = clips(duration=12.0, barcode=True, source="color=c=gray", gop=10)
    assert type(index_frames(src, around=(0.6, 11.4)).pts) is not tuple  # the windowed kind
    res = fade(src, out / "f.mp4", fade_in=0.6, fade_out=0.6)
    assert res.mode == "smart" and res.detail["copied_frames"] == 260  # GOPs 20-279
    codes = read_barcodes(res.output)
    assert len(codes) == 300 and codes[20:280] == list(range(20, 280))
    s = decode_gray(res.output)
    assert _mean(s[0]) < 20 and _mean(s[-1]) < 25 and _mean(s[150]) > 100


@pytest.mark.parametrize("layout,rate", [("mono", 44100), ("stereo", 48000), ("mono", 22050)])
def test_smart_fade_and_trim_keep_the_sound_as_it_was(clips, out: Path, layout: str, rate: int):
    """Any AAC rate and layout: the untouched packets are copied, the faded or cut blocks are
    re-encoded at the source's own rate and layout; nothing is resampled."""
    from shotline.core.ops.trim import plan_trim, trim

    src = reencode_h264(
        clips(duration=3.0, source="color=c=gray", audio=layout, sample_rate=rate),
        out / f"src-{layout}-{rate}.mp4",
        gop=12,
    )
    plan = plan_fade(src, out / "f.mp4", fade_in=0.5, fade_out=0.5)
    assert plan.meta["mode"] == "smart" and plan.meta["audio"] == "smart"
    res = fade(src, out / "f.mp4", fade_in=0.5, fade_out=0.5)
    assert plan_trim(src, out / "t.mp4", start=0.7, end=2.3).meta["audio"] == "smart"
    cut = trim(src, out / "t.mp4", start=0.7, end=2.3)
    for path, offset in ((res.output, 0.0), (cut.output, cut.start)):
        a = probe(path).audio
        assert a is not None and (a.sample_rate, a.channels) == (rate, 1 if layout == "mono" else 2)
        pcm, ref = audio_samples(path, rate), audio_samples(src, rate)[round(offset * rate) :]
        middle = slice(int(0.6 * rate), int(1.4 * rate))  # past the fade-in / the cut's seam
        assert np.abs(pcm[middle] - ref[middle]).max() < 0.005
