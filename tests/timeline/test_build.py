"""Building timelines: shape, frame arithmetic, awkward media, storyboards, bad input."""

from __future__ import annotations

import json
from fractions import Fraction

import opentimelineio as otio
import pytest

from shotline.core.errors import MediaError, TimelineError, UsageError
from shotline.core.media.probe import probe
from shotline.otio_adapters.build import (
    AudioBed,
    EditClip,
    build_from_files,
    build_from_storyboard,
    build_timeline,
    make_transition,
    parse_transition,
    path_from_url,
)
from shotline.otio_adapters.takes import ShotTake, takes_from_folder, takes_from_ledger
from tests.mediakit import ffmpeg
from tests.timeline import transition_spans, video_track, visible

DISSOLVE = parse_transition("dissolve:0.5")


@pytest.fixture
def three(clips):
    return [
        clips(duration=2, rate="24", barcode=True, tone=440),
        clips(duration=2, rate="24", barcode=True, tone=550),
        clips(duration=2, rate="24", barcode=True, tone=660),
    ]


def test_dissolves_are_centred_and_the_edit_has_xfade_length(three):
    r = build_from_files(three, transition=DISSOLVE)
    tl = r.timeline
    assert r.rate == 24 and r.notes == []
    assert tl.duration() == otio.opentime.RationalTime(3 * 48 - 2 * 12, 24)
    track = video_track(tl)
    kinds = [type(i).__name__ for i in track]
    assert kinds == ["Clip", "Transition", "Clip", "Transition", "Clip"]
    for t in (track[1], track[3]):
        assert t.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
        assert (t.in_offset.value, t.out_offset.value) == (6, 6)
        assert t.metadata["shotline"]["xfade"] == "fade"
    # clips give their ends to the transitions: handles exist inside each file
    assert [(c.source_range.start_time.value, c.source_range.duration.value) for c in track.find_clips()] == [
        (0, 42),
        (6, 36),
        (6, 42),
    ]
    # what is on screen outside the dissolves is exactly what ffmpeg's xfade chain shows:
    # shot k's frame n appears at n + sum(previous lengths - transitions)
    shown = visible(track, 24)
    names = [p.name for p in three]
    for t, (name, src) in shown.items():
        k = names.index(name)
        assert src == t - k * (48 - 12)
    assert transition_spans(track, 24) == [(36, 48), (72, 84)]


def test_references_are_absolute_urls_with_probed_ranges(three):
    tl = build_from_files(three, transition=DISSOLVE).timeline
    for clip, path in zip(video_track(tl).find_clips(), three):
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert ref.target_url.startswith("file:///")
        assert path_from_url(ref.target_url) == path.resolve()
        assert ref.available_range == otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24)
        )
        assert clip.metadata["shotline"]["shot"] == three.index(path) + 1
        assert len(clip.markers) == 1 and clip.markers[0].name == clip.name
    meta = tl.metadata["shotline"]
    assert (meta["rate"], meta["width"], meta["height"]) == ("24/1", 320, 180)


def test_audio_track_follows_picture_with_gaps_for_silent_shots(clips):
    a = clips(duration=2, rate="24")
    silent = clips(duration=2, rate="24", audio=None)
    c = clips(duration=2, rate="24", audio="mono", sample_rate=44100)
    tl = build_from_files([a, silent, c], transition=DISSOLVE, fade_in=0.25, fade_out=0.5).timeline
    video, audio = tl.tracks
    assert audio.kind == otio.schema.TrackKind.Audio
    assert audio.duration() == video.duration()
    assert [type(i).__name__ for i in audio] == ["Transition", "Clip", "Gap", "Clip", "Transition"]
    # a crossfade needs sound on both sides: none next to the silent shot
    assert [type(i).__name__ for i in video] == [
        "Transition",
        "Clip",
        "Transition",
        "Clip",
        "Transition",
        "Clip",
        "Transition",
    ]
    fade_in, fade_out = video[0], video[-1]
    assert (fade_in.in_offset.value, fade_in.out_offset.value) == (0, 6)
    assert (fade_out.in_offset.value, fade_out.out_offset.value) == (12, 0)
    assert fade_in.metadata["shotline"]["role"] == "fade_in"
    # the mono 44.1 kHz clip's facts travel on its reference
    ref = list(audio.find_clips())[1].media_reference
    assert ref.metadata["shotline"]["channels"] == 1 and ref.metadata["shotline"]["sample_rate"] == 44100


def test_speed_reverse_and_freeze_become_time_effects(clips):
    p = clips(duration=2, rate="24", audio=None)
    tl = build_timeline(
        [
            EditClip(p, speed=2.0),
            EditClip(p, speed=0.5, duration=1.0),
            EditClip(p, speed=-1.0),
            EditClip(p, freeze=1.5, trim_in=0.5),
        ],
    ).timeline
    fast, slow, rev, hold = video_track(tl).find_clips()
    assert isinstance(fast.effects[0], otio.schema.LinearTimeWarp) and fast.effects[0].time_scalar == 2.0
    assert fast.source_range.duration.value == 24  # 48 media frames at twice the speed
    assert slow.source_range.duration.value == 48  # 24 media frames at half speed
    assert rev.effects[0].time_scalar == -1.0
    # reverse: the range is the media used (inside available_range), played from its top down
    assert (rev.source_range.start_time.value, rev.source_range.duration.value) == (0, 48)
    assert isinstance(hold.effects[0], otio.schema.FreezeFrame)
    assert (hold.source_range.start_time.value, hold.source_range.duration.value) == (12, 36)


def test_speed_changed_shots_still_take_transition_handles(clips):
    p = clips(duration=2, rate="24", audio=None)
    tl = build_timeline([EditClip(p), EditClip(p, speed=2.0), EditClip(p)], transitions=DISSOLVE).timeline
    mid = list(video_track(tl).find_clips())[1]
    # 24 record frames at 2x; 6 go to each dissolve's handle, taken at twice the media rate
    assert mid.source_range.duration.value == 12
    assert mid.source_range.start_time.value == 12


def test_ntsc_rate_rounds_transitions_to_whole_frames_and_says_so(clips):
    a = clips(duration=1, rate="30000/1001")
    b = clips(duration=1, rate="30000/1001", tone=660)
    r = build_from_files([a, b], transition=DISSOLVE)
    assert r.rate == Fraction(30000, 1001)
    t = video_track(r.timeline)[1]
    assert (t.in_offset.value, t.out_offset.value) == (8, 7)
    assert any("14.985 frames" in n and "used 15" in n for n in r.notes)
    assert list(r.timeline.metadata["shotline"]["notes"]) == r.notes


def test_mixed_rates_are_written_in_timeline_frames_with_a_note(clips):
    a = clips(duration=1, rate="24")
    pal = clips(duration=1, rate="25")
    r = build_from_files([a, pal])
    second = list(video_track(r.timeline).find_clips())[1]
    assert second.source_range.duration == otio.opentime.RationalTime(24, 24)
    assert second.media_reference.available_range.duration == otio.opentime.RationalTime(25, 25)
    assert any("25.000 fps on a 24.000 fps timeline" in n for n in r.notes)
    # n frames at 29.97 fps are n * 24 * 1001 / 30000 frames at 24 fps: rounded down, and said so
    ntsc = clips(duration=1, rate="30000/1001")
    exact = Fraction(probe(ntsc).video.frame_count * 24 * 1001, 30000)
    r = build_from_files([a, ntsc], rate=Fraction(24))
    assert list(video_track(r.timeline).find_clips())[1].source_range.duration.value == int(exact)
    assert any(f"{float(exact):.3f} timeline frames rounded down to {int(exact)}" in n for n in r.notes)


def test_awkward_media_vfr_rotation_sar_10bit(clips):
    vfr = clips(duration=1, rate="25", vfr=True)
    rotated = clips(duration=1, rate="25", rotation=90, audio=None)
    sar = clips(duration=1, rate="25", sar="4:3", pix_fmt="yuv420p10le", codec="libx264")
    r = build_from_files([rotated, vfr, sar], rate=Fraction(25))
    assert any("variable frame rate" in n for n in r.notes)
    meta = r.timeline.metadata["shotline"]
    assert (meta["width"], meta["height"]) == (180, 320)  # the rotated first shot as a player shows it
    refs = [c.media_reference.metadata["shotline"] for c in video_track(r.timeline).find_clips()]
    assert refs[0]["rotation"] == 90 and refs[1]["vfr"] is True and refs[2]["pix_fmt"] == "yuv420p10le"


def test_awkward_file_names_survive_as_urls(clips):
    p = clips(name='it\'s a "shot" ñ 東京 #1.mp4', duration=1, rate="24")
    clip = video_track(build_from_files([p]).timeline).find_clips()[0]
    assert "%20" in clip.media_reference.target_url and "#" not in clip.media_reference.target_url
    assert path_from_url(clip.media_reference.target_url) == p.resolve()


def test_music_bed_is_cut_to_the_edit_with_fades(clips, tmp_path):
    a = clips(duration=1, rate="24")
    music = clips(duration=2, rate="24", container="mkv", tone=220)
    bed = AudioBed(music, "music", volume_db=-12, fade_in=0.25, fade_out=0.5)
    r = build_timeline([EditClip(a)], beds=[bed])
    track = r.timeline.tracks[-1]
    assert track.name == "Music" and track.kind == otio.schema.TrackKind.Audio
    assert track.duration() == r.timeline.tracks[0].duration()
    assert [type(i).__name__ for i in track] == ["Transition", "Clip", "Transition"]
    clip = list(track.find_clips())[0]
    assert clip.metadata["shotline"]["volume_db"] == -12
    assert any("cut at the end of the edit" in n for n in r.notes)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("wobble:1", "unknown"), ("dissolve:-1", "positive"), ("dissolve:abc", "NAME:SECONDS")],
)
def test_bad_transition_specs(spec, message):
    with pytest.raises(UsageError, match=message):
        parse_transition(spec)


def test_transition_names_map_to_otio_types():
    assert parse_transition("cut") is None
    assert parse_transition("0.5") == make_transition("dissolve", 0.5)
    wipe = parse_transition("wipeleft:1")
    assert wipe is not None and wipe.otio_type == "Custom" and wipe.xfade == "wipeleft"


def test_transition_longer_than_its_neighbours_is_refused(clips):
    a = clips(duration=1, rate="24")
    with pytest.raises(TimelineError, match="shorten the transitions"):
        build_from_files([a, a, a], transition=parse_transition("dissolve:0.9"))


def test_bad_media_names_the_file(clips, tmp_path):
    a = clips(duration=1, rate="24")
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(MediaError, match="notes.mp4"):
        build_from_files([a, bad])
    with pytest.raises(MediaError, match="no such file"):
        build_from_files([a, tmp_path / "gone.mp4"])
    wav = clips(duration=1, rate="24", container="mkv")
    assert probe(wav).has_video  # a video with sound is fine; an audio file is not a shot
    with pytest.raises(UsageError, match="no shots"):
        build_timeline([])


# ----------------------------------------------------------------------------- storyboards

STORYBOARD = """
title: Harbour
output: {width: 320, height: 180, fps: 24}
style: moody film still
shots:
  - id: open
    prompt: a harbour at dawn
    duration: 2
    seed: 7
    transition: {type: dissolve, duration: 0.5}
  - id: boat
    prompt: a boat leaves the quay
    negative_prompt: people
    duration: 2
    transition: {type: wipeleft, duration: 0.5}
  - id: gull
    prompt: a gull over the water
    duration: 1.5
"""


@pytest.fixture
def storyboard(tmp_path, clips):
    import shutil

    from shotline.core.generate.storyboard import load_storyboard

    sb_path = tmp_path / "film.shotline.yaml"
    sb_path.write_text(STORYBOARD, encoding="utf-8")
    shots = tmp_path / "shots"
    shots.mkdir()
    shutil.copy(clips(duration=2, rate="24", tone=300), shots / "open.mp4")
    shutil.copy(clips(duration=2, rate="24", tone=400), shots / "boat_take2.mp4")
    shutil.copy(clips(duration=3, rate="24", tone=500), shots / "gull.mp4")
    ffmpeg("-f", "lavfi", "-i", "sine=f=800:r=48000:d=1", str(shots / "boat.sfx.wav"))
    return load_storyboard(sb_path), shots


def test_storyboard_build_carries_prompts_seeds_and_transitions(storyboard):
    sb, shots = storyboard
    takes = takes_from_folder(shots, [s.id for s in sb.shots])
    assert takes["boat"].take == 2
    r = build_from_storyboard(sb, takes)
    tl = r.timeline
    assert tl.name == "Harbour"
    track = video_track(tl)
    clips_ = list(track.find_clips())
    assert [c.name for c in clips_] == ["open", "boat", "gull"]
    meta = clips_[0].metadata["shotline"]
    assert "a harbour at dawn" in meta["prompt"] and meta["seed"] == 7 and meta["provider"] == "local"
    assert clips_[1].metadata["shotline"]["negative_prompt"] and clips_[1].metadata["shotline"]["take"] == 2
    assert clips_[0].markers[0].comment == meta["prompt"]
    trans = [i for i in track if isinstance(i, otio.schema.Transition)]
    assert [t.transition_type for t in trans] == ["SMPTE_Dissolve", "Custom"]
    assert trans[1].metadata["shotline"]["xfade"] == "wipeleft"
    # the storyboard's durations cut the longer gull take: 2 + 2 + 1.5 - 0.5 - 0.5
    assert tl.duration().to_seconds() == pytest.approx(4.5)
    sfx = [t for t in tl.audio_tracks() if t.name == "SFX"]
    assert len(sfx) == 1
    start = sfx[0].find_clips()[0].range_in_parent().start_time
    assert start == clips_[1].range_in_parent().start_time


def test_storyboard_missing_media_is_an_error_or_offline(storyboard):
    sb, shots = storyboard
    (shots / "gull.mp4").unlink()
    takes = takes_from_folder(shots, [s.id for s in sb.shots])
    with pytest.raises(TimelineError, match="gull"):
        build_from_storyboard(sb, takes)
    r = build_from_storyboard(sb, takes, allow_missing=True)
    last = list(video_track(r.timeline).find_clips())[-1]
    assert isinstance(last.media_reference, otio.schema.MissingReference)
    assert last.source_range.duration == otio.opentime.RationalTime(36, 24)
    assert any("transition 2" in n and "offline" in n for n in r.notes)


def test_storyboard_takes_from_the_ledger(storyboard, tmp_path):
    from shotline.core.generate.ledger import Ledger

    sb, shots = storyboard
    db = shots / "ledger.sqlite"
    with Ledger(db) as ledger:
        for sid, take, path in (
            ("open", 1, shots / "open.mp4"),
            ("boat", 3, shots / "gone.mp4"),  # the newest take's file was deleted
            ("boat", 2, "boat_take2.mp4"),  # relative: taken from the ledger's folder
            ("gull", 1, shots / "gull.mp4"),
        ):
            row = ledger.ensure(
                shot_id=sid,
                take=take,
                provider="runway",
                model="gen4_turbo",
                kind="text-to-video",
                request_hash=f"{sid}{take}",
                request_json=json.dumps({"seed": 40 + take}),
                cost_estimate=0.5,
                cost_unit="credits",
            )
            ledger.update(
                row.id,
                status="done",
                output_path=str(path),
                task_id=f"task-{sid}-{take}",
                cost_actual=0.25,
                finished_at=float(take),
            )
    takes, notes = takes_from_ledger(db, [s.id for s in sb.shots])
    assert takes["boat"].take == 2 and takes["boat"].path.name == "boat_take2.mp4"
    assert isinstance(takes["open"], ShotTake) and takes["open"].seed == 41
    r = build_from_storyboard(sb, takes)
    meta = [c.metadata["shotline"] for c in video_track(r.timeline).find_clips()]
    assert [m["task_id"] for m in meta] == ["task-open-1", "task-boat-2", "task-gull-1"]
    assert all(m["provider"] == "runway" and m["cost"] == 0.25 and m["cost_unit"] == "credits" for m in meta)
    assert any("take 3 is done in the ledger but its file is missing" in n for n in notes)
    with pytest.raises(TimelineError, match="no such ledger"):
        takes_from_ledger(tmp_path / "nope.sqlite", ["open"])
