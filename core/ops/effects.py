"""Fade, loop and speed: the single-clip effects.

* **fade** in/out to/from black or white, video and audio. The fade-out start comes
  from the clip's real picture length (frame index), not from a rounded container
  duration. H.264 clips are smart-rendered: only the GOPs inside the fades are
  re-encoded, the rest is copied (core.smart); other clips are re-encoded in full.
* **loop** N times or to a target duration: stream copy through the concat demuxer when
  the result is a whole number of plays, otherwise one exact re-encode.
* **speed** by a factor (0.1-10) or to a target duration: setpts plus an fps filter at
  the source rate (so the output rate is right), audio through chained atempo stages
  (pitch kept); slow motion may be frame-blended or motion-interpolated.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.normalize import choose_target, normalize_graph, video_duration
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.media.smart import FrameIndex, index_frames, plan_smart_file, unsupported
from shotline.core.ops.concat import concat_list

FADE_COLORS = ("black", "white")
SMOOTH_MODES = ("none", "blend", "mci")
MIN_SPEED, MAX_SPEED = 0.1, 10.0
# loop bounds: the plays are listed one line each (copy) or one decoder each (exact length),
# so the work grows with them; a day of output or ten thousand plays is far past any real use
MAX_LOOP_PLAYS = 10_000
MAX_LOOP_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class EffectResult:
    output: Path
    mode: str  # "smart", "full", "copy" or "encode"
    duration: float  # seconds of the result (planned)
    elapsed: float
    detail: dict[str, object]


def _one(
    args: list[str], output: Path, src: Path, seconds: float, desc: str, meta: dict[str, object]
) -> Plan:
    """A one-command plan whose meta carries the mode and the planned duration."""
    return Plan((Step(tuple(args), OUT, seconds, desc),), output, (src,), desc, meta)


def _need_video(info: MediaInfo) -> None:
    if info.video is None:
        raise MediaError(info.path, "has no video stream")


def _fit(settings: EncodeSettings, info: MediaInfo, chain: str | None) -> str | None:
    """``chain`` plus the encoder's even-size rule for this source's frames."""
    assert info.video is not None
    v = info.video
    return settings.fit_chain(chain, v.width, v.height, rotation=v.rotation, source=info.path)


def _full_encode_args(
    settings: EncodeSettings, info: MediaInfo, output: Path, keep_rate: bool = True
) -> list[str]:
    """Encoder args for a full re-encode; ``keep_rate``: the sound keeps the source's rate."""
    rate = float(info.video.rate) if info.video and info.video.rate else None
    args = settings.video_args(rate)
    if info.has_audio:
        args += settings.audio_args(info.audio.sample_rate if info.audio and keep_rate else None)
    return args + settings.container_args(str(output))


# ----------------------------------------------------------------------------- fade


def fade_filters(
    duration: float, fade_in: float, fade_out: float, color: str = "black"
) -> tuple[str | None, str | None]:
    """(video, audio) filter text for fades on a clip of ``duration`` seconds, in clip time."""
    v, a = [], []
    if fade_in > 0:
        v.append(f"fade=t=in:st=0:d={fade_in:.6f}:color={color}")
        a.append(f"afade=t=in:st=0:d={fade_in:.6f}")
    if fade_out > 0:
        st = max(0.0, duration - fade_out)
        v.append(f"fade=t=out:st={st:.6f}:d={fade_out:.6f}:color={color}")
        a.append(f"afade=t=out:st={st:.6f}:d={fade_out:.6f}")
    return (",".join(v) or None, ",".join(a) or None)


def _check_fade(info: MediaInfo, length: float, fade_in: float, fade_out: float, color: str) -> None:
    if color not in FADE_COLORS:
        raise UsageError(f"unknown fade colour {color!r} (black or white)")
    if fade_in < 0 or fade_out < 0 or not (math.isfinite(fade_in) and math.isfinite(fade_out)):
        raise UsageError("fade durations must be zero or positive seconds")
    if fade_in == 0 and fade_out == 0:
        raise UsageError("nothing to do: give a fade-in and/or a fade-out duration")
    if fade_in + fade_out > length + 1e-6:
        raise UsageError(
            f"{info.path}: fade in {fade_in:g} s + fade out {fade_out:g} s is longer than the clip "
            f"({length:.3f} s)"
        )


def plan_fade(
    input: Path,
    output: Path,
    *,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    color: str = "black",
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Plan a fade. ``mode``: "auto" (smart when the source allows), "smart" (fail if not), "full"."""
    if mode not in ("auto", "smart", "full"):
        raise UsageError(f"unknown fade mode {mode!r} (auto, smart or full)")
    src, output = Path(input), Path(output)
    info = probe(src)
    _need_video(info)
    why = unsupported(info, settings) if mode != "full" else "full re-encode asked for"
    if mode == "smart" and why:
        raise UsageError(f"{src}: cannot smart-render: {why}")
    # a long clip is indexed only near its fades (and its ends)
    around = (fade_in, max(0.0, video_duration(info) - fade_out))
    index = index_frames(src, around=around) if why is None else None
    if index is not None and index.unsupported():
        why, index = index.unsupported(), None
        if mode == "smart":
            raise UsageError(f"{src}: cannot smart-render: {why}")
    length = index.end_time if index is not None else video_duration(info)
    _check_fade(info, length, fade_in, fade_out, color)
    vf, af = fade_filters(length, fade_in, fade_out, color)
    desc = f"fade in {fade_in:g} s / out {fade_out:g} s ({color})"
    meta: dict[str, object] = {"fade_in": fade_in, "fade_out": fade_out, "color": color}
    if index is not None:
        touched = _fade_touched(index, fade_in, fade_out, length)
        plan = plan_smart_file(
            src,
            output,
            info=info,
            index=index,
            start=0,
            end=index.frames,
            touched=touched,
            vf=vf,
            af=af,
            settings=settings,
            description=desc + ", smart render",
            meta=meta,
            audio_touched=[r for r in ((0.0, fade_in), (length - fade_out, length)) if r[1] > r[0]],
        )
        if plan.meta["copied_frames"]:
            return plan
        why = "the fades cover every GOP"
    args = ["-i", str(src), "-map", "0:v:0"]
    if info.has_audio:
        # the sound ends with the picture (its fade-out ends there), as in the smart render
        args += ["-map", "0:a:0", "-af", ",".join(x for x in (af, f"atrim=end={length:.6f}") if x)]
    vf = _fit(settings, info, vf)
    if vf:
        args += ["-vf", vf]
    args += _full_encode_args(settings, info, output)
    meta.update(mode="full", duration=length, reason=why)
    return _one(args, output, src, length, desc + ", full re-encode", meta)


def _fade_touched(index: FrameIndex, fade_in: float, fade_out: float, length: float) -> list[tuple[int, int]]:
    """Frame ranges the fades change (a frame of margin on the fade-out side)."""
    touched = []
    eps = 1e-6

    def first_at(seconds: float) -> int:  # the first frame shown at or after ``seconds``
        return bisect.bisect_left(range(index.frames), True, key=lambda i: index.time(i) >= seconds - eps)

    if fade_in > 0:
        touched.append((0, first_at(fade_in)))
    if fade_out > 0:
        touched.append((first_at(length - fade_out - index.frame_duration), index.frames))
    return touched


def fade(
    input: Path,
    output: Path,
    *,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    color: str = "black",
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> EffectResult:
    """Fade ``input`` in from / out to ``color`` (video and audio)."""
    plan = plan_fade(
        input, output, fade_in=fade_in, fade_out=fade_out, color=color, mode=mode, settings=settings
    )
    return _result(plan, run(plan, overwrite=overwrite, progress=progress))


def _result(plan: Plan, res: object) -> EffectResult:
    from shotline.core.media.runner import RunResult

    assert isinstance(res, RunResult)
    duration = plan.meta.get("duration")
    assert isinstance(duration, float)
    return EffectResult(res.output, str(plan.meta["mode"]), duration, res.elapsed, dict(plan.meta))


# ----------------------------------------------------------------------------- loop


def plan_loop(
    input: Path,
    output: Path,
    *,
    times: int | None = None,
    duration: float | None = None,
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Plan playing ``input`` ``times`` times, or looping it until ``duration`` seconds."""
    src, output = Path(input), Path(output)
    if (times is None) == (duration is None):
        raise UsageError("give either a number of times or a target duration for loop")
    if times is not None and times < 1:
        raise UsageError(f"loop times must be 1 or more, not {times}")
    if duration is not None and not (duration > 0 and math.isfinite(duration)):
        raise UsageError(f"loop duration must be a positive number of seconds, not {duration}")
    if times is not None and times > MAX_LOOP_PLAYS:
        raise UsageError(f"loop times must be at most {MAX_LOOP_PLAYS}, not {times}")
    info = probe(src)
    length = info.duration
    if times is not None:
        plays = Fraction(times)
    else:
        assert duration is not None
        plays = Fraction(duration) / Fraction(length)
    if plays > MAX_LOOP_PLAYS or float(plays) * length > MAX_LOOP_SECONDS:
        raise UsageError(
            f"{src}: looping to {float(plays) * length:.0f} s ({float(plays):.0f} plays) is past the limit "
            f"({MAX_LOOP_PLAYS} plays, {MAX_LOOP_SECONDS / 3600:.0f} h)"
        )
    whole = round(plays)
    frame = float(1 / info.video.rate) if info.video and info.video.rate else 0.02
    target = float(plays * Fraction(length))
    copyable = Path(src).suffix.lower() in (".mp4", ".mov", ".m4v", ".mkv") and whole >= 1
    if copyable and abs(target - whole * length) <= frame / 2:
        listing = concat_list([src] * whole)
        args = ["-f", "concat", "-safe", "0", "-i", work("loop.ffconcat"), "-map", "0:v?", "-map", "0:a?"]
        args += ["-c", "copy"] + settings.container_args(str(output))
        step = Step(
            tuple(args), OUT, whole * length, "loop (stream copy)", files=(("loop.ffconcat", listing),)
        )
        meta: dict[str, object] = {"mode": "copy", "plays": whole, "duration": whole * length}
        return Plan((step,), output, (src,), f"loop {whole} times by stream copy", meta)
    # not a whole number of plays: decode the clip once per play and cut the last one exactly
    plays_n = max(1, math.ceil(plays - Fraction(1, 1000)))
    one = video_duration(info)
    lengths = [one] * (plays_n - 1) + [target - one * (plays_n - 1)]
    tgt = choose_target([info])
    g = normalize_graph([info] * plays_n, tgt, with_audio=info.has_audio, durations=lengths)
    n = len(lengths)
    if info.has_audio:
        joined = "".join(f"{v}{a}" for v, a in zip(g.video, g.audio))
        graph = [*g.graph, f"{joined}concat=n={n}:v=1:a=1[vout][aout]"]
    else:
        graph = [*g.graph, f"{''.join(g.video)}concat=n={n}:v=1:a=0[vout]"]
    args = []
    for _ in range(n):
        args += ["-i", str(src)]
    args += ["-filter_complex", ";".join(graph), "-map", "[vout]"]
    if info.has_audio:
        args += ["-map", "[aout]"]
    args += _full_encode_args(settings, info, output, keep_rate=False)  # the graph resamples to 48 kHz
    seconds = float(Fraction(sum(g.frames)) / tgt.rate)
    return _one(
        args, output, src, seconds, f"loop to {target:.3f} s", {"mode": "encode", "duration": seconds}
    )


def loop(
    input: Path,
    output: Path,
    *,
    times: int | None = None,
    duration: float | None = None,
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> EffectResult:
    """Loop ``input`` (see plan_loop)."""
    plan = plan_loop(input, output, times=times, duration=duration, settings=settings)
    return _result(plan, run(plan, overwrite=overwrite, progress=progress))


# ----------------------------------------------------------------------------- speed


def atempo_chain(factor: float) -> str:
    """atempo stages, each within [0.5, 2] where it sounds best, whose product is ``factor``."""
    if not factor > 0:
        raise UsageError(f"speed factor must be positive, not {factor}")
    stages = []
    f = factor
    while f > 2.0:
        stages.append(2.0)
        f /= 2.0
    while f < 0.5:
        stages.append(0.5)
        f /= 0.5
    stages.append(f)
    return ",".join(f"atempo={s:.6f}" for s in stages)


def plan_speed(
    input: Path,
    output: Path,
    *,
    factor: float | None = None,
    duration: float | None = None,
    smooth: str = "none",
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Plan a speed change by ``factor`` (2 = twice as fast) or to a target ``duration``."""
    src, output = Path(input), Path(output)
    if (factor is None) == (duration is None):
        raise UsageError("give either a speed factor or a target duration")
    if smooth not in SMOOTH_MODES:
        raise UsageError(f"unknown smoothing {smooth!r} ({', '.join(SMOOTH_MODES)})")
    if duration is not None and not (duration > 0 and math.isfinite(duration)):
        raise UsageError(f"target duration must be positive seconds, not {duration}")
    if factor is not None and not (factor > 0 and math.isfinite(factor)):
        raise UsageError(f"speed factor must be between {MIN_SPEED:g} and {MAX_SPEED:g}, not {factor:g}")
    info = probe(src)
    _need_video(info)
    assert info.video is not None
    length = video_duration(info)
    f = factor if factor is not None else length / float(duration)  # type: ignore[arg-type]
    if not MIN_SPEED - 1e-9 <= f <= MAX_SPEED + 1e-9:
        raise UsageError(
            f"{src}: speed factor {f:.3g} is outside {MIN_SPEED:g}-{MAX_SPEED:g}"
            + (f" (from {length:.3f} s to {duration:g} s)" if duration is not None else "")
        )
    rate = info.video.rate
    rate_s = f"{rate.numerator}/{rate.denominator}"
    out_len = length / f
    if round(length * rate) < 2:
        raise MediaError(src, "holds a single frame (a still image?); a speed change needs a moving clip")
    if out_len * rate < 1:
        raise UsageError(f"{src}: at x{f:.3g} the {length:.3f} s clip would last less than one frame")
    vf = [f"setpts=(PTS-STARTPTS)/{f:.9f}"]
    if f < 1 and smooth == "blend":
        vf.append(f"framerate=fps={rate_s}")
    elif f < 1 and smooth == "mci":
        vf.append(f"minterpolate=fps={rate_s}:mi_mode=mci:mc_mode=aobmc:vsbmc=1")
    vf.append(f"fps={rate_s}:round=up")  # sample and hold: slot k shows source frame floor(k*f)
    args = ["-i", str(src), "-map", "0:v:0", "-vf", _fit(settings, info, ",".join(vf)) or ""]
    if info.has_audio:
        args += ["-map", "0:a:0", "-af", f"asetpts=PTS-STARTPTS,{atempo_chain(f)}"]
    args += ["-t", f"{out_len:.6f}"] + _full_encode_args(settings, info, output)
    desc = f"speed x{f:.3g}" + (f" ({smooth})" if smooth != "none" and f < 1 else "")
    return _one(args, output, src, out_len, desc, {"mode": "encode", "duration": out_len, "factor": f})


def speed(
    input: Path,
    output: Path,
    *,
    factor: float | None = None,
    duration: float | None = None,
    smooth: str = "none",
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> EffectResult:
    """Change the speed of ``input`` (see plan_speed)."""
    plan = plan_speed(input, output, factor=factor, duration=duration, smooth=smooth, settings=settings)
    return _result(plan, run(plan, overwrite=overwrite, progress=progress))
