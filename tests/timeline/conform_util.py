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


DATA = Path(__file__).parent / "data"


def frame_clock(path: Path | str) -> tuple[Fraction, list[Fraction]]:
    """The video stream's declared average rate and every decoded frame's time in seconds, exact."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = Fraction(s.time_base)
        times = [f.pts * tb for f in c.decode(s)]
        return Fraction(s.average_rate), times


def assert_constant_rate(path: Path | str, rate: Fraction, frames: int) -> None:
    """Frame n at exactly n / rate, ``frames`` of them, and the file says ``rate``."""
    avg, times = frame_clock(path)
    assert len(times) == frames
    wrong = [(n, float(t * rate)) for n, t in enumerate(times) if t != n / rate]
    assert not wrong, f"frames off their slot (frame, slot): {wrong[:8]}"
    assert avg == rate


def sample_count(path: Path | str) -> int:
    """Audio samples of the first audio stream at 48 kHz, as a player sees them (edit list applied)."""
    from tests.mediakit import audio_samples

    return len(audio_samples(path))


def relink_folder(root: Path, files: dict[str, Path]) -> Path:
    """A media folder holding ``files`` (name -> clip), as hard links or copies."""
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dst = root / name
        if not dst.exists():
            try:
                dst.hardlink_to(src)
            except OSError:
                shutil.copy(src, dst)
    return root
