"""GIF and animated WebP previews.

GIF: one ffmpeg command, one decode, two passes over the frames inside the graph:
``fps, scale (lanczos), split -> palettegen`` builds a palette from the clip's own
colours, then ``paletteuse`` maps every frame onto it with the chosen dither.
``stats_mode=diff`` + ``diff_mode=rectangle`` spend the palette on what moves and
re-encode only the changed rectangle of each frame, which is where most of the
size saving over a naive ``ffmpeg -i x.mp4 x.gif`` (a fixed 3-3-2 palette with
error diffusion over the whole frame) comes from.

WebP: libwebp's animated encoder, lossy at a quality, no palette needed.

``quality`` measures a preview against its source at the same size and rate
(SSIM and PSNR through ffmpeg's own filters), for tests and the benchmark.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import FFmpegError, MediaError, UsageError
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.plan import Plan, single
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.ops.resize import require_video, target_size
from shotline.core.vocab import GIF_DITHERS

DITHERS = GIF_DITHERS
FORMATS = ("gif", "webp")


@dataclass(frozen=True)
class GifResult:
    output: Path
    format: str
    width: int
    height: int
    fps: float
    frames: int | None
    duration: float
    size_bytes: int


def _window(info: MediaInfo, start: float, duration: float | None) -> float:
    if start < 0:
        raise UsageError(f"start {start} must not be negative")
    if start >= info.duration:
        raise UsageError(
            f"{info.path}: start {start:g} s is past the end of the clip ({info.duration:.3f} s)"
        )
    if duration is not None and duration <= 0:
        raise UsageError(f"duration {duration} must be above 0")
    left = info.duration - start
    return min(left, duration) if duration is not None else left


def preview_filter(
    info: MediaInfo, fps: float, width: int | None, height: int | None = None
) -> tuple[str, int, int]:
    """``fps,scale`` for a preview: display aspect kept, square pixels, no even-size rule."""
    if not 0 < fps <= 60:
        raise UsageError(f"fps {fps} must be above 0 and at most 60")
    if width is None and height is None:
        width = min(480, info.video.display_size[0]) if info.video else 480
    w, h = target_size(info, width, height, round_even=False)
    return f"fps={fps:g},scale={w}:{h}:flags=lanczos,setsar=1", w, h


def plan_gif(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    fps: float = 15,
    width: int | None = None,
    height: int | None = None,
    start: float = 0.0,
    duration: float | None = None,
    loop: int = 0,
    dither: str = "none",
    bayer_scale: int = 4,
    colors: int = 64,
    format: str | None = None,
    quality: int = 75,
    info: MediaInfo | None = None,
) -> Plan:
    """Plan a GIF (two-pass palette) or animated WebP preview.

    ``width``/``height``: one of them (the other follows the display aspect); neither
    gives 480 px wide, or the source's width if it is narrower.
    ``loop``: 0 plays forever, N plays N times in total (GIF and WebP alike).
    ``format`` defaults from the output suffix (.gif or .webp).

    Defaults (64 colours, no dither) were chosen by measurement (bench/bench_gif.py):
    undithered pixels stay identical from frame to frame, so the GIF encoder can
    make them transparent, and 64 colours from a motion-weighted palette still
    score well above a naive one-pass GIF on SSIM and PSNR while being smaller.
    ``colors=256, dither="sierra2_4a"`` is the high-quality choice for stills-like shots.
    """
    info = info or require_video(input)
    fmt = format or Path(output).suffix.lower().lstrip(".") or "gif"
    if fmt not in FORMATS:
        raise UsageError(f"{output}: unknown preview format {fmt!r}; use .gif or .webp")
    if dither not in DITHERS:
        raise UsageError(f"unknown dither {dither!r}; choose one of {', '.join(DITHERS)}")
    if not 0 <= bayer_scale <= 5:
        raise UsageError(f"bayer scale {bayer_scale} must be between 0 and 5")
    if not 2 <= colors <= 256:
        raise UsageError(f"colors {colors} must be between 2 and 256")
    if loop < 0:
        raise UsageError(f"loop {loop} must be 0 (forever) or a number of plays")
    if not 0 <= quality <= 100:
        raise UsageError(f"quality {quality} must be between 0 and 100")
    length = _window(info, start, duration)
    base, w, h = preview_filter(info, fps, width, height)

    args: list[str] = []
    if start > 0:
        args += ["-ss", f"{start:.6f}"]
    args += ["-t", f"{length:.6f}", "-i", str(input)]
    if fmt == "gif":
        use = f"paletteuse=dither={dither}:diff_mode=rectangle"
        if dither == "bayer":
            use += f":bayer_scale={bayer_scale}"
        graph = (
            f"[0:v:0]{base},split[a][b];[a]palettegen=max_colors={colors}:stats_mode=diff[p];[b][p]{use}[v]"
        )
        # -loop for the gif muxer: -1 plays once, 0 forever, N repeats N more times
        muxloop = 0 if loop == 0 else (-1 if loop == 1 else loop - 1)
        args += ["-filter_complex", graph, "-map", "[v]", "-an", "-c:v", "gif", "-loop", str(muxloop)]
        args += ["-f", "gif"]
    else:
        args += ["-map", "0:v:0", "-vf", f"{base},format=yuva420p", "-an"]
        args += ["-c:v", "libwebp_anim", "-lossless", "0", "-q:v", str(quality), "-compression_level", "4"]
        args += ["-loop", str(loop), "-f", "webp"]
    return single(
        args,
        Path(output),
        [Path(input)],
        length,
        f"{fmt} preview {w}x{h} @ {fps:g} fps",
        width=w,
        height=h,
        fps=fps,
        format=fmt,
    )


def gif(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> GifResult:
    """Write a GIF or animated WebP preview; options as for plan_gif."""
    plan = plan_gif(input, output, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    fmt = str(plan.meta["format"])
    frames: int | None
    if fmt == "webp":  # libavformat reads animated WebP only as one still: parse the container
        w, h, frames, duration, _ = webp_info(plan.output)
    else:
        info = probe(plan.output)
        assert info.video is not None
        w, h, frames, duration = info.video.width, info.video.height, info.video.frame_count, info.duration
    return GifResult(
        output=plan.output,
        format=fmt,
        width=w,
        height=h,
        fps=float(plan.meta["fps"]),  # type: ignore[arg-type]
        frames=frames,
        duration=duration,
        size_bytes=plan.output.stat().st_size,
    )


def webp_info(path: str | os.PathLike[str]) -> tuple[int, int, int, float, int]:
    """(width, height, frames, duration s, loop count) of an animated WebP, from its RIFF chunks."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MediaError(path, "not a WebP file")
    pos, w, h, frames, ms, loop = 12, 0, 0, 0, 0, 1
    while pos + 8 <= len(data):
        fourcc, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if fourcc == b"VP8X" and len(body) >= 10:
            w = int.from_bytes(body[4:7], "little") + 1
            h = int.from_bytes(body[7:10], "little") + 1
        elif fourcc == b"ANIM" and len(body) >= 6:
            loop = int.from_bytes(body[4:6], "little")
        elif fourcc == b"ANMF" and len(body) >= 16:
            frames += 1
            ms += int.from_bytes(body[12:15], "little")
        pos += 8 + size + (size & 1)
    if frames == 0:
        raise MediaError(path, "WebP has no animation frames")
    return w, h, frames, ms / 1000.0, loop


@dataclass(frozen=True)
class Quality:
    ssim: float  # 0..1, 1 = identical (all planes)
    psnr: float  # dB, higher is better


def quality(
    preview: str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    fps: float,
    start: float = 0.0,
    duration: float | None = None,
) -> Quality:
    """SSIM and PSNR of ``preview`` against ``source`` resampled to the same size and rate.

    The reference goes through ``fps`` and a lanczos scale to the preview's size;
    the preview's frames are compared with it by index (frame k with frame k), so
    a writer that rounds GIF frame delays (1/15 s written as 6 cs) is judged on
    its pictures, not on its timing. Compared as RGB, so a palette's colour
    errors count.
    """
    if Path(preview).suffix.lower() == ".webp":
        w, h = webp_info(preview)[:2]
    else:
        pinfo = probe(preview)
        assert pinfo.video is not None
        w, h = pinfo.video.width, pinfo.video.height
    src_in = ["-ss", f"{start:.6f}"] if start else []
    if duration is not None:
        src_in += ["-t", f"{duration:.6f}"]
    graph = (
        f"[0:v]settb=1/{fps:g},setpts=N,format=rgb24,setsar=1[p];"
        f"[1:v]fps={fps:g},settb=1/{fps:g},setpts=N,scale={w}:{h}:flags=lanczos,format=rgb24,setsar=1[r];"
        "[p]split[p1][p2];[r]split[r1][r2];"
        "[p1][r1]ssim;[p2][r2]psnr"
    )
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(preview), *src_in, "-i", str(source)]
    argv += ["-filter_complex", graph, "-f", "null", "-"]
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise FFmpegError("quality measurement failed", argv, r.stderr[-1500:])
    ssim = re.search(r"SSIM .*All:([0-9.]+)", r.stderr)
    psnr = re.search(r"PSNR .*average:([0-9.]+|inf)", r.stderr)
    if not ssim or not psnr:
        raise FFmpegError("quality measurement printed no SSIM/PSNR", argv, r.stderr[-1500:])
    return Quality(float(ssim.group(1)), float(psnr.group(1)))
