"""``shotline concat | fade | xfade | loop | speed | trim``: thin commands over the core libraries.

Library modules are imported inside the commands so ``shotline concat`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shotline.cli.common import output_options, rate_option_value, run_plan, size_option_value, with_examples

F = TypeVar("F", bound=Callable[..., Any])


class Seconds(click.ParamType):
    """Seconds as ``12.5``, ``1:02.5`` or ``0:01:02.5``."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip()
        try:
            parts = [float(p) for p in text.split(":")]
        except ValueError:
            self.fail(f"{value!r} is not a time (seconds, M:SS or H:MM:SS)", param, ctx)
        if len(parts) > 3 or any(p < 0 for p in parts):
            self.fail(f"{value!r} is not a time (seconds, M:SS or H:MM:SS)", param, ctx)
        total = 0.0
        for p in parts:
            total = total * 60 + p
        return total


SECONDS = Seconds()
INPUT = click.Path(path_type=Path, dir_okay=False)


def encode_options(func: F) -> F:
    """--crf and --preset: the encoder settings used wherever a command re-encodes."""
    func = click.option(
        "--preset", default="veryfast", show_default=True, help="x264 preset when re-encoding."
    )(func)
    func = click.option(
        "--crf",
        type=click.IntRange(0, 51),
        default=18,
        show_default=True,
        help="x264 quality when re-encoding.",
    )(func)
    return func


def _settings(crf: int, preset: str) -> Any:
    from shotline.core.media.encode import DEFAULT

    return DEFAULT.with_(crf=crf, preset=preset)


def _summary(plan: Any, *keys: str) -> Callable[[Any], dict[str, Any]]:
    def summary(_info: Any) -> dict[str, Any]:
        return {k: plan.meta[k] for k in keys if k in plan.meta}

    return summary


@click.command("concat")
@click.argument("inputs", nargs=-1, required=True, type=INPUT)
@output_options
@click.option(
    "--mode",
    type=click.Choice(["auto", "copy", "normalize"]),
    default="auto",
    show_default=True,
    help="auto: stream copy when every stream matches, else normalize.",
)
@click.option("--size", help="Target WIDTHxHEIGHT when normalizing (default: the first clip's).")
@click.option("--fps", "--rate", "rate", help="Target frame rate when normalizing, e.g. 25 or 30000/1001.")
@encode_options
@with_examples(
    "shotline concat a.mp4 b.mp4 -o ab.mp4",
    "shotline concat shot_*.mp4 --size 1920x1080 --fps 25 -o reel.mp4",
)
def concat_cmd(
    inputs: tuple[Path, ...],
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    mode: str,
    size: str | None,
    rate: str | None,
    crf: int,
    preset: str,
) -> None:
    """Join INPUTS end to end into OUTPUT.

    Matching clips are joined by stream copy (no quality loss, seconds for hours of
    footage); mismatched ones (size, rate, SAR, pixel format, audio) are normalized
    and encoded once, with silence for clips without audio.
    """
    from shotline.core.ops.concat import plan_concat

    plan = plan_concat(
        list(inputs),
        output,
        mode=mode,
        settings=_settings(crf, preset),
        size=size_option_value(size),
        rate=rate_option_value(rate),
    )
    run_plan(
        plan,
        force=force,
        dry_run=dry_run,
        as_json=as_json,
        summary=_summary(plan, "mode", "reasons", "target"),
    )


@click.command("fade")
@click.argument("input", type=INPUT)
@output_options
@click.option("--in", "fade_in", type=SECONDS, default=0.0, help="Fade-in length (seconds).")
@click.option("--out", "fade_out", type=SECONDS, default=0.0, help="Fade-out length (seconds).")
@click.option("--color", type=click.Choice(["black", "white"]), default="black", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(["auto", "smart", "full"]),
    default="auto",
    show_default=True,
    help="smart: re-encode only the GOPs inside the fades and copy the rest.",
)
@encode_options
@with_examples(
    "shotline fade in.mp4 --in 1 --out 1.5 -o out.mp4",
    "shotline fade in.mp4 --out 2 --color white --json -o out.mp4",
)
def fade_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    fade_in: float,
    fade_out: float,
    color: str,
    mode: str,
    crf: int,
    preset: str,
) -> None:
    """Fade INPUT in from and/or out to black or white, picture and sound.

    The fade-out starts at the clip's real end. H.264 clips are smart-rendered:
    only the GOPs the fades touch are re-encoded, the rest is copied.
    """
    from shotline.core.ops.effects import plan_fade

    plan = plan_fade(
        input,
        output,
        fade_in=fade_in,
        fade_out=fade_out,
        color=color,
        mode=mode,
        settings=_settings(crf, preset),
    )
    run_plan(
        plan,
        force=force,
        dry_run=dry_run,
        as_json=as_json,
        summary=_summary(plan, "mode", "copied_frames", "encoded_frames", "reason"),
    )


@click.command("xfade")
@click.argument("inputs", nargs=-1, required=True, type=INPUT)
@output_options
@click.option(
    "--transition", "-t", default="fade", show_default=True, help="An ffmpeg xfade transition name."
)
@click.option("--duration", "-d", type=SECONDS, default=0.5, show_default=True, help="Seconds per crossfade.")
@click.option("--audio-curve", default="tri", show_default=True, help="acrossfade curve (tri, qsin, exp...).")
@click.option("--size", help="Target WIDTHxHEIGHT (default: the first clip's).")
@click.option("--fps", "--rate", "rate", help="Target frame rate (default: the first clip's).")
@encode_options
@with_examples(
    "shotline xfade a.mp4 b.mp4 --transition dissolve --duration 0.5 -o ab.mp4",
    "shotline xfade s1.mp4 s2.mp4 s3.mp4 s4.mp4 -t wipeleft -d 0.3 -o chain.mp4",
)
def xfade_cmd(
    inputs: tuple[Path, ...],
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    transition: str,
    duration: float,
    audio_curve: str,
    size: str | None,
    rate: str | None,
    crf: int,
    preset: str,
) -> None:
    """Join INPUTS with a crossfade (picture and sound) between each pair.

    Any ffmpeg xfade transition: fade, dissolve, fadeblack, fadewhite, wipeleft,
    slideup, circleopen, pixelize, ... (an unknown name prints the full list).
    """
    from shotline.core.ops.transitions import plan_xfade

    plan = plan_xfade(
        list(inputs),
        output,
        transition=transition,
        duration=duration,
        audio_curve=audio_curve,
        settings=_settings(crf, preset),
        size=size_option_value(size),
        rate=rate_option_value(rate),
    )
    run_plan(
        plan, force=force, dry_run=dry_run, as_json=as_json, summary=_summary(plan, "transition", "offsets")
    )


@click.command("loop")
@click.argument("input", type=INPUT)
@output_options
@click.option("--times", "-n", type=int, help="Play the clip this many times.")
@click.option("--duration", "-d", type=SECONDS, help="Loop until this many seconds.")
@encode_options
@with_examples("shotline loop in.mp4 --times 3 -o out.mp4", "shotline loop in.mp4 --duration 12.5 -o out.mp4")
def loop_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    times: int | None,
    duration: float | None,
    crf: int,
    preset: str,
) -> None:
    """Loop INPUT N times (stream copy) or to a target duration."""
    from shotline.core.ops.effects import plan_loop

    plan = plan_loop(input, output, times=times, duration=duration, settings=_settings(crf, preset))
    run_plan(plan, force=force, dry_run=dry_run, as_json=as_json, summary=_summary(plan, "mode", "plays"))


@click.command("speed")
@click.argument("input", type=INPUT)
@output_options
@click.option("--factor", "-f", type=float, help="2 = twice as fast, 0.5 = half speed (0.1-10).")
@click.option("--duration", "-d", type=SECONDS, help="Retime to this many seconds instead.")
@click.option(
    "--smooth",
    type=click.Choice(["none", "blend", "mci"]),
    default="none",
    show_default=True,
    help="Slow motion: repeat frames, blend them, or motion-interpolate (slow).",
)
@encode_options
@with_examples(
    "shotline speed in.mp4 --factor 2 -o out.mp4",
    "shotline speed in.mp4 --duration 10 --smooth blend -o slow.mp4",
)
def speed_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    factor: float | None,
    duration: float | None,
    smooth: str,
    crf: int,
    preset: str,
) -> None:
    """Speed INPUT up or slow it down; the audio keeps its pitch."""
    from shotline.core.ops.effects import plan_speed

    plan = plan_speed(
        input, output, factor=factor, duration=duration, smooth=smooth, settings=_settings(crf, preset)
    )
    run_plan(plan, force=force, dry_run=dry_run, as_json=as_json, summary=_summary(plan, "factor"))


@click.command("trim")
@click.argument("input", type=INPUT)
@output_options
@click.option("--start", "-s", type=SECONDS, default=0.0, help="First second kept.")
@click.option("--end", "-e", type=SECONDS, help="Cut here (exclusive).")
@click.option("--duration", "-d", type=SECONDS, help="Keep this many seconds instead of --end.")
@click.option(
    "--mode",
    type=click.Choice(["auto", "smart", "exact", "fast"]),
    default="auto",
    show_default=True,
    help="smart/exact: frame-accurate; fast: stream copy, widened to keyframes.",
)
@encode_options
@with_examples(
    "shotline trim in.mp4 --start 2.5 --end 7 -o cut.mp4",
    "shotline trim in.mp4 -s 0:01:10 -d 30 --mode fast -o cut.mp4",
)
def trim_cmd(
    input: Path,
    output: Path,
    force: bool,
    as_json: bool,
    dry_run: bool,
    start: float,
    end: float | None,
    duration: float | None,
    mode: str,
    crf: int,
    preset: str,
) -> None:
    """Keep [START, END) of INPUT, frame-accurate by default."""
    from shotline.core.ops.trim import plan_trim

    plan = plan_trim(
        input, output, start=start, end=end, duration=duration, mode=mode, settings=_settings(crf, preset)
    )
    run_plan(
        plan,
        force=force,
        dry_run=dry_run,
        as_json=as_json,
        summary=_summary(plan, "mode", "start", "end", "frames", "copied_frames"),
    )
