"""Take review: local, explainable metrics that rank AI-generated takes.

The services' own advice is to generate several takes and pick the best by eye.
shotline measures each take in one in-process decode pass (PyAV, frames scaled
down to ``analysis_width`` luma) and reports numbers an editor can check:

* black stretches: blackdetect's definition, a frame is black when at least
  ``black_pixel_ratio`` of its pixels are darker than ``black_luma``;
* frozen stretches: freezedetect's definition, consecutive frames whose mean
  absolute difference stays under ``freeze_noise`` for at least ``freeze_min``;
* flicker: the median absolute frame-to-frame change of mean luma (strobing
  scores high, a slow fade scores low because it changes a little every frame);
* jitter: global motion by phase correlation between consecutive frames, then
  the RMS of its second difference (a smooth camera move has a steady velocity);
* sharpness: the variance of the Laplacian, averaged over frames;
* exposure clipping: the share of pixels at or beyond the legal-range ends;
* duration and aspect against the request; audio silence where audio was asked.

Hard checks (black, frozen, strobing, wrong duration/aspect, silent audio)
reject a take; the rest rank the survivors. Thresholds live in ReviewConfig.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shotline.core.errors import MediaError
from shotline.core.media.probe import probe

# How much a prompt-adherence verdict moves a take's rank: full adherence against none is worth
# 2 points, about the sharpness gap between a crisp take and a soft one (log scale).
ADHERENCE_WEIGHT = 2.0


@dataclass(frozen=True)
class ReviewConfig:
    analysis_width: int = 160
    black_luma: float = 0.10 * 255  # blackdetect pix_th
    black_pixel_ratio: float = 0.98  # blackdetect pic_th
    black_max_seconds: float = 0.25  # a black stretch longer than this fails
    freeze_noise: float = (
        0.26  # mean abs difference (0-255) under which two frames are "the same" (freezedetect: -60 dB)
    )
    freeze_min_seconds: float = 0.5
    flicker_max: float = 6.0  # median |delta mean luma| per frame (0-255)
    jitter_max: float = 1.5  # RMS of the second difference of global motion, in analysis pixels
    min_sharpness: float = 0.0  # variance of the Laplacian; 0 = rank only, no hard floor
    clip_max: float = 0.20  # share of clipped pixels that fails
    duration_tolerance: float = 0.25  # seconds
    aspect_tolerance: float = 0.02  # relative
    silence_db: float = -60.0  # audio quieter than this (RMS dBFS) counts as silent


@dataclass(frozen=True)
class TakeMetrics:
    duration: float
    frames: int
    width: int
    height: int
    black_seconds: float
    longest_black: float
    frozen_seconds: float
    longest_freeze: float
    flicker: float
    jitter: float
    sharpness: float
    clipped: float
    audio_rms_db: float | None


@dataclass(frozen=True)
class TakeReview:
    path: str
    metrics: TakeMetrics
    failures: tuple[str, ...]
    score: float  # higher is better; meaningful only between takes of one shot
    notes: tuple[str, ...] = field(default=())
    # prompt adherence from a vision-language model (core.generate.vlm), when one was asked for
    adherence: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "passed": self.passed,
            "score": round(self.score, 4),
            "failures": list(self.failures),
            "notes": list(self.notes),
            "metrics": asdict(self.metrics),
            **({"adherence": self.adherence} if self.adherence is not None else {}),
        }

    @property
    def rank(self) -> float:
        """The score that orders passing takes: the metrics' score plus, when a review model gave a
        verdict, ADHERENCE_WEIGHT times its 0..1 adherence score centred on 0.5. It never makes a
        take pass or fail: the hard checks alone do that."""
        if self.adherence is None:
            return self.score
        return self.score + ADHERENCE_WEIGHT * (float(self.adherence["score"]) - 0.5)


@dataclass(frozen=True)
class Choice:
    chosen: TakeReview | None
    ranked: tuple[TakeReview, ...]
    reasons: dict[str, str]  # path -> why it was chosen or not


def _gray_frames(path: Path, width: int) -> tuple[list[np.ndarray], list[float]]:
    import av

    frames: list[np.ndarray] = []
    times: list[float] = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            h = max(2, round(f.height * width / f.width / 2) * 2)
            g = f.reformat(width=width, height=h, format="gray").to_ndarray()
            frames.append(g.astype(np.float32))
            times.append(float(f.pts * s.time_base) if f.pts is not None else len(times) / 25.0)
    return frames, times


def _runs(mask: list[bool], dt: float) -> tuple[float, float]:
    """(total seconds, longest run in seconds) of True values, each frame lasting dt."""
    total = longest = cur = 0
    for m in mask:
        if m:
            cur += 1
            total += 1
            longest = max(longest, cur)
        else:
            cur = 0
    return total * dt, longest * dt


def _laplacian_var(g: np.ndarray) -> float:
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def _shift(a: np.ndarray, b: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    """Global translation from a to b by phase correlation, with a subpixel peak fit."""
    fa = np.fft.rfft2((a - a.mean()) * window)
    fb = np.fft.rfft2((b - b.mean()) * window)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.irfft2(cross, s=a.shape)
    h, w = corr.shape
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)

    def sub(c_m: float, c_0: float, c_p: float) -> float:
        d = c_m - 2 * c_0 + c_p
        return 0.5 * (c_m - c_p) / d if abs(d) > 1e-12 else 0.0

    dy = iy + sub(corr[(iy - 1) % h, ix], corr[iy, ix], corr[(iy + 1) % h, ix])
    dx = ix + sub(corr[iy, (ix - 1) % w], corr[iy, ix], corr[iy, (ix + 1) % w])
    if dy > h / 2:
        dy -= h
    if dx > w / 2:
        dx -= w
    return float(dx), float(dy)


def _audio_rms_db(path: Path) -> float | None:
    import av

    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None
        acc = 0.0
        n = 0
        for frame in c.decode(audio=0):
            x = frame.to_ndarray().astype(np.float64)
            if x.dtype.kind in "iu" or np.abs(x).max(initial=0) > 1.5:
                x = x / 32768.0
            acc += float(np.square(x).sum())
            n += x.size
    if n == 0:
        return -math.inf
    rms = math.sqrt(acc / n)
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def measure(path: str | Path, config: ReviewConfig | None = None) -> TakeMetrics:
    """Decode one take and compute its metrics."""
    cfg = config or ReviewConfig()
    p = Path(path)
    info = probe(p)
    if info.video is None:
        raise MediaError(p, "has no video stream to review")
    frames, times = _gray_frames(p, cfg.analysis_width)
    if not frames:
        raise MediaError(p, "has no decodable video frame")
    n = len(frames)
    dt = info.duration / n if n else 0.04
    black = [float((g < cfg.black_luma).mean()) >= cfg.black_pixel_ratio for g in frames]
    black_total, black_long = _runs(black, dt)
    diffs = [float(np.abs(b - a).mean()) for a, b in zip(frames, frames[1:])]
    frozen = [d < cfg.freeze_noise and not (black[i] and black[i + 1]) for i, d in enumerate(diffs)]
    frozen_total, frozen_long = _runs(frozen, dt)
    means = np.array([g.mean() for g in frames])
    flicker = float(np.median(np.abs(np.diff(means)))) if n > 1 else 0.0
    jitter = 0.0
    if n > 3:
        h, w = frames[0].shape
        window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
        motion = np.array([_shift(a, b, window) for a, b in zip(frames, frames[1:])])
        accel = np.diff(motion, axis=0)
        jitter = float(np.sqrt((accel**2).sum(axis=1).mean()))
    sharp = float(np.mean([_laplacian_var(g) for g in frames]))
    clipped = float(np.mean([((g <= 1) | (g >= 254)).mean() for g in frames]))
    v = info.video
    dw, dh = v.display_size
    return TakeMetrics(
        duration=info.duration,
        frames=n,
        width=dw,
        height=dh,
        black_seconds=black_total,
        longest_black=black_long,
        frozen_seconds=frozen_total,
        longest_freeze=frozen_long,
        flicker=flicker,
        jitter=jitter,
        sharpness=sharp,
        clipped=clipped,
        audio_rms_db=_audio_rms_db(p) if info.has_audio else None,
    )


def review(
    path: str | Path,
    *,
    duration: float | None = None,
    aspect: float | None = None,
    want_audio: bool = False,
    expect_motion: bool = True,
    config: ReviewConfig | None = None,
) -> TakeReview:
    """Measure a take and judge it against the request (duration, aspect w/h, audio).

    ``expect_motion=False`` is for a picture meant to hold still (an animatic's locked-off
    title card): a frozen stretch is then noted, not failed.
    """
    cfg = config or ReviewConfig()
    m = measure(path, cfg)
    fails: list[str] = []
    notes: list[str] = []
    if m.longest_black > cfg.black_max_seconds:
        fails.append(f"black for {m.longest_black:.2f} s (limit {cfg.black_max_seconds:.2f} s)")
    if m.longest_freeze >= cfg.freeze_min_seconds:
        frozen = f"frozen for {m.longest_freeze:.2f} s (limit {cfg.freeze_min_seconds:.2f} s)"
        if expect_motion:
            fails.append(frozen)
        else:
            notes.append(f"{frozen}, a still was asked for")
    if m.flicker > cfg.flicker_max:
        fails.append(f"flicker {m.flicker:.1f} (limit {cfg.flicker_max:.1f})")
    if m.jitter > cfg.jitter_max:
        fails.append(f"camera jitter {m.jitter:.2f} px (limit {cfg.jitter_max:.2f})")
    if m.clipped > cfg.clip_max:
        fails.append(f"{m.clipped:.0%} of pixels clipped (limit {cfg.clip_max:.0%})")
    if cfg.min_sharpness and m.sharpness < cfg.min_sharpness:
        fails.append(f"soft: sharpness {m.sharpness:.0f} (floor {cfg.min_sharpness:.0f})")
    if duration is not None and abs(m.duration - duration) > cfg.duration_tolerance:
        fails.append(f"duration {m.duration:.2f} s, asked {duration:.2f} s")
    if aspect is not None and m.height:
        got = m.width / m.height
        if abs(got - aspect) / aspect > cfg.aspect_tolerance:
            fails.append(f"aspect {got:.3f}, asked {aspect:.3f}")
    if want_audio:
        if m.audio_rms_db is None:
            fails.append("no audio track, audio was asked for")
        elif m.audio_rms_db < cfg.silence_db:
            fails.append(f"audio silent ({m.audio_rms_db:.0f} dBFS)")
    # Rank: sharpness on a log scale, minus penalties for flicker, jitter and clipping.
    score = math.log1p(m.sharpness) - 0.5 * m.flicker - 1.0 * m.jitter - 5.0 * m.clipped
    if m.black_seconds:
        notes.append(f"{m.black_seconds:.2f} s black in all")
    return TakeReview(str(path), m, tuple(fails), score, tuple(notes))


def choose(reviews: list[TakeReview]) -> Choice:
    """Pick the best passing take; explain every decision."""
    ranked = sorted(reviews, key=lambda r: (r.passed, r.rank), reverse=True)
    reasons: dict[str, str] = {}
    chosen = ranked[0] if ranked and ranked[0].passed else None
    for r in ranked:
        adh = _adherence_note(r)
        if r is chosen:
            others = [x for x in ranked if x is not r and x.passed]
            reasons[r.path] = (
                "chosen: best score"
                + (f" {r.rank:.2f} vs {others[0].rank:.2f}" if others else "")
                + " among passing takes"
                + adh
            )
        elif not r.passed:
            reasons[r.path] = "rejected: " + "; ".join(r.failures) + adh
        else:
            reasons[r.path] = f"passed, not chosen: score {r.rank:.2f}" + adh
    return Choice(chosen, tuple(ranked), reasons)


def _adherence_note(r: TakeReview) -> str:
    if r.adherence is None:
        return ""
    a = r.adherence
    missing = f", missing {', '.join(a['missing'])}" if a.get("missing") else ""
    return f" (prompt adherence {float(a['score']):.2f} by {a.get('model', 'review model')}{missing})"


# ----------------------------------------------------------------------------- explaining a choice


@dataclass(frozen=True)
class MetricInfo:
    """How to show one metric to an editor: its name, unit, limit and which way is better."""

    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"
    limit: float | None  # the hard check's limit, None where the metric only ranks
    digits: int = 2


def metric_info(config: ReviewConfig | None = None) -> tuple[MetricInfo, ...]:
    """The metrics an editor sees, in order, with the limits of ``config``."""
    cfg = config or ReviewConfig()
    return (
        MetricInfo("longest_freeze", "frozen", "s", "lower", cfg.freeze_min_seconds),
        MetricInfo("longest_black", "black", "s", "lower", cfg.black_max_seconds),
        MetricInfo("flicker", "flicker", "levels/frame", "lower", cfg.flicker_max, 1),
        MetricInfo("jitter", "jitter", "px", "lower", cfg.jitter_max),
        MetricInfo("sharpness", "sharpness", "Laplacian var.", "higher", cfg.min_sharpness or None, 0),
        MetricInfo("clipped", "clipped", "% of pixels", "lower", cfg.clip_max, 1),
        MetricInfo("duration", "duration", "s", "lower", None),
    )


# the words review() starts each failure with, and the metric it checked
_FAILURE_METRIC = (
    ("black for", "longest_black"),
    ("frozen for", "longest_freeze"),
    ("flicker", "flicker"),
    ("camera jitter", "jitter"),
    ("soft:", "sharpness"),
    ("duration", "duration"),
)


def failure_metric(failure: str) -> str | None:
    """The metric a failure message of ``review`` is about (None for aspect and audio)."""
    if "clipped" in failure:
        return "clipped"
    return next((m for prefix, m in _FAILURE_METRIC if failure.startswith(prefix)), None)


@dataclass(frozen=True)
class Explanation:
    """Why one take was chosen or not: the metric that decided (None: no single one) and words."""

    metric: str | None
    words: str


def _failure_words(take: int, failure: str, m: dict[str, Any], cfg: ReviewConfig) -> str:
    metric = failure_metric(failure)
    if metric == "longest_freeze":
        return f"take {take} froze for {m['longest_freeze']:.2f} s, over the {cfg.freeze_min_seconds:.2f} s limit"
    if metric == "longest_black":
        return (
            f"take {take} went black for {m['longest_black']:.2f} s, "
            f"over the {cfg.black_max_seconds:.2f} s limit"
        )
    if metric == "flicker":
        return f"take {take} flickers {m['flicker']:.1f} luma levels a frame, over the {cfg.flicker_max:.1f} limit"
    if metric == "jitter":
        return f"take {take} shakes {m['jitter']:.2f} px a frame, over the {cfg.jitter_max:.2f} px limit"
    if metric == "clipped":
        return f"{m['clipped']:.0%} of take {take}'s pixels are clipped, over the {cfg.clip_max:.0%} limit"
    if metric == "sharpness":
        return f"take {take} is soft: sharpness {m['sharpness']:.0f}, under the {cfg.min_sharpness:.0f} floor"
    return f"take {take}: {failure}"


# how much each metric adds to the score of review(): the deciding one moved the score most
_SCORE_TERMS = (
    ("sharpness", lambda m: math.log1p(m["sharpness"]), "sharper", "softer"),
    ("flicker", lambda m: -0.5 * m["flicker"], "steadier in brightness", "flickers more"),
    ("jitter", lambda m: -1.0 * m["jitter"], "a steadier camera", "a shakier camera"),
    ("clipped", lambda m: -5.0 * m["clipped"], "less clipping", "more clipping"),
)


def _versus(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str, str]:
    """(metric, word for a, word for b): the score term that separates take a from take b most."""
    key, fn, good, bad = max(_SCORE_TERMS, key=lambda term: abs(term[1](a) - term[1](b)))
    return key, good, bad


def _value(key: str, m: dict[str, Any]) -> str:
    info = {i.key: i for i in metric_info()}[key]
    v = float(m[key]) * (100 if key == "clipped" else 1)
    return f"{v:.{info.digits}f}"


def explain_choice(
    takes: list[dict[str, Any]],
    chosen: str | None,
    config: ReviewConfig | None = None,
    *,
    picked_by_editor: str | None = None,
) -> dict[str, Explanation]:
    """Words for every take of one shot: ``takes`` are review.json entries with a ``take`` number.

    A rejected take names the check it failed, with value, unit and limit ("take 2 froze for
    1.40 s, over the 0.50 s limit"); between passing takes the metric that moved the score
    most decided ("take 2 chosen over take 1: sharper, sharpness 412 vs 389"). An editor's
    pick (``picked_by_editor``, a path) is said to be theirs.
    """
    cfg = config or ReviewConfig()
    by_path = {t["path"]: t for t in takes}
    passing = sorted((t for t in takes if t["passed"]), key=lambda t: t["score"], reverse=True)
    best = by_path.get(chosen) if chosen else None
    out: dict[str, Explanation] = {}
    for t in takes:
        n, m = t["take"], t["metrics"]
        if picked_by_editor is not None and t["path"] == picked_by_editor:
            out[t["path"]] = Explanation(None, f"take {n} chosen by the editor (selection.json)")
            continue
        if not t["passed"]:
            first = t["failures"][0] if t["failures"] else "failed review"
            out[t["path"]] = Explanation(failure_metric(first), _failure_words(n, first, m, cfg))
            continue
        rivals = [p for p in passing if p is not t]
        if best is t or (best is None and passing and passing[0] is t):
            if not rivals:
                alone = "the only take" if len(takes) == 1 else "the only take that passed every check"
                overridden = "review's pick, overridden by the editor: " if picked_by_editor else ""
                out[t["path"]] = Explanation(None, f"{overridden}take {n} chosen: {alone}")
                continue
            other = rivals[0]
            key, good, _ = _versus(m, other["metrics"])
            overridden = "review's pick, overridden by the editor: " if picked_by_editor else ""
            out[t["path"]] = Explanation(
                key,
                f"{overridden}take {n} chosen over take {other['take']}: {good}, {key} {_value(key, m)} vs "
                f"{_value(key, other['metrics'])} (score {t['score']:.2f} vs {other['score']:.2f})",
            )
            continue
        winner = best if best is not None else passing[0]
        key, _, bad = _versus(m, winner["metrics"])
        out[t["path"]] = Explanation(
            key,
            f"take {n} passed but lost to take {winner['take']}: {bad}, {key} {_value(key, m)} vs "
            f"{_value(key, winner['metrics'])} (score {t['score']:.2f} vs {winner['score']:.2f})",
        )
    return out
