"""The OTIO shape DaVinci Resolve imports, and a checker for it.

Resolve's ``ImportTimelineFromFile`` refuses some perfectly valid OTIO documents and says
nothing (it returns None). Its own OTIO export, which it always re-imports, has this shape:

1. ``target_url`` is a bare file path, not a ``file://`` URL;
2. every media reference has ``available_range``, starting at the media's own start
   timecode (0 when the file has none), at the media's rate;
3. clip ``source_range`` lives in that same timecode space (a file that starts at
   01:00:00:00 has its first frame at 86400 at 24 fps, not at 0);
4. clips are ``Clip.2`` with a ``media_references`` map and ``active_media_reference_key``
   ``DEFAULT_MEDIA``; ``enabled`` and ``metadata`` on every object;
5. the timeline has ``global_start_time`` (Resolve writes 01:00:00:00) and
   ``metadata["Resolve_OTIO"] = {"Resolve OTIO Meta Version": "1.0"}``;
6. tracks are named "Video 1", "Audio 1"... and carry ``metadata["Resolve_OTIO"]``
   (``Locked``, plus ``Audio Type`` on audio tracks);
7. transitions are ``SMPTE_Dissolve`` with media handles on both sides of the cut.

``to_resolve_shape`` rewrites a copy of a timeline into that shape (for OTIO, and for
FCP7 XML, where the same timecode origin gives the ``<timecode>`` elements Resolve reads);
``resolve_problems`` checks a serialized document against the rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import opentimelineio as otio

from shotline.otio_adapters.build import NAMESPACE, path_from_url
from shotline.otio_adapters.timeline import timeline_rate

if TYPE_CHECKING:
    from shotline.otio_adapters.timeline import ExportReport

RESOLVE_NS = "Resolve_OTIO"
START_TC_HOURS = 1


def media_start_frames(path: Path, rate: float) -> int:
    """The media's start timecode in frames at ``rate`` (0 when the file carries none)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = [container.metadata.get("timecode")]
            tags += [s.metadata.get("timecode") for s in container.streams]
    except (av.error.FFmpegError, OSError):
        return 0
    for tc in tags:
        if tc:
            try:
                return int(round(otio.opentime.from_timecode(str(tc).replace(";", ":"), rate).value))
            except ValueError:
                continue
    return 0


def _audio_type(clips: list[otio.schema.Clip]) -> str:
    """Resolve's track format: Mono only when every clip on the track is mono."""
    channels = [
        ((getattr(c.media_reference, "metadata", None) or {}).get(NAMESPACE) or {}).get("channels")
        for c in clips
    ]
    known = [int(n) for n in channels if n]
    return "Mono" if known and max(known) == 1 else "Stereo"


def _probed_range(path: Path) -> otio.opentime.TimeRange | None:
    from shotline.core.errors import MediaError
    from shotline.core.media.probe import probe

    try:
        info = probe(path)
    except MediaError:
        return None
    if info.video is None:
        return None
    from shotline.otio_adapters.build import media_reference

    return media_reference(info, info.video.rate).available_range


def to_resolve_shape(
    timeline: otio.schema.Timeline, report: ExportReport | None = None, *, bare_paths: bool = True
) -> otio.schema.Timeline:
    """A copy of ``timeline`` in the shape Resolve imports (see the module docstring)."""
    tl = timeline.deepcopy()
    rate = float(timeline_rate(tl))
    tl.global_start_time = otio.opentime.RationalTime(round(START_TC_HOURS * 3600 * rate), rate)
    tl.metadata[RESOLVE_NS] = {"Resolve OTIO Meta Version": "1.0"}
    counters = {otio.schema.TrackKind.Video: 0, otio.schema.TrackKind.Audio: 0}
    origins: dict[str, int] = {}
    for track in tl.tracks:
        counters[track.kind] = counters.get(track.kind, 0) + 1
        label = "Video" if track.kind == otio.schema.TrackKind.Video else "Audio"
        old = track.name
        track.name = f"{label} {counters[track.kind]}"
        if old and old != track.name:
            track.metadata.setdefault(NAMESPACE, {})["name"] = old
        meta: dict[str, Any] = {"Locked": False}
        if track.kind == otio.schema.TrackKind.Audio:
            meta["Audio Type"] = _audio_type(list(track.find_clips()))
        track.metadata[RESOLVE_NS] = meta
        for item in track:
            if isinstance(item, otio.schema.Transition):
                if item.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
                    if report is not None:
                        xf = (item.metadata.get(NAMESPACE) or {}).get("xfade", item.transition_type)
                        report.changed.append(
                            f"{track.name}: transition {xf} written as SMPTE_Dissolve (Resolve imports only dissolves from OTIO)"
                        )
                    item.transition_type = otio.schema.TransitionTypes.SMPTE_Dissolve
                continue
            if not isinstance(item, otio.schema.Clip):
                continue
            ref = item.media_reference
            if not isinstance(ref, otio.schema.ExternalReference):
                continue
            path = path_from_url(ref.target_url)
            if ref.available_range is None and path.is_file():
                # timelines from EDLs and other tools often lack it; Resolve needs it
                ref.available_range = _probed_range(path)
                if report is not None:
                    report.changed.append(f"clip {item.name}: available_range filled in from the media file")
            if ref.available_range is None:
                continue  # reported by resolve_problems; nothing to anchor the timecode on
            ar = ref.available_range
            key = str(path)
            if key not in origins:
                origins[key] = media_start_frames(path, ar.start_time.rate) if path.exists() else 0
            origin = origins[key]
            shift = origin - int(round(ar.start_time.value))
            if shift:
                ref.available_range = otio.opentime.TimeRange(
                    otio.opentime.RationalTime(origin, ar.start_time.rate), ar.duration
                )
                sr = item.source_range
                if sr is not None:
                    delta = otio.opentime.RationalTime(shift, ar.start_time.rate).rescaled_to(
                        sr.start_time.rate
                    )
                    item.source_range = otio.opentime.TimeRange(sr.start_time + delta, sr.duration)
                    for m in item.markers:
                        mr = m.marked_range
                        m.marked_range = otio.opentime.TimeRange(mr.start_time + delta, mr.duration)
            if bare_paths:
                ref.target_url = str(path)
    return tl


def resolve_problems(document: str | dict[str, Any]) -> list[str]:
    """Every way a serialized OTIO timeline breaks the Resolve import rules; [] when it follows them."""
    doc = json.loads(document) if isinstance(document, str) else document
    problems: list[str] = []
    if doc.get("OTIO_SCHEMA", "").split(".")[0] != "Timeline":
        return [f"top level is {doc.get('OTIO_SCHEMA')}, not a Timeline"]
    if not doc.get("global_start_time"):
        problems.append("timeline has no global_start_time")
    if (doc.get("metadata") or {}).get(RESOLVE_NS, {}).get("Resolve OTIO Meta Version") != "1.0":
        problems.append("timeline metadata lacks Resolve_OTIO / Resolve OTIO Meta Version 1.0")
    tracks = (doc.get("tracks") or {}).get("children") or []
    if not tracks:
        problems.append("timeline has no tracks")
    seen: dict[str, int] = {}
    for t in tracks:
        kind = t.get("kind")
        seen[kind] = seen.get(kind, 0) + 1
        want = f"{'Video' if kind == 'Video' else 'Audio'} {seen[kind]}"
        if t.get("name") != want:
            problems.append(f"track {t.get('name')!r} should be named {want!r}")
        rmeta = (t.get("metadata") or {}).get(RESOLVE_NS)
        if not isinstance(rmeta, dict) or "Locked" not in rmeta:
            problems.append(f"track {t.get('name')!r} lacks Resolve_OTIO track metadata")
        elif kind == "Audio" and "Audio Type" not in rmeta:
            problems.append(f"audio track {t.get('name')!r} lacks Resolve_OTIO 'Audio Type'")
        children = t.get("children") or []
        for i, item in enumerate(children):
            schema = item.get("OTIO_SCHEMA", "")
            for key in ("enabled", "metadata"):
                if key not in item and not schema.startswith("Transition"):
                    problems.append(f"{schema} {item.get('name')!r} lacks {key!r}")
            if schema.startswith("Transition"):
                problems += _transition_problems(children, i, item)
            elif schema.startswith("Clip"):
                problems += _clip_problems(item)
    return problems


def _clip_problems(item: dict[str, Any]) -> list[str]:
    name = item.get("name")
    out: list[str] = []
    if item.get("OTIO_SCHEMA") != "Clip.2":
        return [f"clip {name!r} is {item.get('OTIO_SCHEMA')}, not Clip.2"]
    refs = item.get("media_references") or {}
    key = item.get("active_media_reference_key")
    if key != "DEFAULT_MEDIA" or key not in refs:
        return [f"clip {name!r}: active_media_reference_key is {key!r}, not DEFAULT_MEDIA"]
    ref = refs[key]
    if not ref.get("OTIO_SCHEMA", "").startswith("ExternalReference"):
        return [f"clip {name!r} has no external media ({ref.get('OTIO_SCHEMA')})"]
    url = ref.get("target_url") or ""
    if url.startswith("file:"):
        out.append(f"clip {name!r}: target_url is a file:// URL, Resolve wants a bare path")
    ar = ref.get("available_range")
    if not ar:
        return [*out, f"clip {name!r}: media reference has no available_range"]
    sr = item.get("source_range")
    if not sr:
        return [*out, f"clip {name!r} has no source_range"]
    a0 = ar["start_time"]["value"] / ar["start_time"]["rate"]
    a1 = a0 + ar["duration"]["value"] / ar["duration"]["rate"]
    s0 = sr["start_time"]["value"] / sr["start_time"]["rate"]
    tol = 0.5 / ar["start_time"]["rate"]
    if s0 < a0 - tol or s0 > a1 + tol:
        out.append(
            f"clip {name!r}: source range starts at {s0:.3f} s, outside the media's timecode "
            f"range {a0:.3f}-{a1:.3f} s (source ranges must be in the media's own timecode)"
        )
    return out


def _transition_problems(children: list[dict[str, Any]], i: int, item: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if item.get("transition_type") != "SMPTE_Dissolve":
        out.append(f"transition {item.get('name')!r} is {item.get('transition_type')}, not SMPTE_Dissolve")
    before = children[i - 1] if i > 0 else None
    after = children[i + 1] if i + 1 < len(children) else None

    def secs(rt: dict[str, Any]) -> float:
        return float(rt["value"]) / float(rt["rate"])

    def media(c: dict[str, Any]) -> tuple[float, float, float, float] | None:
        if c.get("effects"):
            return None  # a time warp changes how much media the range uses
        ref = (c.get("media_references") or {}).get(c.get("active_media_reference_key") or "") or {}
        ar, sr = ref.get("available_range"), c.get("source_range")
        if not ar or not sr:
            return None
        return (
            secs(ar["start_time"]),
            secs(ar["start_time"]) + secs(ar["duration"]),
            secs(sr["start_time"]),
            secs(sr["start_time"]) + secs(sr["duration"]),
        )

    tol = 1e-6
    if before is not None and before.get("OTIO_SCHEMA", "").startswith("Clip") and item.get("out_offset"):
        m = media(before)
        if m and m[3] + secs(item["out_offset"]) > m[1] + tol:
            out.append(
                f"transition {item.get('name')!r}: clip {before.get('name')!r} has no media handle after the cut"
            )
    if after is not None and after.get("OTIO_SCHEMA", "").startswith("Clip") and item.get("in_offset"):
        m = media(after)
        if m and m[2] - secs(item["in_offset"]) < m[0] - tol:
            out.append(
                f"transition {item.get('name')!r}: clip {after.get('name')!r} has no media handle before the cut"
            )
    return out


def write_resolve_otio(timeline: otio.schema.Timeline) -> str:
    """Serialize ``timeline`` in the Resolve shape; raises ValueError listing any rule it breaks."""
    text = otio.adapters.write_to_string(to_resolve_shape(timeline), adapter_name="otio_json")
    problems = resolve_problems(text)
    if problems:
        raise ValueError("not importable by Resolve: " + "; ".join(problems))
    return text
