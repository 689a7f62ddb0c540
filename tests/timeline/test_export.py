"""Per-format limits, reported rather than dropped silently; bundles; bad input."""

from __future__ import annotations

import shutil
import zipfile

import opentimelineio as otio
import pytest

from shotline.core.errors import OutputExistsError, TimelineError, UsageError
from shotline.otio_adapters.build import EditClip, build_from_files, build_timeline, parse_transition
from shotline.otio_adapters.export import export_timeline, format_for
from shotline.otio_adapters.timeline import read_timeline
from tests.timeline import transition_spans, video_track, visible


@pytest.fixture
def edit(clips):
    a = clips(duration=2, rate="24", tone=440)
    b = clips(duration=2, rate="24", tone=550)
    shots = [EditClip(a, metadata={"prompt": "a harbour", "seed": 3}), EditClip(b, speed=2.0), EditClip(a)]
    wipe = parse_transition("wipeleft:0.5")
    return build_timeline(
        shots, transitions=[parse_transition("dissolve:0.5"), wipe], fade_in=0.5, fade_out=0.5
    )


def test_edl_keeps_one_video_track_and_lists_every_loss(edit, out):
    report = export_timeline(edit.timeline, out / "film.edl")
    text = (out / "film.edl").read_text()
    assert any(d.startswith("audio track Audio 1") for d in report.dropped)
    assert any("shot metadata" in d for d in report.dropped)
    assert any("wipeleft" in c and "dissolve" in c for c in report.changed)
    assert sum("BL event" in c for c in report.changed) == 2  # fade in and fade out
    assert " BL " in text and "D 012" in text and "M2 " in text
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    reels = {e[1] for e in events}
    m2 = [line.split() for line in text.splitlines() if line.startswith("M2")]
    assert m2 and all(m[1] in reels and m[2] == "48.0" for m in m2)  # speed x2, named by reel
    assert all(len(r) <= 8 for r in reels)
    assert "a harbour" not in text


def test_edl_reels_stay_unique_when_names_share_eight_characters(clips, out):
    a = clips(name="harbour_wide_01.mp4", duration=1, rate="24", tone=300)
    b = clips(name="harbour_wide_02.mp4", duration=1, rate="24", tone=400)
    report = export_timeline(build_from_files([a, b]).timeline, out / "film.edl")
    reels = [line.split()[1] for line in (out / "film.edl").read_text().splitlines() if line[:3].isdigit()]
    assert len(set(reels)) == 2 and all(len(r) <= 8 for r in reels)
    assert sum("reel name" in c for c in report.changed) == 2


def test_edl_drops_extra_video_tracks_by_name(edit, out):
    tl = edit.timeline.deepcopy()
    overlay = otio.schema.Track(name="Titles", kind=otio.schema.TrackKind.Video)
    overlay.append(video_track(tl).find_clips()[0].deepcopy())
    tl.tracks.append(overlay)
    report = export_timeline(tl, out / "film.edl")
    assert any(d.startswith("video track Titles (1 clips)") for d in report.dropped)


def test_fcp7_reports_speed_it_cannot_carry(edit, out):
    report = export_timeline(edit.timeline, out / "film.xml", "fcp7")
    assert sum("speed x2.0" in d for d in report.dropped) == 2  # picture and sound of shot 2
    back = read_timeline(out / "film.xml")
    assert len([t for t in video_track(back) if isinstance(t, otio.schema.Transition)]) == 4


def test_aaf_fills_transition_metadata_and_keeps_fades_over_filler(edit, out):
    report = export_timeline(edit.timeline, out / "film.aaf")
    assert not any("transition" in d for d in report.dropped)
    back = read_timeline(out / "film.aaf")
    transitions = [t for t in video_track(back) if isinstance(t, otio.schema.Transition)]
    # fade in, dissolve, wipe (as a dissolve), fade out
    assert [(t.in_offset.value, t.out_offset.value) for t in transitions] == [
        (0, 12),
        (6, 6),
        (6, 6),
        (12, 0),
    ]
    for track in back.tracks:
        assert track.duration().rescaled_to(24) == edit.timeline.duration()
    assert transition_spans(video_track(back), 24) == transition_spans(video_track(edit.timeline), 24)


def test_otioz_bundle_carries_the_media(edit, out):
    export_timeline(edit.timeline, out / "film.otioz")
    with zipfile.ZipFile(out / "film.otioz") as z:
        names = z.namelist()
    assert "content.otio" in names and sum(n.startswith("media/") for n in names) == 2
    back = read_timeline(out / "film.otioz", extract_to=out / "x")
    for clip in back.find_clips():
        assert (out / "x" / clip.media_reference.target_url).is_file()


def test_otioz_refuses_missing_media_and_leaves_nothing(clips, out, tmp_path):
    src = tmp_path / "gone.mp4"
    shutil.copy(clips(duration=1, rate="24"), src)
    tl = build_from_files([src]).timeline
    src.unlink()
    with pytest.raises(TimelineError, match="media missing"):
        export_timeline(tl, out / "film.otioz")
    assert list(out.iterdir()) == []


def test_otioz_refuses_two_files_with_one_name(clips, out, tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    shutil.copy(clips(duration=1, rate="24", tone=300), tmp_path / "a" / "shot.mp4")
    shutil.copy(clips(duration=1, rate="24", tone=900), tmp_path / "b" / "shot.mp4")
    tl = build_from_files([tmp_path / "a" / "shot.mp4", tmp_path / "b" / "shot.mp4"]).timeline
    with pytest.raises(TimelineError, match="share the name"):
        export_timeline(tl, out / "film.otioz")
    assert not (out / "film.otioz").exists()


def test_unreadable_and_empty_timelines_are_clear_errors(edit, out, tmp_path):
    garbage = tmp_path / "broken.otio"
    garbage.write_text("{ this is not json")
    with pytest.raises(TimelineError, match="broken.otio: OTIO cannot read"):
        read_timeline(garbage)
    doc = tmp_path / "film.docx"
    doc.write_text("x")
    with pytest.raises(TimelineError, match="no OTIO adapter"):
        read_timeline(doc)
    with pytest.raises(TimelineError, match="no such file"):
        read_timeline(tmp_path / "nope.otio")
    with pytest.raises(TimelineError, match="no tracks"):
        export_timeline(otio.schema.Timeline(name="empty"), out / "e.edl")
    empty_track = otio.schema.Timeline(name="empty")
    empty_track.tracks.append(otio.schema.Track())
    with pytest.raises(TimelineError, match="no clips"):
        export_timeline(empty_track, out / "e.xml")
    assert list(out.iterdir()) == []


def test_outputs_are_never_overwritten_silently(edit, out):
    target = out / "film.otio"
    export_timeline(edit.timeline, target)
    before = target.read_bytes()
    with pytest.raises(OutputExistsError):
        export_timeline(edit.timeline, target)
    assert target.read_bytes() == before
    with pytest.raises(UsageError, match="overwrite an input"):
        export_timeline(edit.timeline, target, inputs=[target], overwrite=True)
    assert target.read_bytes() == before


def test_format_names_and_suffixes(tmp_path):
    assert format_for("xml").name == "fcp7" and format_for("EDL").name == "edl"
    assert format_for(None, tmp_path / "a.fcpxml").name == "fcpxml"
    with pytest.raises(UsageError, match="choose one of"):
        format_for("mov")
    with pytest.raises(UsageError, match="cannot tell the format"):
        format_for(None, tmp_path / "a.txt")


@pytest.mark.parametrize("fmt", ["edl", "fcp7", "otio"])
def test_offline_clips_are_exported_and_named_in_the_report(clips, out, fmt):
    a = clips(duration=1, rate="24")
    tl = build_timeline([EditClip(a), EditClip(None, name="not generated yet", duration=1.0)]).timeline
    report = export_timeline(tl, out / f"film.{fmt if fmt != 'fcp7' else 'xml'}", fmt)
    assert any("without media" in c and "not generated yet" in c for c in report.changed)
    back = read_timeline(report.output)
    assert [c.name for c in video_track(back).find_clips()][-1].replace(" ", "").upper().startswith("NOTGEN")
    assert back.duration().rescaled_to(24).value == 48


@pytest.mark.parametrize("dissolve", [None, "dissolve:0.5"], ids=["cuts", "dissolves"])
def test_edl_speed_events_play_the_media_they_should(clips, out, dissolve):
    a = clips(duration=2, rate="24", tone=440)
    b = clips(duration=2, rate="24", tone=550)
    shots = [EditClip(a), EditClip(b, speed=2.0), EditClip(a, speed=0.5, duration=1.0)]
    built = build_timeline(shots, transitions=parse_transition(dissolve) if dissolve else None).timeline
    export_timeline(built, out / "speed.edl")
    text = (out / "speed.edl").read_text()
    m2 = {tuple(line.split()[1:3]) for line in text.splitlines() if line.startswith("M2")}
    reels = {line.split()[1] for line in text.splitlines() if line[:3].isdigit()}
    assert {speed for _, speed in m2} == {"48.0", "12.0"}
    assert {reel for reel, _ in m2} <= reels  # M2 lines name reels, as NLEs match them
    back = read_timeline(out / "speed.edl", rate=24)
    scalars = [[fx.time_scalar for fx in c.effects] for c in video_track(back).find_clips()]
    assert scalars == [[], [2.0], [0.5]]
    want, got = visible(video_track(built), 24, "name"), visible(video_track(back), 24, "name")
    common = set(want) & set(got)
    assert len(common) >= 60 and {t: got[t] for t in common} == {t: want[t] for t in common}


def test_a_transition_longer_than_its_neighbours_is_refused(edit, out):
    tl = edit.timeline.deepcopy()
    track = video_track(tl)
    dissolve = next(t for t in track if isinstance(t, otio.schema.Transition) and t.in_offset.value)
    dissolve.in_offset = otio.opentime.RationalTime(200, 24)  # longer than the clip before the cut
    for fmt in ("edl", "fcp7", "otio"):
        with pytest.raises(TimelineError, match="reaches 8.333 s before the cut"):
            export_timeline(tl, out / f"long.{fmt}", fmt)
    assert list(out.iterdir()) == []
