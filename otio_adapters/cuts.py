"""A detected shot list as an OTIO timeline that references the original flat file.

One video track (and one audio track when the file has sound) of clips that butt against
each other at the detected boundaries, so the timeline plays the file exactly as it is. The
transitions found stay in the file as facts, not as OTIO Transitions: the source already holds
the mixed frames, and an OTIO Transition would mix them a second time. Each clip has a marker
at its first frame naming the shot, how it was entered (cut, dissolve or fade, with its length
in frames) and the confidence; the same facts sit in the clip's and marker's ``shotline``
metadata, and the whole detection in the timeline's.
"""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio

from shotline.core.media.probe import MediaInfo, probe
from shotline.core.ops.detect import DetectedShot, Detection
from shotline.otio_adapters.build import NAMESPACE, media_reference


def _rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(float(frames), float(rate))


def _color(confidence: float) -> str:
    if confidence >= 0.7:
        return otio.schema.MarkerColor.GREEN
    if confidence >= 0.4:
        return otio.schema.MarkerColor.YELLOW
    return otio.schema.MarkerColor.RED


def describe(shot: DetectedShot) -> str:
    """One line for a shot's marker: how it begins and how sure the detector is."""
    t = shot.transition_in
    if t is None:
        how = "start of the file"
    elif t.kind == "cut":
        how = "hard cut"
    else:
        how = f"{t.kind}, {t.length} frames ({t.start}-{t.end - 1})"
    return f"shot {shot.index}: {how}, confidence {shot.confidence:.2f}"


def _shot_meta(shot: DetectedShot) -> dict[str, object]:
    t = shot.transition_in
    meta: dict[str, object] = {"shot": shot.index, "confidence": shot.confidence, "detected": True}
    if t is not None:
        meta["transition_in"] = {"kind": t.kind, "start": t.start, "end": t.end, "length": t.length}
    return meta


def timeline_from_detection(det: Detection, info: MediaInfo | None = None) -> otio.schema.Timeline:
    """The timeline described in the module docstring."""
    info = info or probe(det.path)
    rate = det.rate
    tl = otio.schema.Timeline(name=det.path.stem)
    tl.global_start_time = _rt(0, rate)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio) if info.has_audio else None
    for shot in det.shots:
        src = otio.opentime.TimeRange(_rt(shot.start, rate), _rt(shot.end - shot.start, rate))
        name = f"{det.path.stem} shot {shot.index:02d}"
        clip = otio.schema.Clip(name=name, media_reference=media_reference(info, rate), source_range=src)
        clip.metadata[NAMESPACE] = _shot_meta(shot)
        marker = otio.schema.Marker(
            name=f"shot {shot.index}",
            marked_range=otio.opentime.TimeRange(src.start_time, _rt(0, rate)),
            color=_color(shot.confidence),
            comment=describe(shot),
        )
        marker.metadata[NAMESPACE] = _shot_meta(shot)
        clip.markers.append(marker)
        video.append(clip)
        if audio is not None:
            aclip = otio.schema.Clip(name=name, media_reference=media_reference(info, rate), source_range=src)
            aclip.metadata[NAMESPACE] = {"shot": shot.index}
            audio.append(aclip)
    tl.tracks.append(video)
    if audio is not None:
        tl.tracks.append(audio)
    tl.metadata[NAMESPACE] = {"source": "detect", "detection": det.to_dict()}
    return tl
