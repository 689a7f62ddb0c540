"""Resize and lanczos upscale: the non-AI baseline every AI upscale is compared with.

Sizes are computed from the *display* size (sample aspect and rotation applied),
so an anamorphic or phone clip comes out with square pixels and the shape a player
showed. Outputs are even-sized (4:2:0 needs it) and tagged SAR 1.

The geometry helpers here (display size, even rounding, audio copy-or-encode) are
shared by the other media operations (gif, reframe, thumbs, frames).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.plan import Plan, single
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run

SCALERS = ("lanczos", "bicubic", "bilinear", "spline", "neighbor", "area")
# accurate_rnd + full_chroma_int: the quality flags; they matter most when upscaling chroma.
SCALE_FLAGS = "+accurate_rnd+full_chroma_int"
MAX_SIDE = 16384


def even(x: float) -> int:
    """Nearest even integer, at least 2."""
    return max(2, int(round(x / 2.0)) * 2)


def display_size(info: MediaInfo) -> tuple[int, int]:
    if info.video is None:
        raise MediaError(info.path, "has no video stream")
    return info.video.display_size


def target_size(
    info: MediaInfo,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
    *,
    round_even: bool = True,
) -> tuple[int, int]:
    """Output size from a width, a height, both, or a factor; the missing side keeps the display aspect."""
    dw, dh = display_size(info)
    if scale is not None:
        if width is not None or height is not None:
            raise UsageError("give either --scale or --width/--height, not both")
        if not 0 < scale <= 16:
            raise UsageError(f"scale factor {scale} must be above 0 and at most 16")
        w, h = dw * scale, dh * scale
    elif width is None and height is None:
        raise UsageError("give a --width, a --height or a --scale factor")
    else:
        for name, v in (("width", width), ("height", height)):
            if v is not None and not 2 <= v <= MAX_SIDE:
                raise UsageError(f"{name} {v} must be between 2 and {MAX_SIDE}")
        w = float(width) if width is not None else dw * (height or 0) / dh
        h = float(height) if height is not None else dh * (width or 0) / dw
    if round_even:
        return even(w), even(h)
    return max(1, round(w)), max(1, round(h))


def scale_filter(width: int, height: int, algorithm: str = "lanczos") -> str:
    if algorithm not in SCALERS:
        raise UsageError(f"unknown scaler {algorithm!r}; choose one of {', '.join(SCALERS)}")
    return f"scale={width}:{height}:flags={algorithm}{SCALE_FLAGS},setsar=1"


_COPYABLE_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac"}


def audio_args(info: MediaInfo, output: str | os.PathLike[str], settings: EncodeSettings) -> list[str]:
    """Copy the source audio when the output container takes it as is; otherwise encode; none if absent."""
    if info.audio is None:
        return ["-an"]
    suffix = Path(output).suffix.lower()
    if suffix in (".mp4", ".mov", ".m4v", ".mkv") and info.audio.codec in _COPYABLE_AUDIO:
        return ["-map", "0:a:0", "-c:a", "copy"]
    return ["-map", "0:a:0", *settings.audio_args()]


def require_video(path: str | os.PathLike[str]) -> MediaInfo:
    info = probe(path)
    if info.video is None:
        raise MediaError(path, "has no video stream")
    return info


@dataclass(frozen=True)
class ResizeResult:
    output: Path
    width: int
    height: int
    duration: float
    algorithm: str


def plan_resize(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
    algorithm: str = "lanczos",
    settings: EncodeSettings = DEFAULT,
    info: MediaInfo | None = None,
) -> Plan:
    """One ffmpeg command: scale (display aspect kept, square pixels), encode, audio copied."""
    info = info or require_video(input)
    assert info.video is not None
    w, h = target_size(info, width, height, scale)
    vf = scale_filter(w, h, algorithm)
    args = [
        "-i",
        str(input),
        "-map",
        "0:v:0",
        "-vf",
        vf,
        *settings.video_args(float(info.video.rate)),
        *audio_args(info, output, settings),
        *settings.container_args(str(output)),
    ]
    return single(args, Path(output), [Path(input)], info.duration, f"resize to {w}x{h}", width=w, height=h)


def resize(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
    algorithm: str = "lanczos",
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ResizeResult:
    """Resize ``input`` to ``output``; see plan_resize."""
    plan = plan_resize(
        input, output, width=width, height=height, scale=scale, algorithm=algorithm, settings=settings
    )
    run(plan, overwrite=overwrite, progress=progress)
    info = probe(plan.output)
    assert info.video is not None
    return ResizeResult(plan.output, info.video.width, info.video.height, info.duration, algorithm)
