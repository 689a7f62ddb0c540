"""Transitions between consecutive clips: every ffmpeg xfade transition plus acrossfade.

Each clip is first normalized to one target (core.normalize), cut to an exact number
of frames, so the xfade offsets computed from those lengths are exact: transition k
starts at (sum of the clip lengths so far) - k * duration. The audio crossfades over
the same span with acrossfade, so picture and sound stay in sync through a chain of
any length. Output length = sum of the clips - (n - 1) * duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.normalize import choose_target, normalize_graph, probe_all, video_duration
from shotline.core.media.plan import OUT, Plan, Step
from shotline.core.media.probe import MediaInfo
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.vocab import XFADE_TRANSITIONS

TRANSITIONS = XFADE_TRANSITIONS  # every ffmpeg xfade transition, by its ffmpeg name
AUDIO_CURVES = ("tri", "qsin", "hsin", "esin", "log", "ipar", "qua", "cub", "squ", "cbr", "par", "exp")


@dataclass(frozen=True)
class TransitionResult:
    output: Path
    transition: str
    duration: float  # seconds of the result
    offsets: tuple[float, ...]  # where each transition starts in the output
    elapsed: float


def xfade_offsets(lengths: list[float], duration: float) -> list[float]:
    """Start time of each of the n-1 transitions in the output."""
    offsets, total = [], 0.0
    for k, length in enumerate(lengths[:-1]):
        total += length
        offsets.append(total - (k + 1) * duration)
    return offsets


def _check(infos: list[MediaInfo], lengths: list[float], transition: str, duration: float) -> None:
    if transition not in TRANSITIONS:
        raise UsageError(f"unknown transition {transition!r}; choose one of: {', '.join(TRANSITIONS)}")
    if not (duration > 0 and math.isfinite(duration)):
        raise UsageError(f"transition duration must be positive seconds, not {duration}")
    for i, (info, length) in enumerate(zip(infos, lengths)):
        if info.video is None:
            raise MediaError(info.path, "has no video stream")
        # a middle clip is shared by two transitions, an end clip by one
        uses = (1 if i > 0 else 0) + (1 if i < len(infos) - 1 else 0)
        if uses * duration > length + 1e-6:
            which = "both crossfades" if uses == 2 else f"a {duration:g} s crossfade"
            raise UsageError(f"{info.path}: clip is {length:.3f} s, too short for {which} of {duration:g} s")


def plan_xfade(
    inputs: list[Path] | tuple[Path, ...],
    output: Path,
    *,
    transition: str = "fade",
    duration: float = 0.5,
    audio_curve: str = "tri",
    settings: EncodeSettings = DEFAULT,
    size: tuple[int, int] | None = None,
    rate: Fraction | None = None,
) -> Plan:
    """Plan a chain of ``transition`` crossfades of ``duration`` seconds between consecutive clips."""
    if len(inputs) < 2:
        raise UsageError("a transition needs at least two clips")
    if audio_curve not in AUDIO_CURVES:
        raise UsageError(f"unknown audio curve {audio_curve!r} ({', '.join(AUDIO_CURVES)})")
    paths = [Path(p) for p in inputs]
    output = Path(output)
    infos = probe_all(paths)
    _check(infos, [video_duration(i) for i in infos], transition, duration)
    target = choose_target(infos, size, rate)
    g = normalize_graph(infos, target)
    lengths = [float(Fraction(n) / target.rate) for n in g.frames]
    # the offsets must sit on the frame grid of the target rate
    d = float(Fraction(round(duration * target.rate)) / target.rate) or float(1 / target.rate)
    _check(infos, lengths, transition, d)
    offsets = xfade_offsets(lengths, d)
    graph = list(g.graph)
    vprev, aprev = g.video[0], g.audio[0]
    for k, off in enumerate(offsets, start=1):
        vout, aout = f"[vx{k}]", f"[ax{k}]"
        graph.append(
            f"{vprev}{g.video[k]}xfade=transition={transition}:duration={d:.6f}:offset={off:.6f}{vout}"
        )
        graph.append(f"{aprev}{g.audio[k]}acrossfade=d={d:.6f}:c1={audio_curve}:c2={audio_curve}{aout}")
        vprev, aprev = vout, aout
    total = sum(lengths) - d * (len(paths) - 1)
    args: list[str] = []
    for p in paths:
        args += ["-i", str(p)]
    args += ["-filter_complex", ";".join(graph), "-map", vprev, "-map", aprev]
    args += settings.video_args(float(target.rate)) + ["-r", target.rate_str]
    args += settings.audio_args() + ["-ac", "2"] + settings.container_args(str(output))
    desc = f"{transition} x{len(offsets)} ({d:g} s) over {len(paths)} clips"
    meta: dict[str, object] = {"duration": total, "offsets": tuple(offsets), "transition": transition}
    return Plan((Step(tuple(args), OUT, total, desc),), output, tuple(paths), desc, meta)


def xfade(
    inputs: list[Path] | tuple[Path, ...],
    output: Path,
    *,
    transition: str = "fade",
    duration: float = 0.5,
    audio_curve: str = "tri",
    settings: EncodeSettings = DEFAULT,
    size: tuple[int, int] | None = None,
    rate: Fraction | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> TransitionResult:
    """Join ``inputs`` with a crossfade between each pair (see plan_xfade)."""
    plan = plan_xfade(
        inputs,
        output,
        transition=transition,
        duration=duration,
        audio_curve=audio_curve,
        settings=settings,
        size=size,
        rate=rate,
    )
    res = run(plan, overwrite=overwrite, progress=progress)
    total, offsets = plan.meta["duration"], plan.meta["offsets"]
    assert isinstance(total, float) and isinstance(offsets, tuple)
    return TransitionResult(res.output, transition, total, offsets, res.elapsed)
