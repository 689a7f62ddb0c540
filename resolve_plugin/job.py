"""Write the job file the Resolve script reads: timeline, project settings, looks, markers, renders.

The job is plain JSON (schema ``shotline.resolve-job``, version 1) so that the script,
which runs in Resolve's bare Python, can read it with the standard library. Its
validator lives in the script (``shotline_resolve.validate_job``) and is used here
too: one definition of what a valid job is.

Render jobs come from the platform presets in ``shotline.core.ops.presets``, mapped to
Resolve's own render settings: the format and codec *ids* Resolve wants (``'mp4'``,
``'H264'``, never the descriptions ``'MP4'``, ``'H.264'``), the frame size, and a
quality word, because Resolve treats integer ``VideoQuality`` values as a list index
rather than a bitrate (measured), so the preset's CRF maps to "Best"/"High"/"Medium".
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotline.core.errors import MediaError, TimelineError, UsageError
from shotline.core.media.runner import atomic_output, check_output
from shotline.core.ops.presets import get_preset
from shotline.otio_adapters.timeline import read_timeline, timeline_rate
from shotline.resolve_plugin import shotline_resolve as script

# OTIO marker colours -> the 16 marker colours Resolve accepts
MARKER_COLORS = {
    "RED": "Red",
    "PINK": "Pink",
    "ORANGE": "Sand",
    "YELLOW": "Yellow",
    "GREEN": "Green",
    "CYAN": "Cyan",
    "BLUE": "Blue",
    "PURPLE": "Purple",
    "MAGENTA": "Fuchsia",
    "BLACK": "Cocoa",
    "WHITE": "Cream",
}

_RATE_NAMES = {
    Fraction(24000, 1001): "23.976",
    Fraction(30000, 1001): "29.97",
    Fraction(48000, 1001): "47.952",
    Fraction(60000, 1001): "59.94",
    Fraction(96000, 1001): "95.904",
    Fraction(120000, 1001): "119.88",
}


@dataclass(frozen=True)
class RenderTarget:
    """One Resolve render job made from a platform preset."""

    preset: str
    format: str  # Resolve's extension id, as GetRenderFormats() values give it
    codec: str  # Resolve's codec id, as GetRenderCodecs(format) values give it
    width: int
    height: int
    quality: str
    frame_rate: float | None = None  # None: the timeline's rate

    def to_job(self, target_dir: str, file_name: str) -> dict[str, Any]:
        extra = {} if self.frame_rate is None else {"frame_rate": self.frame_rate}
        return {
            **extra,
            "preset": self.preset,
            "format": self.format,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "target_dir": target_dir,
            "file_name": file_name,
            "quality": self.quality,
            "export_audio": True,
            "audio_codec": "aac",
            "audio_sample_rate": 48000,
        }


def render_target(name: str, timeline_rate: Fraction | None = None) -> RenderTarget:
    """Map a platform preset (name or alias) to Resolve render settings; UsageError if unknown.

    With ``timeline_rate``, a platform that caps the frame rate (Instagram at 30) gets the
    preset's own rate policy (an integer division of the timeline rate, 60 -> 30).
    """
    preset = get_preset(name)
    quality = "Best" if preset.crf <= 18 else "High" if preset.crf <= 21 else "Medium"
    fps = None
    if timeline_rate is not None:
        out = preset.output_fps(Fraction(timeline_rate))
        if out != timeline_rate:
            fps = round(float(out), 3)
    # every platform preset is H.264 in MP4 (see core.presets); Resolve names them 'mp4'/'H264'
    return RenderTarget(preset.name, "mp4", "H264", preset.width, preset.height, quality, fps)


def resolve_rate(rate: Fraction | float) -> str:
    """A frame rate as Resolve's timelineFrameRate string ('23.976', '25', '29.97'...)."""
    value = Fraction(rate).limit_denominator(1001)
    name = _RATE_NAMES.get(value) or (str(value.numerator) if value.denominator == 1 else None)
    if name is None or name not in script.RESOLVE_RATES:
        raise UsageError(
            f"Resolve timelines cannot run at {float(value):.3f} fps; "
            f"use one of {', '.join(script.RESOLVE_RATES)}"
        )
    return name


@dataclass(frozen=True)
class TimelineFacts:
    """What the job needs to know about the .otio: name, rate, size, shot names, markers."""

    name: str
    rate: Fraction
    width: int | None
    height: int | None
    shots: tuple[str, ...]
    video_tracks: int
    markers: tuple[dict[str, Any], ...]


def timeline_facts(path: Path) -> TimelineFacts:
    """What the Resolve script needs to know of a timeline file; TimelineError naming it if unusable."""
    if not path.is_file():
        raise MediaError(path, "timeline file not found")
    try:
        timeline = read_timeline(path)
    except TimelineError as exc:
        raise TimelineError(f"{path}: not a readable OTIO timeline ({exc})") from exc
    video = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    clips = [c for t in video for c in t.find_clips(shallow_search=True)]
    if not clips:
        raise TimelineError(f"{path}: the timeline has no video clips")
    meta = timeline.metadata.get("shotline") or {}
    rate = timeline_rate(timeline)
    markers: list[dict[str, Any]] = []
    for track in video:
        for clip in track.find_clips(shallow_search=True):
            record = track.range_of_child(clip).start_time
            src_start = (
                clip.source_range.start_time if clip.source_range else otio.opentime.RationalTime(0, rate)
            )
            for m in clip.markers:
                at = record + (m.marked_range.start_time - src_start)
                markers.append(_marker(m, int(round(at.rescaled_to(float(rate)).value)), clip.name))
    for m in timeline.tracks.markers:
        markers.append(_marker(m, int(round(m.marked_range.start_time.rescaled_to(float(rate)).value)), ""))
    return TimelineFacts(
        name=timeline.name or path.stem,
        rate=rate,
        width=_int_or_none(meta.get("width")),
        height=_int_or_none(meta.get("height")),
        shots=tuple(_shot_id(c) for c in clips),
        video_tracks=len(video),
        markers=tuple(markers),
    )


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _shot_id(clip: Any) -> str:
    meta = clip.metadata.get("shotline") or {}
    for key in ("shot_id", "shot", "id"):
        if isinstance(meta.get(key), str) and meta[key]:
            return str(meta[key])
    return str(clip.name)


def _plain(value: Any) -> Any:
    """OTIO metadata (AnyDictionary / AnyVector) as plain JSON data."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "AnyVector":
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _marker(m: Any, frame: int, clip_name: str) -> dict[str, Any]:
    custom = json.dumps(_plain(m.metadata.get("shotline") or {}), sort_keys=True)
    return {
        "frame": max(0, frame),
        "color": MARKER_COLORS.get(str(m.color).upper(), "Blue"),
        "name": m.name or clip_name or "marker",
        "note": m.comment or "",
        "duration": max(1, int(round(m.marked_range.duration.value))),
        "custom_data": custom if len(custom) <= 2000 else "",
    }


def write_fcp7_xml(
    timeline_path: Path,
    output: Path,
    overwrite: bool = False,
    *,
    width: int | None = None,
    height: int | None = None,
) -> Path:
    """The FCP7 XML fallback for Resolve versions or setups where the OTIO import fails.

    OTIO's fcp_xml adapter leaves the sequence ``<format/>`` empty and writes bare paths as
    ``pathurl``; Resolve and other NLEs ignore or misplace such a sequence. This fills in the
    sequence format (frame size, rate), its start timecode, and ``file://`` URLs.
    """
    facts = timeline_facts(Path(timeline_path))
    w, h = width or facts.width, height or facts.height
    if not w or not h:
        raise UsageError(
            f"{timeline_path}: the timeline does not say its frame size; pass --width and --height"
        )
    timeline = read_timeline(timeline_path)
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
            ref.target_url = _file_url(ref.target_url)
    with atomic_output(output, [timeline_path], overwrite) as tmp:
        try:
            text = otio.adapters.write_to_string(timeline, adapter_name="fcp_xml")
        except Exception as exc:
            raise TimelineError(f"{timeline_path}: cannot be written as FCP7 XML ({exc})") from exc
        start = timeline.global_start_time
        start_frame = int(round(start.rescaled_to(float(facts.rate)).value)) if start is not None else 0
        tmp.write_text(_complete_fcp7(text, facts.rate, int(w), int(h), start_frame), encoding="utf-8")
    return output


def _file_url(target: str) -> str:
    """A media reference's target as a file:// URL (left alone when it already is a URL)."""
    if "://" in target:
        return target
    return Path(target).expanduser().absolute().as_uri()


def _rate_elements(parent: ET.Element, rate: Fraction) -> None:
    el = ET.SubElement(parent, "rate")
    ET.SubElement(el, "timebase").text = str(round(rate))
    ET.SubElement(el, "ntsc").text = "TRUE" if Fraction(rate).denominator == 1001 else "FALSE"


def _timecode(frame: int, rate: Fraction) -> str:
    fps = round(rate)
    seconds, ff = divmod(frame, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def _complete_fcp7(text: str, rate: Fraction, width: int, height: int, start_frame: int) -> str:
    """Fill each sequence's video format and start timecode in OTIO's FCP7 XML."""
    root = ET.fromstring(text)
    for seq in root.iter("sequence"):
        video = seq.find("./media/video")
        if video is not None:
            fmt = video.find("format")
            if fmt is None:
                fmt = ET.Element("format")
                video.insert(0, fmt)
            for child in list(fmt):
                fmt.remove(child)
            sc = ET.SubElement(fmt, "samplecharacteristics")
            _rate_elements(sc, rate)
            ET.SubElement(sc, "width").text = str(width)
            ET.SubElement(sc, "height").text = str(height)
            ET.SubElement(sc, "anamorphic").text = "FALSE"
            ET.SubElement(sc, "pixelaspectratio").text = "square"
            ET.SubElement(sc, "fielddominance").text = "none"
        if seq.find("timecode") is None:
            tc = ET.Element("timecode")
            _rate_elements(tc, rate)
            ET.SubElement(tc, "string").text = _timecode(start_frame, rate)
            ET.SubElement(tc, "frame").text = str(start_frame)
            ET.SubElement(tc, "displayformat").text = "NDF"
            children = list(seq)
            at = next((i + 1 for i, c in enumerate(children) if c.tag == "rate"), len(children))
            seq.insert(at, tc)
    ET.indent(root, space="    ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n'
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


def build_job(
    timeline_path: Path,
    *,
    name: str | None = None,
    project: str | None = None,
    width: int | None = None,
    height: int | None = None,
    drx: Path | None = None,
    drx_shots: Mapping[str, Path] | None = None,
    drx_tracks: Mapping[int, Path] | None = None,
    grade_mode: int = 0,
    lut: Path | None = None,
    lut_shots: Mapping[str, Path] | None = None,
    lut_tracks: Mapping[int, Path] | None = None,
    presets: Iterable[str] = (),
    render_dir: Path | None = None,
    start_render: bool = False,
    wait: bool = True,
    fallback_xml: Path | None = None,
    import_as: str = "auto",
    timeout_s: float = 24 * 3600,
    allow_offline: bool = False,
    render_offline: bool = False,
    overwrite_renders: bool = False,
) -> dict[str, Any]:
    """The job dict for ``timeline_path``; every file is checked and every path made absolute.

    ``import_as`` 'auto' imports the .otio on Resolve 18.5+ and falls back to ``fallback_xml``;
    'fcp7xml' imports only the XML (which must then be given). Render files are named after
    the timeline as Resolve names it on import (``Promo 2 - youtube`` on a re-run), and never
    replace an existing file unless ``overwrite_renders``. ``allow_offline`` lets a run with
    offline clips count as a success; ``render_offline`` renders it anyway.
    """
    timeline_path = Path(timeline_path).resolve()
    if import_as not in ("auto", "otio", "fcp7xml"):
        raise UsageError(f"import format {import_as!r}: use auto, otio or fcp7xml")
    if import_as == "fcp7xml" and fallback_xml is None:
        raise UsageError("importing as FCP7 XML needs the XML: drop --no-xml")
    facts = timeline_facts(timeline_path)
    w, h = width or facts.width, height or facts.height
    if not w or not h:
        raise UsageError(
            f"{timeline_path}: the timeline does not say its frame size; pass --width and --height"
        )
    grades = _look(facts, "--drx", "DRX grade", drx, drx_shots, drx_tracks)
    grades["mode"] = grade_mode
    luts = _look(facts, "--lut", "LUT", lut, lut_shots, lut_tracks)
    targets = [render_target(p, facts.rate) for p in presets]
    base = (name or facts.name).strip() or "shotline"
    out_dir = str(Path(render_dir or timeline_path.parent / "renders").resolve())
    job: dict[str, Any] = {
        "schema": script.SCHEMA,
        "version": script.SCHEMA_VERSION,
        "timeline": {
            "path": str(timeline_path),
            "name": base,
            "format": import_as,
            "fallback_xml": str(Path(fallback_xml).resolve()) if fallback_xml else None,
        },
        "project": {
            "name": project,
            "frame_rate": resolve_rate(facts.rate),
            "width": int(w),
            "height": int(h),
        },
        "grades": grades,
        "luts": luts,
        "markers": list(facts.markers),
        "render": {
            "jobs": [t.to_job(out_dir, _file_name(t.preset)) for t in targets],
            "start": bool(start_render),
            "wait": bool(wait),
            "timeout_s": float(timeout_s),
            "poll_s": 2.0,
            "render_offline": bool(render_offline),
            "overwrite": bool(overwrite_renders),
        },
        "add_missing_transitions": True,
        "allow_offline": bool(allow_offline),
    }
    problems = script.validate_job(job)
    if problems:  # a bug here, not a user error: the builder must only write valid jobs
        raise TimelineError("internal: the job does not validate: " + "; ".join(problems))
    return job


def _look(
    facts: TimelineFacts,
    option: str,
    what: str,
    everything: Path | None,
    shots: Mapping[str, Path] | None,
    tracks: Mapping[int, Path] | None,
) -> dict[str, Any]:
    """One file for all clips, per shot id, per video track: checked against the timeline and disk."""
    look: dict[str, Any] = {
        "all": str(_existing(everything, what)) if everything else None,
        "shots": {},
        "tracks": {},
    }
    for shot, p in (shots or {}).items():
        if shot not in facts.shots:
            raise UsageError(
                f"{option}-shot {shot}: no shot of that name; the timeline has {', '.join(facts.shots)}"
            )
        look["shots"][shot] = str(_existing(p, what))
    for track, p in (tracks or {}).items():
        if not 1 <= track <= facts.video_tracks:
            raise UsageError(f"{option}-track {track}: the timeline has {facts.video_tracks} video track(s)")
        look["tracks"][str(track)] = str(_existing(p, what))
    return look


def _existing(path: Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise MediaError(p, f"{what} file not found")
    return p.resolve()


def _file_name(preset: str) -> str:
    """The render file's name: the script puts in the timeline's name as Resolve gave it."""
    return f"{script.TIMELINE_PLACEHOLDER} - {preset}"


def write_job(job: Mapping[str, Any], output: Path, overwrite: bool = False) -> Path:
    """Validate ``job`` and write it atomically as JSON; refuses to replace an input or an existing file."""
    problems = script.validate_job(dict(job))
    if problems:
        raise UsageError("invalid job: " + "; ".join(problems))
    inputs = [Path(job["timeline"]["path"])]
    with atomic_output(Path(output), inputs, overwrite) as tmp:
        tmp.write_text(json.dumps(job, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(output)


def write_job_files(
    job: Mapping[str, Any],
    output: Path,
    fallback_xml: Path | None = None,
    *,
    overwrite: bool = False,
    remember: bool = True,
) -> Path:
    """Write a job and its FCP7 XML fallback; with ``remember``, note it for the script's dialog-free start.

    Both outputs are checked before either is written, so a refusal leaves nothing half-written.
    """
    timeline = Path(job["timeline"]["path"])
    check_output(Path(output), [timeline], overwrite)
    if fallback_xml is not None:
        check_output(Path(fallback_xml), [timeline], overwrite)
        project = job.get("project") or {}
        write_fcp7_xml(
            timeline,
            Path(fallback_xml),
            overwrite=overwrite,
            width=project.get("width"),
            height=project.get("height"),
        )
    write_job(job, Path(output), overwrite=overwrite)
    if remember:
        remember_job(Path(output))
    return Path(output)


def remember_job(job_path: Path) -> Path:
    """Note ``job_path`` where the script looks when it cannot open its dialog (free Resolve 19.1+)."""
    pointer = Path(script.last_job_pointer())
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_name(pointer.name + ".tmp")
    tmp.write_text(str(Path(job_path).resolve()) + "\n", encoding="utf-8")
    tmp.replace(pointer)
    return pointer


def result_path(job_path: Path) -> Path:
    """Where the script writes its result: ``<job>.result.json`` beside the job."""
    return Path(script.Report(str(job_path)).path())
