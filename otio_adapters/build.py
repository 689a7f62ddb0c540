"""Build an OpenTimelineIO timeline from shots: the edit as plain, standard OTIO.

The shape is the contract with the conform renderer, the NLE exporters and Resolve:

* one video track of Clips whose ExternalReferences carry absolute ``file://`` URLs and
  the media's ``available_range`` (from probe, at the media's own rate);
* transitions between shots as ``SMPTE_Dissolve`` (a cross dissolve) or ``Custom`` with the
  ffmpeg xfade name under ``metadata["shotline"]["xfade"]``; each is split around the cut
  (``in_offset`` before it, ``out_offset`` after it) and the clips are trimmed so that the
  media handles the transition consumes really exist. The result has xfade's length:
  the sum of the shots minus the transitions;
* a fade in or out at the ends as a Transition at the very start or end of the track
  (``in_offset`` 0 or ``out_offset`` 0): fade from / to black;
* speed as ``LinearTimeWarp`` (negative for reverse) and holds as ``FreezeFrame``; following
  OTIO, ``source_range.duration`` is the time on the track and ``source_range.start_time``
  the lowest media frame shown (a reversed clip plays down to it);
* an audio track with each shot's own sound (a Gap where a shot has none, crossfades
  where both neighbours have sound), plus one track per music / SFX / voice-over bed;
* one marker per shot, and ``metadata["shotline"]`` on every clip saying how it was made.

Every rounding or substitution is written into ``BuildResult.notes`` (and into the
timeline's own metadata), never made silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotline.core.errors import MediaError, TimelineError, UsageError
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.vocab import timeline_transition
from shotline.otio_adapters.takes import ShotTake

NAMESPACE = "shotline"
SCHEMA_VERSION = 1

AUDIO_BED_ROLES = ("music", "sfx", "voiceover")
_BED_TRACK_NAMES = {"music": "Music", "sfx": "SFX", "voiceover": "Voice-over"}


@dataclass(frozen=True)
class TransitionSpec:
    """A transition between two shots (or a fade at an end), in seconds."""

    duration: float
    xfade: str = "fade"  # ffmpeg xfade name; "fade" is a cross dissolve

    @property
    def otio_type(self) -> str:
        return otio.schema.TransitionTypes.SMPTE_Dissolve if self.xfade == "fade" else "Custom"


def parse_transition(text: str) -> TransitionSpec | None:
    """``dissolve:0.5``, ``wipeleft:1``, ``0.5`` (a dissolve) or ``cut`` (None)."""
    text = text.strip()
    if text.lower() in ("cut", "none", ""):
        return None
    name, _, dur = text.rpartition(":")
    if not name:
        name, dur = "dissolve", text
    try:
        seconds = float(dur)
    except ValueError:
        raise UsageError(f"transition {text!r}: expected NAME:SECONDS, e.g. dissolve:0.5") from None
    return make_transition(name, seconds)


def make_transition(name: str, seconds: float) -> TransitionSpec | None:
    """Validate a transition name (xfade name or alias) and duration."""
    xfade = timeline_transition(name)
    if xfade is None:
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"transition {name}:{seconds}: the duration must be a positive number of seconds")
    return TransitionSpec(duration=seconds, xfade=xfade)


@dataclass(frozen=True)
class EditClip:
    """One shot of the edit: a media file, the part of it used, and how it was made."""

    path: Path | None  # None: an offline shot (MissingReference) lasting ``duration``
    name: str | None = None
    trim_in: float = 0.0  # seconds into the media
    duration: float | None = None  # seconds of media used (None: to the end)
    speed: float = 1.0  # LinearTimeWarp time_scalar; negative plays in reverse
    freeze: float | None = None  # hold the frame at trim_in for this many seconds (FreezeFrame)
    metadata: Mapping[str, Any] = field(default_factory=dict)  # under metadata["shotline"]
    marker: str | None = None  # marker comment (the prompt, usually)


@dataclass(frozen=True)
class AudioBed:
    """A music, SFX or voice-over file laid on its own audio track."""

    path: Path
    role: str = "music"  # one of AUDIO_BED_ROLES
    start: float = 0.0  # seconds on the timeline
    name: str | None = None
    volume_db: float = 0.0
    fade_in: float = 0.0  # written as a transition when the bed starts with the edit
    fade_out: float = 0.0  # written as a transition when the bed runs to the end of the edit


@dataclass
class BuildResult:
    timeline: otio.schema.Timeline
    notes: list[str]
    rate: Fraction

    @property
    def duration(self) -> float:
        return float(self.timeline.duration().to_seconds())


def _rate_of(info: MediaInfo) -> Fraction:
    assert info.video is not None
    return info.video.rate


def _rt(frames: int | Fraction, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(float(frames), float(rate))


def file_url(path: Path) -> str:
    """An absolute file:// URL (OTIO's standard form; the Resolve shape turns it into a bare path)."""
    return Path(path).resolve().as_uri()


def path_from_url(url: str) -> Path:
    """The local path an ExternalReference points at: ``file://`` URLs and bare paths alike."""
    from urllib.parse import unquote, urlparse

    if url.startswith("file:"):
        parsed = urlparse(url)
        path = unquote(parsed.path)
        if parsed.netloc and parsed.netloc != "localhost":
            path = f"//{parsed.netloc}{path}"  # UNC share
        if re.match(r"^/[A-Za-z]:/", path):
            path = path[1:]  # file:///C:/... on Windows
        return Path(path)
    return Path(url)


def media_reference(info: MediaInfo, rate: Fraction) -> otio.schema.ExternalReference:
    """An ExternalReference with available_range at ``rate`` (the media's own rate for video)."""
    if info.video is not None and info.video.frame_count:
        frames = info.video.frame_count
    else:
        frames = int(math.floor(info.duration * rate + Fraction(1, 1000)))
    ref = otio.schema.ExternalReference(
        target_url=Path(info.path).as_uri(),
        available_range=otio.opentime.TimeRange(_rt(0, rate), _rt(frames, rate)),
    )
    meta: dict[str, Any] = {"has_audio": info.has_audio}
    if info.video is not None:
        v = info.video
        meta.update(
            width=v.width,
            height=v.height,
            rate=f"{v.rate.numerator}/{v.rate.denominator}",
            vfr=v.vfr,
            pix_fmt=v.pix_fmt,
            rotation=v.rotation,
        )
    if info.audio is not None:
        meta.update(sample_rate=info.audio.sample_rate, channels=info.audio.channels)
    ref.metadata[NAMESPACE] = meta
    return ref


@dataclass
class _Planned:
    """A shot measured in timeline frames before transitions are cut into it."""

    shot: EditClip
    info: MediaInfo | None  # None: offline
    name: str
    media_rate: Fraction
    range_rate: Fraction  # rate of source_range: the media's when it equals the timeline's
    start: Fraction  # seconds into the media of the first frame used
    used: Fraction  # seconds of media used
    record: int  # timeline frames before transitions


def _plan_offline(shot: EditClip, index: int, rate: Fraction, notes: list[str]) -> _Planned:
    name = shot.name or f"shot {index + 1}"
    if not shot.duration or shot.duration <= 0:
        raise TimelineError(f"shot {index + 1} ({name}): has no media and no duration")
    used = Fraction(shot.duration).limit_denominator(1_000_000)
    record = max(1, round(used * rate))
    notes.append(
        f"shot {index + 1} ({name}): no media, written as an offline clip of {float(record / rate):.3f} s"
    )
    return _Planned(shot, None, name, rate, rate, Fraction(0), used, record)


def _probe_once(path: Path, cache: dict[Path, MediaInfo]) -> MediaInfo:
    """Probing walks every packet; a shot list that reuses a file pays for it once."""
    key = Path(path)
    if key not in cache:
        cache[key] = probe(key)
    return cache[key]


def _plan_shot(
    shot: EditClip, index: int, rate: Fraction, notes: list[str], cache: dict[Path, MediaInfo]
) -> _Planned:
    if shot.path is None:
        return _plan_offline(shot, index, rate, notes)
    info = _probe_once(shot.path, cache)
    if info.video is None:
        raise MediaError(shot.path, "has no video stream; give it as an audio bed, not a shot")
    name = shot.name or Path(shot.path).stem
    media_rate = _rate_of(info)
    if info.video.vfr:
        notes.append(
            f"shot {index + 1} ({name}): variable frame rate media, timed at its average {media_rate}"
        )
    if media_rate != rate:
        notes.append(
            f"shot {index + 1} ({name}): media is {float(media_rate):.3f} fps on a "
            f"{float(rate):.3f} fps timeline; its source range is written in timeline frames"
        )
    range_rate = media_rate if media_rate == rate else rate
    media_frames = info.video.frame_count or int(math.floor(info.duration * media_rate))
    length = Fraction(media_frames) / media_rate
    start = Fraction(shot.trim_in).limit_denominator(1_000_000)
    if start < 0 or start >= length:
        raise TimelineError(
            f"shot {index + 1} ({shot.path}): trim in {shot.trim_in} s is outside its {float(length):.3f} s"
        )
    available = length - start
    used = available if shot.duration is None else Fraction(shot.duration).limit_denominator(1_000_000)
    if used <= 0:
        raise TimelineError(f"shot {index + 1} ({shot.path}): duration must be positive")
    if used > available:
        notes.append(
            f"shot {index + 1} ({name}): asked for {float(used):.3f} s but only {float(available):.3f} s "
            "of media remain after the trim; used what there is"
        )
        used = available
    if shot.freeze is not None:
        if shot.freeze <= 0:
            raise TimelineError(f"shot {index + 1} ({shot.path}): a freeze must last a positive time")
        exact = Fraction(shot.freeze).limit_denominator(1_000_000) * rate
    else:
        if shot.speed == 0 or not math.isfinite(shot.speed):
            raise TimelineError(
                f"shot {index + 1} ({shot.path}): speed must be a non-zero number (use a freeze)"
            )
        exact = used * rate / Fraction(abs(shot.speed)).limit_denominator(1_000_000)
    record = int(math.floor(exact + Fraction(1, 1000)))
    if record < 1:
        raise TimelineError(
            f"shot {index + 1} ({shot.path}): shorter than one frame at {float(rate):.3f} fps"
        )
    if exact - record > Fraction(1, 1000):
        notes.append(
            f"shot {index + 1} ({name}): {float(exact):.3f} timeline frames rounded down to {record} "
            "(rates do not divide evenly)"
        )
    return _Planned(shot, info, name, media_rate, range_rate, start, used, record)


def _transition_frames(spec: TransitionSpec, rate: Fraction, where: str, notes: list[str]) -> int:
    exact = Fraction(spec.duration).limit_denominator(1_000_000) * rate
    frames = max(1, round(exact))
    if abs(exact - frames) > Fraction(1, 1000):
        notes.append(
            f"{where}: {spec.duration} s is {float(exact):.3f} frames at {float(rate):.3f} fps; used {frames} frames"
        )
    return frames


def _split(frames: int) -> tuple[int, int]:
    """Centre a transition on its cut: (in_offset, out_offset); an odd frame goes before the cut."""
    return (frames + 1) // 2, frames // 2


def _effects(shot: EditClip) -> list[otio.schema.Effect]:
    if shot.freeze is not None:
        return [otio.schema.FreezeFrame()]
    if shot.speed != 1.0:
        return [otio.schema.LinearTimeWarp(name="speed", time_scalar=float(shot.speed))]
    return []


def _source_range(
    p: _Planned, before: int, record: int, after: int, rate: Fraction
) -> otio.opentime.TimeRange:
    """The media range for a clip that shows ``record`` timeline frames between its handles.

    ``before`` / ``after`` are the record frames the transitions in front of and behind the
    clip take from it. ``start_time`` is the lowest media frame the clip shows, so the range
    lies inside the media's available range: forward speed plays from it, reverse speed
    plays down to it (the handle the transition behind a reversed clip takes is below it).
    """
    rr = p.range_rate
    shot = p.shot
    if shot.freeze is not None:
        start_s = p.start
    elif shot.speed > 0:
        start_s = p.start + Fraction(before) / rate * Fraction(shot.speed).limit_denominator(1_000_000)
    else:
        back = Fraction(-shot.speed).limit_denominator(1_000_000)
        start_s = p.start + Fraction(after) / rate * back
    start_frames = round(start_s * rr)
    # source_range.duration is time on the track, written at the range's rate
    return otio.opentime.TimeRange(_rt(start_frames, rr), _rt(Fraction(record) * rr / rate, rr))


def _make_transition(
    spec: TransitionSpec, before: int, after: int, rate: Fraction, role: str
) -> otio.schema.Transition:
    t = otio.schema.Transition(
        name=f"{spec.xfade} {role}",
        transition_type=spec.otio_type,
        in_offset=_rt(before, rate),
        out_offset=_rt(after, rate),
    )
    t.metadata[NAMESPACE] = {"xfade": spec.xfade, "role": role}
    return t


def build_timeline(
    shots: Sequence[EditClip],
    *,
    transitions: TransitionSpec | str | None | Sequence[TransitionSpec | str | None] = None,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    rate: Fraction | None = None,
    name: str = "shotline edit",
    audio: bool = True,
    beds: Sequence[AudioBed] = (),
    metadata: Mapping[str, Any] | None = None,
    size: tuple[int, int] | None = None,
) -> BuildResult:
    """Build the timeline for ``shots``.

    ``transitions`` is one spec for every cut, or one per cut (``len(shots) - 1``, None for a
    cut); a spec may be written as text (``"dissolve:0.5"``, ``"wipeleft:1"``, ``"cut"``). ``rate`` defaults to the first constant-rate shot's rate. Raises TimelineError when a
    transition does not fit its neighbours, MediaError for unusable media.
    """
    if not shots:
        raise UsageError("no shots to build a timeline from")
    notes: list[str] = []
    cuts: list[TransitionSpec | None]
    if isinstance(transitions, str):  # "dissolve:0.5" is one transition, not a sequence of characters
        transitions = parse_transition(transitions)
    if transitions is None or isinstance(transitions, TransitionSpec):
        cuts = [transitions] * (len(shots) - 1)
    else:
        cuts = [parse_transition(t) if isinstance(t, str) else t for t in transitions]
        if len(cuts) != len(shots) - 1:
            raise UsageError(f"{len(shots)} shots need {len(shots) - 1} transitions, got {len(cuts)}")
    cache: dict[Path, MediaInfo] = {}
    if rate is None:
        infos = [_probe_once(s.path, cache) for s in shots if s.path is not None]
        rates = [i.video.rate for i in infos if i.video is not None and not i.video.vfr]
        rates = rates or [i.video.rate for i in infos if i.video is not None]
        if not rates:
            raise UsageError("no shot has media to take the frame rate from; give the rate")
        rate = rates[0]
    if rate <= 0:
        raise UsageError(f"timeline rate {rate} must be positive")
    planned = [_plan_shot(s, i, rate, notes, cache) for i, s in enumerate(shots)]

    # transition frames around each cut: trans[i] sits between shot i and i + 1
    trans_frames: list[tuple[int, int] | None] = []
    for i, spec in enumerate(cuts):
        if spec is not None and (planned[i].info is None or planned[i + 1].info is None):
            notes.append(f"transition {i + 1}: next to an offline shot, written as a cut (no media handles)")
            cuts[i] = spec = None
        if spec is None:
            trans_frames.append(None)
            continue
        frames = _transition_frames(spec, rate, f"transition {i + 1}", notes)
        trans_frames.append(_split(frames))
    fade_specs: list[TransitionSpec | None] = []
    fade_frames: list[int] = []
    for role, seconds in (("fade_in", fade_in), ("fade_out", fade_out)):
        # a dissolve at the very start or end of a track is OTIO's fade from / to black
        spec = make_transition("dissolve", seconds) if seconds > 0 else None
        fade_specs.append(spec)
        fade_frames.append(_transition_frames(spec, rate, role.replace("_", " "), notes) if spec else 0)

    # edges[i] is the transition in front of shot i, edges[i + 1] the one behind it, as
    # (in_offset, out_offset) frames; the fades at the ends have no handle side.
    edges: list[tuple[int, int]] = [(0, fade_frames[0])]
    edges += [t or (0, 0) for t in trans_frames]
    edges.append((fade_frames[1], 0))
    records: list[tuple[int, int, int]] = []  # (handle before, record, handle after)
    for i, p in enumerate(planned):
        before, after = edges[i][0], edges[i + 1][1]  # media consumed outside the record
        record = p.record - before - after
        overlap = edges[i][1] + edges[i + 1][0]  # record time the two transitions cover
        if record < 1 or overlap > record:
            raise TimelineError(
                f"shot {i + 1} ({p.shot.path or p.name}): the transitions around it need "
                f"{before + after + overlap} frames but the shot has {p.record} at {float(rate):.3f} fps; "
                "shorten the transitions"
            )
        records.append((before, record, after))

    timeline = otio.schema.Timeline(name=name)
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    audio_track = otio.schema.Track(name="Audio 1", kind=otio.schema.TrackKind.Audio)
    has_sound = [audio and p.info is not None and p.info.has_audio for p in planned]

    def add_fade(track: otio.schema.Track, which: int) -> None:
        spec = fade_specs[which]
        if spec is None:
            return
        n = fade_frames[which]
        role = "fade_in" if which == 0 else "fade_out"
        track.append(_make_transition(spec, 0 if which == 0 else n, n if which == 0 else 0, rate, role))

    add_fade(video, 0)
    if has_sound[0]:
        add_fade(audio_track, 0)
    for i, p in enumerate(planned):
        before, record, after = records[i]
        src = _source_range(p, before, record, after, rate)
        meta = {"shot": i + 1, **dict(p.shot.metadata)}
        if p.info is None:
            meta["offline"] = True
        ref = media_reference(p.info, p.media_rate) if p.info is not None else otio.schema.MissingReference()
        clip = otio.schema.Clip(name=p.name, media_reference=ref, source_range=src)
        clip.effects.extend(_effects(p.shot))
        clip.metadata[NAMESPACE] = meta
        marker = otio.schema.Marker(
            name=p.name,
            marked_range=otio.opentime.TimeRange(src.start_time, _rt(0, p.range_rate)),
            color=otio.schema.MarkerColor.GREEN,
        )
        if p.shot.marker:
            marker.comment = p.shot.marker
        marker.metadata[NAMESPACE] = {"shot": i + 1}
        clip.markers.append(marker)
        video.append(clip)
        if has_sound[i] and p.info is not None:
            aclip = otio.schema.Clip(
                name=p.name, media_reference=media_reference(p.info, p.media_rate), source_range=src
            )
            aclip.effects.extend(_effects(p.shot))
            aclip.metadata[NAMESPACE] = dict(meta)
            audio_track.append(aclip)
        else:
            audio_track.append(
                otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), _rt(record, rate)))
            )
        if i < len(planned) - 1 and cuts[i] is not None and trans_frames[i] is not None:
            spec = cuts[i]
            assert spec is not None
            b, a = trans_frames[i]  # type: ignore[misc]
            video.append(_make_transition(spec, b, a, rate, "cut"))
            if has_sound[i] and has_sound[i + 1]:
                # a picture wipe still crossfades its sound
                audio_track.append(_make_transition(TransitionSpec(spec.duration, "fade"), b, a, rate, "cut"))
    add_fade(video, 1)
    if has_sound[-1]:
        add_fade(audio_track, 1)
    if audio and not any(has_sound):
        notes.append("no shot has sound: the timeline has no audio track from the shots")
    timeline.tracks.append(video)
    if any(has_sound):
        timeline.tracks.append(audio_track)

    total = video.duration()
    for bed in beds:
        timeline.tracks.append(_bed_track(bed, rate, total, notes))

    if size is None:
        first = next((p.info.video for p in planned if p.info is not None and p.info.video is not None), None)
        size = first.display_size if first is not None else (0, 0)
    w, h = size
    timeline.metadata[NAMESPACE] = {
        "version": SCHEMA_VERSION,
        "rate": f"{rate.numerator}/{rate.denominator}",
        "width": w,
        "height": h,
        "notes": list(notes),
        **dict(metadata or {}),
    }
    return BuildResult(timeline=timeline, notes=notes, rate=rate)


def _bed_track(
    bed: AudioBed, rate: Fraction, total: otio.opentime.RationalTime, notes: list[str]
) -> otio.schema.Track:
    if bed.role not in AUDIO_BED_ROLES:
        raise UsageError(
            f"audio bed {bed.path}: role {bed.role!r} is not one of {', '.join(AUDIO_BED_ROLES)}"
        )
    info = probe(bed.path)
    if info.audio is None:
        raise MediaError(bed.path, "has no audio stream")
    track = otio.schema.Track(name=_BED_TRACK_NAMES[bed.role], kind=otio.schema.TrackKind.Audio)
    track.metadata[NAMESPACE] = {"role": bed.role}
    total_frames = round(total.value * float(rate) / total.rate)
    start = round(Fraction(bed.start).limit_denominator(1_000_000) * rate)
    if start >= total_frames:
        raise TimelineError(f"audio bed {bed.path}: starts at {bed.start} s, after the edit ends")
    length = int(math.floor(info.duration * rate))
    if start + length > total_frames:
        notes.append(
            f"{bed.role} {Path(bed.path).name}: cut at the end of the edit ({float(total_frames / rate):.3f} s)"
        )
        length = total_frames - start
    if start:
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), _rt(start, rate))))
    ref = media_reference(info, rate)
    clip = otio.schema.Clip(
        name=bed.name or Path(bed.path).stem,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(_rt(0, rate), _rt(length, rate)),
    )
    clip.metadata[NAMESPACE] = {
        "role": bed.role,
        "volume_db": bed.volume_db,
        "fade_in": bed.fade_in,
        "fade_out": bed.fade_out,
    }
    fin = (
        min(round(Fraction(bed.fade_in).limit_denominator(1000) * rate), length // 2)
        if bed.fade_in > 0
        else 0
    )
    fout = (
        min(round(Fraction(bed.fade_out).limit_denominator(1000) * rate), length // 2)
        if bed.fade_out > 0
        else 0
    )
    dissolve = TransitionSpec(1.0, "fade")
    if fin and start == 0:
        track.append(_make_transition(dissolve, 0, fin, rate, "fade_in"))
    elif fin:
        notes.append(
            f"{bed.role} {Path(bed.path).name}: fade in kept as clip metadata (the bed starts mid-edit)"
        )
    track.append(clip)
    if fout and start + length == total_frames:
        track.append(_make_transition(dissolve, fout, 0, rate, "fade_out"))
    elif fout:
        notes.append(
            f"{bed.role} {Path(bed.path).name}: fade out kept as clip metadata (the bed ends before the edit)"
        )
    return track


def build_from_files(
    paths: Sequence[Path | str],
    *,
    transition: TransitionSpec | str | None = None,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    rate: Fraction | None = None,
    name: str | None = None,
    beds: Sequence[AudioBed] = (),
) -> BuildResult:
    """A plain clip list: every file whole, one transition at every cut."""
    shots = [EditClip(path=Path(p)) for p in paths]
    return build_timeline(
        shots,
        transitions=transition,
        fade_in=fade_in,
        fade_out=fade_out,
        rate=rate,
        name=name or "shotline edit",
        beds=beds,
        metadata={"source": "clips"},
    )


# ----------------------------------------------------------------------------- storyboards


def build_from_storyboard(
    storyboard: Any,
    takes: Mapping[str, ShotTake],
    *,
    allow_missing: bool = False,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
) -> BuildResult:
    """The edit a storyboard describes, cut from the chosen takes.

    ``storyboard`` is a ``shotline.core.generate.storyboard.Storyboard``; ``takes`` maps shot ids to
    their media (from the generation ledger, or ``takes_from_folder``). Shots without
    media raise TimelineError listing them, or with ``allow_missing`` become offline clips
    (MissingReference, the storyboard's duration) so an editor can still cut the animatic.
    """
    from shotline.core.generate.prompt import build_prompt

    sb = storyboard
    missing = [s.id for s in sb.shots if s.id not in takes]
    if missing and not allow_missing:
        raise TimelineError(
            f"{sb.source or sb.title}: no media for shot(s) {', '.join(missing)}; generate them, "
            "point at the folder holding them, or allow offline clips"
        )
    rate = Fraction(sb.fps)
    shots: list[EditClip] = []
    cuts: list[TransitionSpec | None] = []
    for i, s in enumerate(sb.shots):
        prompt = build_prompt(sb, s)
        take = takes.get(s.id)
        meta: dict[str, Any] = {
            "shot_id": s.id,
            "prompt": take.prompt if take and take.prompt else prompt.text,
            "negative_prompt": take.negative_prompt if take and take.prompt else prompt.negative,
            "seed": take.seed if take and take.seed is not None else s.seed,
            "provider": (take.provider if take and take.provider else s.provider),
            "model": (take.model if take and take.model else s.model),
            "take": take.take if take else None,
            "task_id": take.task_id if take else None,
            "cost": take.cost if take else None,
            "cost_unit": take.cost_unit if take else None,
            "kind": str(getattr(s.kind, "value", s.kind)),
        }
        if s.audio.voiceover:
            meta["voiceover_text"] = s.audio.voiceover
        if s.audio.sfx:
            meta["sfx_prompt"] = s.audio.sfx
        if not s.audio.music:
            meta["duck_music"] = True
        path = take.path if take is not None else None
        shots.append(
            EditClip(path=path, name=s.id, duration=s.duration, metadata=meta, marker=meta["prompt"])
        )
        if i < len(sb.shots) - 1:
            t = s.transition
            cuts.append(None if t.type == "cut" or t.duration <= 0 else make_transition(t.type, t.duration))
    beds: list[AudioBed] = []
    music = getattr(sb, "music", None)
    extra_notes: list[str] = []
    if music is not None and music.path is not None:
        beds.append(
            AudioBed(
                Path(music.path),
                "music",
                volume_db=music.volume_db,
                fade_in=music.fade_in,
                fade_out=music.fade_out,
            )
        )
    elif music is not None and music.prompt:
        extra_notes.append("music: the storyboard names a music prompt but no rendered file; no music track")
    result = build_timeline(
        shots,
        transitions=cuts,
        fade_in=fade_in,
        fade_out=fade_out,
        rate=rate,
        name=sb.title,
        beds=beds,
        metadata={"source": "storyboard", "storyboard": str(sb.source or "")},
        size=(sb.width, sb.height),
    )
    result.notes[:0] = extra_notes
    _lay_shot_sounds(result, takes, sb)
    result.timeline.metadata[NAMESPACE]["notes"] = list(result.notes)
    return result


def _lay_shot_sounds(result: BuildResult, takes: Mapping[str, ShotTake], sb: Any) -> None:
    """Per-shot SFX and voice-over files on their own tracks, starting with their shot."""
    tl = result.timeline
    rate = result.rate
    video = tl.video_tracks()[0]
    starts: dict[str, int] = {}
    for clip in video.find_clips():
        sid = (clip.metadata.get(NAMESPACE) or {}).get("shot_id")
        if sid:
            r = clip.trimmed_range_in_parent()
            starts[sid] = round(r.start_time.rescaled_to(float(rate)).value)
    total = round(video.duration().rescaled_to(float(rate)).value)
    for role, attr in (("sfx", "sfx"), ("voiceover", "voiceover")):
        items = [
            (starts[s.id], getattr(takes[s.id], attr), s.id)
            for s in sb.shots
            if s.id in takes and getattr(takes[s.id], attr) is not None and s.id in starts
        ]
        if not items:
            continue
        track = otio.schema.Track(name=_BED_TRACK_NAMES[role], kind=otio.schema.TrackKind.Audio)
        track.metadata[NAMESPACE] = {"role": role}
        at = 0
        for start, path, sid in sorted(items):
            info = probe(path)
            if info.audio is None:
                raise MediaError(path, "has no audio stream")
            if start < at:
                result.notes.append(
                    f"{role} for shot {sid} overlaps the previous one; it starts when that ends"
                )
                start = at
            length = min(int(math.floor(info.duration * rate)), total - start)
            if length <= 0:
                result.notes.append(f"{role} for shot {sid}: starts after the edit ends; left out")
                continue
            if start > at:
                track.append(
                    otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), _rt(start - at, rate)))
                )
            clip = otio.schema.Clip(
                name=f"{sid} {role}",
                media_reference=media_reference(info, rate),
                source_range=otio.opentime.TimeRange(_rt(0, rate), _rt(length, rate)),
            )
            clip.metadata[NAMESPACE] = {"role": role, "shot_id": sid}
            track.append(clip)
            at = start + length
        tl.tracks.append(track)
