from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.ops.transitions import TRANSITIONS, plan_xfade, xfade, xfade_offsets
from tests.mediakit import audio_samples, decode_gray


def _hz(pcm: np.ndarray, sr: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * sr / len(pcm))


def test_offsets_from_lengths():
    assert xfade_offsets([2.0, 3.0, 1.5], 0.5) == [1.5, 4.0]


def test_dissolve_between_two_clips_lands_on_the_offset(clips, out: Path):
    a = clips(duration=1.0, source="color=c=black", tone=440.0)
    b = clips(duration=1.0, source="color=c=white", tone=880.0)
    res = xfade([a, b], out / "ab.mp4", transition="fade", duration=0.4)
    assert res.offsets == pytest.approx((0.6,))
    info = probe(res.output)
    assert info.duration == pytest.approx(1.6, abs=0.04)
    frames = [float(f.mean()) for f in decode_gray(res.output)]
    assert len(frames) == 40
    assert max(frames[:15]) < 25  # a, before the offset (frame 15 = 0.6 s)
    assert min(frames[25:]) > 230  # b, after offset + duration
    assert frames[15] < frames[20] < frames[24]  # ramps in between
    assert 90 < frames[20] < 170  # halfway
    pcm = audio_samples(res.output)
    assert len(pcm) / 48000 == pytest.approx(1.6, abs=0.03)
    assert _hz(pcm[: int(0.5 * 48000)]) == pytest.approx(440, abs=20)
    assert _hz(pcm[int(1.1 * 48000) :]) == pytest.approx(880, abs=20)


def test_chain_of_four_mismatched_clips(clips, out: Path):
    a = clips(duration=1.0, rate="25", source="color=c=black")
    b = clips(duration=1.0, rate="30000/1001", width=240, height=180, audio="mono", sample_rate=44100)
    c = clips(duration=1.0, rate="24", audio=None, source="color=c=white")
    d = clips(duration=1.0, rate="25", sar="4:3", width=240, source="color=c=black")
    res = xfade([a, b, c, d], out / "chain.mp4", transition="wipeleft", duration=0.2)
    info = probe(res.output)
    assert info.video is not None and (info.video.width, info.video.height) == (320, 180)
    assert len(res.offsets) == 3
    assert info.duration == pytest.approx(res.duration, abs=0.05)
    assert info.video.frame_count == round(res.duration * 25)
    pcm = audio_samples(res.output)
    assert len(pcm) / 48000 == pytest.approx(res.duration, abs=0.03)
    # c has no audio: silence while it plays alone (between its two transitions)
    c_alone = slice(int((res.offsets[1] + 0.25) * 48000), int((res.offsets[2] - 0.05) * 48000))
    assert np.abs(pcm[c_alone]).max() < 0.01
    frames = decode_gray(res.output)
    mid_c = round((res.offsets[1] + res.offsets[2] + 0.2) / 2 * 25)
    assert frames[mid_c].mean() > 230


@pytest.mark.parametrize("name", ["dissolve", "fadeblack", "slideup", "circleopen"])
def test_other_transitions_render(clips, out: Path, name: str):
    a = clips(duration=1.0, source="color=c=black", audio=None)
    b = clips(duration=1.0, source="color=c=white", audio=None)
    res = xfade([a, b], out / f"{name}.mp4", transition=name, duration=0.4)
    frames = [float(f.mean()) for f in decode_gray(res.output)]
    assert len(frames) == 40 and frames[0] < 25 and frames[-1] > 230
    assert 25 < frames[20] < 230 or name == "fadeblack"  # something between the two halfway through


def test_known_transitions_only_and_lengths_checked(clips, out: Path, tmp_path: Path):
    a = clips(duration=1.0)
    b = clips(duration=0.5)
    with pytest.raises(UsageError, match="unknown transition"):
        plan_xfade([a, a], out / "x.mp4", transition="spin")
    with pytest.raises(UsageError, match="too short"):
        plan_xfade([a, b], out / "x.mp4", duration=0.8)
    with pytest.raises(UsageError, match="both crossfades"):
        plan_xfade([a, b, a], out / "x.mp4", duration=0.3)
    with pytest.raises(UsageError, match="positive"):
        plan_xfade([a, a], out / "x.mp4", duration=0)
    with pytest.raises(UsageError, match="two clips"):
        plan_xfade([a], out / "x.mp4")
    with pytest.raises(MediaError, match="gone.mp4"):
        xfade([a, tmp_path / "gone.mp4"], out / "x.mp4")
    assert list(out.iterdir()) == []
    assert "dissolve" in TRANSITIONS and "wipeleft" in TRANSITIONS


def test_transition_list_matches_this_ffmpeg():
    import re
    import subprocess

    from shotline.core.media.ffmpeg import ffmpeg_path

    text = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-h", "filter=xfade"], capture_output=True, text=True
    ).stdout
    known = set(re.findall(r"^\s+(\w+)\s+-?\d+\s+\.\.FV", text, re.M)) - {"custom"}
    # every transition this ffmpeg offers is accepted (an older ffmpeg offers fewer)
    assert len(known) > 30 and known <= set(TRANSITIONS)
