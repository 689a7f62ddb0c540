"""Trim a clip to [start, end): frame-accurate or keyframe-fast.

Modes:

* ``smart`` (the default for H.264): frame-accurate; the whole GOPs inside the range
  are stream-copied and only the partial GOPs at the two cuts are re-encoded
  (core.smart). Audio is cut to the sample.
* ``exact``: frame-accurate by re-encoding the whole range (any codec).
* ``fast``: no video re-encode at all; the range grows outwards to the nearest clean
  keyframes (start snaps back, end snaps forward), audio is stream-copied. The result
  reports the range actually kept.

Times are seconds from the start of the file; a cut keeps the frames whose timestamps
fall in [start, end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.media.smart import FrameIndex, Span, copy_step, index_frames, plan_smart_file, unsupported

MODES = ("auto", "smart", "exact", "fast")


@dataclass(frozen=True)
class TrimResult:
    output: Path
    mode: str  # "smart", "exact" or "fast"
    start: float  # seconds of the source actually kept
    end: float
    frames: int
    copied_frames: int
    elapsed: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def _range(
    info: MediaInfo, index: FrameIndex, start: float, end: float | None, duration: float | None
) -> tuple[int, int]:
    if end is not None and duration is not None:
        raise UsageError("give either an end time or a duration, not both")
    for name, v in (("start", start), ("end", end), ("duration", duration)):
        if v is not None and (not math.isfinite(v) or v < 0):
            raise UsageError(f"trim {name} must be zero or positive seconds, not {v}")
    length = index.end_time
    stop = end if end is not None else (start + duration if duration is not None else length)
    if start >= length:
        raise UsageError(f"{info.path}: start {start:g} s is at or past the end of the clip ({length:.3f} s)")
    if stop <= start:
        raise UsageError(f"{info.path}: trim end {stop:g} s must be after the start {start:g} s")
    if stop > length + index.frame_duration / 2:
        raise UsageError(f"{info.path}: end {stop:g} s is past the end of the clip ({length:.3f} s)")
    first, last = index.frame_at(start), index.frame_at(min(stop, length))
    if last <= first:
        raise UsageError(f"{info.path}: the range {start:g}-{stop:g} s holds no frame")
    return first, last


def plan_trim(
    input: Path,
    output: Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    duration: float | None = None,
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Plan keeping [start, end) (or start + duration) of ``input``; see the module docstring."""
    if mode not in MODES:
        raise UsageError(f"unknown trim mode {mode!r} ({', '.join(MODES)})")
    src, output = Path(input), Path(output)
    info = probe(src)
    if info.video is None:
        raise MediaError(src, "has no video stream")
    stop = end if end is not None else (start + duration if duration is not None else None)
    index = index_frames(src, around=(start,) if stop is None else (start, stop))
    first, last = _range(info, index, start, end, duration)
    why = unsupported(info, settings) or index.unsupported()
    if mode == "smart" and why:
        raise UsageError(f"{src}: cannot smart-render: {why} (use --mode exact or fast)")
    if mode == "fast":
        return _plan_fast(src, output, info, index, first, last, settings)
    if mode in ("auto", "smart") and why is None:
        plan = plan_smart_file(
            src,
            output,
            info=info,
            index=index,
            start=first,
            end=last,
            touched=(),
            vf=None,
            af=None,
            settings=settings,
            description=f"trim {index.time(first):.3f}-{index.time(last):.3f} s, smart render",
            meta={"start": index.time(first), "end": index.time(last), "frames": last - first},
        )
        if plan.meta["copied_frames"] or mode == "smart":
            return plan
    return _plan_exact(src, output, info, index, first, last, settings)


def _plan_exact(
    src: Path,
    output: Path,
    info: MediaInfo,
    index: FrameIndex,
    first: int,
    last: int,
    settings: EncodeSettings,
) -> Plan:
    t0, t1 = index.time(first), index.time(last)
    seek = max(0.0, t0 - index.frame_duration / 2) if first > 0 else 0.0
    args = ["-ss", f"{seek:.6f}"] if seek > 0 else []
    args += ["-i", str(src), "-map", "0:v:0", "-frames:v", str(last - first)]
    assert info.video is not None
    v = info.video
    vf = settings.fit_chain("setpts=PTS-STARTPTS", v.width, v.height, rotation=v.rotation, source=src)
    args += ["-vf", vf or "", "-fps_mode", "passthrough"]
    if info.has_audio:
        args += [
            "-map",
            "0:a:0",
            "-af",
            f"atrim=start={t0 - seek:.6f}:end={t1 - seek:.6f},asetpts=PTS-STARTPTS",
        ]
        args += settings.audio_args(info.audio.sample_rate if info.audio else None)
    rate = float(info.video.rate) if info.video and info.video.rate else None
    args += settings.video_args(rate) + settings.container_args(str(output))
    meta: dict[str, object] = {
        "mode": "exact",
        "start": t0,
        "end": t1,
        "frames": last - first,
        "copied_frames": 0,
        "duration": t1 - t0,
    }
    desc = f"trim {t0:.3f}-{t1:.3f} s, re-encoded"
    return Plan((Step(tuple(args), OUT, t1 - t0, desc),), output, (src,), desc, meta)


def _plan_fast(
    src: Path,
    output: Path,
    info: MediaInfo,
    index: FrameIndex,
    first: int,
    last: int,
    settings: EncodeSettings,
) -> Plan:
    cuts = index.cut_points
    if not cuts:
        raise UsageError(f"{src}: no clean keyframe to cut on; use --mode exact")
    a = max((c for c in cuts if c <= first), default=cuts[0])
    b = min((c for c in cuts if c >= last), default=index.frames)
    t0, t1 = index.time(a), index.time(b)
    seg = Span(a, b, True)
    copy = copy_step(src, index, seg, "video.mp4")
    args = ["-i", work("video.mp4")]
    if info.has_audio:
        args += ["-ss", f"{t0:.6f}", "-t", f"{t1 - t0:.6f}", "-i", str(src), "-map", "0:v:0", "-map", "1:a:0"]
    else:
        args += ["-map", "0:v:0"]
    args += ["-c", "copy"] + settings.container_args(str(output))
    join = Step(tuple(args), OUT, t1 - t0, "mux")
    meta: dict[str, object] = {
        "mode": "fast",
        "start": t0,
        "end": t1,
        "frames": b - a,
        "copied_frames": b - a,
        "duration": t1 - t0,
    }
    desc = f"trim {t0:.3f}-{t1:.3f} s on keyframes, stream copy"
    return Plan((copy, join), output, (src,), desc, meta)


def trim(
    input: Path,
    output: Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    duration: float | None = None,
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> TrimResult:
    """Keep [start, end) of ``input`` (see plan_trim)."""
    plan = plan_trim(input, output, start=start, end=end, duration=duration, mode=mode, settings=settings)
    res = run(plan, overwrite=overwrite, progress=progress)
    m = plan.meta
    t0, t1, frames, copied = m["start"], m["end"], m["frames"], m["copied_frames"]
    assert isinstance(t0, float) and isinstance(t1, float)
    assert isinstance(frames, int) and isinstance(copied, int)
    return TrimResult(res.output, str(m["mode"]), t0, t1, frames, copied, res.elapsed)
