"""Export a timeline to NLE formats through OTIO's own adapter plugins.

Each format keeps a different part of the edit. Before writing, a per-format
``prepare`` step adapts a copy of the timeline to what the adapter can carry and
records every loss or substitution in an ``ExportReport``: nothing is dropped
silently. What each adapter keeps was measured (otio-cmx3600-adapter 1.0,
otio-fcp-adapter 1.0, otio-fcpx-xml-adapter 1.0, otio-aaf-adapter 2.0):

* EDL (CMX 3600): one video track, cuts, dissolves as D events, fades as dissolves
  from/to black (BL), speed as M2, markers as LOC comments. No sound, no metadata,
  reel names of at most 8 characters.
* FCP7 XML: every track, dissolves, fades, markers; no shotline metadata.
* FCPXML: tracks and markers; this writer drops every transition.
* AAF: tracks, dissolves and fades (fades over filler), once each transition carries the AAF
  operation metadata the writer needs (filled in here); non-dissolve transitions become dissolves.
* OTIO / OTIOZ: everything (OTIOZ also carries the media).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotline.core.errors import DependencyError, TimelineError, UsageError
from shotline.core.media.runner import atomic_output
from shotline.otio_adapters.build import NAMESPACE
from shotline.otio_adapters.timeline import ExportReport, timeline_rate


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    adapter: str
    label: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("otio", ".otio", "otio_json", "OpenTimelineIO JSON"),
        Format("otioz", ".otioz", "otioz", "OpenTimelineIO bundle with media"),
        Format("edl", ".edl", "cmx_3600", "CMX 3600 EDL"),
        Format("fcp7", ".xml", "fcp_xml", "Final Cut Pro 7 XML (Premiere, Resolve)"),
        Format("fcpxml", ".fcpxml", "fcpx_xml", "Final Cut Pro X XML"),
        Format("aaf", ".aaf", "AAF", "Avid AAF"),
    )
}
EDL_REEL_LEN = 8


def format_for(name: str | None, output: Path | None = None) -> Format:
    """The export format by name, or guessed from the output's suffix."""
    if name:
        key = name.lower()
        aliases = {"xml": "fcp7", "fcp": "fcp7", "premiere": "fcp7", "cmx3600": "edl", "fcpx": "fcpxml"}
        key = aliases.get(key, key)
        if key not in FORMATS:
            raise UsageError(f"format {name!r}: choose one of {', '.join(FORMATS)}")
        return FORMATS[key]
    if output is not None:
        for f in FORMATS.values():
            if output.name.lower().endswith(f.suffix):
                return f
    raise UsageError(f"{output}: cannot tell the format from the name; give -f {'|'.join(FORMATS)}")


def _rate(timeline: otio.schema.Timeline) -> float:
    return float(timeline_rate(timeline))


def check_exportable(timeline: otio.schema.Timeline, where: str = "timeline") -> None:
    """Refuse timelines no format can carry: no tracks, or nothing on them."""
    if len(timeline.tracks) == 0:
        raise TimelineError(f"{where}: has no tracks; nothing to export")
    if not any(isinstance(c, otio.schema.Clip) for c in timeline.find_clips()):
        raise TimelineError(f"{where}: has no clips on any track; nothing to export")
    for clip in timeline.find_clips():
        if clip.source_range is None:
            try:
                clip.trimmed_range()
            except Exception:
                raise TimelineError(
                    f"{where}: clip '{clip.name}' has no length (no source range, and its media "
                    "reference no available range); no format can place it"
                ) from None
    for track in timeline.tracks:
        if not isinstance(track, otio.schema.Track):
            continue
        for idx, t in _transitions(track):
            before = track[idx - 1] if idx > 0 else None
            after = track[idx + 1] if idx + 1 < len(track) else None
            for side, item, need in (("before", before, t.in_offset), ("after", after, t.out_offset)):
                if isinstance(item, otio.schema.Transition):
                    raise TimelineError(
                        f"{where}: {_describe(track, idx, t)} sits next to another transition"
                    )
                if item is not None and item.duration().to_seconds() + 1e-9 < need.to_seconds():
                    raise TimelineError(
                        f"{where}: {_describe(track, idx, t)} reaches {need.to_seconds():.3f} s {side} the cut "
                        f"but {item.name or type(item).__name__} lasts {item.duration().to_seconds():.3f} s"
                    )


def _shot_metadata_present(timeline: otio.schema.Timeline) -> bool:
    for clip in timeline.find_clips():
        meta = clip.metadata.get(NAMESPACE) or {}
        if any(k not in ("shot", "role") for k in meta):
            return True
    return False


def _transitions(track: otio.schema.Track) -> list[tuple[int, otio.schema.Transition]]:
    return [(i, c) for i, c in enumerate(track) if isinstance(c, otio.schema.Transition)]


def _describe(track: otio.schema.Track, idx: int, t: otio.schema.Transition) -> str:
    names = [
        c.name
        for c in (track[idx - 1] if idx > 0 else None, track[idx + 1] if idx + 1 < len(track) else None)
        if c
    ]
    kind = (t.metadata.get(NAMESPACE) or {}).get("xfade") or t.transition_type
    frames = int(round(t.in_offset.value + t.out_offset.value * t.in_offset.rate / (t.out_offset.rate or 1)))
    where = " / ".join(names) if names else "?"
    return f"{track.name or track.kind} transition {kind} ({frames} frames) at {where}"


def _explicit_ranges(timeline: otio.schema.Timeline) -> None:
    """Give every clip the source range it plays (its media's available range when it has none):
    the EDL, FCP7 and FCPXML writers read ``clip.source_range`` and fail on None."""
    for clip in timeline.find_clips():
        if clip.source_range is None:
            try:
                clip.source_range = clip.trimmed_range()
            except Exception:  # no range anywhere: check_exportable names it
                continue


def _apply_track_ranges(timeline: otio.schema.Timeline, report: ExportReport) -> None:
    """A track with a source range of its own (the EDL reader sets one) written as the items
    it shows: the FCPXML writer fails on it ("computed time range would be invalid")."""
    for i, track in enumerate(list(timeline.tracks)):
        if not isinstance(track, otio.schema.Track) or track.source_range is None:
            continue
        if track.source_range == track.available_range():
            track.source_range = None
            continue
        trimmed = otio.algorithms.track_trimmed_to_range(track, track.source_range)
        trimmed.source_range = None
        timeline.tracks[i] = trimmed
        report.changed.append(f"{track.name or track.kind} track: cut to its own source range")


def _flatten_nested(timeline: otio.schema.Timeline, report: ExportReport, label: str) -> None:
    """Nested stacks and tracks (compound clips, nested sequences) written as the clips they
    show, as the renderer plays them: the NLE formats' writers fail on them or write filler."""
    from shotline.otio_adapters.conform.model import flatten_nested

    for i, track in enumerate(list(timeline.tracks)):
        if not isinstance(track, otio.schema.Track):
            continue
        nested = [c.name or type(c).__name__ for c in track if isinstance(c, otio.core.Composition)]
        if not nested:
            continue
        notes: list[str] = []
        flat = flatten_nested(track, notes)
        timeline.tracks[i] = flat.clone()
        report.changed.append(
            f"{track.name or track.kind} track: nested {', '.join(repr(n) for n in nested)} written as the "
            f"clips {'they show' if len(nested) > 1 else 'it shows'} ({label} writers cannot nest)"
        )
        report.changed += notes


def _missing_media(timeline: otio.schema.Timeline) -> list[str]:
    out = []
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if ref is None or isinstance(ref, otio.schema.MissingReference):
            out.append(clip.name or "(unnamed clip)")
    return out


def _custom_to_dissolve(timeline: otio.schema.Timeline, report: ExportReport, fmt: str) -> None:
    for track in timeline.tracks:
        for idx, t in _transitions(track):
            if t.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
                report.changed.append(
                    f"{_describe(track, idx, t)}: written as a dissolve ({fmt} has no such transition)"
                )
                t.transition_type = otio.schema.TransitionTypes.SMPTE_Dissolve


def _drop_metadata_note(timeline: otio.schema.Timeline, report: ExportReport, fmt: str) -> None:
    if _shot_metadata_present(timeline):
        report.dropped.append(
            f"shot metadata (prompt, seed, provider, model, take, task id, cost): {fmt} has no place for it"
        )


def _reel(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name)[:EDL_REEL_LEN].upper() or "AX"


def prepare_edl(timeline: otio.schema.Timeline, report: ExportReport) -> otio.schema.Timeline:
    videos = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and t.enabled]
    if not videos:
        raise TimelineError("an EDL needs a video track and this timeline has none")
    keep = videos[0]
    for t in timeline.tracks:
        if t is keep:
            continue
        clips = len(list(t.find_clips()))
        what = "audio" if t.kind == otio.schema.TrackKind.Audio else "video"
        why = (
            "an EDL here carries one video track; use fcp7, aaf or otio for sound"
            if what == "audio"
            else ("an EDL carries one video track")
        )
        report.dropped.append(f"{what} track {t.name or '?'} ({clips} clips): {why}")
    timeline.tracks[:] = [keep]
    # OTIO's EDL reader starts the track at the first event and ends it at the last: a gap at
    # either end would vanish. A black (BL) event of its length keeps the edit as it was.
    _black_ends(keep, (0, -1), report, "EDL")
    _custom_to_dissolve(timeline, report, "EDL")
    _edl_speed_handles(keep)
    # reel names: at most 8 characters, letters and digits, unique per source file
    by_source: dict[str, str] = {}
    used: set[str] = set()
    for clip in keep.find_clips():
        ref = clip.media_reference
        if _is_black(clip):
            clip.metadata.setdefault("cmx_3600", {})["reel"] = "BL"
            continue
        source = getattr(ref, "target_url", None) or clip.name
        if source not in by_source:
            base = _reel(Path(str(source)).stem if getattr(ref, "target_url", None) else clip.name)
            reel, n = base, 1
            while reel in used:
                suffix = str(n)
                reel = base[: EDL_REEL_LEN - len(suffix)] + suffix
                n += 1
            used.add(reel)
            by_source[source] = reel
            full = Path(str(source)).stem if getattr(ref, "target_url", None) else clip.name
            if reel != full:
                report.changed.append(
                    f"reel name {full!r} written as {reel!r} (EDL reels are {EDL_REEL_LEN} characters)"
                )
        clip.metadata.setdefault("cmx_3600", {})["reel"] = by_source[source]
    for idx, t in _transitions(keep):
        if idx == 0 or idx == len(keep) - 1:
            report.changed.append(
                f"{_describe(keep, idx, t)}: written as a dissolve {'from' if idx == 0 else 'to'} black (BL event); "
                "OTIO's own EDL reader cannot read a transition at the start of a track back"
            )
    for clip in keep.find_clips():
        s = _speed(clip)
        if s is not None and s < 0:
            report.changed.append(
                f"clip {clip.name}: reverse speed x{s:g} written as an M2 line with the writer's forward "
                "source range; check it in the NLE"
            )
    rate = _rate(timeline)
    report.changed.append(
        f"the EDL holds no frame rate: read it at {rate:g} fps (otioconvert -a rate={rate:g}; OTIO assumes 24)"
    )
    _drop_metadata_note(timeline, report, "EDL")
    return timeline


def _drop_time_effects(timeline: otio.schema.Timeline, report: ExportReport, fmt: str) -> None:
    """Writers that ignore time effects would play the clip at normal speed: say so, per clip."""
    for track in timeline.tracks:
        for clip in track.find_clips():
            for fx in list(clip.effects):
                if isinstance(fx, otio.schema.TimeEffect):
                    what = (
                        "freeze frame"
                        if isinstance(fx, otio.schema.FreezeFrame)
                        else (f"speed x{getattr(fx, 'time_scalar', '?')}")
                    )
                    report.dropped.append(
                        f"{track.name or track.kind} clip {clip.name}: {what} (the {fmt} writer does not carry time "
                        "effects; the clip keeps its length and plays at normal speed from its in point)"
                    )
                    clip.effects.remove(fx)


def _fill_media_ranges(timeline: otio.schema.Timeline, report: ExportReport) -> None:
    """Give every external reference its media's length (the FCP7 and FCPXML writers read it and
    fail on None): probed from the file when it exists, else the range the clip plays (listed)."""
    from shotline.core.errors import MediaError
    from shotline.core.media.probe import probe
    from shotline.otio_adapters.build import path_from_url

    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or ref.available_range is not None:
            continue
        rate = clip.trimmed_range().duration.rate
        path = path_from_url(ref.target_url)
        try:
            info = probe(path) if path.is_file() else None
        except MediaError:
            info = None
        avail = None
        if info is not None and info.duration > 0:
            from shotline.otio_adapters.conform.model import media_timecode

            frames = math.floor(info.duration * rate + 1e-6)
            tc = media_timecode(path)
            start = round(float(tc) * rate) if tc is not None else 0
            avail = otio.opentime.TimeRange(
                otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(frames, rate)
            )
            if clip.source_range is not None and not avail.contains(clip.source_range):
                avail = None  # the clip's range is not in the file as probed: keep what it plays
        if avail is not None:
            ref.available_range = avail
        elif clip.source_range is not None:
            ref.available_range = clip.source_range
            report.changed.append(
                f"clip {clip.name}: its media's length is unknown; written as the "
                f"{clip.source_range.duration.value:g} frames the clip plays"
            )


def _fcp7_generators(timeline: otio.schema.Timeline) -> None:
    """Generators written as FCP7 clips whose file names a mediaSource (Premiere's way, and what
    the reader turns back into a GeneratorReference): the writer needs a length for the file and
    a ``media`` element to skip its guess from the file name's extension (which fails here)."""
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.GeneratorReference):
            continue
        if ref.available_range is None and clip.source_range is not None:
            ref.available_range = clip.source_range
        meta = dict(ref.metadata.get("fcp_xml") or {})
        if "effecttype" not in meta and "media" not in meta:
            media = (
                "audio"
                if clip.parent() is not None and clip.parent().kind == otio.schema.TrackKind.Audio
                else "video"
            )
            ref.metadata["fcp_xml"] = {**meta, "media": {media: {}}}


def _black_ends(track: otio.schema.Track, ends: tuple[int, ...], report: ExportReport, fmt: str) -> None:
    """Gaps at the given ends of ``track`` written as black generator clips: the format's
    reader ends (or starts) the track at its last (first) clip and would drop them."""
    for at in ends:
        if len(track) and isinstance(track[at], otio.schema.Gap) and track[at].duration().value > 0:
            gap = track[at]
            where = "leading" if at == 0 else "trailing"
            # an EDL's BL event; in FCP7, Premiere's "Black Video" slug
            kind, name = ("black", "BL") if fmt == "EDL" else ("Slug", "Black Video")
            track[at] = otio.schema.Clip(
                name=name,
                media_reference=otio.schema.GeneratorReference(name=name, generator_kind=kind),
                source_range=otio.opentime.TimeRange(duration=gap.duration()),
                metadata={"cmx_3600": {"reel": "BL"}} if fmt == "EDL" else {},
            )
            report.changed.append(
                f"{track.name or track.kind} track: the {where} gap ({gap.duration().value:g} frames) is "
                f"written as black; {fmt} readers drop a {where} gap"
            )


def prepare_fcp7(timeline: otio.schema.Timeline, report: ExportReport) -> otio.schema.Timeline:
    for track in timeline.tracks:
        if isinstance(track, otio.schema.Track) and track.kind == otio.schema.TrackKind.Video:
            _black_ends(track, (-1,), report, "FCP7 XML")
    _fill_media_ranges(timeline, report)
    _fcp7_generators(timeline)
    _custom_to_dissolve(timeline, report, "FCP7 XML")
    _drop_time_effects(timeline, report, "FCP7 XML")
    _drop_metadata_note(timeline, report, "FCP7 XML")
    return timeline


def prepare_fcpxml(timeline: otio.schema.Timeline, report: ExportReport) -> otio.schema.Timeline:
    rate = _rate(timeline)  # before the tracks are cut to their ranges, which may leave them empty
    _apply_track_ranges(timeline, report)
    _fill_media_ranges(timeline, report)  # the writer reads every asset's length
    if abs(rate - round(rate)) > 1e-6:
        # measured: otio-fcpx-xml-adapter 1.0 turns 30000/1001 into 29 (int) when it writes
        # offsets and when it reads them, so every cut would land in the wrong place
        raise TimelineError(
            f"FCPXML at {rate:.3f} fps: the FCPXML adapter rounds fractional rates to whole numbers "
            "and would misplace every cut; export fcp7 or otio for this timeline"
        )
    for track in timeline.tracks:
        for idx, t in reversed(_transitions(track)):
            report.dropped.append(
                f"{_describe(track, idx, t)}: the FCPXML writer drops transitions (the cut stays at the "
                "transition's centre); use fcp7 or otio to keep it"
            )
            del track[idx]  # as the writer would: what is written is what reads back
    _drop_time_effects(timeline, report, "FCPXML")
    _drop_metadata_note(timeline, report, "FCPXML")
    return timeline


# AAF operation definitions (SMPTE/AAF SDK effect ids) for the transitions we write
_AAF_DISSOLVE = {
    otio.schema.TrackKind.Video: ("Video Dissolve", "0c3bea40-fc05-11d2-8a29-0050040ef7d2", "Picture"),
    otio.schema.TrackKind.Audio: ("Mono Audio Dissolve", "0c3bea44-fc05-11d2-8a29-0050040ef7d2", "Sound"),
}


def aaf_transition_metadata(kind: str, transition: otio.schema.Transition) -> dict[str, Any]:
    """The ``metadata['AAF']`` the AAF writer requires on a dissolve: operation, level ramp, cut point."""
    name, ident, data_def = _AAF_DISSOLVE.get(kind, _AAF_DISSOLVE[otio.schema.TrackKind.Video])
    return {
        "CutPoint": int(round(transition.in_offset.value)),
        "PointList": [{"Value": 0, "Time": 0}, {"Value": 1, "Time": 1}],
        "OperationGroup": {
            "Operation": {
                "Name": name,
                "Description": f"{name} (linear level ramp)",
                "Identification": ident,
                "IsTimeWarp": False,
                "Bypass": 1,
                "NumberInputs": 2,
                "OperationCategory": "OperationCategory_Effect",
                "DataDefinition": {"Name": data_def},
            }
        },
    }


def _aaf_mob_ids(timeline: otio.schema.Timeline) -> None:
    """One AAF source MobID per media file, shared by that file's picture and sound clips."""
    import aaf2.mobid

    ids: dict[str, str] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if ref is None:
            ref = clip.media_reference = otio.schema.MissingReference()
        meta = ref.metadata.get("AAF") or {}
        if meta.get("MobID") or meta.get("SourceID"):
            continue
        key = getattr(ref, "target_url", None) or clip.name
        if key not in ids:
            ids[key] = str(aaf2.mobid.MobID.new())
        ref.metadata["AAF"] = {**dict(meta), "MobID": ids[key]}


def prepare_aaf(timeline: otio.schema.Timeline, report: ExportReport) -> otio.schema.Timeline:
    _custom_to_dissolve(timeline, report, "AAF")
    _drop_time_effects(timeline, report, "AAF")
    rate = _rate(timeline)
    _aaf_mob_ids(timeline)
    for track in timeline.tracks:
        for _, t in _transitions(track):
            t.metadata["AAF"] = aaf_transition_metadata(track.kind, t)
        # An AAF transition overlaps the segments on both sides; a fade at a sequence edge
        # overlaps filler. An empty Gap there is what the writer stretches into that filler
        # (Filler + Transition + SourceClip, as Avid writes a fade from black).
        empty = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(0, rate)
        )
        if len(track) and isinstance(track[0], otio.schema.Transition):
            track.insert(0, otio.schema.Gap(source_range=empty))
        if len(track) and isinstance(track[-1], otio.schema.Transition):
            track.append(otio.schema.Gap(source_range=empty))
        for item in track:
            if isinstance(item, otio.schema.Clip):
                _aaf_media_range(item, report)
                _rescale_clip(item, rate, report)
            elif isinstance(item, otio.schema.Gap) and item.source_range is not None:
                sr = item.source_range
                item.source_range = otio.opentime.TimeRange(
                    sr.start_time.rescaled_to(rate), sr.duration.rescaled_to(rate)
                )
    _drop_metadata_note(timeline, report, "AAF")
    return timeline


def _aaf_media_range(clip: otio.schema.Clip, report: ExportReport) -> None:
    """The AAF writer needs every clip's media length: where the reference does not know it
    (offline media), the source range the clip plays stands in for it."""
    ref = clip.media_reference
    if ref is None:
        ref = clip.media_reference = otio.schema.MissingReference()
    if getattr(ref, "available_range", None) is None and clip.source_range is not None:
        ref.available_range = clip.source_range
        report.changed.append(
            f"clip {clip.name}: its media's length is unknown; written as the {clip.source_range.duration.value:g} "
            "frames the clip plays"
        )


def _is_black(item: otio.core.Composable) -> bool:
    """A clip of black (an EDL's BL event reads back as one): the same picture as a gap."""
    ref = getattr(item, "media_reference", None)
    if not isinstance(ref, otio.schema.GeneratorReference):
        return False
    kind = ref.generator_kind.lower()
    return kind in ("black", "bl") or (kind == "slug" and "black" in (ref.name or "").lower())


def _rescale_clip(clip: otio.schema.Clip, rate: float, report: ExportReport) -> None:
    """AAF wants every clip and media range at the edit rate."""
    sr = clip.source_range
    if sr is not None and abs(sr.duration.rate - rate) > 1e-9:
        report.changed.append(
            f"clip {clip.name}: source range converted from {sr.duration.rate:g} to {rate:g} fps edit units"
        )
        clip.source_range = otio.opentime.TimeRange(
            sr.start_time.rescaled_to(rate).round(), sr.duration.rescaled_to(rate).round()
        )
    ref = clip.media_reference
    ar = getattr(ref, "available_range", None)
    if ar is not None and abs(ar.duration.rate - rate) > 1e-9:
        ref.available_range = otio.opentime.TimeRange(
            ar.start_time.rescaled_to(rate).round(), ar.duration.rescaled_to(rate).round()
        )


_PREPARE = {"edl": prepare_edl, "fcp7": prepare_fcp7, "fcpxml": prepare_fcpxml, "aaf": prepare_aaf}


def prepare(
    timeline: otio.schema.Timeline, fmt: Format, for_resolve: bool = False
) -> tuple[otio.schema.Timeline, ExportReport]:
    """A copy of ``timeline`` shaped for ``fmt``, and the report of what that shaping cost."""
    check_exportable(timeline)
    report = ExportReport(output=None, format=fmt.name)
    tl = copy.deepcopy(timeline)
    _explicit_ranges(tl)
    missing = _missing_media(tl)
    if missing:
        report.changed.append(f"clips without media (written offline): {', '.join(missing)}")
    step = _PREPARE.get(fmt.name)
    if step is not None:
        _flatten_nested(tl, report, fmt.label)
        tl = step(tl, report)
    if for_resolve:
        from shotline.otio_adapters.resolve_shape import to_resolve_shape

        if fmt.name not in ("otio", "fcp7", "otioz"):
            raise UsageError(f"--for resolve applies to otio and fcp7 exports, not {fmt.name}")
        if fmt.name != "otioz":
            tl = to_resolve_shape(tl, report=report, bare_paths=fmt.name == "otio")
    return tl, report


def _adapter_kwargs(fmt: Format, timeline: otio.schema.Timeline) -> dict[str, Any]:
    if fmt.name == "edl":
        return {"rate": _rate(timeline), "reelname_len": EDL_REEL_LEN}
    return {}


def export_timeline(
    timeline: otio.schema.Timeline,
    output: Path,
    fmt: str | None = None,
    *,
    for_resolve: bool = False,
    overwrite: bool = False,
    inputs: Iterable[Path] = (),
    strict: bool = False,
    media_dir: Path | None = None,
    base: Path | None = None,
    allow_missing: bool = False,
) -> ExportReport:
    """Write ``timeline`` to ``output`` in ``fmt`` atomically and say what the format could not carry.

    Every NLE export is read back with the same adapter and compared with what was written
    (track lengths, clips, transitions, gaps, the source frame of every frame): differences
    land in ``report.read_back``. ``strict`` refuses (and writes nothing) when anything would
    be dropped or reads back differently. For .otioz, ``media_dir`` relinks missing media by
    name, ``base`` resolves relative paths (the timeline's folder) and ``allow_missing``
    bundles references without their media instead of refusing."""
    output = Path(output)
    f = format_for(fmt, output)
    if f.name == "aaf":
        _require_aaf()
    tl, report = prepare(timeline, f, for_resolve=for_resolve)
    report.output = output
    if strict and report.dropped:
        raise TimelineError(f"{f.label} would drop: " + "; ".join(report.dropped))
    if f.name == "otioz":
        from shotline.otio_adapters.bundle import write_otioz

        write_otioz(
            tl,
            output,
            overwrite=overwrite,
            inputs=tuple(inputs),
            media_dir=media_dir,
            base=base,
            allow_missing=allow_missing,
            report=report.changed,
        )
        return report
    kwargs = _adapter_kwargs(f, tl)
    # the EDL writer changes the clips it is given: take what the speed fix needs first
    speeds = _edl_speed_plan(tl) if f.name == "edl" else []
    with atomic_output(output, tuple(inputs), overwrite) as tmp:
        try:
            if f.name == "aaf":
                # pyaaf2 writes a compound document: it needs a real file, not a string
                otio.adapters.write_to_file(tl, str(tmp), adapter_name=f.adapter, **kwargs)
                fix_aaf_sequence_lengths(tmp)
            else:
                text = otio.adapters.write_to_string(tl, adapter_name=f.adapter, **kwargs)
                if f.name == "edl":
                    text = _with_fcm(fix_edl_speed(text, speeds, _rate(tl)))
                if for_resolve and f.name == "otio":
                    _check_resolve(text, output)
                tmp.write_text(text, encoding="utf-8")
        except (TimelineError, UsageError):
            raise
        except Exception as exc:
            msg = str(exc).strip().splitlines()
            detail = f"{type(exc).__name__}: {' '.join(msg[:3])[:300] if msg else ''}"
            culprit = _culprit(tl, f, kwargs)
            if culprit:
                raise TimelineError(
                    f"{output}: {f.label} cannot hold {culprit} (the writer failed: {detail})"
                ) from exc
            raise TimelineError(f"{output}: the {f.label} writer refused this timeline ({detail})") from exc
        if f.name not in ("otio", "otioz"):
            edit_rate = kwargs.get("rate") or _rate(timeline)  # the prepared copy may have no items left
            report.read_back = read_back_differences(tl, tmp, f, edit_rate)
            if strict and report.read_back:
                raise TimelineError(
                    f"{output}: {f.label} would change the edit: "
                    + "; ".join(report.read_back)
                    + " (not written)"
                )
    return report


def _culprit(tl: otio.schema.Timeline, fmt: Format, kwargs: dict[str, Any]) -> str | None:
    """The first clip the writer cannot write on its own, described (None: no single clip fails)."""
    import tempfile

    checked = 0
    for track in tl.tracks:
        for item in track:
            if not isinstance(item, otio.schema.Clip) or checked >= 200:
                continue
            checked += 1
            one = otio.schema.Timeline(name=tl.name, global_start_time=tl.global_start_time)
            t = otio.schema.Track(name=track.name, kind=track.kind)
            t.append(item.clone())
            one.tracks.append(t)
            try:
                if fmt.name == "aaf":
                    with tempfile.TemporaryDirectory() as d:
                        otio.adapters.write_to_file(
                            one, str(Path(d) / "one.aaf"), adapter_name=fmt.adapter, **kwargs
                        )
                else:
                    otio.adapters.write_to_string(one, adapter_name=fmt.adapter, **kwargs)
            except Exception:
                ref = item.media_reference
                kind = type(ref).__name__ if ref is not None else "no media reference"
                extra = f" '{ref.generator_kind}'" if isinstance(ref, otio.schema.GeneratorReference) else ""
                return f"clip '{item.name}' on {track.kind.lower()} track '{track.name or track.kind}' ({kind}{extra})"
    return None


# --------------------------------------------------------------------------- read-back check


@dataclass(frozen=True)
class TrackShape:
    """What a track shows, in timeline frames: what an export must keep."""

    kind: str
    name: str
    frames: int
    clips: int
    transitions: list[tuple[int, int]]  # [start, end) of each transition
    shown: dict[int, int]  # timeline frame -> source frame, outside transitions
    gaps: list[tuple[int, int]]  # [start, end) of each gap


def track_shape(track: otio.schema.Track, rate: float) -> TrackShape:
    def fr(t: otio.opentime.RationalTime) -> int:
        return round(t.rescaled_to(rate).value)

    spans, gaps = [], []
    shown: dict[int, int] = {}
    clips = 0
    for i, item in enumerate(track):
        r = track.range_of_child_at_index(i)
        a, b = fr(r.start_time), fr(r.end_time_exclusive())
        if isinstance(item, otio.schema.Transition):
            spans.append((a, b))
        elif isinstance(item, otio.schema.Gap) or _is_black(item):
            gaps.append((a, b))
        elif isinstance(item, otio.schema.Clip):
            clips += 1
            src = item.trimmed_range()
            s0 = src.start_time.rescaled_to(rate).value
            scalar = 1.0
            for fx in item.effects:
                if isinstance(fx, otio.schema.LinearTimeWarp):
                    scalar = fx.time_scalar
            for t in range(a, b):
                k = t - a if scalar >= 0 else b - 1 - t
                shown[t] = int(s0 + k * abs(scalar) + 1e-6) if scalar else int(s0 + 1e-6)
    covered = {t for a, b in spans for t in range(a, b)}
    shown = {t: f for t, f in shown.items() if t not in covered}
    return TrackShape(
        str(track.kind), track.name or str(track.kind), fr(track.duration()), clips, spans, shown, gaps
    )


def compare_tracks(written: TrackShape, back: TrackShape | None) -> list[str]:
    """What reads back differently from what was written, one line per kind of difference."""
    where = f"{written.kind.lower()} track {written.name}"
    if back is None:
        return [f"{where}: not in the file read back"]
    out = []
    if back.frames != written.frames:
        out.append(f"{where}: {written.frames} frames long, reads back as {back.frames}")
    if back.clips != written.clips:
        out.append(f"{where}: {written.clips} clips, reads back with {back.clips}")
    if back.transitions != written.transitions:
        out.append(
            f"{where}: transitions at frames {_spans(written.transitions)}, read back at {_spans(back.transitions)}"
        )
    if back.gaps != written.gaps and [b - a for a, b in back.gaps] != [b - a for a, b in written.gaps]:
        out.append(f"{where}: gaps {_spans(written.gaps)} read back as {_spans(back.gaps)}")
    moved = [t for t, f in written.shown.items() if back.shown.get(t) != f]
    if moved:
        first = moved[0]
        got = back.shown.get(first)
        out.append(
            f"{where}: {len(moved)} frame(s) show other source frames (first: frame {first} shows "
            f"{'nothing' if got is None else f'source frame {got}'}, not {written.shown[first]})"
        )
    return out


def _spans(spans: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{a}-{b}" for a, b in spans[:6])
    return (shown + (f" and {len(spans) - 6} more" if len(spans) > 6 else "")) or "none"


def read_back_differences(
    written: otio.schema.Timeline, path: Path, fmt: Format, rate: float | None = None
) -> list[str]:
    """Read ``path`` back with ``fmt``'s adapter and list how it differs from ``written``."""
    rate = rate or _rate(written)
    kwargs: dict[str, Any] = {"rate": rate} if fmt.name == "edl" else {}
    try:
        back = otio.adapters.read_from_file(str(path), adapter_name=fmt.adapter, **kwargs)
    except Exception as exc:  # the format's own reader cannot read what its writer wrote
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [f"the {fmt.label} reader cannot read the file back ({type(exc).__name__}: {first[:200]})"]
    if isinstance(back, otio.schema.SerializableCollection):
        found = list(back.find_children(descended_from_type=otio.schema.Timeline))
        if not found:
            return ["the file reads back with no timeline in it"]
        back = found[0]
    out: list[str] = []
    for kind in (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio):
        mine = [t for t in written.tracks if isinstance(t, otio.schema.Track) and t.kind == kind]
        theirs = [t for t in back.tracks if isinstance(t, otio.schema.Track) and t.kind == kind]
        for i, t in enumerate(mine):
            if not len(t):
                continue
            out += compare_tracks(
                track_shape(t, rate), track_shape(theirs[i], rate) if i < len(theirs) else None
            )
    a = round(written.duration().rescaled_to(rate).value)
    b = round(back.duration().rescaled_to(rate).value)
    if a != b:
        out.append(f"the timeline is {a} frames long and reads back as {b}")
    return out


def _check_resolve(text: str, output: Path) -> None:
    from shotline.otio_adapters.resolve_shape import resolve_problems

    problems = resolve_problems(text)
    if problems:
        raise TimelineError(f"{output}: Resolve would refuse this timeline silently: " + "; ".join(problems))


def _speed(clip: otio.schema.Clip) -> float | None:
    """The clip's LinearTimeWarp scalar (not a freeze), or None."""
    for fx in clip.effects:
        if isinstance(fx, otio.schema.LinearTimeWarp) and not isinstance(fx, otio.schema.FreezeFrame):
            return float(fx.time_scalar)
    return None


@dataclass(frozen=True)
class _EdlSpeed:
    name: str
    reel: str
    speed: float | None


def _edl_speed_plan(timeline: otio.schema.Timeline) -> list[_EdlSpeed]:
    return [
        _EdlSpeed(c.name, (c.metadata.get("cmx_3600") or {}).get("reel", ""), _speed(c))
        for c in timeline.tracks[0]
        if isinstance(c, otio.schema.Clip) and c.enabled
    ]


def _edl_speed_handles(track: otio.schema.Track) -> None:
    """Prepare speed-changed clips that start inside a dissolve for the EDL writer.

    The writer moves such a clip's source in back by the dissolve's in_offset in record
    frames; the media it plays in that time is in_offset x speed. Starting the clip
    in_offset x (1 - speed) later makes the written source in the right one (and keeps it
    from going below zero, where the writer fails).
    """
    for i, item in enumerate(track):
        if (
            i == 0
            or not isinstance(item, otio.schema.Clip)
            or not isinstance(track[i - 1], otio.schema.Transition)
        ):
            continue
        s = _speed(item)
        if s is None or s <= 0:
            continue
        lead = track[i - 1].in_offset
        sr = item.source_range
        shift = otio.opentime.RationalTime(lead.value * (1 - s), lead.rate).rescaled_to(sr.start_time.rate)
        item.source_range = otio.opentime.TimeRange(sr.start_time + shift, sr.duration)


_TC = re.compile(r"\d\d[:;]\d\d[:;]\d\d[:;]\d\d")


def fix_edl_speed(text: str, plan: list[_EdlSpeed], rate: float) -> str:
    """Give speed-changed events the source range of the media they play, as CMX 3600 wants.

    The writer (otio-cmx3600-adapter 1.0) writes a speed-changed event's source out as
    source in + record length, and names the clip instead of the reel on the M2 line, so
    readers see no speed change. Each event with record time that shows a sped-up or
    slowed clip gets ``source out = source in + record length x speed`` and an M2 line
    naming its reel. Events pair with clips in order (one event line with record time per
    clip); when they do not pair, only the M2 names are corrected.
    """
    lines = text.splitlines(keepends=True)
    events = []
    for i, line in enumerate(lines):
        if line[:3].isdigit() and line.split()[1] != "BL":  # BL: black, the far side of a fade
            tcs = list(_TC.finditer(line))
            if len(tcs) == 4:
                rec_in = otio.opentime.from_timecode(tcs[2].group(), rate).value
                rec_out = otio.opentime.from_timecode(tcs[3].group(), rate).value
                if rec_out > rec_in:
                    events.append((i, tcs, rec_out - rec_in))
    paired = zip(events, plan) if len(events) == len(plan) else iter(())
    for (i, tcs, record), clip in paired:
        if clip.speed is None or clip.speed <= 0:
            continue
        src_in = otio.opentime.from_timecode(tcs[0].group(), rate).value
        src_out = otio.opentime.RationalTime(src_in + round(record * clip.speed), rate)
        line = lines[i]
        lines[i] = line[: tcs[1].start()] + otio.opentime.to_timecode(src_out, rate) + line[tcs[1].end() :]
    # M2 lines name the reel, as the event lines do (NLEs match them by reel)
    reels = {c.name: c.reel for c in plan if c.reel}
    for j, line in enumerate(lines):
        if line.startswith("M2 "):
            name = line[2:].split("\t")[0].strip()
            if name in reels:
                lines[j] = line.replace(name, reels[name], 1)
    return "".join(lines)


def _with_fcm(text: str) -> str:
    """Add the CMX frame-code-mode line the writer leaves out, matching the timecodes it wrote."""
    events = [ln for ln in text.splitlines() if ln[:3].isdigit()]
    drop = any(";" in ln for ln in events)
    fcm = "FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME"
    lines = text.splitlines(keepends=True)
    at = 2 if lines and lines[0].startswith("TITLE:") else 0
    return "".join(lines[:at] + [fcm + "\n"] + lines[at:])


def fix_aaf_sequence_lengths(path: Path) -> None:
    """Set each composition Sequence's length to what its components add up to.

    otio-aaf-adapter 2.0 writes picture sequences with length 0 and sound sequences with the
    transitions counted as extra time; in AAF a transition overlaps its neighbours, so a
    sequence lasts the sum of its segments minus its transitions.
    """
    import aaf2

    with aaf2.open(str(path), "rw") as f:
        for mob in f.content.compositionmobs():
            for slot in mob.slots:
                seg = slot.segment
                seq = (
                    seg.segments[0]
                    if isinstance(seg, aaf2.components.OperationGroup) and seg.segments
                    else seg
                )
                if not isinstance(seq, aaf2.components.Sequence):
                    continue
                comps = list(seq.components)
                trans = sum(c.length for c in comps if isinstance(c, aaf2.components.Transition))
                length = sum(c.length for c in comps if not isinstance(c, aaf2.components.Transition)) - trans
                seq.length = length
                if seg is not seq:
                    seg.length = length


def _require_aaf() -> None:
    if "AAF" not in otio.adapters.available_adapter_names():
        raise DependencyError("AAF export needs the optional AAF adapter: pip install 'shotline[aaf]'")
