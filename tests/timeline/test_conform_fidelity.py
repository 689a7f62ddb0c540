"""Conform fidelity on public sample timelines and on the edits that broke it: every output frame
on its own slot (frame n at n / rate), the source frame OTIO says, the sound's exact sample count."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from shotline.core.errors import TimelineError
from shotline.otio_adapters.conform.render import RenderOptions, plan_render, render_timeline
from tests.mediakit import audio_samples, ffmpeg, read_barcodes
from tests.timeline import visible
from tests.timeline.conform_util import (
    DATA,
    RT,
    assert_constant_rate,
    clip,
    dissolve,
    gap,
    relink_folder,
    sample_count,
    timeline,
    track,
)

PUBLIC = DATA / "public"


def expected_frames(tl: otio.schema.Timeline, rate: float) -> dict[int, tuple[str, int]]:
    """OTIO's answer: timeline frame -> (clip name, frame of the clip's file) outside transitions
    (the file's frame 0 is the reference's available_range start)."""
    track = tl.video_tracks()[0]
    origin = {}
    for c in track.find_clips():
        avail = c.media_reference.available_range
        origin[c.name] = round(avail.start_time.value) if avail is not None else 0
    return {t: (name, f - origin[name]) for t, (name, f) in visible(track, rate, by="name").items()}


def shown(path: Path) -> list[int | None]:
    return read_barcodes(path)


@pytest.mark.parametrize("smart", [False, True])
def test_otio_transition_sample_renders_every_frame_on_its_slot(clips, out, smart):
    """OTIO's tests/sample_data/transition.otio: a dissolve next to a 4-frame clip put frame 13
    at 12.002 frames (two frames in one slot, 25.33 fps reported)."""
    media = relink_folder(
        out / "media",
        {
            f"{n}.mp4": clips(duration=1, barcode=True, rate="24", tone=300 + 100 * i)
            for i, n in enumerate(("titles", "wind-up", "punchline", "credits"))
        },
    )
    src = PUBLIC / "transition.otio"
    target = out / "t.mp4"
    r = render_timeline(src, target, media_dir=media, smart=smart)
    tl = otio.adapters.read_from_file(str(src))
    assert r.frames == 19 == round(tl.duration().value)
    assert_constant_rate(target, Fraction(24), 19)
    codes = shown(target)
    for t, (_, frame) in expected_frames(tl, 24).items():
        assert codes[t] == frame, f"timeline frame {t}"
    assert sample_count(target) == 19 * 2000  # 48000 / 24 per frame


@pytest.mark.parametrize("smart", [False, True])
def test_dissolves_one_frame_clips_and_speed_changes_keep_the_clock(clips, out, smart):
    a = clips(duration=3, barcode=True, gop=25)
    b = clips(duration=3, barcode=True, tone=880, gop=25)
    tl = timeline()
    v = track(tl)
    fast = clip(b, 3, 7, name="fast")
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=1.5))
    slow = clip(a, 10, 9, name="slow")
    slow.effects.append(otio.schema.LinearTimeWarp(time_scalar=0.375))
    v.extend(
        [
            clip(a, 0, 40, name="a"),
            dissolve(3, 3),
            clip(b, 10, 6, name="b"),
            clip(a, 50, 1, name="one"),
            fast,
            clip(b, 20, 1, name="two"),
            dissolve(1, 0),
            slow,
            clip(a, 0, 30, name="tail"),
        ]
    )
    target = out / "x.mp4"
    r = render_timeline(tl, target, smart=smart)
    assert r.frames == 94
    assert_constant_rate(target, Fraction(25), 94)
    assert sample_count(target) == 94 * 1920
    codes = shown(target)
    for t, (name, frame) in expected_frames(tl, 25).items():
        assert codes[t] == frame, f"timeline frame {t} ({name})"


def test_a_600_clip_edl_renders_in_one_command(clips, out):
    """Hundreds of clips: the graph is longer than one argument may be (E2BIG before)."""
    a = clips(duration=4, barcode=True, audio=None, width=64, height=48)
    b = clips(duration=4, barcode=True, audio=None, width=64, height=48, source="smptebars")
    media = relink_folder(out / "media", {"alpha.mp4": a, "beta.mp4": b})
    lines = ["TITLE: six hundred", "FCM: NON-DROP FRAME", ""]
    rec = 0
    want = []
    for i in range(600):
        src = (i * 7) % 90
        name = ("alpha", "beta")[i % 2]
        tc = [otio.opentime.to_timecode(RT(f, 25), 25) for f in (src, src + 1, rec, rec + 1)]
        lines += [f"{i + 1:03d}  AX       V     C        {' '.join(tc)}", f"* FROM CLIP NAME: {name}.mp4", ""]
        want.append(src)
        rec += 1
    edl = out / "long.edl"
    edl.write_text("\n".join(lines))
    target = out / "long.mp4"
    r = render_timeline(edl, target, media_dir=media, rate=Fraction(25), smart=False)
    assert r.frames == 600
    assert_constant_rate(target, Fraction(25), 600)
    assert shown(target) == want


@pytest.mark.parametrize("smart", [False, True])
def test_audio_tracks_with_missing_media_render_as_exact_silence(clips, out, smart):
    """Two to eleven audio tracks whose media is gone still make a sound stream of the
    timeline's exact length (it had none at all before)."""
    a = clips(duration=2, barcode=True, audio=None, gop=25)
    tl = timeline()
    track(tl).append(clip(a, 0, 40))
    for k in range(3):
        at = track(tl, otio.schema.TrackKind.Audio)
        at.extend([clip(None, 0, 10 + k, name=f"gone{k}"), clip(out / f"nowhere{k}.wav", 0, 20)])
    target = out / "s.mp4"
    r = render_timeline(tl, target, smart=smart)
    assert r.frames == 40
    assert_constant_rate(target, Fraction(25), 40)
    assert sample_count(target) == 40 * 1920
    assert sum("missing media" in n for n in r.notes) == 6


@pytest.mark.parametrize("name", ["a.mp4", "a.wav", "a.m4a"])
def test_an_audio_only_timeline_renders_its_sound(clips, out, name):
    """Refused before ("nothing to render"): sound over black, or the sound alone."""
    tone = clips(duration=2, audio="stereo", source="color=c=white")
    tl = timeline()
    at = track(tl, otio.schema.TrackKind.Audio)
    at.extend(
        [otio.schema.Gap(source_range=otio.opentime.TimeRange(RT(0, 25), RT(5, 25))), clip(tone, 0, 20)]
    )
    target = out / name
    r = render_timeline(tl, target)
    assert r.frames == 25
    assert sample_count(target) == 25 * 1920
    samples = audio_samples(target)
    assert abs(samples[: 5 * 1920]).max() < 1e-3 < 0.1 < abs(samples[5 * 1920 :]).max()  # the gap is silent
    if name.endswith(".mp4"):
        assert_constant_rate(target, Fraction(25), 25)
        assert any("sound only" in n for n in r.notes)
    else:
        import av

        with av.open(str(target)) as c:
            assert not c.streams.video


# --------------------------------------------------------------------------- robustness


def test_an_available_range_with_rate_zero_is_ignored_not_a_traceback(clips, out):
    """Kdenlive writes ``rate: 0`` on ranges it does not know: ZeroDivisionError before."""
    media = clips(duration=1, barcode=True, audio=None)
    tl = timeline()
    c = clip(media, 3, 10)
    zero = otio.opentime.RationalTime(0, 0)
    c.media_reference.available_range = otio.opentime.TimeRange(zero, zero)
    track(tl).append(c)
    target = out / "k.mp4"
    r = render_timeline(tl, target, smart=False)
    assert read_barcodes(target) == list(range(3, 13))
    assert any("available range has no rate" in n for n in r.notes)


def test_a_clip_without_source_range_and_a_rate_zero_range_is_refused_by_name(clips, out):
    media = clips(duration=1, audio=None)
    tl = timeline()
    c = clip(media, 0, 10, name="kden")
    c.source_range = None
    zero = otio.opentime.RationalTime(0, 0)
    c.media_reference.available_range = otio.opentime.TimeRange(zero, zero)
    track(tl).append(c)
    with pytest.raises(TimelineError, match="'kden'.*no usable available range"):
        plan_render(tl, out / "k.mp4")


def test_a_negative_duration_is_refused_not_dropped(clips, out):
    media = clips(duration=1, audio=None)
    tl = timeline()
    track(tl).extend([clip(media, 0, 10, name="fine"), clip(media, 10, -5, name="backwards")])
    with pytest.raises(TimelineError, match="'backwards'.*negative duration \\(-5 frames\\)"):
        plan_render(tl, out / "n.mp4")


def test_transitions_that_eat_more_than_their_clip_say_which_clip_and_by_how_much(clips, out):
    media = clips(duration=2, audio=None)
    tl = timeline()
    track(tl).extend(
        [
            clip(media, 0, 20),
            dissolve(3, 4),
            clip(media, 0, 6, name="short"),
            dissolve(3, 3),
            clip(media, 0, 20),
        ]
    )
    with pytest.raises(TimelineError, match="'short'.* 6 frames long.* 4 frames into it.* 3 frames"):
        plan_render(tl, out / "o.mp4")


def test_edl_lines_the_reader_skips_are_named(clips, out):
    media = relink_folder(out / "media", {"alpha.mp4": clips(duration=2, audio=None)})
    edl = out / "junk.edl"
    edl.write_text(
        "TITLE: junk\nFCM: NON-DROP FRAME\n\n"
        "001  AX       V     C        00:00:00:00 00:00:00:10 00:00:00:00 00:00:00:10\n"
        "* FROM CLIP NAME: alpha.mp4\n"
        "THIS LINE IS NOT AN EDL LINE\n"
        "002  AX       V     C        00:00:00:10 00:00:00:20 00:00:00:10 00:00:00:20\n"
        "* FROM CLIP NAME: alpha.mp4\n"
        "M2   AX       050.0                00:00:00:10\n"
    )

    rp = plan_render(edl, out / "j.mp4", RenderOptions(media_dir=media, rate=Fraction(25)))
    skipped = [n for n in rp.conform.notes if "skipped" in n]
    assert len(skipped) == 1 and "line 6: 'THIS LINE IS NOT AN EDL LINE'" in skipped[0]
    assert "1 line(s)" in skipped[0]  # the M2 line is read (a speed), not reported


def test_a_long_leading_gap_gets_a_note(clips, out):
    media = clips(duration=1, audio=None)
    tl = timeline()
    track(tl).extend(
        [
            otio.schema.Gap(source_range=otio.opentime.TimeRange(RT(0, 25), RT(25 * 3600, 25))),
            clip(media, 0, 10),
        ]
    )
    rp = plan_render(tl, out / "g.mp4")
    assert rp.conform.frames == 25 * 3600 + 10
    assert any("starts with 90000 frames (1:00:00) of black" in n for n in rp.conform.notes)


# --------------------------------------------------------------------------- generators


def rgb_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(video=0)]


def test_otio_generator_sample_draws_smpte_bars(out):
    """OTIO's generator_reference_test.otio (a SMPTEBars GeneratorReference) was a grey slate."""
    target = out / "bars.mp4"
    r = render_timeline(PUBLIC / "generator_reference_test.otio", target, size=(320, 180))
    assert r.frames == 50 and not r.missing
    assert_constant_rate(target, Fraction(24), 50)
    ref = out / "ref.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=s=320x180:r=24:d=1",
        "-frames:v",
        "1",
        "-pix_fmt",
        "yuv420p",
        str(ref),
    )
    got, want = rgb_frames(target)[25], rgb_frames(ref)[0]
    assert np.abs(got - want).mean() < 4  # the same bars, up to coding noise


def test_solid_colour_black_and_fcp_colour_mattes_are_drawn(out):
    tl = timeline()
    v = track(tl)
    rng = otio.opentime.TimeRange(RT(0, 25), RT(5, 25))
    solid = otio.schema.GeneratorReference(
        generator_kind="SolidColor", parameters={"color": [1.0, 0.5, 0.0, 1.0]}
    )
    matte = otio.schema.GeneratorReference(  # what the FCP7 reader makes of Premiere's "Color" matte
        generator_kind="Color",
        metadata={
            "fcp_xml": {
                "parameter": {"parameterid": "fillcolor", "value": {"red": "0", "green": "0", "blue": "255"}}
            }
        },
    )
    black = otio.schema.GeneratorReference(generator_kind="Slug", name="Black Video")
    for n, ref in (("solid", solid), ("matte", matte), ("black", black)):
        v.append(otio.schema.Clip(name=n, media_reference=ref, source_range=rng))
    target = out / "gen.mp4"
    r = render_timeline(tl, target, size=(64, 48))
    assert r.frames == 15 and not r.missing
    means = [f[8:, :].reshape(-1, 3).mean(axis=0) for f in rgb_frames(target)]
    for k, want in ((2, (255, 128, 0)), (7, (0, 0, 255)), (12, (0, 0, 0))):
        assert np.abs(means[k] - np.array(want)).max() < 12, (k, means[k])


# --------------------------------------------------------------------------- nested compositions


def test_otio_nested_example_renders_flattened_as_an_nle_plays_it(clips, out):
    """OTIO's nested_example.otio: two nested stacks (one at x0.8545) and a nested track with a
    freeze frame. Refused before ("flatten first")."""
    media = clips(duration=22, barcode=True, rate="24", audio=None, width=96, height=54)
    names = ["Normal Clip 1", "Normal Clip 2", "Normal Clip 3", "Normal Clip 4"]
    names += ["Clip Inside A Stack 1", "Clip Inside A Stack 2", "Clip Inside A Track"]
    folder = relink_folder(out / "media", {f"{n}.mp4": media for n in names})
    target = out / "nested.mp4"
    r = render_timeline(PUBLIC / "nested_example.otio", target, media_dir=folder, smart=False)
    s = 0.8545454551724138
    want = list(range(135, 135 + 238))  # Normal Clip 1
    want += list(range(373, 373 + 31))  # the stack's first 31 frames of its 37-frame clip
    want += list(range(101, 101 + 33))
    want += [int(429 + k * s) for k in range(29)]  # the stack's time warp, on the clip inside it
    want += list(range(179, 179 + 63))
    want += [471] * 4  # the nested track's freeze frame
    want += list(range(135, 135 + 238))
    assert r.frames == len(want) == 636
    assert read_barcodes(target) == want
    assert_constant_rate(target, Fraction(24), 636)


def test_a_nested_stack_shows_its_top_track_and_the_lower_one_through_its_gaps(clips, out):
    low = clips(duration=4, barcode=True, audio=None)
    high = clips(duration=4, barcode=True, audio=None, tone=500)
    tl = timeline()
    v = track(tl)
    nest = otio.schema.Stack(name="compound", source_range=otio.opentime.TimeRange(RT(5, 25), RT(20, 25)))
    bottom = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    bottom.append(clip(low, 0, 40, name="low"))
    top = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    top.extend([gap(10), clip(high, 60, 10, name="high"), gap(20)])
    nest.extend([bottom, top])
    v.extend([clip(low, 80, 5, name="before"), nest, clip(low, 90, 5, name="after")])
    target = out / "n.mp4"
    r = render_timeline(tl, target, smart=False)
    assert r.frames == 30
    want = (
        list(range(80, 85))
        + list(range(5, 10))
        + list(range(60, 70))
        + list(range(20, 25))
        + list(range(90, 95))
    )
    assert read_barcodes(target) == want


# --------------------------------------------------------------------------- time effects


def test_speeds_pick_the_source_frame_otio_maps_to(clips, out):
    """Scalars as NLE exports carry them (0.7499 from an AAF speed curve, not 3/4): every frame
    is the source frame OTIO's mapping of the LinearTimeWarp names (rounding the scalar to a
    fraction moved a quarter of the frames of x0.7499 by one)."""
    media = clips(duration=12, barcode=True, audio=None, width=96, height=54)
    tl = timeline()
    v = track(tl)
    for k, s in enumerate((0.7499, 0.2498, 1.2502, 0.37462, 14.3751, -0.7499)):
        c = clip(media, 10 if s > 0 else 100, 60 if abs(s) < 2 else 12, name=f"s{k}")
        c.effects.append(otio.schema.LinearTimeWarp(time_scalar=s))
        v.append(c)
    target = out / "speeds.mp4"
    r = render_timeline(tl, target, smart=False)
    want = expected_frames(tl, 25)
    assert r.frames == len(want) == 312
    codes = read_barcodes(target)
    wrong = [(t, codes[t], f) for t, (_, f) in want.items() if codes[t] != f]
    assert not wrong


def test_a_disabled_nested_stack_shows_nothing(clips, out):
    media = clips(duration=2, audio=None)
    tl = timeline()
    nest = otio.schema.Stack(name="off", source_range=otio.opentime.TimeRange(RT(0, 25), RT(10, 25)))
    inner = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    inner.append(clip(media, 0, 20, name="hidden"))
    nest.append(inner)
    nest.enabled = False
    track(tl).extend([clip(media, 0, 5, name="shown"), nest])
    rp = plan_render(tl, out / "d.mp4")
    assert [(i.kind, i.start, i.end) for i in rp.conform.video[0].items] == [("clip", 0, 5), ("gap", 5, 15)]
