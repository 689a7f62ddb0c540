"""Find the shots inside one flat video: hard cuts, cross-dissolves and fades through black.

One decoding pass through PySceneDetect's SceneManager runs its detectors side by side:

* ``AdaptiveDetector`` proposes the hard cuts (a frame whose HSV/edge change stands out
  from its neighbours' rolling average, so steady fast motion such as a pan does not cut);
* ``ThresholdDetector`` proposes the fades through black;
* a small recorder keeps a 64x36 grey copy of every frame for the checks below.

On top of the library's proposals, three checks the library does not make:

* **flash**: a proposed cut whose picture comes back within ``flash`` seconds (a camera
  flash, a strobe, a white frame) is no cut;
* **dissolve**: a run of frames that is a linear mix of the frame before it and the frame
  after it (mid-frame = mean of the ends, quarter-frames = 3:1 mixes), where the ends differ
  well beyond the shots' own motion; the ends are then placed where the frame-to-frame change
  stops pointing from the old picture to the new one;
* **fade**: from the black frames out, the run where brightness falls (fade out) and rises
  (fade in).

Every transition comes back with its frames (``start``: first frame that changed; ``end``:
first frame wholly in the new shot), the frame where the shot boundary is placed, and a
confidence in 0..1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from shotline.core.errors import DependencyError, MediaError, UsageError
from shotline.core.media.probe import MediaInfo, probe

KINDS = ("cut", "dissolve", "fade")
_GRID = (64, 36)  # the grey copy each check works on
_MIX_RATIO = 0.22  # how far a mid-frame may sit from the mean of the ends (share of their distance)
_MIN_CHANGE = 10.0  # grey levels the ends of a dissolve must differ by on average
_CONTRAST = 2.0  # a dissolve changes the picture this many times faster than the shots around it
_DARK = 12.0
_BLOCK = 2048  # dissolve centres searched per block: memory stays flat however long the film  # mean luma under which a frame counts as black (ThresholdDetector's default)


@dataclass(frozen=True)
class Cut:
    """One transition between two shots, in frames of the source."""

    kind: str  # "cut", "dissolve" or "fade"
    start: int  # first frame that changed (a cut: the first frame of the new shot)
    end: int  # first frame wholly in the new shot
    frame: int  # where the boundary between the shots is placed
    confidence: float

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class DetectedShot:
    index: int  # from 1
    start: int  # frames, end exclusive
    end: int
    start_time: float
    end_time: float
    confidence: float  # of the transition that opens it (1.0 for the first shot)
    transition_in: Cut | None


@dataclass(frozen=True)
class Detection:
    path: Path
    rate: Fraction
    frames: int
    cuts: tuple[Cut, ...]
    shots: tuple[DetectedShot, ...]
    detector: str
    rejected: tuple[dict[str, Any], ...] = field(default=())  # proposals the checks turned down, and why

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rate": f"{self.rate.numerator}/{self.rate.denominator}",
            "frames": self.frames,
            "detector": self.detector,
            "cuts": [
                {
                    "kind": c.kind,
                    "start": c.start,
                    "end": c.end,
                    "frame": c.frame,
                    "length": c.length,
                    "time": round(float(c.frame / self.rate), 6),
                    "confidence": round(c.confidence, 3),
                }
                for c in self.cuts
            ],
            "shots": [
                {
                    "index": s.index,
                    "start": s.start,
                    "end": s.end,
                    "start_time": round(s.start_time, 6),
                    "end_time": round(s.end_time, 6),
                    "confidence": round(s.confidence, 3),
                    "transition_in": s.transition_in.kind if s.transition_in else None,
                }
                for s in self.shots
            ],
            "rejected": list(self.rejected),
        }


def require_scenedetect() -> Any:
    try:
        import cv2  # noqa: F401
        import scenedetect
    except ImportError as exc:
        raise DependencyError(
            f"shot detection needs PySceneDetect and OpenCV ({exc.name} is missing): "
            "pip install 'shotline[detect]'"
        ) from None
    return scenedetect


@dataclass
class _Frames:
    grey: list[np.ndarray] = field(default_factory=list)
    luma: list[float] = field(default_factory=list)


def _recorder(store: _Frames) -> Any:
    """A SceneDetector that proposes nothing and keeps a small grey copy of each frame."""
    import cv2
    from scenedetect.detector import SceneDetector

    class FrameRecorder(SceneDetector):  # type: ignore[misc]
        def process_frame(self, timecode: Any, frame_img: np.ndarray) -> list[Any]:
            grey = cv2.cvtColor(frame_img, cv2.COLOR_BGR2GRAY)
            store.luma.append(float(frame_img.mean()))
            store.grey.append(cv2.resize(grey, _GRID, interpolation=cv2.INTER_AREA))  # uint8: 2.3 kB a frame
            return []

    return FrameRecorder()


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b).mean())


def detect(
    input: str | os.PathLike[str],
    *,
    threshold: float = 3.0,
    min_content: float = 15.0,
    flash: float = 0.2,
    max_dissolve: float = 2.0,
    progress: Callable[[float], None] | None = None,
) -> Detection:
    """Find the shots of ``input``; see the module docstring.

    ``threshold`` and ``min_content`` are AdaptiveDetector's ``adaptive_threshold`` and
    ``min_content_val``; ``flash`` (seconds) is the longest burst that is not a cut;
    ``max_dissolve`` (seconds) the longest dissolve looked for.
    """
    sd = require_scenedetect()
    from scenedetect import SceneManager, StatsManager, open_video
    from scenedetect.detectors import AdaptiveDetector, ThresholdDetector

    path = Path(input)
    info: MediaInfo = probe(path)
    if info.video is None:
        raise MediaError(path, "has no video stream to find shots in")
    if flash < 0 or max_dissolve < 0:
        raise UsageError("--flash and --max-dissolve are seconds, zero or more")
    rate = info.video.rate
    fps = float(rate)
    try:
        video = open_video(str(path), backend="pyav")
    except Exception as exc:  # the library raises its own VideoOpenFailure and av's errors
        raise MediaError(path, f"cannot be decoded for shot detection: {exc}") from None
    frames = _Frames()
    adaptive = AdaptiveDetector(adaptive_threshold=threshold, min_content_val=min_content, min_scene_len=1)
    fades = ThresholdDetector(threshold=_DARK, min_scene_len=1)
    manager = SceneManager(StatsManager())
    for det in (adaptive, fades, _recorder(frames)):
        manager.add_detector(det)
    manager.detect_scenes(video)
    n = len(frames.grey)
    if n == 0:
        raise MediaError(path, "no frame could be decoded")
    stats = manager.stats_manager
    content = np.zeros(n)
    for i in range(1, n):
        got = stats.get_metrics(i, ["content_val"])[0] if stats.metrics_exist(i, ["content_val"]) else None
        content[i] = float(got) if got is not None else 0.0
    proposals = sorted({_frame_num(start) for start, _ in manager.get_scene_list()[1:]})
    if progress is not None:
        progress(0.8)

    g, luma = frames.grey, np.array(frames.luma)
    rejected: list[dict[str, Any]] = []
    found: list[Cut] = []
    found += _fades(luma, g)
    found += _dissolves(g, int(round(max_dissolve * fps)), [(c.start - 1, c.end + 1) for c in found])
    busy = [(c.start - 1, c.end + 1) for c in found]
    flash_frames = max(1, int(round(flash * fps)))
    for t in proposals:
        if t <= 0 or t >= n:
            continue
        if any(a <= t <= b for a, b in busy):
            continue
        why = _flash(g, t, flash_frames)
        if why:
            rejected.append({"frame": t, "why": why})
            continue
        conf = float(min(1.0, content[t] / (3 * max(min_content, 1.0))))
        found.append(Cut("cut", t, t, t, round(max(conf, 0.05), 3)))
    found.sort(key=lambda c: c.frame)
    shots = _shots(found, n, rate)
    if progress is not None:
        progress(1.0)
    name = f"PySceneDetect {sd.__version__} AdaptiveDetector + ThresholdDetector, shotline mix/flash checks"
    return Detection(path, rate, n, tuple(found), shots, name, tuple(rejected))


def _frame_num(tc: Any) -> int:
    return int(tc.frame_num if hasattr(tc, "frame_num") else tc.get_frames())


def _flash(g: list[np.ndarray], t: int, k_max: int) -> str | None:
    """Why the jump at ``t`` is a burst and not a cut, or None."""
    jump = _dist(g[t], g[t - 1])
    if jump <= 0:
        return "no change"
    for k in range(1, k_max + 1):
        if t + k < len(g) and _dist(g[t + k], g[t - 1]) < 0.35 * jump:
            return f"flash: the picture before comes back after {k} frame(s)"
        if t - 1 - k >= 0 and _dist(g[t], g[t - 1 - k]) < 0.35 * jump:
            return f"end of a flash: the picture of {k} frame(s) before comes back"
    return None


def _fades(luma: np.ndarray, g: list[np.ndarray]) -> list[Cut]:
    """Fades through black: a run of black frames with brightness falling into it and rising out."""
    n = len(luma)
    dark = luma < _DARK
    out: list[Cut] = []
    t = 0
    while t < n:
        if not dark[t]:
            t += 1
            continue
        b0 = t
        while t < n and dark[t]:
            t += 1
        b1 = t  # first frame after the black run
        if b0 == 0 or b1 >= n:
            continue  # black at the head or tail of the file belongs to that shot
        s = b0  # walk back over the frames that darken toward the black
        while s - 1 > 0 and luma[s - 1] > luma[s] + max(0.5, 0.02 * luma[s - 1]):
            s -= 1
        start = s + 1 if s < b0 else b0  # frame s is the last one still at full brightness
        end = b1  # walk on over the frames that brighten out of it: ``end`` is the first at full
        while end + 1 < n and luma[end + 1] > luma[end] + max(0.5, 0.02 * luma[end + 1]):
            end += 1
        depth = float(min(luma[s], luma[end]) - luma[b0:b1].max())
        conf = float(np.clip(depth / 40.0, 0.1, 1.0))
        out.append(Cut("fade", start, end, (b0 + b1) // 2, round(conf, 3)))
    return out


def _dissolves(g: list[np.ndarray], max_len: int, busy: list[tuple[int, int]]) -> list[Cut]:
    """Runs of frames that mix linearly from one picture to another (see the module docstring)."""
    n = len(g)
    if n < 7 or max_len < 4:
        return []
    stack = np.stack(g)  # uint8; float copies are made a block of centres at a time
    best: dict[int, tuple[float, int]] = {}  # centre -> (mix error ratio, half length)
    reach = max_len // 2
    for c0 in range(2, n - 2, _BLOCK):
        c1 = min(c0 + _BLOCK, n)
        lo = max(0, c0 - reach)
        part = stack[lo : min(n, c1 + reach)].astype(np.float32)
        for h in range(2, reach + 1):
            c = np.arange(max(c0, h), min(c1, n - h))
            if len(c) == 0:
                continue
            a, b, m = part[c - h - lo], part[c + h - lo], part[c - lo]
            ends = np.abs(a - b).mean(axis=(1, 2))
            err = np.abs(m - (a + b) / 2).mean(axis=(1, 2))
            q = max(1, h // 2)
            mix = (0.5 + q / (2 * h)) * a + (0.5 - q / (2 * h)) * b
            err_q = np.abs(part[c - q - lo] - mix).mean(axis=(1, 2))
            ratio = np.maximum(err, err_q) / np.maximum(ends, 1e-6)
            ok = (ends >= _MIN_CHANGE) & (ratio < _MIX_RATIO)
            for ci, r in zip(c[ok], ratio[ok]):
                prev = best.get(int(ci))
                if prev is None or r < prev[0]:
                    best[int(ci)] = (float(r), h)
    if not best:
        return []
    # group neighbouring centres into one candidate each, keeping the longest consistent mix
    centres = sorted(best)
    groups: list[list[int]] = [[centres[0]]]
    for ci in centres[1:]:
        if ci - groups[-1][-1] <= 2:
            groups[-1].append(ci)
        else:
            groups.append([ci])
    out: list[Cut] = []
    for grp in groups:
        h = max(best[k][1] for k in grp)
        centre = int(round(np.mean(grp)))
        if any(a <= centre <= b for a, b in busy):
            continue
        s, e = _mix_extent(stack, centre, h, max_len)
        if e - s < 3 or e - s >= max_len:
            continue
        contrast = _step_contrast(stack, s, e)
        if contrast < _CONTRAST:
            continue  # the picture changes as fast outside the run: steady motion, not a mix
        mixed = 1.0 - min(best[k][0] for k in grp) / _MIX_RATIO
        conf = float(np.clip(min(mixed, (contrast - 1.0) / 3.0), 0.05, 1.0))
        out.append(Cut("dissolve", s, e, (s + e) // 2, round(conf, 3)))
    return out


def _step_contrast(stack: np.ndarray, s: int, e: int) -> float:
    """How much faster the picture changes inside [s, e] than in the frames just before and after."""
    n = len(stack)
    w = max(3, (e - s) // 2)

    def steps(a: int, b: int) -> float:
        a, b = max(1, a), min(n - 1, b)
        if b < a:
            return 0.0
        return float(np.mean([_dist(stack[t], stack[t - 1]) for t in range(a, b + 1)]))

    inside = steps(s, e)
    outside = max(steps(s - w, s - 1), steps(e + 1, e + w))
    return inside / max(outside, 0.25)


def _mix_extent(stack: np.ndarray, c: int, h: int, max_len: int) -> tuple[int, int]:
    """First changed frame and first frame wholly new, for a mix centred near ``c``.

    Each frame-to-frame change is projected on the old-to-new direction (a dissolve moves
    every step along it, a shot's own motion does not); the run where that projection stays
    above a third of its peak is the dissolve.
    """
    n = len(stack)
    reach = max_len
    a_i, b_i = max(0, c - h - 1), min(n - 1, c + h + 1)
    direction = (stack[b_i].astype(np.float32) - stack[a_i]).ravel()
    norm = float(direction @ direction)
    if norm <= 0:
        return c, c
    lo, hi = max(1, c - reach), min(n - 1, c + reach)
    proj = np.array(
        [
            float((stack[t].astype(np.float32) - stack[t - 1]).ravel() @ direction) / norm
            for t in range(lo, hi + 1)
        ]
    )
    peak = float(np.median(proj[max(0, c - lo - h // 2) : c - lo + h // 2 + 1]))
    if peak <= 0:
        return c, c
    keep = proj > peak / 3
    i = c - lo
    s = i
    while s - 1 >= 0 and keep[s - 1]:
        s -= 1
    e = i
    while e + 1 < len(keep) and keep[e + 1]:
        e += 1
    # proj[t] belongs to frame lo + t: the first frame that moved toward the new picture is
    # lo + s; the last one is lo + e, so the first frame wholly new is lo + e.
    return lo + s, lo + e


def _shots(cuts: list[Cut], n: int, rate: Fraction) -> tuple[DetectedShot, ...]:
    bounds = [0, *[c.frame for c in cuts], n]
    shots = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        tin = cuts[i - 1] if i > 0 else None
        shots.append(
            DetectedShot(i + 1, a, b, float(a / rate), float(b / rate), tin.confidence if tin else 1.0, tin)
        )
    return tuple(shots)


def shot_path(det: Detection, outdir: Path, shot: DetectedShot) -> Path:
    return Path(outdir) / f"{det.path.stem}-shot{shot.index:03d}{det.path.suffix or '.mp4'}"


def split(
    det: Detection,
    outdir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Callable[[float], None] | None = None,
) -> list[Any]:
    """Write each detected shot to ``outdir`` with the smart trim: the GOPs wholly inside a
    shot are stream-copied (lossless when a boundary falls on a keyframe), only the partial
    GOPs at the boundaries are re-encoded, so every file holds exactly its shot's frames."""
    from shotline.core.ops.trim import trim

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: is a file; --split wants a folder")
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for i, shot in enumerate(det.shots):
        start = shot.start / det.rate
        end = shot.end / det.rate
        results.append(
            trim(det.path, shot_path(det, out, shot), start=float(start), end=float(end), overwrite=overwrite)
        )
        if progress is not None:
            progress((i + 1) / len(det.shots))
    return results
