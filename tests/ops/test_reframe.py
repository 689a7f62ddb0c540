from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.ops.presets import PRESETS, Preset, get_preset
from shotline.core.ops.reframe import geometry, plan_reframe, reframe
from tests.mediakit import frame_times


def small(name: str, scale: int = 10, **kw: object) -> Preset:
    """A preset with the same shape and encoding, a tenth of the size: fast tests of the same code."""
    p = get_preset(name)
    return dataclasses.replace(p, width=p.width // scale // 2 * 2, height=p.height // scale // 2 * 2, **kw)


def rgb(path: Path, index: int = 0) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(np.float32)
    raise AssertionError("no such frame")


def cells(img: np.ndarray, rows: int = 4, cols: int = 4) -> np.ndarray:
    h, w = img.shape[:2]
    return np.array(
        [
            [
                img[r * h // rows : (r + 1) * h // rows, c * w // cols : (c + 1) * w // cols].mean(
                    axis=(0, 1)
                )
                for c in range(cols)
            ]
            for r in range(rows)
        ]
    )


# --- the presets table ------------------------------------------------------------------------


def test_presets_are_plain_data_with_aliases():
    assert get_preset("Reels") is get_preset("shorts") is get_preset("tiktok")
    assert (get_preset("instagram").width, get_preset("instagram").height) == (1080, 1350)
    assert (get_preset("youtube-4k").width, get_preset("youtube-4k").height) == (3840, 2160)
    assert (get_preset("square").width, get_preset("x").width, get_preset("linkedin").height) == (
        1080,
        1280,
        1080,
    )
    names = [n for p in PRESETS for n in p.names]
    assert len(names) == len(set(names))
    for p in PRESETS:
        s = p.encode_settings()
        args = s.video_args(30)
        assert ("-profile:v", "high") == tuple(args[args.index("-profile:v") : args.index("-profile:v") + 2])
        assert s.pix_fmt == "yuv420p" and s.sample_rate == 48000 and s.faststart and s.maxrate
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.width = 1  # type: ignore[misc]


def test_unknown_preset_lists_the_known_ones(clips, out: Path):
    with pytest.raises(UsageError, match=r"unknown preset 'myspace'.*tiktok \(reels, shorts"):
        reframe(clips(), out / "x.mp4", "myspace")
    assert list(out.iterdir()) == []


def test_x_limits_warn():
    x = get_preset("twitter")
    assert x.limit_warnings(139.0, 100 * 2**20) == []
    warn = x.limit_warnings(141.0, 600 * 2**20)
    assert len(warn) == 2 and "2:20" in warn[0] and "512 MB" in warn[1]


def test_fps_policy_divides_by_an_integer():
    ig = get_preset("instagram")  # max 30 fps
    assert ig.output_fps(Fraction(60000, 1001)) == Fraction(30000, 1001)
    assert ig.output_fps(Fraction(25)) == 25
    assert get_preset("tiktok").output_fps(Fraction(120)) == 60


# --- geometry ---------------------------------------------------------------------------------


def test_geometry_modes():
    crop = geometry((1920, 1080), (1080, 1920), "crop")
    assert crop.scaled == (3414, 1920) and crop.crop == (1167, 0) and crop.frame == (1080, 1920)
    left = geometry((1920, 1080), (1080, 1920), "crop", focus=(0.0, 0.5))
    assert left.crop == (0, 0)
    pad = geometry((1920, 1080), (1080, 1920), "pad")
    assert pad.scaled == (1080, 608) and pad.offset == (0, 656)
    assert geometry((1920, 1080), (1080, 1920), "fit").frame == (1080, 608)
    with pytest.raises(UsageError, match="focus"):
        geometry((10, 10), (10, 10), "crop", focus=(1.5, 0))


# --- rendered outputs ---------------------------------------------------------------------------


def test_tiktok_full_size_encoding(clips, out: Path):
    src = clips(duration=0.5, audio="mono", sample_rate=44100)
    res = reframe(src, out / "tt.mp4", "tiktok")
    info = probe(res.output)
    v, a = info.video, info.audio
    assert v is not None and a is not None
    assert (v.width, v.height, v.codec, v.pix_fmt, v.sar) == (1080, 1920, "h264", "yuv420p", 1)
    assert v.profile == "High" and v.color_space == "bt709"
    assert (a.codec, a.sample_rate, a.channels) == ("aac", 48000, 2)
    assert info.duration == pytest.approx(0.5, abs=0.05)
    data = res.output.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart
    assert res.warnings == ()


@pytest.mark.parametrize("fx", [0.0, 0.5, 1.0])
def test_crop_takes_the_focus_window(clips, out: Path, fx: float):
    src = clips(audio=None)
    preset = small("tiktok")  # 108x192
    res = reframe(src, out / "c.mp4", preset, mode="crop", focus=(fx, 0.5))
    geo = geometry((320, 180), (108, 192), "crop", (fx, 0.5))
    k = 180 / geo.scaled[1]
    x0 = round(geo.crop[0] * k)
    expect = rgb(src)[:, x0 : x0 + round(108 * k)]
    got = rgb(res.output)
    assert (res.width, res.height) == (108, 192)
    assert np.abs(cells(got) - cells(expect)).mean() < 12


def test_pad_blur_and_solid(clips, out: Path):
    src = clips(audio=None)
    preset = small("tiktok")
    solid = reframe(src, out / "s.mp4", preset, mode="pad", background="solid", color="black")
    blur = reframe(src, out / "b.mp4", preset, mode="pad")
    s, b = rgb(solid.output), rgb(blur.output)
    geo = geometry((320, 180), (108, 192), "pad")
    top = slice(0, geo.offset[1] - 2)
    assert s[top].max() < 25  # black bars
    assert b[top].mean() > 30 and b[top].std() > 5  # a blurred picture, not a flat fill
    mid = slice(geo.offset[1] + 4, geo.offset[1] + geo.scaled[1] - 4)
    assert np.abs(s[mid] - b[mid]).mean() < 3  # the shot itself is the same in both


def test_fit_keeps_shape_of_anamorphic_source(clips, out: Path):
    src = clips(sar="4:3", audio=None)  # shows as 427x180
    res = reframe(src, out / "f.mp4", small("youtube", scale=4), mode="fit")  # box 480x270
    assert (res.width, res.height) == (480, 202)
    assert probe(res.output).video.sar == 1


def test_rotated_vfr_10bit_phone_clip(clips, out: Path):
    src = clips(rotation=90, vfr=True, pix_fmt="yuv420p10le", rate="30", duration=1.0)
    res = reframe(src, out / "p.mp4", small("tiktok"), mode="crop")
    info = probe(res.output)
    assert info.video.rotation == 0 and info.video.pix_fmt == "yuv420p" and not info.video.vfr
    assert (res.width, res.height) == (108, 192)
    deltas = np.diff(frame_times(res.output))
    assert np.allclose(deltas, deltas[0], atol=1e-3)
    assert info.duration == pytest.approx(1.0, abs=0.1)


def test_limit_warnings_on_result(clips, out: Path):
    src = clips(duration=1.0, audio=None)
    preset = small("x", max_seconds=0.5, max_bytes=1000)
    plan = plan_reframe(src, out / "w.mp4", preset)
    assert len(plan.meta["warnings"]) == 1
    res = reframe(src, out / "w.mp4", preset)
    assert len(res.warnings) == 2 and "limit" in res.warnings[0]


def test_reframe_rejects_audio_only_and_missing(out: Path, clips):
    with pytest.raises(MediaError, match="no such file"):
        reframe(out / "nope.mp4", out / "x.mp4", "tiktok")
    with pytest.raises(UsageError, match="mode"):
        reframe(clips(), out / "x.mp4", "tiktok", mode="zoom")
    assert list(out.iterdir()) == []
