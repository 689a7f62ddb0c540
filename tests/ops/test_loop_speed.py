from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.normalize import video_duration
from shotline.core.media.probe import probe
from shotline.core.ops.effects import atempo_chain, loop, plan_loop, plan_speed, speed
from tests.mediakit import audio_samples, frame_times, read_barcodes


def _tone_hz(pcm: np.ndarray, sr: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * sr / len(pcm))


def test_loop_times_is_a_stream_copy(clips, out: Path):
    src = clips(duration=1.0, barcode=True, name="loop me 'now'.mp4")
    res = loop(src, out / "l.mp4", times=3)
    assert res.mode == "copy"
    info = probe(res.output)
    assert info.duration == pytest.approx(3.0, abs=0.04)
    assert read_barcodes(res.output) == list(range(25)) * 3
    assert info.has_audio


def test_loop_to_duration_re_encodes_exactly(clips, out: Path):
    src = clips(duration=1.0, barcode=True)
    res = loop(src, out / "l.mp4", duration=2.4)
    assert res.mode == "encode"
    info = probe(res.output)
    assert info.duration == pytest.approx(2.4, abs=0.04)
    assert read_barcodes(res.output) == list(range(25)) * 2 + list(range(10))
    pcm = audio_samples(res.output)
    assert len(pcm) / 48000 == pytest.approx(2.4, abs=0.03)


def test_loop_whole_duration_is_copy(clips, out: Path):
    src = clips(duration=1.0)
    assert plan_loop(src, out / "x.mp4", duration=2.0).meta["mode"] == "copy"


def test_atempo_chain_stays_in_range():
    for f in (0.1, 0.3, 0.5, 1.0, 2.5, 7.0, 10.0):
        stages = [float(s.split("=")[1]) for s in atempo_chain(f).split(",")]
        assert all(0.5 <= s <= 2.0 for s in stages)
        assert float(np.prod(stages)) == pytest.approx(f, rel=1e-6)


def test_speed_up_keeps_rate_and_pitch(clips, out: Path):
    src = clips(duration=2.0, rate="30000/1001", barcode=True, tone=440.0)
    res = speed(src, out / "fast.mp4", factor=2.0)
    info = probe(res.output)
    assert info.video is not None and info.video.rate == probe(src).video.rate  # type: ignore[union-attr]
    assert info.duration == pytest.approx(probe(src).duration / 2, abs=0.05)
    codes = read_barcodes(res.output)
    assert codes[:10] == list(range(0, 20, 2))  # every other source frame
    pcm = audio_samples(res.output)
    assert len(pcm) / 48000 == pytest.approx(info.duration, abs=0.05)
    assert _tone_hz(pcm[4800:38400]) == pytest.approx(440, abs=15)  # pitch kept


def test_slow_motion_to_target_duration_with_blending(clips, out: Path):
    src = clips(duration=1.0, rate="25", barcode=True, audio="mono", sample_rate=44100, tone=440.0)
    res = speed(src, out / "slow.mp4", duration=4.0)  # factor 0.25: two atempo stages
    assert res.detail["factor"] == pytest.approx(0.25)
    info = probe(res.output)
    assert info.duration == pytest.approx(4.0, abs=0.06)
    assert info.video is not None and info.video.rate == 25
    times = frame_times(res.output)
    assert len(times) == pytest.approx(100, abs=1)
    codes = read_barcodes(res.output)
    assert codes[:8] == [0, 0, 0, 0, 1, 1, 1, 1]  # plain slow motion repeats frames
    pcm = audio_samples(res.output)
    assert _tone_hz(pcm[48000:144000]) == pytest.approx(440, abs=15)
    blended = speed(src, out / "blend.mp4", factor=0.25, smooth="blend")
    bcodes = read_barcodes(blended.output)
    assert None in bcodes[:8]  # in-between frames are blends of two source frames
    assert probe(blended.output).duration == pytest.approx(4.0, abs=0.06)


def test_speed_without_audio(clips, out: Path):
    src = clips(duration=1.0, audio=None)
    res = speed(src, out / "x.mp4", factor=0.5)
    info = probe(res.output)
    assert not info.has_audio and info.duration == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"factor": 0}, "between"),
        ({"factor": 20}, "outside"),
        ({"factor": 0.05}, "outside"),
        ({"duration": 100.0}, "outside"),
        ({}, "either"),
        ({"factor": 2, "smooth": "magic"}, "smoothing"),
    ],
)
def test_impossible_speeds(clips, out: Path, kw, match):
    src = clips(duration=1.0)
    with pytest.raises(UsageError, match=match):
        plan_speed(src, out / "x.mp4", **kw)


def test_bad_loop_parameters_and_inputs(clips, out: Path, tmp_path: Path):
    src = clips(duration=1.0)
    with pytest.raises(UsageError):
        loop(src, out / "x.mp4", times=0)
    with pytest.raises(UsageError):
        loop(src, out / "x.mp4", times=2, duration=3.0)
    with pytest.raises(UsageError):
        loop(src, out / "x.mp4", duration=-1.0)
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video at all\n" * 20)
    with pytest.raises(MediaError, match="notes.mp4"):
        loop(junk, out / "x.mp4", times=2)
    with pytest.raises(MediaError, match="notes.mp4"):
        speed(junk, out / "x.mp4", factor=2)
    assert list(out.iterdir()) == []


def test_motion_interpolated_slow_motion(clips, out: Path):
    src = clips(duration=0.5, width=160, height=90, rate="25", audio=None)
    res = speed(src, out / "mci.mp4", factor=0.5, smooth="mci")
    info = probe(res.output)
    assert info.video is not None and info.video.rate == 25
    expected = video_duration(probe(src)) / 0.5  # lavfi made 13 frames (0.52 s)
    assert info.duration == pytest.approx(expected, abs=0.05)
    assert len(frame_times(res.output)) == round(expected * 25)
