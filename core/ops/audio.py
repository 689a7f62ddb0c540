"""Audio for finished shots: add or replace a track, mix at a gain, duck, normalize loudness.

* ``add_audio``: put a music/voice file under a video. ``fit`` decides what happens
  when the lengths differ: ``loop`` the music to the video's length, ``pad`` it with
  silence, or stop at the ``shortest`` of the two. ``mode="replace"`` drops the
  video's own sound; ``mode="mix"`` keeps it and lays the music under it at
  ``gain_db``, optionally ``duck``-ed: a sidechain compressor keyed by the
  original sound pulls the music down while someone speaks.
* ``normalize``: EBU R128 loudness normalization with loudnorm in two passes
  (measure, then a linear gain with the measured values, so the dynamics stay as
  they were); presets ``social`` (-14 LUFS, -1 dBTP) and ``broadcast`` (-23 LUFS,
  -1 dBTP, EBU R128).
* ``measure_loudness``: integrated loudness, range and true peak through ffmpeg's
  ebur128 meter, an independent check of what loudnorm did.

The picture is always stream-copied: audio work never re-encodes video.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import FFmpegError, MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.plan import Plan, single
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run

FITS = ("loop", "pad", "shortest")
MODES = ("replace", "mix")


@dataclass(frozen=True)
class LoudnessTarget:
    name: str
    integrated: float  # LUFS
    true_peak: float  # dBTP
    lra: float  # LU


LOUDNESS_PRESETS: dict[str, LoudnessTarget] = {
    "social": LoudnessTarget("social", -14.0, -1.0, 11.0),
    "broadcast": LoudnessTarget("broadcast", -23.0, -1.0, 15.0),
}


def loudness_target(target: str | float | LoudnessTarget) -> LoudnessTarget:
    """A preset name, a LUFS number (true peak -1 dBTP, LRA 11) or a LoudnessTarget."""
    if isinstance(target, LoudnessTarget):
        t = target
    elif isinstance(target, str) and target.lower() in LOUDNESS_PRESETS:
        return LOUDNESS_PRESETS[target.lower()]
    else:
        try:
            lufs = float(target)
        except ValueError:
            raise UsageError(
                f"unknown loudness target {target!r}; use social (-14), broadcast (-23) or a LUFS value"
            ) from None
        t = LoudnessTarget(f"{lufs:g} LUFS", lufs, -1.0, 11.0)
    if not -70 <= t.integrated <= -5:
        raise UsageError(f"loudness target {t.integrated:g} LUFS must be between -70 and -5")
    if not -9 <= t.true_peak <= 0:
        raise UsageError(f"true-peak ceiling {t.true_peak:g} dBTP must be between -9 and 0")
    if not 1 <= t.lra <= 50:
        raise UsageError(f"loudness range {t.lra:g} LU must be between 1 and 50")
    return t


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    lra: float  # LU
    true_peak: float  # dBTP
    threshold: float  # LUFS


def _require_audio(path: str | os.PathLike[str]) -> MediaInfo:
    info = probe(path)
    if info.audio is None:
        raise MediaError(path, "has no audio stream")
    return info


def _ffmpeg_stderr(argv: list[str], what: str) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise FFmpegError(f"{what} failed", argv, "\n".join(r.stderr.strip().splitlines()[-8:]))
    return r.stderr


def measure_loudness(path: str | os.PathLike[str]) -> Loudness:
    """EBU R128 integrated loudness, loudness range and true peak of the first audio stream."""
    _require_audio(path)
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0"]
    argv += ["-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    err = _ffmpeg_stderr(argv, "loudness measurement")
    summary = err[err.rfind("Summary:") :]

    def num(label: str) -> float:
        m = re.search(rf"{label}:\s+(-?inf|-?[0-9.]+)", summary)
        if not m:
            raise FFmpegError(f"loudness measurement printed no {label}", argv, summary[-800:])
        return float(m.group(1))

    return Loudness(num("I"), num("LRA"), num("Peak"), num("Threshold"))


def _loudnorm_measure(path: str | os.PathLike[str], t: LoudnessTarget) -> dict[str, str]:
    """loudnorm's first pass: the input's measured values, as loudnorm prints them."""
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0", "-vn"]
    argv += ["-af", f"loudnorm=I={t.integrated}:TP={t.true_peak}:LRA={t.lra}:print_format=json"]
    argv += ["-f", "null", "-"]
    err = _ffmpeg_stderr(argv, "loudness analysis")
    start, end = err.rfind("{"), err.rfind("}")
    try:
        data = json.loads(err[start : end + 1])
    except ValueError as exc:
        raise FFmpegError("loudnorm printed no measurement", argv, err[-800:]) from exc
    if data.get("input_i") in ("-inf", None):
        raise MediaError(path, "audio is silent; there is no loudness to normalize")
    return {k: str(v) for k, v in data.items()}


def _video_copy(info: MediaInfo) -> list[str]:
    return ["-map", "0:v:0", "-c:v", "copy"] if info.video is not None else []


def plan_normalize(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    target: str | float | LoudnessTarget = "social",
    *,
    measured: dict[str, str] | None = None,
    settings: EncodeSettings = DEFAULT,
    info: MediaInfo | None = None,
) -> Plan:
    """Normalize loudness; with ``measured`` (loudnorm's first pass) the gain is linear and exact."""
    t = loudness_target(target)
    info = info or _require_audio(input)
    ln = f"loudnorm=I={t.integrated:g}:TP={t.true_peak:g}:LRA={t.lra:g}"
    if measured is not None:
        ln += (
            f":measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
            f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
            f":offset={measured['target_offset']}:linear=true"
        )
    ln += f",aresample={settings.sample_rate}"  # loudnorm works at 192 kHz internally
    args = ["-i", str(input), *_video_copy(info), "-map", "0:a:0", "-af", ln, *settings.audio_args()]
    args += settings.container_args(str(output))
    return single(
        args, Path(output), [Path(input)], info.duration, f"normalize loudness to {t.name}", target=t
    )


@dataclass(frozen=True)
class AudioResult:
    output: Path
    duration: float
    loudness: Loudness | None


def normalize(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    target: str | float | LoudnessTarget = "social",
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    settings: EncodeSettings = DEFAULT,
) -> AudioResult:
    """Two-pass loudness normalization; the result carries the output's measured loudness."""
    t = loudness_target(target)
    info = _require_audio(input)
    measured = _loudnorm_measure(input, t)
    plan = plan_normalize(input, output, t, measured=measured, settings=settings, info=info)
    run(plan, overwrite=overwrite, progress=progress)
    return AudioResult(plan.output, probe(plan.output).duration, measure_loudness(plan.output))


def plan_add_audio(
    video: str | os.PathLike[str],
    music: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mode: str = "replace",
    fit: str = "loop",
    gain_db: float = 0.0,
    duck: bool = False,
    duck_threshold: float = 0.02,
    duck_ratio: float = 10.0,
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Add ``music`` to ``video``: replace or mix, loop/pad/shortest, gain, optional ducking."""
    if mode not in MODES:
        raise UsageError(f"unknown audio mode {mode!r}; choose replace or mix")
    if fit not in FITS:
        raise UsageError(f"unknown fit {fit!r}; choose loop, pad or shortest")
    if not -60 <= gain_db <= 24:
        raise UsageError(f"gain {gain_db:g} dB must be between -60 and +24")
    if not 0 < duck_threshold <= 1 or not 1 <= duck_ratio <= 20:
        raise UsageError("duck threshold must be in (0, 1] and ratio in [1, 20]")
    vinfo = probe(video)
    if vinfo.video is None:
        raise MediaError(video, "has no video stream to put sound under")
    minfo = _require_audio(music)
    keep = mode == "mix" and vinfo.audio is not None
    if duck and not keep:
        why = "mode is replace" if mode != "mix" else "it has no audio of its own"
        raise UsageError(
            f"{video}: nothing to duck the music under ({why}); use --mode mix on a clip with sound"
        )

    length = min(vinfo.duration, minfo.duration) if fit == "shortest" else vinfo.duration
    sr = settings.sample_rate
    fmt = f"aformat=sample_fmts=fltp:sample_rates={sr}:channel_layouts=stereo"
    # Timestamps from the sample count: a looped input's timestamps jump at each seam
    # (container duration vs decoded samples), which atrim would count as time.
    music_chain = f"[1:a:0]{fmt},asetpts=N/SR/TB,volume={gain_db:g}dB"
    if fit == "pad":
        music_chain += f",apad=whole_dur={length:.6f}"
    music_chain += f",atrim=0:{length:.6f}"
    if not keep:
        graph = f"{music_chain}[a]"
    elif duck:
        graph = (
            f"{music_chain}[m];[0:a:0]{fmt},asplit[orig][key];"
            f"[m][key]sidechaincompress=threshold={duck_threshold:g}:ratio={duck_ratio:g}"
            f":attack=20:release=400:makeup=1[ducked];"
            f"[orig][ducked]amix=inputs=2:duration=first:normalize=0[a]"
        )
    else:
        graph = f"{music_chain}[m];[0:a:0]{fmt}[orig];[orig][m]amix=inputs=2:duration=first:normalize=0[a]"

    args = ["-i", str(video)]
    if fit == "loop" and minfo.duration < vinfo.duration:
        args += ["-stream_loop", "-1"]
    args += ["-i", str(music), "-filter_complex", graph, "-map", "0:v:0", "-map", "[a]"]
    args += ["-c:v", "copy", *settings.audio_args(), "-t", f"{length:.6f}"]
    args += settings.container_args(str(output))
    what = "mix" if keep else "replace"
    return single(
        args,
        Path(output),
        [Path(video), Path(music)],
        length,
        f"{what} audio ({fit}{', ducked' if duck else ''})",
        mode=what,
        fit=fit,
        length=length,
    )


def add_audio(
    video: str | os.PathLike[str],
    music: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> AudioResult:
    """Add or replace a video's sound; options as for plan_add_audio."""
    plan = plan_add_audio(video, music, output, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    return AudioResult(plan.output, probe(plan.output).duration, None)
