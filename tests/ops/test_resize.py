from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.ops.resize import plan_resize, resize
from tests.mediakit import audio_samples, decode_gray, read_barcodes


def test_lanczos_upscale_2x_keeps_frames_and_audio(clips, out: Path):
    src = clips(duration=1.0, barcode=True, rate="30000/1001", audio="stereo", sample_rate=44100)
    res = resize(src, out / "up.mp4", scale=2)
    info, before = probe(res.output), probe(src)
    assert (res.width, res.height) == (640, 360)
    assert info.video.frame_count == before.video.frame_count
    assert info.video.rate == before.video.rate
    assert read_barcodes(res.output)[:5] == [0, 1, 2, 3, 4]  # frame-exact, nothing dropped
    assert info.audio.codec == "aac" and info.audio.sample_rate == 44100  # copied, untouched
    assert len(audio_samples(res.output)) == pytest.approx(len(audio_samples(src)), abs=1100)


def test_lanczos_is_sharper_than_bilinear(clips, out: Path):
    src = clips(duration=0.2, audio=None)
    sharp = resize(src, out / "l.mp4", width=640, algorithm="lanczos")
    soft = resize(src, out / "b.mp4", width=640, algorithm="bilinear")

    def edge_energy(p: Path) -> float:
        g = decode_gray(p, 1)[0].astype(np.float32)
        return float(np.abs(np.diff(g, axis=1)).mean())

    assert edge_energy(sharp.output) > edge_energy(soft.output) * 1.02


@pytest.mark.parametrize(
    "spec, kw, size",
    [
        ({"sar": "4:3"}, {"height": 360}, (854, 360)),  # anamorphic: display aspect kept, square pixels
        ({"rotation": 90}, {"width": 360}, (360, 640)),  # phone clip: rotation applied
        ({"pix_fmt": "yuv420p10le"}, {"width": 161}, (160, 90)),  # odd request rounded even; 10-bit in
    ],
)
def test_display_aspect_and_even_sizes(clips, out: Path, spec, kw, size):
    res = resize(clips(audio=None, **spec), out / "r.mp4", **kw)
    v = probe(res.output).video
    assert (v.width, v.height) == size and v.sar == 1 and v.rotation == 0 and v.pix_fmt == "yuv420p"


def test_resize_bad_parameters_leave_nothing(clips, out: Path):
    src = clips()
    for kw, match in [
        ({}, "give a --width"),
        ({"scale": 0}, "scale factor"),
        ({"scale": 2, "width": 10}, "not both"),
        ({"width": 99999}, "between 2"),
        ({"width": 100, "algorithm": "magic"}, "unknown scaler"),
    ]:
        with pytest.raises(UsageError, match=match):
            resize(src, out / "x.mp4", **kw)
    empty = out / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        resize(empty, out / "x.mp4", width=100)
    assert sorted(p.name for p in out.iterdir()) == ["empty.mp4"]


def test_plan_is_one_command_with_lanczos(clips):
    plan = plan_resize(clips(), "o.mp4", width=640)
    vf = plan.steps[0].args[plan.steps[0].args.index("-vf") + 1]
    assert vf.startswith("scale=640:360:flags=lanczos") and len(plan.steps) == 1
