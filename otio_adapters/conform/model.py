"""Read any OTIO timeline into a flat, frame-exact render model.

OTIO times are rational and may use a different rate on every item; ffmpeg wants
frame counts. This module does that translation once: every track becomes a list
of items with integer timeline frame ranges, every transition a window of frames
around a cut, and every clip a resolved media file with a linear map from timeline
frame to media time (speed, reverse and freeze included). Everything that is not
exactly representable is either an error (``TimelineError``) or a substitution
written to ``Conform.notes``, never silent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from shotline.core.errors import MediaError, TimelineError, UsageError
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.vocab import XFADE_NAMES, exact_rate
from shotline.otio_adapters.timeline import read_timeline, timeline_rate

MISSING_MODES = ("slate", "error")


def seconds(t: otio.opentime.RationalTime, what: str = "a time") -> Fraction:
    """An OTIO time as exact seconds (value/rate with the rate made exact)."""
    rate = exact_rate(t.rate) if t.rate > 0 else Fraction(0)
    if rate <= 0:
        raise TimelineError(f"{what} is counted at {t.rate:g} frames per second; a rate must be positive")
    return Fraction(t.value).limit_denominator(10**9) / rate


def usable_range(r: otio.opentime.TimeRange | None) -> bool:
    """A range whose times carry a positive rate (some writers leave ``rate: 0`` on unknown ones)."""
    return r is not None and r.start_time.rate > 0 and r.duration.rate > 0


@dataclass(frozen=True)
class Media:
    """A resolved media file and where its first frame sits in the clip's source time."""

    path: Path
    info: MediaInfo
    origin: Fraction  # source-time seconds of the file's first frame (available_range start)
    relinked: bool = False

    @property
    def duration(self) -> Fraction:
        v = self.info.video
        if v is not None and v.frame_count and v.rate and not v.vfr:
            return Fraction(v.frame_count) / v.rate
        return Fraction(self.info.duration).limit_denominator(10**6)


@dataclass(frozen=True)
class Item:
    """One stretch of a track: a clip, a gap or a slate, ``[start, end)`` in timeline frames.

    For a clip, timeline frame ``f`` shows media time ``media_at(f)`` seconds into the
    file (valid also outside ``[start, end)``: transitions read handles from there).
    """

    kind: str  # "clip", "gap", "slate", "generator"
    name: str
    start: int
    end: int
    media: Media | None = None
    anchor: Fraction = Fraction(
        0
    )  # media seconds at timeline frame ``start`` (forward) or ``end - 1`` (reverse)
    speed: Fraction = Fraction(1)  # media seconds per timeline second; 0 = freeze, < 0 = reverse
    rate: Fraction = Fraction(25)
    generator: str = ""  # for a generator: the lavfi source ("smptehdbars", "color=c=0x0000ff")

    @property
    def frames(self) -> int:
        return self.end - self.start

    def media_at(self, f: int) -> Fraction:
        if self.speed >= 0:
            return self.anchor + (f - self.start) * self.speed / self.rate
        return self.anchor + (self.end - 1 - f) * (-self.speed) / self.rate


@dataclass(frozen=True)
class Dissolve:
    """A transition window ``[start, end)`` around a cut, between items ``before`` and ``after``.

    ``before``/``after`` index the track's items; None is the track's edge (black or
    transparent), which turns the transition into a fade from/to black.
    """

    start: int
    end: int
    before: int | None
    after: int | None
    effect: str = "fade"  # xfade transition name
    name: str = ""


@dataclass(frozen=True)
class Track:
    kind: str  # "video" or "audio"
    name: str
    items: tuple[Item, ...]
    dissolves: tuple[Dissolve, ...]


@dataclass
class Conform:
    """The whole timeline, ready for a filter graph: rate, size, frame count, tracks, notes."""

    name: str
    rate: Fraction
    frames: int
    width: int
    height: int
    video: list[Track]
    audio: list[Track]  # audio tracks; empty means "take sound from the first video track"
    has_audio: bool
    notes: list[str] = field(default_factory=list)  # substitutions the user must hear about
    missing: list[str] = field(default_factory=list)  # clip names rendered as slates
    sample_rate: int = 48000  # the sound's rate and channels: the sources' own when they all agree
    channels: int = 2

    @property
    def duration(self) -> Fraction:
        return self.frames / self.rate

    def media_files(self) -> list[Path]:
        seen: dict[Path, None] = {}
        for track in [*self.video, *self.audio]:
            for item in track.items:
                if item.media is not None:
                    seen.setdefault(item.media.path, None)
        return list(seen)


# --------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------- media


class MediaFinder:
    """Resolves clips to files: the reference's own path, else a relink by name in ``media_dir``."""

    def __init__(self, base: Path, media_dir: Path | None) -> None:
        self.base = base
        self.media_dir = media_dir
        self._index: dict[str, Path] | None = None
        self._probed: dict[Path, MediaInfo] = {}

    def index(self) -> dict[str, Path]:
        if self._index is None:
            self._index = {}
            if self.media_dir is not None:
                for f in sorted(self.media_dir.rglob("*")):
                    if f.is_file() and not f.name.startswith("."):
                        self._index.setdefault(f.name.lower(), f)
                        self._index.setdefault(f.stem.lower(), f)
        return self._index

    def probe(self, path: Path) -> MediaInfo:
        if path not in self._probed:
            self._probed[path] = probe(path)
        return self._probed[path]

    def find(self, clip: otio.schema.Clip) -> tuple[Path | None, bool, str]:
        """(path, relinked, why-not) for a clip."""
        ref = clip.media_reference
        original: Path | None = None
        why = "has no media reference"
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            original = url_to_path(ref.target_url, self.base)
            if original.is_file():
                return original, False, ""
            why = f"media {original} does not exist"
        elif isinstance(ref, otio.schema.GeneratorReference):
            why = f"generator '{ref.generator_kind}' is not one shotline draws (bars, black, solid colour)"
        elif isinstance(ref, otio.schema.ImageSequenceReference):
            why = "image sequence reference (not rendered)"
        names = []
        if original is not None:
            names += [original.name, original.stem]
        for n in (clip.name, getattr(ref, "name", "") or ""):
            if n:
                names += [n, Path(n).stem]
        if self.media_dir is not None:
            idx = self.index()
            for n in names:
                hit = idx.get(n.lower())
                if hit is not None:
                    return hit, True, ""
            why += f", and nothing named {_names(names)} in {self.media_dir}"
        return None, False, why


def _names(names: list[str]) -> str:
    uniq = list(dict.fromkeys(n for n in names if n))
    return " or ".join(repr(n) for n in uniq[:3]) or "(no name)"


def url_to_path(url: str, base: Path) -> Path:
    """A target_url (file URL or bare path, absolute or relative to the timeline) as a path."""
    if url.startswith("file:"):
        p = Path(otio.url_utils.filepath_from_url(url))
    else:
        p = Path(url)
    return p if p.is_absolute() else (base / p)


def media_timecode(path: Path) -> Fraction | None:
    """Seconds of the file's start timecode tag (``timecode`` in container or stream metadata)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            tc = c.metadata.get("timecode")
            rate: Fraction | None = None
            for s in c.streams.video:
                tc = tc or s.metadata.get("timecode")
                rate = Fraction(s.average_rate) if s.average_rate else None
                break
    except Exception:  # a tag we cannot read is a tag we do not use
        return None
    if not tc or not rate:
        return None
    try:
        t = otio.opentime.from_timecode(tc.replace(";", ":"), float(rate))
    except Exception:
        return None
    return seconds(t)


# --------------------------------------------------------------------------- the model


def build_conform(
    tl: otio.schema.Timeline,
    *,
    base: Path,
    media_dir: Path | None = None,
    missing: str = "slate",
    rate: Fraction | None = None,
    size: tuple[int, int] | None = None,
) -> Conform:
    """Translate a timeline into the render model; see the module docstring."""
    if missing not in MISSING_MODES:
        raise UsageError(f"--missing must be one of {', '.join(MISSING_MODES)}, not {missing!r}")
    if media_dir is not None and not media_dir.is_dir():
        raise UsageError(f"{media_dir}: --media-dir is not a folder")
    name = tl.name or "timeline"
    tracks = [t for t in tl.tracks if isinstance(t, otio.schema.Track)]
    if not tracks:
        raise TimelineError(f"timeline '{name}' has no tracks: nothing to render")
    r = rate or timeline_rate(tl)
    finder = MediaFinder(base, media_dir)
    notes: list[str] = []
    missing_clips: list[tuple[str, str]] = []
    total = 0
    vtracks: list[Track] = []
    atracks: list[Track] = []
    for i, t in enumerate(tracks):
        if not t.enabled:
            notes.append(f"track '{t.name or i + 1}' is disabled and not rendered")
            continue
        kind = "audio" if t.kind == otio.schema.TrackKind.Audio else "video"
        t = flatten_nested(t, notes)
        track = _track(t, kind, r, finder, notes, missing_clips)
        if not track.items:
            continue
        total = max(total, track.items[-1].end)
        (vtracks if kind == "video" else atracks).append(track)
    if not vtracks and not atracks:
        raise TimelineError(f"timeline '{name}' has no track with anything on it: nothing to render")
    if not vtracks:
        notes.append(f"timeline '{name}' has sound only: the picture is black")
        vtracks.append(Track("video", "black", (Item("gap", "", 0, total, rate=r),), ()))
    if total <= 0:
        raise TimelineError(f"timeline '{name}' is empty (0 frames)")
    if missing_clips and missing == "error":
        raise TimelineError(
            f"{len(missing_clips)} clip(s) have no usable media: "
            + "; ".join(f"'{n}' ({why})" for n, why in missing_clips)
            + " (relink with --media-dir, or render slates with --missing slate)"
        )
    for n, why in missing_clips:
        notes.append(f"missing media, rendered a slate for '{n}': {why}")
    _note_leading_gap([*vtracks, *atracks], r, notes)
    vtracks = [_pad(t, total) for t in vtracks]
    atracks = [_pad(t, total) for t in atracks]
    width, height = size or _default_size(vtracks)
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise UsageError(f"output size {width}x{height} must be positive and even")
    # every audio track is rendered, silence standing in for missing media; without audio
    # tracks the sound is the first video track's clips' own
    has_audio = bool(atracks) or any(
        it.media is not None and it.media.info.has_audio and it.speed != 0
        for t in vtracks[:1]
        for it in t.items
    )
    _check_handles([*vtracks, *atracks], notes)
    sample_rate, channels = sound_format(atracks or vtracks[:1])
    return Conform(
        name=name,
        rate=r,
        frames=total,
        width=width,
        height=height,
        video=vtracks,
        audio=atracks,
        has_audio=has_audio,
        notes=notes,
        missing=[n for n, _ in missing_clips],
        sample_rate=sample_rate,
        channels=channels,
    )


def sound_format(tracks: list[Track]) -> tuple[int, int]:
    """(sample rate, channels) of the rendered sound: the sources' own when every sound they
    carry agrees and is mono or stereo (nothing is resampled or upmixed that was not asked
    for), else 48 kHz stereo."""
    found = {
        (it.media.info.audio.sample_rate, it.media.info.audio.channels)
        for t in tracks
        for it in t.items
        if it.media is not None and it.media.info.audio is not None
    }
    if len(found) == 1:
        rate, channels = next(iter(found))
        if channels in (1, 2) and rate in (
            8000,
            11025,
            12000,
            16000,
            22050,
            24000,
            32000,
            44100,
            48000,
            88200,
            96000,
        ):
            return int(rate), int(channels)
    return 48000, 2


def _frame(t: Fraction, rate: Fraction) -> Fraction:
    return t * rate


def _track(
    t: otio.schema.Track,
    kind: str,
    rate: Fraction,
    finder: MediaFinder,
    notes: list[str],
    missing: list[tuple[str, str]],
) -> Track:
    label = t.name or kind
    items: list[Item] = []
    pending: list[tuple[otio.schema.Transition, int, int]] = []  # transition, cut frame, index of item before
    cursor = Fraction(0)  # track time in seconds, exact
    for child in t:
        if isinstance(child, otio.schema.Transition):
            cut = _whole(cursor * rate, f"transition '{child.name}' on track '{label}'", notes)
            pending.append((child, cut, len(items) - 1))
            continue
        if not isinstance(child, (otio.schema.Clip, otio.schema.Gap)):
            raise TimelineError(
                f"track '{label}': a {type(child).__name__} '{child.name}' cannot be rendered"
            )
        what = f"'{child.name or type(child).__name__}' on track '{label}'"
        if child.source_range is None and not usable_range(_available(child)):
            raise TimelineError(
                f"clip {what} has no source range and its media reference no usable available range"
            )
        try:
            rng = child.trimmed_range()
        except Exception as exc:  # OTIO raises when a clip has no range at all
            raise TimelineError(f"clip '{child.name}' on track '{label}' has no source range: {exc}") from exc
        dur = seconds(rng.duration, f"the duration of {what}")
        if dur < 0:
            raise TimelineError(
                f"{what} has a negative duration ({float(dur * rate):g} frames): fix its source range"
            )
        start = _whole(cursor * rate, what + " (start)", notes)
        end = _whole((cursor + dur) * rate, what + " (end)", notes)
        cursor += dur
        if end <= start:
            if dur > 0:
                notes.append(f"{what} is shorter than one frame at {_fps(rate)} fps and was dropped")
            continue
        items.append(_item(child, kind, start, end, rate, finder, notes, missing, what))
    dissolves = tuple(_dissolve(tr, cut, before, items, rate, label, notes) for tr, cut, before in pending)
    _check_overlaps(dissolves, items, label)
    return Track(kind, label, tuple(items), dissolves)


# --------------------------------------------------------------------------- nested compositions


def flatten_nested(track: otio.schema.Track, notes: list[str]) -> otio.schema.Track:
    """``track`` with every nested Stack or Track replaced by what it shows, as an NLE plays a
    nested sequence or compound clip: the nested tracks of the same kind flattened (the top one
    wins where it has something), cut to the composition's own source range, its time effect
    (LinearTimeWarp, FreezeFrame) carried onto the clip inside. The timeline is not changed."""
    if not any(isinstance(c, otio.core.Composition) for c in track):
        return track
    flat = otio.schema.Track(name=track.name, kind=track.kind, source_range=track.source_range)
    flat.enabled = track.enabled
    for child in track:
        for item in _expand(child, track.kind, track.name or track.kind, notes):
            flat.append(item)
    return flat


def _expand(
    child: otio.core.Composable, kind: str, label: str, notes: list[str]
) -> list[otio.core.Composable]:
    if not isinstance(child, otio.core.Composition):
        return [child.clone()]
    name = child.name or type(child).__name__
    where = f"nested {type(child).__name__.lower()} '{name}' on track '{label}'"
    rng = child.trimmed_range()
    if not child.enabled:  # a disabled compound clip shows nothing, as a disabled clip
        return [otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=rng.duration))]
    if isinstance(child, otio.schema.Stack):
        layers = []  # a stack's tracks of this kind, and its bare items (each a layer of its own)
        for c in child:
            if isinstance(c, otio.schema.Track):
                if c.kind == kind:
                    layers.append(c.clone())
            elif not isinstance(c, otio.schema.Transition):
                layer = otio.schema.Track(kind=kind)
                layer.append(c.clone())
                layers.append(layer)
        if len(layers) > 1 and kind == otio.schema.TrackKind.Audio:
            notes.append(f"{where}: only the top of its {len(layers)} audio layers is heard")
        content = otio.algorithms.flatten_stack(layers) if layers else otio.schema.Track()
    else:
        content = child.clone()
        content.source_range = None
    scalar, freeze, other = _time_effects(child)
    for fx in other:
        notes.append(f"{where}: effect '{fx.effect_name or fx.name}' is not rendered")
    inner = rng
    warped = freeze or scalar != 1
    if warped:
        d = rng.duration
        length = otio.opentime.RationalTime(1 if freeze else d.value * float(abs(scalar)), d.rate)
        inner = otio.opentime.TimeRange(rng.start_time, length)
    try:
        cut = otio.algorithms.track_trimmed_to_range(content, inner)
    except Exception as exc:  # OTIO refuses to cut through a transition
        raise TimelineError(f"{where}: its source range cannot be cut from its content ({exc})") from exc
    items: list[otio.core.Composable] = []
    for c in cut:
        items += _expand(c, kind, label, notes)
    shown = sum(
        (c.duration() for c in items if not isinstance(c, otio.schema.Transition)),
        otio.opentime.RationalTime(0, inner.duration.rate),
    )
    if shown < inner.duration:  # the content ends before the composition's range does
        items.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=inner.duration - shown)))
    if warped:
        if any(isinstance(c, otio.schema.Transition) for c in items):
            notes.append(f"{where}: its time effect spans a transition and is not rendered (normal speed)")
            return _expand_plain(child, kind, label, notes)
        warped_items = _warp(items, rng.duration, scalar, freeze)
        if warped_items is None:
            notes.append(f"{where}: its reverse spans {len(items)} items and is not rendered (normal speed)")
            return _expand_plain(child, kind, label, notes)
        items = warped_items
    return items


def _warp(
    items: list[otio.core.Composable], length: otio.opentime.RationalTime, scalar: Fraction, freeze: bool
) -> list[otio.core.Composable] | None:
    """The items a composition's time effect shows, laid out in track time (None: not
    representable item by item). Track frame k shows content time k * s, so an item covering
    content [a, b) plays from the first frame at or after a / s, entered where that frame falls
    in it, with the effect on it; a freeze holds the one item's first frame for ``length``."""
    if freeze:
        item = items[0]
        item.source_range = otio.opentime.TimeRange(item.trimmed_range().start_time, length)
        if isinstance(item, otio.schema.Clip):
            item.effects.append(otio.schema.FreezeFrame())
        return [item]
    if scalar < 0 and len(items) > 1:
        return None
    rate = exact_rate(length.rate)
    speed = abs(scalar)
    total = round(seconds(length) * rate)
    out = []
    a = Fraction(0)  # content seconds where the item starts
    for i, item in enumerate(items):
        r = item.trimmed_range()
        dur = seconds(r.duration)
        first = math.ceil(a / speed * rate)  # first track frame showing this item
        last = total if i == len(items) - 1 else min(total, math.ceil((a + dur) / speed * rate))
        if last > first:
            enter = Fraction(first) / rate * speed - a  # content seconds into the item at that frame
            start = r.start_time + otio.opentime.RationalTime(
                float(enter * exact_rate(r.start_time.rate)), r.start_time.rate
            )
            item.source_range = otio.opentime.TimeRange(
                start, otio.opentime.RationalTime(last - first, length.rate)
            )
            if isinstance(item, otio.schema.Clip):
                item.effects.append(otio.schema.LinearTimeWarp(time_scalar=float(scalar)))
            out.append(item)
        a += dur
    return out


def _expand_plain(
    child: otio.core.Composition, kind: str, label: str, notes: list[str]
) -> list[otio.core.Composable]:
    """``child`` flattened without its time effects."""
    bare = child.clone()
    bare.effects[:] = [fx for fx in bare.effects if not isinstance(fx, otio.schema.TimeEffect)]
    return _expand(bare, kind, label, notes)


def _time_effects(item: otio.core.Item) -> tuple[Fraction, bool, list[otio.schema.Effect]]:
    scalar, freeze, other = Fraction(1), False, []
    for fx in item.effects:
        if isinstance(fx, otio.schema.FreezeFrame):
            freeze = True
        elif isinstance(fx, otio.schema.LinearTimeWarp):
            scalar *= Fraction(fx.time_scalar)
        else:
            other.append(fx)
    return scalar, freeze, other


def _whole(frames: Fraction, what: str, notes: list[str]) -> int:
    n = round(frames)
    if abs(frames - n) > Fraction(1, 1000):
        notes.append(
            f"{what} falls at frame {float(frames):.3f}, not on a frame of the timeline; rounded to {n}"
        )
    return n


def _fps(rate: Fraction) -> str:
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def _item(
    child: otio.core.Item,
    kind: str,
    start: int,
    end: int,
    rate: Fraction,
    finder: MediaFinder,
    notes: list[str],
    missing: list[tuple[str, str]],
    what: str,
) -> Item:
    name = child.name or ""
    if isinstance(child, otio.schema.Gap) or not child.enabled:
        return Item("gap", name, start, end, rate=rate)
    ref = child.media_reference
    if isinstance(ref, otio.schema.GeneratorReference):
        source = generator_source(ref, name)
        if source is not None:
            return Item("generator", name or ref.generator_kind, start, end, rate=rate, generator=source)
    path, relinked, why = finder.find(child)
    if path is None:
        missing.append((name or "(unnamed)", why))
        return Item("slate", name or "(unnamed)", start, end, rate=rate)
    try:
        info = finder.probe(path)
    except MediaError as exc:
        raise TimelineError(f"clip {what}: {exc}") from exc
    if kind == "video" and info.video is None:
        raise TimelineError(f"clip {what}: {path} has no video stream but sits on a video track")
    if relinked:
        notes.append(f"clip {what} relinked to {path}")
    avail = _available(child)
    if avail is not None and not usable_range(avail):
        notes.append(f"clip {what}: its media's available range has no rate; the file's own start is used")
        avail = None
    src = child.trimmed_range()
    if avail is not None:
        origin = seconds(avail.start_time)
    else:
        origin = Fraction(0)
        tc = media_timecode(path)
        if tc is not None and seconds(src.start_time) >= tc:
            origin = tc
    speed = Fraction(1)
    for effect in child.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            speed = Fraction(0)
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= Fraction(effect.time_scalar)  # exactly the float OTIO maps with
        else:
            notes.append(f"clip {what}: effect '{effect.effect_name or effect.name}' is not rendered")
    media = Media(path, info, origin, relinked)
    first = seconds(src.start_time) - origin  # media seconds of the source range start
    return Item("clip", name or path.name, start, end, media, first, speed, rate)


def generator_source(ref: otio.schema.GeneratorReference, name: str = "") -> str | None:
    """The lavfi source drawing a generator: SMPTE bars, black (and FCP's slug), a solid colour
    (OTIO's ``SolidColor``, FCP/Premiere colour mattes), transparent video; None for others.

    Writers name generators in their own words (``generator_kind`` "SMPTEBars", FCP's
    ``mediaSource`` "Slug" with the clip named "Black Video" or "HD Bars and Tone", a
    generatoritem "Color" with a ``fillcolor`` parameter), so kind and name are both read."""
    words = f"{ref.generator_kind} {ref.name or ''} {name}".lower().replace("_", " ")
    if "bars" in words or "smpte" in words:
        return "smptehdbars"
    if "transparent" in words:
        return "color=c=black@0.0"
    rgb = _colour_of({"parameters": dict(ref.parameters), "metadata": dict(ref.metadata)})
    if rgb is not None or any(w in words for w in ("solidcolor", "solid color", "color", "colour", "matte")):
        r, g, b = rgb or (0, 0, 0)
        return f"color=c=0x{r:02x}{g:02x}{b:02x}"
    if "black" in words or "slug" in words:
        return "color=c=black"
    return None


def _colour_of(value: object) -> tuple[int, int, int] | None:
    """An RGB colour found anywhere in generator parameters or metadata: {red, green, blue}
    (0-255, or 0-1 floats), a ``color`` list [r, g, b(, a)] or a hex string."""
    if isinstance(value, Mapping):
        d = {str(k).lower(): v for k, v in value.items()}
        if all(k in d for k in ("red", "green", "blue")):
            return _rgb([d["red"], d["green"], d["blue"]])
        for key in ("color", "colour", "fillcolor"):
            if key in d:
                got = _rgb(d[key])
                if got is not None:
                    return got
        for v in d.values():
            got = _colour_of(v)
            if got is not None:
                return got
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for v in value:
            got = _colour_of(v)
            if got is not None:
                return got
    return None


def _rgb(value: object) -> tuple[int, int, int] | None:
    try:
        if isinstance(value, str):
            h = value.strip().lstrip("#")
            if h.lower().startswith("0x"):
                h = h[2:]
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)) if len(h) >= 6 else None
        parts = [float(x) for x in list(value)[:3]]  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if len(parts) != 3:
        return None
    scale = 255 if all(0 <= p <= 1 for p in parts) and any(p != int(p) for p in parts) else 1
    return tuple(max(0, min(255, round(p * scale))) for p in parts)  # type: ignore[return-value]


def _available(child: otio.core.Item) -> otio.opentime.TimeRange | None:
    ref = getattr(child, "media_reference", None)
    return getattr(ref, "available_range", None) if ref is not None else None


def _dissolve(
    tr: otio.schema.Transition,
    cut: int,
    before: int,
    items: list[Item],
    rate: Fraction,
    label: str,
    notes: list[str],
) -> Dissolve:
    name = tr.name or tr.transition_type or "transition"
    after = before + 1
    a = items[before] if 0 <= before < len(items) and items[before].end == cut else None
    b = items[after] if after < len(items) and items[after].start == cut else None
    t_in = round(seconds(tr.in_offset) * rate)
    t_out = round(seconds(tr.out_offset) * rate)
    where = f"transition '{name}' on track '{label}' at frame {cut}"
    if t_in < 0 or t_out < 0 or t_in + t_out == 0:
        raise TimelineError(f"{where} has offsets {t_in}+{t_out} frames; both must be >= 0 and not both 0")
    if a is None and b is None:
        raise TimelineError(f"{where} has no clip on either side")
    if a is not None and t_in > a.frames:
        raise TimelineError(
            f"{where} starts {t_in} frames before the cut but '{a.name or 'gap'}' is only {a.frames} frames long"
        )
    if b is not None and t_out > b.frames:
        raise TimelineError(
            f"{where} ends {t_out} frames after the cut but '{b.name or 'gap'}' is only {b.frames} frames long"
        )
    if a is None and t_in:
        notes.append(
            f"{where} opens the track: its {t_in} frames before the start were dropped (fade from black)"
        )
        t_in = 0
    if b is None and t_out:
        notes.append(
            f"{where} closes the track: its {t_out} frames after the end were dropped (fade to black)"
        )
        t_out = 0
    effect = "fade"
    if tr.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
        meta = tr.metadata.get("shotline") if tr.metadata else None
        wanted = str(meta.get("xfade", "")) if meta is not None and hasattr(meta, "get") else ""
        if wanted in XFADE_NAMES:
            effect = wanted
        else:
            notes.append(f"{where}: type '{tr.transition_type}' is rendered as a dissolve")
    return Dissolve(
        cut - t_in,
        cut + t_out,
        before if a is not None else None,
        after if b is not None else None,
        effect,
        name,
    )


def _check_overlaps(dissolves: Iterable[Dissolve], items: list[Item], label: str) -> None:
    prev: Dissolve | None = None
    for d in sorted(dissolves, key=lambda d: d.start):
        if prev is not None and d.start < prev.end:
            if prev.after is not None and prev.after == d.before:
                it = items[prev.after]
                what = f"{'clip' if it.kind != 'gap' else 'gap'} '{it.name or it.kind}'"
                raise TimelineError(
                    f"{what} on track '{label}' is {it.frames} frames long, but transition "
                    f"'{prev.name}' runs {prev.end - it.start} frames into it and '{d.name}' "
                    f"{it.end - d.start} frames: together more than the clip; shorten one of them"
                )
            raise TimelineError(
                f"transitions '{prev.name}' (frames {prev.start}-{prev.end - 1}) and '{d.name}' "
                f"(frames {d.start}-{d.end - 1}) on track '{label}' follow each other with no clip "
                "between them; put a clip between them or remove one"
            )
        prev = d


def _pad(track: Track, total: int) -> Track:
    end = track.items[-1].end if track.items else 0
    if end >= total:
        return track
    rate = track.items[-1].rate if track.items else Fraction(25)
    return Track(
        track.kind, track.name, (*track.items, Item("gap", "", end, total, rate=rate)), track.dissolves
    )


LONG_LEADING_GAP = Fraction(10)  # seconds of nothing at the start that deserve a note


def _note_leading_gap(tracks: list[Track], rate: Fraction, notes: list[str]) -> None:
    """Say so when every track starts with a long stretch of nothing (a start timecode that a
    writer turned into a gap renders as an hour of black)."""
    lead = min(
        (next((it.start for it in t.items if it.kind != "gap"), t.items[-1].end) for t in tracks if t.items),
        default=0,
    )
    if lead / rate >= LONG_LEADING_GAP:
        notes.append(
            f"the timeline starts with {lead} frames ({_clock(lead / rate)}) of black and silence on every "
            "track; the render includes them (trim the timeline if that is a start timecode, not an edit)"
        )


def _clock(t: Fraction) -> str:
    s = int(t)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _default_size(tracks: list[Track]) -> tuple[int, int]:
    for t in tracks:
        for it in t.items:
            if it.media is not None and it.media.info.video is not None:
                w, h = it.media.info.video.display_size
                return w - (w % 2), h - (h % 2)
    return 1920, 1080


def _check_handles(tracks: list[Track], notes: list[str]) -> None:
    """Report clips (with their transition handles) that reach outside their media."""
    for t in tracks:
        need: dict[int, tuple[int, int]] = {i: (it.start, it.end) for i, it in enumerate(t.items)}
        for d in t.dissolves:
            if d.before is not None:
                s, _ = need[d.before]
                need[d.before] = (s, d.end)
            if d.after is not None:
                _, e = need[d.after]
                need[d.after] = (d.start, e)
        for i, (s, e) in need.items():
            it = t.items[i]
            if it.media is None or it.speed == 0:
                continue
            lo = min(it.media_at(s), it.media_at(e - 1))
            hi = max(it.media_at(s), it.media_at(e - 1))
            dur = it.media.duration
            where = f"clip '{it.name}' on track '{t.name}'"
            if lo < -Fraction(1, 10**5):
                notes.append(
                    f"{where} needs {float(-lo):.3f} s of media before its file starts; the first frame is held"
                )
            if hi >= dur + Fraction(1, 10**5):
                notes.append(
                    f"{where} needs {float(hi - dur):.3f} s of media after its file ends; the last frame is held"
                )


__all__ = [
    "Conform",
    "Dissolve",
    "Item",
    "Media",
    "Track",
    "build_conform",
    "exact_rate",
    "read_timeline",
    "timeline_rate",
]
