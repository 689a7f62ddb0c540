"""Timelines in and out: read any file OTIO has an adapter for, the rate its edit is counted in,
and the report of what an export could not carry.

Every reader of a timeline (the renderer, the exporter, the Resolve shape check, the Resolve
job writer, produce) goes through these two functions, so a timeline means the same thing to
each of them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotline.core.errors import TimelineError
from shotline.core.vocab import exact_rate

NAMESPACE = "shotline"  # the metadata key shotline writes under
READABLE = ".otio .otioz .edl .xml (FCP7) .fcpxml .aaf .shotline.yaml"


def read_timeline(
    path: str | Path, rate: float | Fraction | None = None, extract_to: Path | None = None
) -> otio.schema.Timeline:
    """Read any file OTIO's adapters know; a ``TimelineError`` naming the file when it cannot.

    An EDL carries no frame rate: give ``rate`` (OTIO's reader otherwise assumes 24). An
    ``.otioz`` bundle is extracted into ``extract_to`` (a new temporary folder if not given) so
    its media can be read. A file holding a collection yields its first timeline.
    """
    p = Path(path)
    if not p.exists():
        raise TimelineError(f"{p}: no such file")
    if p.is_dir():
        raise TimelineError(f"{p}: is a folder, not a timeline file")
    kwargs: dict[str, Any] = {}
    suffix = p.suffix.lower()
    if suffix == ".edl" and rate:
        kwargs["rate"] = float(rate)
    if suffix == ".otioz":
        target = (
            Path(extract_to) if extract_to is not None else Path(tempfile.mkdtemp(prefix="shotline-otioz-"))
        )
        target.mkdir(parents=True, exist_ok=True)
        kwargs["extract_to_directory"] = str(target)
    try:
        result = otio.adapters.read_from_file(str(p), **kwargs)
    except otio.exceptions.NoKnownAdapterForExtensionError:
        raise TimelineError(
            f"{p}: no OTIO adapter reads {p.suffix or 'files without a suffix'} (known: {READABLE})"
        ) from None
    except Exception as exc:  # adapters raise anything from ValueError to their own parse errors
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise TimelineError(f"{p}: OTIO cannot read this timeline ({type(exc).__name__}: {detail})") from exc
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True))
        if not timelines:
            raise TimelineError(f"{p}: holds no timeline")
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise TimelineError(f"{p}: holds a {type(result).__name__}, not a timeline")
    return result


def timeline_rate(tl: otio.schema.Timeline) -> Fraction:
    """The rate the edit is counted in, exact (29.97 reads as 30000/1001).

    In order: the rate shotline wrote into the timeline's metadata, the global start time's
    rate, and the most common rate of the clips and gaps on the tracks (of those inside nested
    stacks when the tracks hold none).
    """
    meta = tl.metadata.get(NAMESPACE) if tl.metadata else None
    if meta is not None and hasattr(meta, "get") and meta.get("rate"):
        try:
            written = Fraction(str(meta["rate"]))
            if written > 0:
                return written
        except (ValueError, ZeroDivisionError):
            pass  # a hand-edited rate: fall back to what the items say
    if tl.global_start_time is not None and tl.global_start_time.rate > 0:
        return exact_rate(tl.global_start_time.rate)
    counts: dict[float, int] = {}
    top = [child for track in tl.tracks for child in track]
    nested = list(tl.find_children(descended_from_type=otio.core.Item))  # inside nested stacks too
    for items in (top, nested):
        for child in items:
            if isinstance(child, (otio.schema.Clip, otio.schema.Gap)) and child.source_range is not None:
                r = child.source_range.duration.rate
                if r > 0:
                    counts[r] = counts.get(r, 0) + 1
        if counts:
            return exact_rate(max(counts, key=lambda r: counts[r]))
    raise TimelineError(f"timeline '{tl.name}': no clip or gap carries a rate; pass --rate")


@dataclass
class ExportReport:
    """What an export wrote, and exactly what it could not carry."""

    output: Path | None
    format: str
    dropped: list[str] = field(default_factory=list)  # parts of the edit not in the file
    changed: list[str] = field(default_factory=list)  # parts written differently from the timeline
    read_back: list[str] = field(default_factory=list)  # how the file reads back differently

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output) if self.output else None,
            "format": self.format,
            "dropped": self.dropped,
            "changed": self.changed,
            "read_back": self.read_back,
        }


__all__ = ["NAMESPACE", "READABLE", "ExportReport", "read_timeline", "timeline_rate"]
