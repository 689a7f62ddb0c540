from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest

from shotline.core.errors import Interrupted, MediaError, OutputExistsError, UsageError
from shotline.core.media.probe import probe
from shotline.core.ops.frames import extract_frames, find_sequence, from_images, image_size
from tests.mediakit import read_barcode, read_barcodes


def image_barcode(path: Path) -> int | None:
    with av.open(str(path)) as c:
        return read_barcode(next(c.decode(video=0)).to_ndarray(format="gray"))


def test_extract_at_fps_picks_the_right_frames(clips, out: Path):
    src = clips(duration=2.0, barcode=True, audio=None)
    res = extract_frames(src, out / "stills", fps=5)
    assert [p.name for p in res.files][:2] == ["frame_000001.png", "frame_000002.png"]
    assert [image_barcode(p) for p in res.files] == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert res.times[:3] == (0.0, 0.2, 0.4)
    assert sorted(p.name for p in out.iterdir()) == ["stills"]  # no temp folder left


def test_extract_range_every_frame_anamorphic(clips, out: Path):
    src = clips(duration=2.0, barcode=True, sar="4:3", rate="24")
    res = extract_frames(src, out / "all", fps=None, start=0.5, duration=0.25, format="jpg")
    assert [image_barcode(p) for p in res.files] == [12, 13, 14, 15, 16, 17]
    assert image_size(res.files[0]) == (427, 180) and (res.width, res.height) == (427, 180)


def test_round_trip_images_to_video_with_awkward_names(clips, out: Path):
    src = clips(duration=1.0, barcode=True, audio=None)
    folder = out / "shots 'ü' 100%"
    folder.mkdir()
    stills = extract_frames(src, folder / "seq", fps=10, prefix="shot ")
    res = from_images(stills.output, out / "from images.mp4", fps="30000/1001")
    info = probe(res.output)
    assert res.frames == 10 and info.video.frame_count == 10
    assert info.video.rate == Fraction(30000, 1001)
    assert info.duration == pytest.approx(10 * 1001 / 30000, abs=0.01)
    # 25 fps source sampled at 10 fps: the frame on screen at k/10 s, then one image per output frame
    assert read_barcodes(res.output) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]
    again = from_images(stills.files[3], out / "b.mp4", fps=10)  # any file of the sequence
    assert again.frames == 10
    pattern = from_images(str(stills.output / "shot %06d.png"), out / "c.mp4", fps=10)
    assert pattern.frames == 10


def test_odd_sized_images_are_padded_even(clips, out: Path):
    src = clips(width=161, height=91, audio=None, pix_fmt="yuv444p", source="testsrc")  # 4:4:4: odd sizes
    stills = extract_frames(src, out / "odd", fps=5)
    assert (stills.width, stills.height) == (161, 91)
    res = from_images(stills.output, out / "odd.mp4", fps=5)
    assert (res.width, res.height) == (162, 92)


def test_sequence_errors(clips, out: Path):
    src = clips(audio=None)
    stills = extract_frames(src, out / "s", fps=5)
    with pytest.raises(UsageError, match="fps"):
        from_images(stills.files[0], out / "x.mp4", fps=0)
    shutil.move(stills.files[2], out / "moved.png")
    with pytest.raises(MediaError, match="gap before number 4"):
        find_sequence(stills.output)
    empty = out / "empty"
    empty.mkdir()
    with pytest.raises(MediaError, match="no images"):
        from_images(empty, out / "x.mp4")
    with pytest.raises(UsageError, match="numbered sequence"):
        from_images(out / "moved.png", out / "x.mp4")
    assert not (out / "x.mp4").exists()


def test_extract_refuses_non_empty_folder_and_bad_ranges(clips, out: Path):
    src = clips(audio=None)
    target = out / "t"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        extract_frames(src, target, fps=1)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    with pytest.raises(UsageError, match="outside the clip"):
        extract_frames(src, out / "u", start=9)
    with pytest.raises(UsageError, match="fps"):
        extract_frames(src, out / "u", fps=-1)
    assert sorted(p.name for p in out.iterdir()) == ["t"]


def test_interrupted_extraction_leaves_no_folder(clips, out: Path):
    src = clips(duration=1.0, audio=None)

    def stop(progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        extract_frames(src, out / "stills", fps=10, progress=stop)
    assert list(out.iterdir()) == []
