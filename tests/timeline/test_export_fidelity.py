"""Exports read back with the same adapter: the same edit, or exactly what changed, or (strict)
nothing written; adapter failures name what the format cannot hold; .otioz relinks media."""

from __future__ import annotations

import zipfile
from pathlib import Path

import opentimelineio as otio
import pytest

from shotline.core.errors import TimelineError
from shotline.otio_adapters.export import FORMATS, export_timeline
from tests.timeline.conform_util import DATA, RT, TR, clip, gap, timeline, track

PUBLIC = DATA / "public"
NLE = ("edl", "fcp7", "fcpxml", "aaf")


def target(out: Path, fmt: str) -> Path:
    return out / f"film{FORMATS[fmt].suffix}"


@pytest.fixture
def gaps(clips):
    """A leading gap, a 53-frame filler and a trailing gap: the EDL reader drops gaps at either
    end, the FCP7 and FCPXML readers a trailing one."""
    a = clips(duration=4, rate="24", audio=None)
    tl = timeline(24)
    track(tl).extend(
        [
            gap(10, 24),
            clip(a, 0, 20, rate=24, media_frames=96),
            gap(53, 24),
            clip(a, 5, 20, rate=24, media_frames=96),
            gap(7, 24),
        ]
    )
    return tl


@pytest.mark.parametrize(
    ("fmt", "lost"),
    [
        ("edl", None),  # its leading and trailing gaps are written as black (BL) events
        ("fcp7", None),  # its trailing gap is written as a "Black Video" slug
        ("fcpxml", "110 frames long, reads back as 103"),
        ("aaf", None),
    ],
)
def test_exports_say_exactly_what_reads_back_changed(gaps, out, fmt, lost):
    report = export_timeline(gaps, target(out, fmt), fmt)
    if lost is None:
        assert report.read_back == []
        if fmt == "edl":  # OTIO's reader would drop both end gaps: they are black events instead
            assert sum("gap" in c and "written as black" in c for c in report.changed) == 2
            assert " BL " in target(out, fmt).read_text()
        if fmt == "fcp7":
            assert sum("trailing gap" in c for c in report.changed) == 1
            assert "<mediaSource>Slug</mediaSource>" in target(out, fmt).read_text()
    else:
        assert any(lost in line for line in report.read_back), report.read_back
        assert "the timeline is 110 frames long" in " ".join(report.read_back)


@pytest.mark.parametrize("fmt", ["fcpxml"])
def test_strict_refuses_an_export_that_reads_back_changed_and_writes_nothing(gaps, out, fmt):
    with pytest.raises(TimelineError, match="would change the edit: .*110 frames"):
        export_timeline(gaps, target(out, fmt), fmt, strict=True)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fmt", NLE)
def test_otio_transition_sample_exports_and_reads_back_the_same(out, fmt):
    """OTIO's transition.otio ends with a clip that has no source range: the EDL, FCP7 and
    FCPXML writers failed with "'NoneType' object has no attribute 'start_time'"."""
    tl = otio.adapters.read_from_file(str(PUBLIC / "transition.otio"))
    report = export_timeline(tl, target(out, fmt), fmt, strict=fmt != "fcpxml")
    assert report.read_back == []


@pytest.mark.parametrize("fmt", NLE)
def test_nested_stacks_export_as_the_clips_they_show(out, fmt):
    """OTIO's nested_example.otio: refused by FCP7, FCPXML and AAF, and written as filler by the EDL."""
    tl = otio.adapters.read_from_file(str(PUBLIC / "nested_example.otio"))
    report = export_timeline(tl, target(out, fmt), fmt)
    assert any("nested 'Nested Stack 1'" in c for c in report.changed)
    assert report.read_back == []
    # the formats without time effects say so for the nested warp and freeze, and only that
    assert len(report.dropped) == (0 if fmt == "edl" else 2)
    assert all("speed x0.854" in d or "freeze frame" in d for d in report.dropped)
    back = otio.adapters.read_from_file(str(target(out, fmt)), **({"rate": 24} if fmt == "edl" else {}))
    assert round(back.duration().rescaled_to(24).value) == 636


@pytest.mark.parametrize(("fmt", "kind"), [("fcpxml", "GeneratorReference"), ("aaf", "GeneratorReference")])
def test_a_writer_failure_names_the_clip_the_format_cannot_hold(clips, out, fmt, kind):
    a = clips(duration=2, rate="24", audio=None)
    tl = timeline(24)
    bars = otio.schema.Clip(
        name="bars",
        media_reference=otio.schema.GeneratorReference(generator_kind="SMPTEBars"),
        source_range=TR(RT(0, 24), RT(10, 24)),
    )
    track(tl).extend([clip(a, 0, 20, rate=24, media_frames=48), bars])
    with pytest.raises(TimelineError, match=f"cannot hold clip 'bars' on video track .*{kind} 'SMPTEBars'"):
        export_timeline(tl, target(out, fmt), fmt)
    assert not target(out, fmt).exists()


def test_fcp7_writes_generators_and_reads_them_back(clips, out):
    """The FCP7 writer failed on a GeneratorReference ('NoneType' has no 'start_time', then an
    unbound local); written as Premiere does (a clip whose file names a mediaSource)."""
    tl = otio.adapters.read_from_file(str(PUBLIC / "generator_reference_test.otio"))
    report = export_timeline(tl, target(out, "fcp7"), "fcp7", strict=True)
    assert report.read_back == []
    back = otio.adapters.read_from_file(str(target(out, "fcp7")))
    (bars,) = back.find_clips()
    assert bars.media_reference.generator_kind == "SMPTEBars" and bars.duration().value == 50


# --------------------------------------------------------------------------- otioz


def test_otioz_relinks_missing_media_from_a_media_dir(clips, out, tmp_path):
    a = clips(duration=1, rate="24", audio=None, name="shot_a.mp4")
    tl = timeline(24)
    track(tl).append(clip(tmp_path / "moved" / "shot_a.mp4", 0, 10, rate=24, media_frames=24))
    with pytest.raises(TimelineError, match="--media-dir"):
        export_timeline(tl, out / "b.otioz", "otioz")
    report = export_timeline(tl, out / "b.otioz", "otioz", media_dir=a.parent)
    assert any("relinked" in c for c in report.changed)
    assert "media/shot_a.mp4" in zipfile.ZipFile(out / "b.otioz").namelist()


def test_otioz_resolves_relative_paths_from_the_timeline_folder(clips, out, tmp_path):
    a = clips(duration=1, rate="24", audio=None, name="rel.mp4")
    tl = timeline(24)
    track(tl).append(clip(a, 0, 10, rate=24, media_frames=24, url="rel.mp4"))
    export_timeline(tl, out / "r.otioz", "otioz", base=a.parent)
    assert "media/rel.mp4" in zipfile.ZipFile(out / "r.otioz").namelist()


def test_otioz_bundles_references_only_when_asked(out, tmp_path):
    tl = timeline(24)
    track(tl).append(clip(tmp_path / "gone.mp4", 0, 10, rate=24, media_frames=24))
    report = export_timeline(tl, out / "m.otioz", "otioz", allow_missing=True)
    assert any("without media" in c and "gone.mp4" in c for c in report.changed)
    names = zipfile.ZipFile(out / "m.otioz").namelist()
    assert "content.otio" in names and not any(n.startswith("media/") and n != "media/" for n in names)


@pytest.mark.parametrize("fmt", NLE)
@pytest.mark.parametrize("name", ["dissolve_test_4.edl", "gap_test.edl"])
def test_otio_edl_samples_export_to_every_format_and_read_back_the_same(out, fmt, name):
    """The EDL reader gives the track a source range of its own (start -92441 frames): the
    FCPXML writer failed on it ("computed time range would be invalid")."""
    tl = otio.adapters.read_from_file(str(PUBLIC / name), rate=24)
    report = export_timeline(tl, target(out, fmt), fmt)
    assert report.read_back == []
