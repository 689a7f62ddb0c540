"""Helpers for the conform tests: build standard OTIO timelines with the plain OTIO API."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def timeline(rate: float = 25, name: str = "test") -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = RT(0, rate)
    return tl


def track(tl: otio.schema.Timeline, kind: str = otio.schema.TrackKind.Video) -> otio.schema.Track:
    t = otio.schema.Track(kind=kind)
    tl.tracks.append(t)
    return t


def clip(
    path: Path | str | None,
    start: float,
    frames: float,
    rate: float = 25,
    name: str = "",
    media_frames: float | None = None,
    media_rate: float | None = None,
    url: str | None = None,
) -> otio.schema.Clip:
    """A clip of ``frames`` frames at ``rate``, starting ``start`` frames into its media."""
    ref: otio.core.MediaReference
    if path is None:
        ref = otio.schema.MissingReference()
    else:
        mr = media_rate or rate
        avail = TR(RT(0, mr), RT(media_frames, mr)) if media_frames else None
        ref = otio.schema.ExternalReference(target_url=url or str(path), available_range=avail)
    return otio.schema.Clip(
        name=name or (Path(path).stem if path else "missing"),
        media_reference=ref,
        source_range=TR(RT(start, rate), RT(frames, rate)),
    )


def gap(frames: float, rate: float = 25) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TR(RT(0, rate), RT(frames, rate)))


def dissolve(before: float, after: float, rate: float = 25) -> otio.schema.Transition:
    return otio.schema.Transition(
        name="dissolve",
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=RT(before, rate),
        out_offset=RT(after, rate),
    )


def floor_frame(t: Fraction, src_rate: Fraction) -> int:
    """The media frame shown at media time t (the last frame at or before it)."""
    return int(t * src_rate)
