from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.ops.audio import add_audio, measure_loudness, normalize, plan_add_audio
from tests.mediakit import audio_samples, ffmpeg

RATE = 48000


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory):
    """music(duration, tone) -> an audio-only .m4a: a sine at -18 dBFS peak."""
    root = tmp_path_factory.mktemp("music")

    def make(duration: float = 0.7, tone: float = 880.0, rate: int = 44100) -> Path:
        p = root / f"music {duration} {tone} {rate}.m4a"
        if not p.exists():
            ffmpeg("-f", "lavfi", "-i", f"sine=f={tone}:r={rate}:d={duration}", "-c:a", "aac", str(p))
        return p

    return make


def tone_level(x: np.ndarray, freq: float, rate: int = RATE) -> float:
    """Amplitude of one frequency in x (Hann-windowed FFT)."""
    if len(x) < 1024:
        return 0.0
    w = np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x * w)) / (w.sum() / 2)
    f = np.fft.rfftfreq(len(x), 1 / rate)
    band = (f > freq - 15) & (f < freq + 15)
    return float(spec[band].max())


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


@pytest.mark.parametrize("target, lufs", [("social", -14.0), ("broadcast", -23.0), (-18, -18.0)])
def test_normalize_hits_the_integrated_loudness(clips, out: Path, target, lufs):
    src = clips(duration=3.0, audio="mono", sample_rate=44100)
    before = src.read_bytes()
    res = normalize(src, out / "n.mp4", target)
    assert res.loudness is not None
    assert res.loudness.integrated == pytest.approx(lufs, abs=0.5)
    assert res.loudness.true_peak <= -1.0 + 0.3
    info = probe(res.output)
    assert info.audio.sample_rate == 48000 and info.video.codec == "h264"
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert measure_loudness(res.output).integrated == pytest.approx(res.loudness.integrated, abs=0.01)
    assert src.read_bytes() == before


def test_replace_loops_music_to_the_video(clips, music, out: Path):
    video = clips(duration=2.0, rate="24")  # has its own 440 Hz tone
    res = add_audio(video, music(0.7, 880), out / "r.mp4", mode="replace", fit="loop")
    info = probe(res.output)
    assert info.duration == pytest.approx(2.0, abs=1 / 24)
    assert info.audio.channels == 2 and info.audio.sample_rate == RATE
    a = audio_samples(res.output)
    assert len(a) / RATE == pytest.approx(2.0, abs=0.03)
    tail = a[int(1.5 * RATE) : int(1.95 * RATE)]  # third repetition of the music
    assert tone_level(tail, 880) > 0.05 and tone_level(tail, 440) < 0.005  # original sound gone


def test_pad_and_shortest(clips, music, out: Path):
    video = clips(duration=2.0, audio=None)
    pad = add_audio(video, music(0.7), out / "p.mp4", fit="pad")
    a = audio_samples(pad.output)
    assert probe(pad.output).duration == pytest.approx(2.0, abs=0.04)
    assert rms(a[int(0.1 * RATE) : int(0.6 * RATE)]) > 0.05 and rms(a[int(0.9 * RATE) :]) < 1e-4
    short = add_audio(video, music(0.7), out / "s.mp4", fit="shortest")
    sinfo = probe(short.output)
    assert sinfo.duration == pytest.approx(0.7, abs=0.05)
    assert sinfo.video.frame_count == pytest.approx(0.7 * 25, abs=1.5)


def test_mix_at_gain_keeps_both_in_sync(clips, music, out: Path):
    video = clips(duration=2.0)  # 440 Hz, same sine level as the music
    res = add_audio(video, music(3.0, 880, 48000), out / "m.mp4", mode="mix", gain_db=-6)
    a = audio_samples(res.output)[int(0.2 * RATE) : int(1.8 * RATE)]
    ratio = tone_level(a, 880) / tone_level(a, 440)
    assert ratio == pytest.approx(10 ** (-6 / 20), rel=0.1)
    assert probe(res.output).duration == pytest.approx(2.0, abs=0.04)


def test_ducking_pulls_the_music_down_under_sound(clips, music, out: Path):
    video = clips(duration=2.0)
    plain = add_audio(video, music(3.0, 880, 48000), out / "plain.mp4", mode="mix")
    ducked = add_audio(video, music(3.0, 880, 48000), out / "duck.mp4", mode="mix", duck=True)
    win = slice(int(0.5 * RATE), int(1.8 * RATE))
    a, b = audio_samples(plain.output)[win], audio_samples(ducked.output)[win]
    assert tone_level(b, 880) < 0.5 * tone_level(a, 880)  # music ducked by more than 6 dB
    assert tone_level(b, 440) == pytest.approx(tone_level(a, 440), rel=0.1)  # the voice untouched


def test_bad_audio_inputs(clips, music, out: Path):
    video = clips(duration=1.0)
    with pytest.raises(MediaError, match="no audio stream"):
        add_audio(video, clips(audio=None), out / "x.mp4")
    with pytest.raises(MediaError, match="no such file"):
        add_audio(video, out / "missing.m4a", out / "x.mp4")
    with pytest.raises(UsageError, match="nothing to duck"):
        add_audio(clips(audio=None), music(), out / "x.mp4", mode="mix", duck=True)
    with pytest.raises(UsageError, match="loudness target"):
        normalize(video, out / "x.mp4", "loud")
    with pytest.raises(UsageError, match="between -70 and -5"):
        normalize(video, out / "x.mp4", 3)
    with pytest.raises(MediaError, match="no audio stream"):
        normalize(clips(audio=None), out / "x.mp4")
    with pytest.raises(MediaError, match="silent"):
        normalize(clips(duration=1.0, tone=0.0), out / "x.mp4")
    assert list(out.iterdir()) == []


def test_plan_copies_video_and_never_uses_a_shell(clips, music):
    plan = plan_add_audio(clips(), music(), "o.mp4", mode="mix", duck=True)
    args = plan.steps[0].args
    assert args[args.index("-c:v") + 1] == "copy" and "-stream_loop" in args
    assert "sidechaincompress" in args[args.index("-filter_complex") + 1]
