from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.text import font_available
from shotline.core.ops.thumbs import contact_sheet, pick_times, plan_contact_sheet, thumbnails, timestamp
from tests.mediakit import read_barcode

NEEDS_FONT = pytest.mark.skipif(
    not font_available(), reason="no TrueType font here: install fonts-dejavu (or any font fontconfig finds)"
)


def gray(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="gray")


def test_thumbnails_at_evenly_spread_moments(clips, out: Path):
    src = clips(duration=2.0, barcode=True, audio=None)  # 25 fps
    res = thumbnails(src, out / "thumbs", count=4, width=None)
    assert res.times == (0.25, 0.75, 1.25, 1.75)
    assert [read_barcode(gray(p)) for p in res.files] == [7, 19, 32, 44]  # first frame at or after t
    assert [p.name for p in sorted((out / "thumbs").iterdir())] == [f"thumb_00{i}.png" for i in range(1, 5)]


def test_thumbnails_explicit_times_small_and_rotated(clips, out: Path):
    src = clips(rotation=90, audio=None)
    res = thumbnails(src, out / "t", times=[0.0, 0.5], width=90, format="jpg")
    assert (res.width, res.height) == (90, 160)
    assert gray(res.files[1]).shape == (160, 90)
    with pytest.raises(UsageError, match="outside the clip"):
        thumbnails(src, out / "u", times=[3.0])
    assert not (out / "u").exists()


@NEEDS_FONT
def test_contact_sheet_grid_frames_and_labels(clips, out: Path):
    src = clips(duration=2.0, barcode=True, audio=None, name="my 'shot' 100%: ü.mp4")
    res = contact_sheet(src, out / "sheet.png", count=6, columns=3, width=320)
    lay = res.layout
    img = gray(res.output)
    assert (lay.columns, lay.rows) == (3, 2)
    assert img.shape == (lay.size[1], lay.size[0])
    plain = thumbnails(src, out / "plain", times=list(res.times), width=None)
    for i, t in enumerate(res.times):
        x, y = lay.cell_origin(i)
        cell = img[y : y + 180, x : x + 320].astype(int)
        assert read_barcode(cell) == math.ceil(t * 25 - 1e-6)  # the right frame in the right cell
        same = gray(plain.files[i]).astype(int)
        assert np.abs(cell[30:140, 20:200] - same[30:140, 20:200]).mean() < 3  # the picture itself
        assert np.abs(cell[155:175, 240:315] - same[155:175, 240:315]).mean() > 20  # timestamp label
    head = img[lay.margin : lay.margin + lay.header, lay.margin : lay.margin + 300]
    assert (head > 200).mean() > 0.02  # a header line was drawn
    gap = img[lay.margin + lay.header + 180 + 2, lay.margin : lay.margin + 300]
    assert np.abs(gap.astype(int) - 32).max() <= 3  # background colour between rows


def test_contact_sheet_bad_input(clips, out: Path):
    with pytest.raises(UsageError, match="image"):
        contact_sheet(clips(), out / "sheet.mp4")
    with pytest.raises(UsageError, match="count"):
        contact_sheet(clips(), out / "s.png", count=0)
    with pytest.raises(UsageError, match="background"):
        contact_sheet(clips(), out / "s.png", background="red;drop")
    bad = out / "bad.mp4"
    bad.write_text("not video")
    with pytest.raises(MediaError, match="bad.mp4"):
        contact_sheet(bad, out / "s.png")
    assert [p.name for p in out.iterdir()] == ["bad.mp4"]


@NEEDS_FONT
def test_pick_times_and_timestamps(clips):
    assert timestamp(61.5) == "01:01.500" and timestamp(3725.25) == "1:02:05.250"
    plan = plan_contact_sheet(clips(duration=1.0), "s.png", count=2, columns=4)
    assert plan.meta["layout"].columns == 2
    assert len(pick_times(plan_contact_sheet.__globals__["require_video"](clips()), 5)) == 5
