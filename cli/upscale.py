"""``shotline upscale``: a thin command over :func:`shotline.upscale.upscale`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from shotline.cli.common import ProgressBar, emit_json, with_examples


class _Bar(ProgressBar):
    """Frames done, frames/s and, when segments run in parallel, which ones run now."""

    def fields(self, p: Any) -> tuple[float, str]:
        text = f"{p.frames_done}/{p.frames_total} frames, {p.fps:.1f} frames/s"
        if p.workers > 1 or p.running:  # parallel: segment by segment, with what runs now
            now = ",".join(str(i) for i in p.running[:8]) + ("…" if len(p.running) > 8 else "")
            text += f" · segments {p.segments_done}/{p.segments_total} done, running [{now}]"
        return p.frames_done / max(1, p.frames_total), text


@click.command("upscale")
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file."
)
@click.option(
    "--model",
    default="animevideov3",
    show_default=True,
    help="animevideov3, x4plus, x4plus-anime, or a .pth path.",
)
@click.option("--scale", type=int, default=None, help="Upscale factor (default: the model's largest).")
@click.option(
    "--backend",
    type=click.Choice(["auto", "realesrgan", "ncnn", "topaz", "lanczos"]),
    default="auto",
    show_default=True,
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (realesrgan).")
@click.option(
    "--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True
)
@click.option(
    "--tile", type=int, default=0, show_default=True, help="Tile size in input pixels (0 = whole frame)."
)
@click.option("--tile-pad", type=int, default=24, show_default=True, help="Context pixels around each tile.")
@click.option("--batch", type=int, default=0, help="Frames per forward pass (default 4 on CUDA, 1 on CPU).")
@click.option("--segment-seconds", type=float, default=4.0, show_default=True, help="Resume granularity.")
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Reuse finished segments of a matching earlier run.",
)
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the network (long CUDA runs).")
@click.option("--codec", default="libx264", show_default=True)
@click.option("--crf", type=int, default=18, show_default=True)
@click.option("--preset", default="veryfast", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Segments encoded at once, each in its own process (default: one per two cores; the output "
    "is the same for any number). With lanczos, asks for the segmented pipeline (else one ffmpeg).",
)
@click.option(
    "--ray",
    "ray_address",
    default=None,
    metavar="auto|ADDRESS",
    help="Run the segments as Ray tasks: 'auto' joins this machine's cluster (or starts a local one), "
    "else the cluster at ADDRESS. Needs pip install 'shotline[ray]'.",
)
@click.option("--topaz-model", default="prob-4", show_default=True, help="Topaz model (topaz backend).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (backend, device, segments, estimate) and run nothing."
)
@with_examples(
    "shotline upscale shot.mp4 -o shot_4k.mp4",
    "shotline upscale shot.mp4 -o shot_2x.mp4 --scale 2 --device cuda --batch 8",
    "shotline upscale photo_real.mp4 -o big.mp4 --model x4plus --tile 256",
    "shotline upscale shot.mp4 -o base.mp4 --backend lanczos --scale 2",
    "shotline upscale shot.mp4 -o up.mp4 --dry-run",
    "shotline upscale long.mp4 -o long_4k.mp4 --workers 4",
    "shotline upscale long.mp4 -o long_4k.mp4 --ray auto",
)
def upscale_cmd(
    input: Path,
    output: Path,
    model: str,
    scale: int | None,
    backend: str,
    device: str,
    precision: str,
    tile: int,
    tile_pad: int,
    batch: int,
    segment_seconds: float,
    resume: bool,
    compile_: bool,
    codec: str,
    crf: int,
    preset: str,
    workers: int | None,
    ray_address: str | None,
    topaz_model: str,
    force: bool,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Upscale a clip with Real-ESRGAN (PyTorch or ncnn), Topaz Video AI or lanczos.

    Frames stream from decoder to model to encoder without touching the disk; audio,
    subtitles, timestamps and colour tags are carried over. Work goes in segments kept
    beside OUTPUT, so an interrupted run resumes where it stopped.
    """
    from shotline.core.errors import UsageError
    from shotline.core.media.encode import EncodeSettings
    from shotline.upscale import TopazOptions, UpscaleOptions, describe, upscale
    from shotline.upscale.parallel import default_workers

    if tile and tile < 16:
        raise UsageError("--tile must be 0 (off) or at least 16 pixels")
    if batch < 0 or segment_seconds <= 0:
        raise UsageError("--batch must be >= 0 and --segment-seconds > 0")
    source = click.get_current_context().get_parameter_source("model")
    if backend == "lanczos" and source == click.core.ParameterSource.COMMANDLINE:
        click.echo(
            f"warning: --model {model} is ignored: the lanczos backend is plain ffmpeg scaling, it uses no model",
            err=True,
        )
    opts = UpscaleOptions(
        model=model,
        scale=scale,
        backend=backend,
        device=device,
        precision=precision,
        tile=tile,
        tile_pad=tile_pad,
        batch=batch,
        segment_seconds=segment_seconds,
        resume=resume,
        compile=compile_,
        encode=EncodeSettings(vcodec=codec, crf=crf, preset=preset),
        topaz=TopazOptions(model=topaz_model, scale=scale or 2),
        workers=(
            (workers or 0)
            if ray_address
            else workers
            if backend in ("lanczos", "topaz")  # one ffmpeg command unless --workers is given
            else (workers or default_workers())
        ),
        ray=ray_address,
    )
    if ray_address is not None and backend in ("lanczos", "topaz"):
        raise UsageError("--ray runs the AI backends' segments; lanczos and topaz run as one ffmpeg command")
    if ray_address is not None and not dry_run:
        from shotline.core.media.cluster import ray_module

        ray_module()  # says how to install Ray (exit 6) before any work
    if dry_run:
        plan = describe(input, output, opts)
        if as_json:
            emit_json(plan)
            return
        sec = plan.estimated_seconds
        est = "unknown" if sec is None else f"~{sec:.1f} s (rough)" if sec < 10 else f"~{sec:.0f} s (rough)"
        click.echo(f"# upscale {plan.input} -> {plan.output}")
        click.echo(f"backend   {plan.backend} ({plan.engine}), model {plan.model}, x{plan.scale}")
        click.echo(f"size      {plan.size_in[0]}x{plan.size_in[1]} -> {plan.size_out[0]}x{plan.size_out[1]}")
        click.echo(
            f"work      {plan.frames} frames in {plan.segments} segment(s), batch {plan.batch}, tile {plan.tile or 'off'}"
        )
        click.echo(f"estimate  {est}")
        for line in plan.commands:
            click.echo(line)
        return
    bar = _Bar("upscale")
    try:
        report = upscale(input, output, opts, overwrite=force, progress=bar)
    finally:
        bar.close()
    if as_json:
        emit_json(report)
    else:
        resumed = f", {report.segments_resumed} segment(s) resumed" if report.segments_resumed else ""
        click.echo(
            f"wrote {report.output} ({report.size_out[0]}x{report.size_out[1]}, {report.frames} frames) "
            f"with {report.engine} in {report.elapsed:.1f} s{resumed}"
        )
