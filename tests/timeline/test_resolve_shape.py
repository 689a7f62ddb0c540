"""The OTIO shape Resolve imports, checked against the rules Resolve's own exports follow."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest

from shotline.otio_adapters.build import build_from_files, parse_transition
from shotline.otio_adapters.export import export_timeline
from shotline.otio_adapters.resolve_shape import (
    media_start_frames,
    resolve_problems,
    to_resolve_shape,
    write_resolve_otio,
)
from tests.mediakit import ffmpeg


@pytest.fixture
def edit(clips):
    a = clips(duration=2, rate="24", tone=440)
    b = clips(duration=2, rate="24", tone=550, audio="mono")
    return build_from_files([a, b], transition=parse_transition("wipeleft:0.5"), fade_in=0.25).timeline


def _doc(tl):
    return json.loads(otio.adapters.write_to_string(tl, adapter_name="otio_json"))


def test_plain_build_breaks_the_resolve_rules_that_the_shape_fixes(edit):
    problems = resolve_problems(_doc(edit))
    assert any("file:// URL" in p for p in problems)
    assert any("global_start_time" in p for p in problems)
    assert any("Resolve OTIO Meta Version" in p for p in problems)
    assert any("lacks Resolve_OTIO track metadata" in p for p in problems)
    assert any("not SMPTE_Dissolve" in p for p in problems)
    assert resolve_problems(_doc(to_resolve_shape(edit))) == []


def test_shape_details(edit):
    doc = _doc(to_resolve_shape(edit))
    assert doc["global_start_time"] == {"OTIO_SCHEMA": "RationalTime.1", "rate": 24.0, "value": 86400.0}
    assert doc["metadata"]["Resolve_OTIO"] == {"Resolve OTIO Meta Version": "1.0"}
    video, audio = doc["tracks"]["children"]
    assert (video["name"], audio["name"]) == ("Video 1", "Audio 1")
    assert audio["metadata"]["Resolve_OTIO"] == {"Locked": False, "Audio Type": "Stereo"}
    clip = next(c for c in video["children"] if c["OTIO_SCHEMA"].startswith("Clip"))
    assert clip["OTIO_SCHEMA"] == "Clip.2" and clip["active_media_reference_key"] == "DEFAULT_MEDIA"
    ref = clip["media_references"]["DEFAULT_MEDIA"]
    assert ref["target_url"].startswith("/") and ref["available_range"]
    assert clip["enabled"] is True and "shotline" in clip["metadata"]


def test_media_with_start_timecode_gets_timecode_absolute_ranges(clips, out):
    src = clips(duration=2, rate="24")
    tc = out / "tc source.mov"
    ffmpeg("-i", str(src), "-c", "copy", "-timecode", "01:00:00:00", str(tc))
    assert media_start_frames(tc, 24) == 86400
    tl = build_from_files([tc, src], transition=parse_transition("dissolve:0.5")).timeline
    # 0-based source ranges on timecoded media: what Resolve refuses silently
    shaped = to_resolve_shape(tl)
    first = shaped.video_tracks()[0].find_clips()[0]
    assert first.media_reference.available_range.start_time.value == 86400
    assert first.source_range.start_time.value == 86400
    assert first.markers[0].marked_range.start_time.value == 86400
    assert resolve_problems(_doc(shaped)) == []
    broken = _doc(shaped)
    clip = broken["tracks"]["children"][0]["children"][0]
    clip["source_range"]["start_time"]["value"] = 0.0
    assert any("media's own timecode" in p for p in resolve_problems(broken))


def test_transitions_without_handles_are_flagged(edit):
    doc = _doc(to_resolve_shape(edit))
    clip_doc = [c for c in doc["tracks"]["children"][0]["children"] if c["OTIO_SCHEMA"].startswith("Clip")][1]
    clip_doc["source_range"]["start_time"]["value"] = 0.0  # no media before the cut any more
    assert any("no media handle before the cut" in p for p in resolve_problems(doc))


def test_missing_available_range_is_flagged(edit):
    doc = _doc(to_resolve_shape(edit))
    clip = [c for c in doc["tracks"]["children"][0]["children"] if c["OTIO_SCHEMA"].startswith("Clip")][0]
    clip["media_references"]["DEFAULT_MEDIA"]["available_range"] = None
    assert any("no available_range" in p for p in resolve_problems(doc))


def test_export_for_resolve_writes_a_file_that_follows_every_rule(edit, out):
    report = export_timeline(edit, out / "film.otio", for_resolve=True)
    assert resolve_problems((out / "film.otio").read_text()) == []
    assert any("wipeleft written as SMPTE_Dissolve" in c for c in report.changed)
    assert write_resolve_otio(edit)


def test_fcp7_for_resolve_has_sequence_timecode_and_rates(edit, out):
    import xml.etree.ElementTree as ET

    export_timeline(edit, out / "film.xml", "fcp7", for_resolve=True)
    root = ET.parse(out / "film.xml").getroot()
    seq = root.find(".//sequence")
    assert seq is not None
    assert seq.findtext("timecode/string") == "01:00:00:00"
    assert seq.findtext("timecode/rate/timebase") == "24" and seq.findtext("rate/timebase") == "24"
    files = [f for f in root.iter("file") if f.find("pathurl") is not None]
    assert files and all(f.findtext("timecode/string") == "00:00:00:00" for f in files)
    assert all(f.findtext("pathurl").startswith("file://") for f in files)  # FCP7 XML's own convention


def test_missing_available_range_is_filled_from_the_media(edit, out):
    # a timeline from an EDL or another tool: media references without available_range
    tl = edit.deepcopy()
    for clip in tl.find_clips():
        clip.media_reference.available_range = None
    report = export_timeline(tl, out / "film.otio", for_resolve=True)
    assert sum("available_range filled in" in c for c in report.changed) == len(tl.find_clips())
    doc = json.loads((out / "film.otio").read_text())
    assert resolve_problems(doc) == []
    clip = next(c for c in doc["tracks"]["children"][0]["children"] if c["OTIO_SCHEMA"] == "Clip.2")
    assert clip["media_references"]["DEFAULT_MEDIA"]["available_range"]["duration"]["value"] == 48
