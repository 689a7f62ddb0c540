"""Subject-aware reframing: find the subject per frame, plan one smooth camera path for the crop.

Three steps, each replaceable on its own:

1. **Observe** (``observe``): decode the clip once at an analysis width (480 px) and find the
   subject in every frame:

   * ``face``: a face detector from ``FACE_DETECTORS``. The default, ``haar``, is OpenCV 4.x's
     frontal-face Haar cascade (its weights ship inside the opencv-python wheel); ``haar-alt2``
     is the other frontal cascade; ``dlib-hog`` is dlib's HOG detector (no weight file), used
     when ``dlib`` is installed. bench/bench_track.py compares them on the test film. When a
     frame holds several faces, the one nearest the previous pick (else the largest) is kept.
   * ``motion``: where the picture changed since the previous frame (blurred difference,
     thresholded; the box holds the middle 90 % of the moving pixels).
   * ``subject``: a face when one is found, else motion, else the spectral-residual saliency
     peak (Hou and Zhang, 2007) of the frame.

2. **Plan** (``plan_path``): per shot (the path is cut at the shot cuts that
   ``core.ops.detect`` finds, when the detect extra is installed) and per axis:

   * frames with no subject keep the last position (the first known one before it);
   * a *lazy* follower moves the window only when the subject would leave a dead zone around
     its centre, so the window holds exactly still while the subject stays put; it is run
     forwards and backwards and the two averaged, so it neither lags nor leads;
   * a Gaussian (sigma ``smooth`` seconds) rounds the corners where the camera starts and
     stops. The follower never moves faster than the subject, and the Gaussian bounds the
     acceleration: ``|a| <= 2 v / (sigma sqrt(2 pi))`` px/frame^2 for a subject speed ``v``,
     plus 2 px of rounding to whole pixels (``CameraPath.accel_bound``).

3. **Render** (``filter_graph``): one ffmpeg pass. ``sendcmd`` reads a command file with the
   window's position for every frame where it moves and drives ``crop``'s ``x``/``y``, so no
   frame is written to disk.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from shotline.core.errors import DependencyError, MediaError, UsageError
from shotline.core.media.probe import MediaInfo, probe

MODES = ("subject", "face", "motion")
ANALYSIS_WIDTH = 480
Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Scored = tuple[Box, float]  # a box and the detector's confidence in it (its own scale)


def require_cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise DependencyError("subject tracking needs OpenCV 4.x: pip install 'shotline[track]'") from None
    if not hasattr(cv2, "CascadeClassifier"):
        raise DependencyError(
            f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 dropped it); "
            "pip install 'opencv-python>=4.8,<5' (or 'shotline[track]')"
        )
    return cv2


# --- face detectors: name -> factory of a callable (BGR image) -> boxes ------------------------------


def _haar(cascade: str) -> Callable[[], Callable[[np.ndarray], list[Scored]]]:
    def make() -> Callable[[np.ndarray], list[Scored]]:
        cv2 = require_cv2()
        path = os.path.join(cv2.data.haarcascades, cascade)
        clf = cv2.CascadeClassifier(path)
        if clf.empty():
            raise DependencyError(
                f"OpenCV's cascade {cascade} is missing from {path}; reinstall opencv-python"
            )

        def find(bgr: np.ndarray) -> list[Scored]:
            grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            side = max(24, bgr.shape[1] // 12)  # a face worth framing is at least 1/12 of the width
            rects, _, weights = clf.detectMultiScale3(
                grey, scaleFactor=1.15, minNeighbors=4, minSize=(side, side), outputRejectLevels=True
            )
            return [
                ((float(x), float(y), float(x + w), float(y + h)), float(s))
                for (x, y, w, h), s in zip(rects, np.ravel(weights))
            ]

        return find

    return make


def _dlib_hog() -> Callable[[np.ndarray], list[Scored]]:
    try:
        import dlib
    except ImportError:
        raise DependencyError(
            "the dlib-hog face detector needs dlib: pip install 'shotline[dlib]' (the dlib-bin wheel)"
        ) from None
    det = dlib.get_frontal_face_detector()

    def find(bgr: np.ndarray) -> list[Scored]:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        rects, scores, _ = det.run(rgb, 1, 0.0)
        return [
            ((float(r.left()), float(r.top()), float(r.right()), float(r.bottom())), float(s))
            for r, s in zip(rects, scores)
        ]

    return find


FACE_DETECTORS: dict[str, Callable[[], Callable[[np.ndarray], list[Scored]]]] = {
    "haar": _haar("haarcascade_frontalface_default.xml"),
    "haar-alt2": _haar("haarcascade_frontalface_alt2.xml"),
    "dlib-hog": _dlib_hog,
}


def _motion_box(prev: np.ndarray | None, grey: np.ndarray) -> Box | None:
    if prev is None:
        return None
    diff = np.abs(grey - prev)
    moving = diff > 20
    if moving.mean() < 0.002:
        return None
    ys, xs = np.nonzero(moving)
    x0, x1 = np.percentile(xs, [5, 95])
    y0, y1 = np.percentile(ys, [5, 95])
    return (float(x0), float(y0), float(x1) + 1, float(y1) + 1)


def _saliency_box(grey: np.ndarray) -> Box:
    """The spectral-residual saliency peak's region, in ``grey``'s pixels."""
    import cv2

    h, w = grey.shape
    small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-9)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal, (9, 9), 2.5)
    ys, xs = np.nonzero(sal >= np.percentile(sal, 95))
    sx, sy = w / 64, h / 64
    return (
        float(xs.min() * sx),
        float(ys.min() * sy),
        float((xs.max() + 1) * sx),
        float((ys.max() + 1) * sy),
    )


def _pick(found: list[Scored], prev: Box | None) -> Box | None:
    """The detector's surest face, among those near the previous pick when there are any."""
    if not found:
        return None
    if prev is not None:
        pc = ((prev[0] + prev[2]) / 2, (prev[1] + prev[3]) / 2)
        reach = 1.5 * (prev[2] - prev[0])
        near = [
            f
            for f in found
            if math.hypot((f[0][0] + f[0][2]) / 2 - pc[0], (f[0][1] + f[0][3]) / 2 - pc[1]) < reach
        ]
        found = near or found
    return max(found, key=lambda f: f[1])[0]


@dataclass(frozen=True)
class Observations:
    """What was found in every frame, in the source's display pixels."""

    boxes: tuple[Box | None, ...]
    kinds: tuple[str, ...]  # "face", "motion", "saliency" or "" per frame
    rate: Fraction
    size: tuple[int, int]
    detector: str

    @property
    def found(self) -> int:
        return sum(b is not None for b in self.boxes)


def observe(
    input: str | os.PathLike[str],
    mode: str = "subject",
    *,
    detector: str = "haar",
    analysis_width: int = ANALYSIS_WIDTH,
    info: MediaInfo | None = None,
    cuts: Sequence[int] = (),
) -> Observations:
    """Find the subject in every frame of ``input`` (see the module docstring). At ``cuts``
    (shot cuts) the face is always looked for, and never interpolated across."""
    if mode not in MODES:
        raise UsageError(f"unknown --track {mode!r}; choose one of {', '.join(MODES)}")
    cv2 = require_cv2()
    info = info or probe(input)
    if info.video is None:
        raise MediaError(input, "has no video stream to track a subject in")
    dw, dh = info.video.display_size
    aw = min(analysis_width, dw) // 2 * 2
    ah = max(2, round(dh * aw / dw) // 2 * 2)
    scale = dw / aw
    find_faces = None
    if mode in ("face", "subject"):
        if detector not in FACE_DETECTORS:
            raise UsageError(f"unknown face detector {detector!r}; choose one of {', '.join(FACE_DETECTORS)}")
        find_faces = FACE_DETECTORS[detector]()
    import av

    # faces are looked for on about 12 frames a second and interpolated between (the detector
    # is the slow part); motion and saliency run on every frame
    stride = max(1, round(float(info.video.rate) / 12)) if find_faces is not None else 1
    boxes: list[Box | None] = []
    kinds: list[str] = []
    prev_grey: np.ndarray | None = None
    prev_box: Box | None = None
    face_before = False
    cut_set = set(cuts)
    try:
        with av.open(str(input)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                bgr = _display_frame(frame, aw, ah, info.video.rotation)
                grey = cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (5, 5), 0).astype(np.float32)
                box: Box | None = None
                kind = ""
                if find_faces is not None and (i % stride == 0 or i in cut_set):
                    box = _pick(find_faces(bgr), prev_box)
                    kind, face_before = "face", box is not None
                elif find_faces is not None and face_before:
                    kind = "skip"  # between two looks for the face: interpolated below
                if box is None and kind != "skip" and mode in ("motion", "subject"):
                    box, kind = _motion_box(prev_grey, grey), "motion"
                if box is None and kind != "skip" and mode == "subject":
                    box, kind = _saliency_box(grey), "saliency"
                prev_grey = grey
                if box is not None:
                    prev_box = box if kind == "face" else prev_box
                    box = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
                boxes.append(box)
                kinds.append(kind if box is not None or kind == "skip" else "")
    except av.error.FFmpegError as exc:
        raise MediaError(input, f"cannot be decoded for tracking: {exc}") from None
    _interpolate_skips(boxes, kinds, cut_set)
    name = {"face": detector, "motion": "motion", "subject": f"{detector}, else motion, else saliency"}[mode]
    return Observations(tuple(boxes), tuple(kinds), info.video.rate, (dw, dh), name)


def _display_frame(frame: Any, aw: int, ah: int, rotation: int) -> np.ndarray:
    """The frame as the player shows it (sample aspect and rotation applied), ``aw`` x ``ah``:
    ffmpeg turns the picture the same way before the crop, so the path's pixels match."""
    quarter = (rotation // 90) % 4
    if quarter % 2:
        raw = frame.to_ndarray(format="bgr24", width=ah, height=aw)
    else:
        raw = frame.to_ndarray(format="bgr24", width=aw, height=ah)
    # ``rotation`` is counter-clockwise, as the player applies it; np.rot90 turns counter-clockwise
    return np.ascontiguousarray(np.rot90(raw, k=quarter)) if quarter else raw


def _interpolate_skips(boxes: list[Box | None], kinds: list[str], cuts: set[int]) -> None:
    """Frames between two looks for the face take the box interpolated between the faces found."""
    n = len(boxes)
    for t in range(n):
        if kinds[t] != "skip":
            continue
        a = next((i for i in range(t - 1, -1, -1) if kinds[i] == "face"), None)
        b = next((i for i in range(t + 1, n) if kinds[i] != "skip"), None)
        if a is None:
            kinds[t] = ""
            continue
        if b is not None and any(t < c <= b for c in cuts):
            b = None  # the next look is in the next shot
        box_a, box_b = boxes[a], boxes[b] if b is not None and kinds[b] == "face" else None
        assert box_a is not None
        if box_b is None or b is None:
            boxes[t] = box_a
        else:
            w = (t - a) / (b - a)
            boxes[t] = (
                box_a[0] + w * (box_b[0] - box_a[0]),
                box_a[1] + w * (box_b[1] - box_a[1]),
                box_a[2] + w * (box_b[2] - box_a[2]),
                box_a[3] + w * (box_b[3] - box_a[3]),
            )
        kinds[t] = "face"


# --- the path ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraPath:
    """The crop window's top-left corner per source frame, inside the picture scaled to ``scaled``."""

    mode: str
    detector: str
    rate: Fraction
    scaled: tuple[int, int]
    window: tuple[int, int]
    x: tuple[int, ...]
    y: tuple[int, ...]
    subject: tuple[Box | None, ...]  # per frame, in the scaled picture's pixels
    cuts: tuple[int, ...]  # frames where the path restarts
    smooth: float
    notes: tuple[str, ...] = field(default=())

    @property
    def frames(self) -> int:
        return len(self.x)

    def speed(self) -> float:
        """Largest frame-to-frame move of the window (px/frame) within a shot."""
        return max((abs(v) for v in self._diffs(1)), default=0.0)

    def accel(self) -> float:
        """Largest frame-to-frame change of speed (px/frame^2) within a shot: the jitter."""
        return max((abs(v) for v in self._diffs(2)), default=0.0)

    def accel_bound(self, subject_speed: float) -> float:
        """The acceleration the planner guarantees for a subject moving at most ``subject_speed``."""
        sigma = max(self.smooth * float(self.rate), 1e-9)
        return 2 * subject_speed / (sigma * math.sqrt(2 * math.pi)) + 2.0

    def still_frames(self) -> int:
        return sum(1 for v in self._diffs(1) if v == 0)

    def _diffs(self, order: int) -> list[float]:
        out: list[float] = []
        for a, b in _segments(self.frames, self.cuts):
            for axis in (self.x, self.y):
                seg = np.asarray(axis[a:b], dtype=float)
                if len(seg) > order:
                    out += list(np.diff(seg, n=order))
        return out

    def inside(self, frame: int) -> bool:
        """Whether the subject's box lies wholly inside the window at ``frame`` (True when none)."""
        box = self.subject[frame]
        if box is None:
            return True
        x, y = self.x[frame], self.y[frame]
        w, h = self.window
        return box[0] >= x - 0.5 and box[2] <= x + w + 0.5 and box[1] >= y - 0.5 and box[3] <= y + h + 0.5

    def keyframes(self) -> list[dict[str, int]]:
        """Frames where the window starts or stops moving, or the path is cut: the path in brief."""
        keep = [0]
        for t in range(1, self.frames - 1):
            before = (self.x[t] - self.x[t - 1], self.y[t] - self.y[t - 1])
            after = (self.x[t + 1] - self.x[t], self.y[t + 1] - self.y[t])
            if t in self.cuts or ((before == (0, 0)) != (after == (0, 0))):
                keep.append(t)
        if self.frames > 1:
            keep.append(self.frames - 1)
        return [{"frame": t, "x": self.x[t], "y": self.y[t]} for t in keep]

    def to_dict(self) -> dict[str, Any]:
        found = [b for b in self.subject if b is not None]
        return {
            "mode": self.mode,
            "detector": self.detector,
            "rate": f"{self.rate.numerator}/{self.rate.denominator}",
            "scaled": list(self.scaled),
            "window": list(self.window),
            "frames": self.frames,
            "subject_found": len(found),
            "subject_inside": sum(self.inside(t) for t in range(self.frames) if self.subject[t] is not None),
            "cuts": list(self.cuts),
            "max_speed": round(self.speed(), 3),
            "max_accel": round(self.accel(), 3),
            "still_frames": self.still_frames(),
            "keyframes": self.keyframes(),
            "x": list(self.x),
            "y": list(self.y),
            "notes": list(self.notes),
        }

    def commands(self, out_rate: Fraction) -> str:
        """sendcmd lines moving ``crop@track`` at each output frame whose position changes."""
        lines = []
        last: tuple[int, int] | None = None
        n_out = max(1, round(self.frames * out_rate / self.rate))
        for k in range(n_out):
            t = min(self.frames - 1, round(k * self.rate / out_rate))
            pos = (self.x[t], self.y[t])
            if pos != last and k > 0:
                at = (k - 0.5) / out_rate
                lines.append(f"{float(at):.6f} crop@track x {pos[0]}, crop@track y {pos[1]};")
            last = pos
        return "\n".join(lines) + "\n"


def _segments(n: int, cuts: Sequence[int]) -> list[tuple[int, int]]:
    bounds = [0, *sorted(c for c in cuts if 0 < c < n), n]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _fill(values: np.ndarray) -> np.ndarray:
    """NaNs take the last known value (leading ones the first known); all NaN -> NaN."""
    out = values.copy()
    ok = ~np.isnan(out)
    if not ok.any():
        return out
    idx = np.where(ok, np.arange(len(out)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = out[idx]
    first = int(np.argmax(ok))
    out[:first] = values[first]
    return out


def _lazy(target: np.ndarray, dz: float) -> np.ndarray:
    p = np.empty_like(target)
    p[0] = target[0]
    for t in range(1, len(target)):
        p[t] = min(max(p[t - 1], target[t] - dz), target[t] + dz)
    return p


def _gauss(values: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0 or len(values) < 2:
        return values
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(values, r, mode="edge")
    return np.convolve(padded, k, mode="valid")


def plan_axis(
    centre: np.ndarray, half: np.ndarray, window: int, size: int, *, dead_zone: float, sigma: float
) -> np.ndarray:
    """One shot, one axis: the window's offset per frame (floats) for subject centres/half-sizes."""
    lo_c, hi_c = window / 2, size - window / 2
    if hi_c <= lo_c:
        return np.zeros(len(centre))
    c = _fill(centre)
    if np.isnan(c).all():
        return np.full(len(centre), (size - window) / 2)
    hf = _fill(half)
    hf = np.where(np.isnan(hf), 0.0, hf)
    # the dead zone: as much slack as the subject leaves inside the window, at most ``dead_zone``
    dz = np.clip(window / 2 - hf - 0.04 * window, 0.0, dead_zone * window)
    target = np.clip(c, lo_c, hi_c)
    fwd = _lazy(target, float(np.min(dz)))
    bwd = _lazy(target[::-1], float(np.min(dz)))[::-1]
    path = _gauss((fwd + bwd) / 2, sigma)
    return np.clip(path, lo_c, hi_c) - window / 2


def plan_path(
    obs: Observations,
    scaled: tuple[int, int],
    window: tuple[int, int],
    *,
    mode: str,
    cuts: Sequence[int] = (),
    smooth: float = 0.25,
    dead_zone: float = 0.12,
    notes: Sequence[str] = (),
) -> CameraPath:
    """The smooth path of a ``window`` crop over the picture scaled to ``scaled`` (see module docs)."""
    sw, sh = scaled
    k = sw / obs.size[0]
    boxes = [None if b is None else (b[0] * k, b[1] * k, b[2] * k, b[3] * k) for b in obs.boxes]
    n = len(boxes)
    cx = np.array([np.nan if b is None else (b[0] + b[2]) / 2 for b in boxes])
    cy = np.array([np.nan if b is None else (b[1] + b[3]) / 2 for b in boxes])
    hx = np.array([np.nan if b is None else (b[2] - b[0]) / 2 for b in boxes])
    hy = np.array([np.nan if b is None else (b[3] - b[1]) / 2 for b in boxes])
    sigma = smooth * float(obs.rate)
    xs, ys = np.zeros(n), np.zeros(n)
    for a, b in _segments(n, cuts):
        xs[a:b] = plan_axis(cx[a:b], hx[a:b], window[0], sw, dead_zone=dead_zone, sigma=sigma)
        ys[a:b] = plan_axis(cy[a:b], hy[a:b], window[1], sh, dead_zone=dead_zone, sigma=sigma)
    x = tuple(int(v) for v in np.clip(np.round(xs), 0, sw - window[0]))
    y = tuple(int(v) for v in np.clip(np.round(ys), 0, sh - window[1]))
    return CameraPath(
        mode, obs.detector, obs.rate, scaled, window, x, y, tuple(boxes), tuple(cuts), smooth, tuple(notes)
    )


def shot_cuts(input: str | os.PathLike[str]) -> tuple[tuple[int, ...], str | None]:
    """Shot cut frames from core.ops.detect, or none (and why) without the detect extra."""
    try:
        from shotline.core.ops.detect import detect, require_scenedetect

        require_scenedetect()
    except DependencyError:
        return (), "shot cuts not looked for (pip install 'shotline[detect]'): the path runs through them"
    return tuple(c.frame for c in detect(input).cuts), None


def track(
    input: str | os.PathLike[str],
    scaled: tuple[int, int],
    window: tuple[int, int],
    mode: str = "subject",
    *,
    detector: str = "haar",
    smooth: float = 0.25,
    info: MediaInfo | None = None,
) -> CameraPath:
    """Observe ``input``, find its shot cuts, and plan the crop path (the whole of steps 1 and 2)."""
    cuts, why = shot_cuts(input)
    obs = observe(input, mode, detector=detector, info=info, cuts=cuts)
    notes = [why] if why else []
    if obs.found == 0:
        notes.append(f"no subject found ({obs.detector}): the window stays centred")
    return plan_path(obs, scaled, window, mode=mode, cuts=cuts, smooth=smooth, notes=notes)


def filter_graph(path: CameraPath, scale: str, rate: str, tail: str, command_file: str) -> str:
    """``[0:v:0]`` -> ``[v]``: rate, scale, then a crop whose x/y ``sendcmd`` sets per frame."""
    w, h = path.window
    x0, y0 = path.x[0], path.y[0]
    return (
        f"[0:v:0]{rate},setpts=PTS-STARTPTS,{scale},sendcmd=f={command_file},"
        f"crop@track=w={w}:h={h}:x={x0}:y={y0}:exact=1,{tail}[v]"
    )
