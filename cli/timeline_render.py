"""``shotline timeline render``: render any OTIO timeline to a video file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shotline.cli.common import (
    ProgressBar,
    emit_json,
    output_options,
    print_plan,
    rate_option_value,
    size_option_value,
    with_examples,
)

F = TypeVar("F", bound=Callable[..., Any])


@click.command("render")
@click.argument("timeline", type=click.Path(dir_okay=False, path_type=Path))
@output_options
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Relink clips whose media is missing to files of the same name in this folder.",
)
@click.option(
    "--missing",
    type=click.Choice(["slate", "error"]),
    default="slate",
    show_default=True,
    help="Clips with no media: render a labelled slate of the right length, or fail listing them.",
)
@click.option(
    "--smart/--no-smart",
    default=True,
    show_default=True,
    help="Stream-copy untouched stretches that match the output; encode only around edits.",
)
@click.option("--crf", type=click.IntRange(0, 51), default=None, help="x264 quality (default 18).")
@click.option("--preset", default=None, help="x264 preset (default veryfast).")
@click.option(
    "--fps",
    "--rate",
    "rate_text",
    default=None,
    help="Timeline rate, overriding the file's (e.g. 24000/1001).",
)
@click.option(
    "--size", "size_text", default=None, help="Output size WIDTHxHEIGHT (default: the first clip's)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Render in pieces (split at cuts away from transitions), this many at once, joined by stream "
    "copy; the output is the same for any number. Resumes an interrupted run.",
)
@click.option(
    "--ray",
    "ray_address",
    default=None,
    metavar="auto|ADDRESS",
    help="Render the pieces as Ray tasks ('auto': this machine's cluster, else a local one). "
    "Needs pip install 'shotline[ray]'.",
)
@with_examples(
    "shotline timeline render film.otio -o film.mp4",
    "shotline timeline render cut.edl --fps 24 --media-dir ./media -o cut.mp4",
    "shotline timeline render film.otioz -o film.mp4 --no-smart --crf 16",
    "shotline timeline render film.xml -o film.mp4 --missing error --dry-run",
    "shotline timeline render long.otio -o long.mp4 --workers 4",
)
def render_cmd(
    timeline: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    media_dir: Path | None,
    missing: str,
    smart: bool,
    crf: int | None,
    preset: str | None,
    rate_text: str | None,
    size_text: str | None,
    workers: int | None,
    ray_address: str | None,
) -> None:
    """Render TIMELINE (.otio, .otioz, EDL, FCP7 XML, FCPXML) to a video file, frame-exact.

    Gaps render as black and silence, video tracks are composited bottom to top,
    audio tracks are mixed, transitions are centred on their cuts, speed changes
    and freeze frames are applied. Anything that had to be substituted (relinked
    media, slates, rounded cut points) is printed as a note.
    """
    from shotline.core.media.encode import DEFAULT
    from shotline.otio_adapters.conform.render import RenderOptions

    settings = DEFAULT
    if crf is not None:
        settings = settings.with_(crf=crf)
    if preset:
        settings = settings.with_(preset=preset)
    options = RenderOptions(
        media_dir=media_dir,
        missing=missing,
        smart=smart,
        settings=settings,
        rate=rate_option_value(rate_text, "--rate"),
        size=size_option_value(size_text),
    )
    if (workers is not None or ray_address is not None) and not dry_run:
        rr = _render_in_pieces(timeline, output, options, workers, ray_address, force, as_json)
    else:
        rr = _render(timeline, output, options, force, as_json, dry_run)
    if rr is None:
        return
    _summary(rr, as_json)


class _PieceBar(ProgressBar):
    """The bar with the pieces' state: done, running now, and where."""

    def __call__(self, p: Any) -> None:
        super().__call__(p)
        if self._progress is not None and p.label:
            self._progress.update(self._task, description=p.label)


def _render_in_pieces(
    timeline: Path,
    output: Path,
    options: Any,
    workers: int | None,
    ray_address: str | None,
    force: bool,
    as_json: bool,
) -> Any:
    from shotline.otio_adapters.conform.parallel import render_parallel

    if ray_address is not None:
        from shotline.core.media.cluster import ray_module

        ray_module()  # says how to install Ray (exit 6) before any work
    bar = _PieceBar(f"render {output.name}")
    try:
        rr = render_parallel(
            timeline,
            output,
            options,
            workers=workers or 0,
            ray_address=ray_address,
            overwrite=force,
            progress=bar,
        )
    finally:
        bar.close()
    if not as_json:
        for note in rr.notes:
            click.echo(f"note: {note}", err=True)
    return rr


def _render(timeline: Path, output: Path, options: Any, force: bool, as_json: bool, dry_run: bool) -> Any:
    from shotline.core.media.runner import run
    from shotline.otio_adapters.conform.render import finish, plan_render

    with tempfile.TemporaryDirectory(prefix="shotline-conform-") as tmp:
        rp = plan_render(timeline, output, options, extract_dir=Path(tmp))
        c = rp.conform
        if dry_run:
            if as_json:
                print_plan(rp.plan, True, mode=rp.mode, smart_reason=rp.smart_reason, notes=list(c.notes))
                return
            for note in c.notes:
                click.echo(f"# note: {note}")
            click.echo(f"# mode: {rp.mode}" + (f" ({rp.smart_reason})" if rp.smart_reason else ""))
            print_plan(rp.plan)
            return None
        if not as_json:
            for note in c.notes:
                click.echo(f"note: {note}", err=True)
        bar = ProgressBar(f"render {output.name}")
        try:
            result = run(rp.plan, overwrite=force, progress=bar)
        finally:
            bar.close()
    return finish(rp, result)


def _summary(rr: Any, as_json: bool) -> None:
    if as_json:
        emit_json(rr.to_dict())
        return
    how = (
        f"smart: {rr.copied_frames} frames copied, {rr.encoded_frames} encoded"
        if rr.mode == "smart"
        else f"in {rr.smart_reason}"
        if rr.mode == "parallel"
        else "full"
    )
    click.echo(
        f"wrote {rr.output} ({rr.frames} frames, {rr.duration:.3f} s at {float(rr.rate):g} fps, "
        f"{rr.width}x{rr.height}, {how}) in {rr.elapsed:.1f} s"
    )
    if rr.missing:
        click.echo(
            f"warning: {len(rr.missing)} clip(s) rendered as MISSING slates: {', '.join(rr.missing)}",
            err=True,
        )
