"""build -> export -> read back with OTIO: same clips, same cut points, same transitions."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from shotline.core.errors import TimelineError
from shotline.otio_adapters.build import build_from_files, parse_transition
from shotline.otio_adapters.export import FORMATS, export_timeline
from shotline.otio_adapters.timeline import read_timeline
from tests.timeline import media_name, transition_spans, video_track, visible

RATES = {"24": 24.0, "25": 25.0, "30000/1001": 30000 / 1001}


@pytest.fixture(scope="module", params=list(RATES))
def edit(request, tmp_path_factory):
    from tests.mediakit import ClipFactory

    clips = ClipFactory(tmp_path_factory.mktemp("rt-clips"))
    rate = request.param
    paths = [
        clips(duration=2, rate=rate, tone=440),
        clips(duration=1.5, rate=rate, tone=550, name="second shot.mp4"),
        clips(duration=2, rate=rate, tone=660),
    ]
    return build_from_files(paths, transition=parse_transition("dissolve:0.5")).timeline, RATES[rate]


@pytest.mark.parametrize("fmt", ["otio", "otioz", "edl", "fcp7", "fcpxml", "aaf"])
def test_round_trip_keeps_clips_cuts_and_transitions(edit, fmt, out):
    edit, rate = edit
    target = out / f"film{FORMATS[fmt].suffix}"
    if fmt == "fcpxml" and rate != round(rate):
        with pytest.raises(TimelineError, match="would misplace every cut"):
            export_timeline(edit, target, fmt)
        assert not target.exists()
        return
    report = export_timeline(edit, target, fmt)
    back = read_timeline(target, extract_to=out / "extracted" if fmt == "otioz" else None, rate=rate)
    a, b = video_track(edit), video_track(back)
    # OTIO's EDL reader takes a dissolve's incoming media from the outgoing clip's
    # "FROM CLIP" comment; the EDL names its clips right, so compare those there
    by = "name" if fmt == "edl" else "media"
    key = media_name if by == "media" else (lambda c: c.name)
    assert [key(c) for c in b.find_clips()] == [key(c) for c in a.find_clips()]
    assert back.duration().rescaled_to(rate).value == pytest.approx(edit.duration().value)
    # every frame outside a transition shows the same source frame of the same clip
    seen_a, seen_b = visible(a, rate, by), visible(b, rate, by)
    common = set(seen_a) & set(seen_b)
    assert len(common) >= edit.duration().value - 2 * round(rate / 2)
    assert {t: seen_b[t] for t in common} == {t: seen_a[t] for t in common}
    spans = transition_spans(a, rate)
    if rate == 24:
        assert spans == [(36, 48), (60, 72)]  # 48 + 36 + 48 frames, two 12-frame dissolves
    if fmt == "fcpxml":
        # this writer drops transitions; the export says so, one line each, and keeps the cut centred
        assert transition_spans(b, rate) == []
        assert sum("drops transitions" in d for d in report.dropped) == 4  # 2 picture + 2 sound
    else:
        assert transition_spans(b, rate) == spans and len(spans) == 2
        kinds = {t.transition_type for t in b if isinstance(t, otio.schema.Transition)}
        assert kinds == {otio.schema.TransitionTypes.SMPTE_Dissolve}
    if fmt in ("otio", "otioz"):
        assert report.dropped == [] and report.changed == []
        assert back.tracks[1].kind == otio.schema.TrackKind.Audio
        assert [c.metadata["shotline"]["shot"] for c in b.find_clips()] == [1, 2, 3]
    if fmt in ("fcp7", "aaf"):
        audio = back.audio_tracks()
        assert audio and audio[0].duration().rescaled_to(rate).value == pytest.approx(edit.duration().value)
    if fmt == "edl":
        assert any(f"read it at {rate:g} fps" in c for c in report.changed)
        fcm = "FCM: DROP FRAME" if rate != round(rate) else "FCM: NON-DROP FRAME"
        assert fcm in target.read_text()


def test_what_is_built_is_what_the_conform_renderer_shows(clips, out):
    """The build is the renderer's input: every frame outside a transition shows the frame OTIO says."""
    from click.testing import CliRunner

    from shotline.cli.timeline import timeline_group
    from tests.mediakit import read_barcodes

    if "render" not in timeline_group.commands:
        pytest.skip("the conform renderer (shotline timeline render) is not part of this build")
    paths = [clips(duration=2, rate="24", barcode=True, tone=t) for t in (300, 500, 700)]
    built = build_from_files(paths, transition=parse_transition("dissolve:0.5"), fade_in=0.25, fade_out=0.5)
    film = out / "film.otio"
    export_timeline(built.timeline, film)
    res = CliRunner().invoke(timeline_group, ["render", str(film), "-o", str(out / "film.mp4")])
    assert res.exit_code == 0, res.output
    codes = read_barcodes(out / "film.mp4")
    assert len(codes) == 120  # 3 x 48 - 2 x 12
    shown = visible(video_track(built.timeline), 24)
    assert len(shown) == 120 - 6 - 12 - 2 * 12
    assert {t: codes[t] for t in shown} == {t: src for t, (_, src) in shown.items()}


@pytest.mark.parametrize(
    "speeds",
    [(1.0, 2.0, 0.5), (1.0, -1.0, 1.0), (1.0, -2.0, -0.5)],
    ids=["fast-slow", "reverse", "reverse-fast-slow"],
)
def test_time_effects_render_as_built(clips, out, speeds):
    """Speed, reverse and holds next to dissolves: the renderer shows the frames OTIO says."""
    from click.testing import CliRunner

    from shotline.cli.timeline import timeline_group
    from shotline.otio_adapters.build import EditClip, build_timeline
    from tests.mediakit import read_barcodes

    if "render" not in timeline_group.commands:
        pytest.skip("the conform renderer (shotline timeline render) is not part of this build")
    src = clips(duration=2, rate="24", barcode=True, audio=None)
    shots = [EditClip(src, speed=s, duration=1.0 if abs(s) < 1 else None) for s in speeds]
    shots.append(EditClip(src, freeze=0.5, trim_in=1.0))
    built = build_timeline(shots, transitions=parse_transition("dissolve:0.25"))
    film = out / "fx.otio"
    export_timeline(built.timeline, film)
    res = CliRunner().invoke(timeline_group, ["render", str(film), "-o", str(out / "fx.mp4")])
    assert res.exit_code == 0, res.output
    codes = read_barcodes(out / "fx.mp4")
    assert len(codes) == round(built.timeline.duration().value)
    shown = visible(video_track(built.timeline), 24)
    assert {t: codes[t] for t in shown} == {t: src_frame for t, (_, src_frame) in shown.items()}
