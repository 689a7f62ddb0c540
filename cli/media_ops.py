"""``shotline gif | audio | reframe | resize | frames | thumbs | contact-sheet | lut | burnin``.

Thin commands over the core libraries: each builds the library's plan for
--dry-run, or calls the library function with a progress bar, then prints one
line (or the typed result with --json). Libraries are imported inside the
commands so start-up stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from shotline.cli.common import ProgressBar, emit_json, output_options, print_plan, with_examples
from shotline.core.vocab import GIF_DITHERS

INPUT = click.Path(path_type=Path, dir_okay=False)
SOURCE = click.Path(path_type=Path)


def _seconds(value: str | None) -> float | None:
    """Seconds as 12.5, 1:02.5 or 0:01:02.5."""
    if value is None:
        return None
    try:
        parts = [float(p) for p in str(value).split(":")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (seconds, M:SS or H:MM:SS)") from None
    if len(parts) > 3 or any(p < 0 for p in parts):
        raise click.BadParameter(f"{value!r} is not a time (seconds, M:SS or H:MM:SS)")
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def _time_option(*names: str, help: str) -> Callable[[Any], Any]:
    return click.option(*names, callback=lambda ctx, param, v: _seconds(v), help=help)


def _execute(
    dry_run: bool,
    as_json: bool,
    plan: Callable[[], Any],
    work: Callable[[ProgressBar], Any],
    line: Callable[[Any], str],
    label: str,
) -> Any:
    """--dry-run prints the plan; otherwise run with a progress bar and print a line or JSON."""
    if dry_run:
        print_plan(plan(), as_json)
        return None
    bar = ProgressBar(label)
    try:
        result = work(bar)
    finally:
        bar.close()
    if as_json:
        emit_json(result)
    else:
        click.echo(line(result))
    for warning in getattr(result, "warnings", ()) or ():
        click.echo(f"warning: {warning}", err=True)
    return result


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


# --- gif -------------------------------------------------------------------------------------------


@click.command("gif")
@click.argument("input", type=INPUT)
@output_options
@click.option(
    "--fps", "--rate", "fps", type=click.FloatRange(0, 60, min_open=True), default=15, show_default=True
)
@click.option(
    "--width",
    type=int,
    default=None,
    help="Width in pixels (height follows). Default 480, or the source's if narrower.",
)
@click.option("--height", type=int, default=None, help="Height in pixels instead of --width.")
@_time_option("--start", help="Start time (seconds or M:SS).")
@_time_option("--duration", help="Length of the preview (seconds or M:SS).")
@click.option(
    "--loop",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="0 plays forever, N plays N times.",
)
@click.option(
    "--colors", type=click.IntRange(2, 256), default=64, show_default=True, help="GIF palette size."
)
@click.option(
    "--dither",
    type=click.Choice(GIF_DITHERS),
    default="none",
    show_default=True,
)
@click.option("--bayer-scale", type=click.IntRange(0, 5), default=4, show_default=True)
@click.option("--quality", type=click.IntRange(0, 100), default=75, show_default=True, help="WebP quality.")
@with_examples(
    "shotline gif in.mp4 --fps 15 --width 480 -o out.gif",
    "shotline gif in.mp4 --start 2 --duration 3 --colors 256 --dither sierra2_4a -o hq.gif",
    "shotline gif in.mp4 --width 360 --loop 1 -o preview.webp",
)
def gif_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    height: int | None,
    width: int | None,
    **kw: Any,
) -> None:
    """Make a GIF (two-pass palette) or animated WebP preview (by OUTPUT's suffix)."""
    from shotline.core.ops import gif as g

    opts = dict(kw, start=kw["start"] or 0.0, width=None if height else width, height=height)
    _execute(
        dry_run,
        as_json,
        lambda: g.plan_gif(input, output, **opts),
        lambda bar: g.gif(input, output, overwrite=force, progress=bar, **opts),
        lambda r: (
            f"wrote {r.output} ({r.format}, {r.width}x{r.height}, {r.frames} frames, {_mb(r.size_bytes)})"
        ),
        "preview",
    )


# --- audio -----------------------------------------------------------------------------------------


@click.group("audio")
def audio_group() -> None:
    """Add, replace, mix, duck and loudness-normalize sound."""


@audio_group.command("add")
@click.argument("video", type=INPUT)
@click.argument("music", type=INPUT)
@output_options
@click.option("--mode", type=click.Choice(["replace", "mix"]), default="replace", show_default=True)
@click.option(
    "--fit",
    type=click.Choice(["loop", "pad", "shortest"]),
    default="loop",
    show_default=True,
    help="When MUSIC and VIDEO differ in length.",
)
@click.option("--gain", "gain_db", type=float, default=0.0, show_default=True, help="Music gain in dB.")
@click.option("--duck", is_flag=True, help="Duck the music under the video's own sound (with --mode mix).")
@with_examples(
    "shotline audio add shot.mp4 music.m4a -o scored.mp4",
    "shotline audio add shot.mp4 music.m4a --mode mix --gain -8 --duck -o scored.mp4",
    "shotline audio add shot.mp4 vo.wav --fit pad -o voiced.mp4",
)
def audio_add_cmd(
    video: Path, music: Path, output: Path, force: bool, as_json: bool, dry_run: bool, **kw: Any
) -> None:
    """Put MUSIC under VIDEO: replace its sound or mix with it (the picture is copied)."""
    from shotline.core.ops import audio as a

    _execute(
        dry_run,
        as_json,
        lambda: a.plan_add_audio(video, music, output, **kw),
        lambda bar: a.add_audio(video, music, output, overwrite=force, progress=bar, **kw),
        lambda r: f"wrote {r.output} ({r.duration:.3f} s)",
        "audio",
    )


@audio_group.command("normalize")
@click.argument("input", type=INPUT)
@output_options
@click.option(
    "--target",
    default="social",
    show_default=True,
    help="social (-14 LUFS), broadcast (-23 LUFS) or a LUFS value.",
)
@with_examples(
    "shotline audio normalize cut.mp4 -o cut-social.mp4",
    "shotline audio normalize cut.mp4 --target broadcast -o cut-r128.mp4",
    "shotline audio normalize cut.mp4 --target -16 -o cut-16.mp4",
)
def audio_normalize_cmd(
    input: Path, output: Path, force: bool, as_json: bool, dry_run: bool, target: str
) -> None:
    """Normalize loudness to a target in two passes (measure, then a linear gain)."""
    from shotline.core.ops import audio as a

    _execute(
        dry_run,
        as_json,
        lambda: a.plan_normalize(input, output, target),
        lambda bar: a.normalize(input, output, target, overwrite=force, progress=bar),
        lambda r: (
            f"wrote {r.output} ({r.loudness.integrated:.1f} LUFS, true peak {r.loudness.true_peak:.1f} dBTP)"
        ),
        "loudness",
    )


@audio_group.command("measure")
@click.argument("input", type=INPUT)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_examples("shotline audio measure master.mp4")
def audio_measure_cmd(input: Path, as_json: bool) -> None:
    """Print the EBU R128 integrated loudness, loudness range and true peak of INPUT."""
    from shotline.core.ops.audio import measure_loudness

    m = measure_loudness(input)
    if as_json:
        emit_json(m)
    else:
        click.echo(f"{input}: {m.integrated:.1f} LUFS, LRA {m.lra:.1f} LU, true peak {m.true_peak:.1f} dBTP")


# --- reframe ---------------------------------------------------------------------------------------


def _list_presets(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from shotline.core.ops.presets import PRESETS

    for p in PRESETS:
        limits = []
        if p.max_seconds:
            limits.append(f"max {p.max_seconds:g} s")
        if p.max_bytes:
            limits.append(f"max {p.max_bytes // 2**20} MB")
        click.echo(
            f"{p.name:20s} {p.width}x{p.height:<5d} <= {float(p.max_fps):g} fps, {p.video_maxrate}bit/s"
            f"{'  ' + ', '.join(limits) if limits else ''}   aliases: {', '.join(p.aliases)}"
        )
    ctx.exit(0)


def _focus(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float]:
    if value is None:
        return (0.5, 0.5)
    try:
        x, y = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not X,Y (fractions of the picture, e.g. 0.3,0.5)") from None
    return (x, y)


@click.command("reframe")
@click.argument("input", type=INPUT)
@output_options
@click.option("--preset", "-p", required=True, help="Platform preset or alias (see --list-presets).")
@click.option("--mode", type=click.Choice(["crop", "pad", "fit"]), default="crop", show_default=True)
@click.option("--focus", callback=_focus, help="Crop centre as X,Y fractions (0,0 top-left). Default centre.")
@click.option(
    "--background",
    type=click.Choice(["blur", "solid"]),
    default="blur",
    show_default=True,
    help="Fill for --mode pad.",
)
@click.option("--color", default="black", show_default=True, help="Colour for --background solid.")
@click.option("--crf", type=click.IntRange(0, 51), default=None, help="Override the preset's quality.")
@click.option(
    "--track",
    type=click.Choice(["subject", "face", "motion"]),
    default=None,
    help="Move the crop with the subject along one smooth path (needs: pip install 'shotline[track]').",
)
@click.option(
    "--face-detector",
    type=click.Choice(["haar", "haar-alt2", "dlib-hog"]),
    default="haar",
    show_default=True,
    help="Face detector for --track face/subject.",
)
@click.option(
    "--list-presets",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_list_presets,
    help="List presets and exit.",
)
@with_examples(
    "shotline reframe in.mp4 --preset tiktok -o out.mp4",
    "shotline reframe in.mp4 --preset instagram --mode pad -o post.mp4",
    "shotline reframe in.mp4 --preset shorts --focus 0.3,0.5 -o short.mp4",
    "shotline reframe in.mp4 --preset tiktok --track face -o vertical.mp4",
    "shotline reframe in.mp4 --preset tiktok --track subject --dry-run --json",
    "shotline reframe --list-presets",
)
def reframe_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    preset: str,
    track: str | None,
    face_detector: str,
    **kw: Any,
) -> None:
    """Reframe and encode INPUT for a platform: crop (centre, focus point, or following the
    subject with --track), pad (blur/solid) or fit."""
    from shotline.core.ops import reframe as rf

    if track is not None:
        if kw.get("mode", "crop") != "crop":
            raise click.UsageError("--track moves a crop window: use it with --mode crop")
        kw["path"] = rf.track_for(input, preset, track, detector=face_detector)
        if dry_run:
            _show_path(kw["path"], rf.plan_reframe(input, output, preset, **kw), as_json)
            return
    _execute(
        dry_run,
        as_json,
        lambda: rf.plan_reframe(input, output, preset, **kw),
        lambda bar: rf.reframe(input, output, preset, overwrite=force, progress=bar, **kw),
        lambda r: (
            f"wrote {r.output} ({r.preset} {r.mode}, {r.width}x{r.height}, {r.duration:.3f} s, {_mb(r.size_bytes)})"
        ),
        "reframe",
    )


def _show_path(path: Any, plan: Any, as_json: bool) -> None:
    """--track --dry-run: the planned camera path (JSON with --json), then the ffmpeg command."""
    if as_json:
        emit_json({"track": path.to_dict(), "commands": plan.commands()})
        return
    w, h = path.window
    click.echo(f"# camera path: {w}x{h} window in the picture scaled to {path.scaled[0]}x{path.scaled[1]}")
    click.echo(
        f"# subject ({path.detector}) found on {sum(b is not None for b in path.subject)}/{path.frames} frames; "
        f"cuts at {list(path.cuts) or 'none'}; still on {path.still_frames()} steps; "
        f"max {path.speed():g} px/frame, {path.accel():g} px/frame^2"
    )
    for note in path.notes:
        click.echo(f"# note: {note}")
    for k in path.keyframes():
        click.echo(f"#   frame {k['frame']:6d}  x {k['x']:5d}  y {k['y']:5d}")
    print_plan(plan)


# --- resize ----------------------------------------------------------------------------------------


@click.command("resize")
@click.argument("input", type=INPUT)
@output_options
@click.option("--width", type=int, default=None)
@click.option("--height", type=int, default=None)
@click.option("--scale", type=float, default=None, help="Factor, e.g. 2 for a 2x lanczos upscale.")
@click.option(
    "--algorithm",
    type=click.Choice(["lanczos", "bicubic", "bilinear", "spline", "neighbor", "area"]),
    default="lanczos",
    show_default=True,
)
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True)
@click.option("--preset", "x264_preset", default="veryfast", show_default=True, help="x264 preset.")
@with_examples(
    "shotline resize in.mp4 --scale 2 -o up.mp4", "shotline resize in.mp4 --width 1280 -o 720p.mp4"
)
def resize_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    crf: int,
    x264_preset: str,
    **kw: Any,
) -> None:
    """Resize or lanczos-upscale INPUT (display aspect kept, square pixels, audio copied)."""
    from shotline.core.media.encode import EncodeSettings
    from shotline.core.ops import resize as rs

    settings = EncodeSettings(crf=crf, preset=x264_preset)
    _execute(
        dry_run,
        as_json,
        lambda: rs.plan_resize(input, output, settings=settings, **kw),
        lambda bar: rs.resize(input, output, settings=settings, overwrite=force, progress=bar, **kw),
        lambda r: f"wrote {r.output} ({r.width}x{r.height}, {r.algorithm}, {r.duration:.3f} s)",
        "resize",
    )


# --- frames ----------------------------------------------------------------------------------------


@click.group("frames")
def frames_group() -> None:
    """Extract stills from a clip, or build a clip from an image sequence."""


@frames_group.command("extract")
@click.argument("input", type=INPUT)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@click.option("--fps", "--rate", "fps", type=float, default=1.0, show_default=True, help="Images per second.")
@click.option("--all", "every", is_flag=True, help="Every frame instead of --fps.")
@_time_option("--start", help="Start time.")
@_time_option("--duration", help="Length to extract.")
@click.option("--width", type=int, default=None, help="Image width (default: the display width).")
@click.option(
    "--format", "fmt", type=click.Choice(["png", "jpg", "webp", "tiff"]), default="png", show_default=True
)
@click.option("--prefix", default="frame_", show_default=True)
@click.option("--force", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--dry-run", is_flag=True)
@with_examples(
    "shotline frames extract in.mp4 --fps 2 -o stills/",
    "shotline frames extract in.mp4 --all --start 1 --duration 0.5 -o frames/",
)
def frames_extract_cmd(
    input: Path,
    output: Path,
    fps: float,
    every: bool,
    start: float | None,
    force: bool,
    as_json: bool,
    dry_run: bool,
    fmt: str,
    **kw: Any,
) -> None:
    """Write images of INPUT into a folder (created whole or not at all)."""
    from shotline.core.ops import frames as fr

    opts = dict(kw, fps=None if every else fps, start=start or 0.0, format=fmt)
    _execute(
        dry_run,
        as_json,
        lambda: fr.plan_extract(input, output, **opts),
        lambda bar: fr.extract_frames(input, output, overwrite=force, progress=bar, **opts),
        lambda r: f"wrote {len(r.files)} images ({r.width}x{r.height}) to {r.output}",
        "frames",
    )


@frames_group.command("build")
@click.argument("source", type=SOURCE)
@output_options
@click.option(
    "--fps", "--rate", "fps", default="24", show_default=True, help="Frame rate: 24, 25, 30000/1001 ..."
)
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True)
@with_examples(
    "shotline frames build renders/ --fps 24 -o shot.mp4",
    "shotline frames build 'renders/shot_%04d.png' --fps 30000/1001 -o shot.mp4",
)
def frames_build_cmd(
    source: Path, output: Path, force: bool, as_json: bool, dry_run: bool, fps: str, crf: int
) -> None:
    """Encode a numbered image sequence (a folder, one of its files, or a %04d pattern)."""
    from shotline.core.media.encode import EncodeSettings
    from shotline.core.ops import frames as fr

    settings = EncodeSettings(crf=crf)
    _execute(
        dry_run,
        as_json,
        lambda: fr.plan_from_images(source, output, fps=fps, settings=settings),
        lambda bar: fr.from_images(source, output, fps=fps, settings=settings, overwrite=force, progress=bar),
        lambda r: f"wrote {r.output} ({r.frames} frames at {float(r.fps):g} fps, {r.width}x{r.height})",
        "build",
    )


# --- thumbnails and contact sheet ------------------------------------------------------------------


@click.command("thumbs")
@click.argument("input", type=INPUT)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@click.option("--count", type=int, default=6, show_default=True)
@click.option(
    "--at",
    "times",
    multiple=True,
    callback=lambda c, p, v: [_seconds(x) for x in v] or None,
    help="A moment (repeatable); replaces --count.",
)
@click.option("--width", type=int, default=320, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]), default="png", show_default=True)
@click.option("--force", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--dry-run", is_flag=True)
@with_examples(
    "shotline thumbs in.mp4 --count 6 -o thumbs/",
    "shotline thumbs in.mp4 --at 1.5 --at 0:04 --width 640 -o thumbs/",
)
def thumbs_cmd(
    input: Path, output: Path, force: bool, as_json: bool, dry_run: bool, fmt: str, **kw: Any
) -> None:
    """Write thumbnails of INPUT at evenly spread (or given) moments into a folder."""
    from shotline.core.ops import thumbs as th

    opts = dict(kw, format=fmt)
    _execute(
        dry_run,
        as_json,
        lambda: th.plan_thumbnails(input, output, **opts),
        lambda bar: th.thumbnails(input, output, overwrite=force, progress=bar, **opts),
        lambda r: f"wrote {len(r.files)} thumbnails ({r.width}x{r.height}) to {r.output}",
        "thumbnails",
    )


@click.command("contact-sheet")
@click.argument("input", type=INPUT)
@output_options
@click.option("--count", type=int, default=12, show_default=True)
@click.option("--columns", type=int, default=4, show_default=True)
@click.option("--width", type=int, default=320, show_default=True, help="Width of one cell.")
@click.option("--font", default=None, help="Font file or fontconfig name (default: fontconfig's sans).")
@click.option(
    "--no-header", "header", is_flag=True, flag_value=False, default=True, help="Leave out the title line."
)
@with_examples(
    "shotline contact-sheet master.mp4 -o sheet.png",
    "shotline contact-sheet shot.mp4 --count 8 --columns 4 --width 240 -o sheet.png",
)
def contact_sheet_cmd(
    input: Path, output: Path, force: bool, as_json: bool, dry_run: bool, **kw: Any
) -> None:
    """One PNG grid of INPUT's frames with timestamps and a header line."""
    from shotline.core.ops import thumbs as th

    _execute(
        dry_run,
        as_json,
        lambda: th.plan_contact_sheet(input, output, **kw),
        lambda bar: th.contact_sheet(input, output, overwrite=force, progress=bar, **kw),
        lambda r: (
            f"wrote {r.output} ({r.layout.columns}x{r.layout.rows} frames, {r.layout.size[0]}x{r.layout.size[1]})"
        ),
        "contact sheet",
    )


# --- lut -------------------------------------------------------------------------------------------


@click.command("lut")
@click.argument("input", type=INPUT)
@output_options
@click.option("--cube", required=True, type=INPUT, help="The .cube LUT (3D or 1D).")
@click.option("--strength", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True)
@click.option(
    "--interp",
    type=click.Choice(["tetrahedral", "trilinear", "nearest", "pyramid", "prism"]),
    default="tetrahedral",
    show_default=True,
)
@with_examples(
    "shotline lut in.mp4 --cube look.cube -o graded.mp4",
    "shotline lut in.mp4 --cube look.cube --strength 0.6 -o graded.mp4",
)
def lut_cmd(
    input: Path, output: Path, force: bool, as_json: bool, dry_run: bool, cube: Path, **kw: Any
) -> None:
    """Grade INPUT through a .cube LUT."""
    from shotline.core.ops import lut as lt

    _execute(
        dry_run,
        as_json,
        lambda: lt.plan_lut(input, output, cube, **kw),
        lambda bar: lt.apply_lut(input, output, cube, overwrite=force, progress=bar, **kw),
        lambda r: f"wrote {r.output} ({r.cube.kind.upper()} LUT {r.cube.path.name}, {r.duration:.3f} s)",
        "lut",
    )


# --- burn-in ---------------------------------------------------------------------------------------


@click.command("burnin")
@click.argument("input", type=INPUT)
@output_options
@click.option("--shot-id", default=None, help="Shot id, top left.")
@click.option("--caption", default=None, help="Caption text, bottom centre.")
@click.option("--caption-file", type=INPUT, default=None, help="Read the caption from a UTF-8 file.")
@click.option(
    "--timecode/--no-timecode", default=True, show_default=True, help="Running timecode, top right."
)
@click.option(
    "--start-tc",
    default="00:00:00:00",
    show_default=True,
    help="First frame's timecode (HH:MM:SS;FF = drop-frame).",
)
@click.option("--frame-number", is_flag=True, help="Frame number, bottom left.")
@click.option("--font", default=None, help="Font file or fontconfig name (default: fontconfig's sans).")
@click.option("--font-size", "size", type=int, default=None, help="Font size in pixels (default: height/22).")
@click.option("--size", "size", type=int, default=None, hidden=True, deprecated="use --font-size")
@with_examples(
    "shotline burnin shot.mp4 --shot-id SH010 -o review.mp4",
    'shotline burnin shot.mp4 --shot-id SH010 --caption "v2: sky fixed" --start-tc 01:00:00:00 -o review.mp4',
)
def burnin_cmd(
    input: Path, output: Path, force: bool, as_json: bool, dry_run: bool, caption_file: Path | None, **kw: Any
) -> None:
    """Burn shot id, timecode, frame number and a caption into a review copy."""
    from shotline.core.errors import MediaError
    from shotline.core.ops import burnin as bi

    if caption_file is not None:
        try:
            kw["caption"] = caption_file.read_text(encoding="utf-8").rstrip("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise MediaError(caption_file, f"cannot read caption file ({exc})") from None
    _execute(
        dry_run,
        as_json,
        lambda: bi.plan_burnin(input, output, **kw),
        lambda bar: bi.burnin(input, output, overwrite=force, progress=bar, **kw),
        lambda r: f"wrote {r.output} ({r.duration:.3f} s, {r.frames} frames)",
        "burn-in",
    )
