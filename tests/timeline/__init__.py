"""Tests of timeline build, export, the Resolve shape and the storyboard OTIO adapter.

Helpers here describe an edit by what it shows, so timelines that went through an
adapter can be compared with the one that was built: which media file and source frame
is on screen at each timeline frame outside transitions, and where the transitions sit.
"""

from __future__ import annotations

import math
from pathlib import Path

import opentimelineio as otio

from shotline.otio_adapters.build import path_from_url


def frames(rt: otio.opentime.RationalTime, rate: float) -> int:
    return round(rt.rescaled_to(rate).value)


def transition_spans(track: otio.schema.Track, rate: float) -> list[tuple[int, int]]:
    """Timeline frames [start, end) each transition covers."""
    spans = []
    for i, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            r = track.range_of_child_at_index(i)
            spans.append((frames(r.start_time, rate), frames(r.end_time_exclusive(), rate)))
    return spans


def media_name(clip: otio.schema.Clip) -> str:
    ref = clip.media_reference
    url = getattr(ref, "target_url", "") or ""
    return Path(path_from_url(url)).name if url else clip.name


def visible(track: otio.schema.Track, rate: float, by: str = "media") -> dict[int, tuple[str, int]]:
    """Timeline frame -> (media file name, source frame) for every frame no transition covers.

    ``by="name"`` keys on the clip name instead of the media file.
    """
    covered: set[int] = set()
    for a, b in transition_spans(track, rate):
        covered.update(range(a, b))
    shown: dict[int, tuple[str, int]] = {}
    for i, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            continue
        r = track.range_of_child_at_index(i)
        start, end = frames(r.start_time, rate), frames(r.end_time_exclusive(), rate)
        src = item.source_range or item.available_range()
        src_rate = src.start_time.rate
        src0 = src.start_time.value
        scalar = 1.0
        for fx in item.effects:
            if isinstance(fx, otio.schema.LinearTimeWarp):  # FreezeFrame is one, with scalar 0
                scalar = fx.time_scalar
        for t in range(start, end):
            if t not in covered:
                offset = (t - start) * abs(scalar) * src_rate / rate
                if scalar < 0:  # reverse: from the top of the range down to its start
                    offset = (end - start - 1 - (t - start)) * abs(scalar) * src_rate / rate
                # a retimed frame shows the source frame whose time span holds it
                frame = math.floor(src0 + offset + 1e-9)
                shown[t] = (media_name(item) if by == "media" else item.name, frame)
    return shown


def video_track(timeline: otio.schema.Timeline) -> otio.schema.Track:
    return timeline.video_tracks()[0]
