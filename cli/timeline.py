"""``shotline timeline``: build an OTIO timeline, export it to NLE formats (and render it, when installed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shotline.cli.common import emit_json, rate_option_value, with_examples

STORYBOARD_SUFFIXES = (".yaml", ".yml", ".json")
F = TypeVar("F", bound=Callable[..., Any])


@click.group("timeline")
def timeline_group() -> None:
    """Build, export and render OpenTimelineIO timelines."""


def _index_value(text: str, what: str) -> tuple[int, float]:
    index, sep, value = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(index), float(value)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected SHOT:{what}, e.g. 2:{'0.5' if what == 'FACTOR' else '1.5'}"
        ) from None


def _trim_value(text: str) -> tuple[int, tuple[float, float | None]]:
    """``2:0.5-1.5`` -> (2, (0.5, 1.0)): shot 2 from 0.5 s for 1.0 s; ``2:0.5-`` runs to the end."""
    index, sep, span = text.partition(":")
    start, dash, end = span.partition("-")
    try:
        if not sep or not dash:
            raise ValueError
        t_in = float(start or 0)
        t_out = float(end) if end.strip() else None
        if t_in < 0 or (t_out is not None and t_out <= t_in):
            raise ValueError
        return int(index), (t_in, None if t_out is None else t_out - t_in)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected SHOT:IN-OUT in seconds with IN < OUT, e.g. 2:0.5-1.5"
        ) from None


def _summary(timeline: Any) -> dict[str, Any]:
    import opentimelineio as otio

    tracks = list(timeline.tracks)
    return {
        "name": timeline.name,
        "duration": round(timeline.duration().to_seconds(), 6),
        "rate": timeline.duration().rate,
        "video_tracks": sum(1 for t in tracks if t.kind == otio.schema.TrackKind.Video),
        "audio_tracks": sum(1 for t in tracks if t.kind == otio.schema.TrackKind.Audio),
        "clips": sum(1 for t in timeline.video_tracks() for c in t.find_clips()),
        "transitions": sum(
            1 for t in timeline.video_tracks() for c in t if isinstance(c, otio.schema.Transition)
        ),
    }


def _echo_report(report: Any) -> None:
    for line in report.dropped:
        click.echo(f"dropped: {line}", err=True)
    for line in report.changed:
        click.echo(f"changed: {line}", err=True)
    for line in getattr(report, "read_back", []):
        click.echo(f"reads back changed: {line}", err=True)


@timeline_group.command("build")
@with_examples(
    "shotline timeline build a.mp4 b.mp4 c.mp4 --transition dissolve:0.5 -o film.otio",
    "shotline timeline build a.mp4 b.mp4 --fade-in 1 --fade-out 2 --music score.wav -o film.otioz",
    "shotline timeline build a.mp4 b.mp4 --speed 2:0.5 --freeze 1:1.5 -o film.otio",
    "shotline timeline build a.mp4 b.mp4 --trim 1:0.5-2.5 --trim 2:1- -o film.otio",
    "shotline timeline build film.shotline.yaml --media-dir renders/ -o film.otio",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The timeline to write: .otio, .otioz (media bundled), or any export suffix.",
)
@click.option(
    "--transition",
    "transition",
    default="cut",
    show_default=True,
    help="At every cut: dissolve:SECONDS, an xfade name such as wipeleft:1, or cut.",
)
@click.option("--fade-in", type=float, default=0.0, help="Fade from black at the start (seconds).")
@click.option("--fade-out", type=float, default=0.0, help="Fade to black at the end (seconds).")
@click.option(
    "--fps", "--rate", "rate", help="Timeline frame rate (default: the first clip's, or the storyboard's)."
)
@click.option("--name", help="Timeline name.")
@click.option(
    "--speed",
    "speeds",
    multiple=True,
    metavar="SHOT:FACTOR",
    help="Play shot N (1-based) at FACTOR speed; negative plays it in reverse. Repeatable.",
)
@click.option(
    "--freeze",
    "freezes",
    multiple=True,
    metavar="SHOT:SECONDS",
    help="Make shot N a hold of its first frame for SECONDS. Repeatable.",
)
@click.option(
    "--trim",
    "trims",
    multiple=True,
    metavar="SHOT:IN-OUT",
    help="Use seconds IN to OUT of shot N (OUT may be left out: to the end). Repeatable.",
)
@click.option("--music", type=click.Path(path_type=Path), help="A music bed on its own audio track.")
@click.option("--voiceover", type=click.Path(path_type=Path), help="A voice-over on its own audio track.")
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Storyboard: folder holding <shot id>.mp4 files (default: shots/ beside it).",
)
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Storyboard: the generation ledger naming each shot's chosen take.",
)
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Storyboard: the folder shotline produce (or generate) wrote; its ledger names each shot's take "
    "(default: <storyboard>-out beside the storyboard, when it exists).",
)
@click.option("--allow-missing", is_flag=True, help="Storyboard: shots without media become offline clips.")
@click.option(
    "--for", "for_app", type=click.Choice(["resolve"]), help="Write the shape this application imports."
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build_cmd(
    inputs: tuple[Path, ...],
    output: Path,
    transition: str,
    fade_in: float,
    fade_out: float,
    rate: str | None,
    name: str | None,
    speeds: tuple[str, ...],
    freezes: tuple[str, ...],
    trims: tuple[str, ...],
    music: Path | None,
    voiceover: Path | None,
    media_dir: Path | None,
    ledger: Path | None,
    from_dir: Path | None,
    allow_missing: bool,
    for_app: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Build an OpenTimelineIO timeline from clips or from a storyboard.

    With clips, every file is used whole, in order, with the same transition at
    every cut. Transitions are centred on the cut and take their frames from the
    clips' ends (as ffmpeg's xfade does), so the edit is the clips' total length
    minus the transitions. With a storyboard, its shots, transitions and music
    are used, and each clip carries the prompt, seed, provider, model and take.
    """
    from shotline.core.errors import UsageError
    from shotline.otio_adapters.build import AudioBed, EditClip, build_timeline, parse_transition
    from shotline.otio_adapters.export import export_timeline

    if fade_in < 0 or fade_out < 0:
        raise UsageError("--fade-in and --fade-out take seconds, zero or more")
    is_storyboard = len(inputs) == 1 and inputs[0].name.lower().endswith(STORYBOARD_SUFFIXES)
    if is_storyboard:
        if speeds or freezes or transition != "cut":
            raise UsageError(
                "--speed, --freeze and --transition apply to clip lists; a storyboard sets its own"
            )
        result = _build_storyboard(inputs[0], media_dir, ledger, from_dir, allow_missing, fade_in, fade_out)
    else:
        if ledger or media_dir or from_dir or allow_missing:
            raise UsageError("--ledger, --media-dir, --from and --allow-missing apply to a storyboard input")
        speed_map = dict(_index_value(s, "FACTOR") for s in speeds)
        freeze_map = dict(_index_value(s, "SECONDS") for s in freezes)
        trim_map = dict(_trim_value(s) for s in trims)
        for idx in (*speed_map, *freeze_map, *trim_map):
            if not 1 <= idx <= len(inputs):
                raise UsageError(f"shot {idx}: there are {len(inputs)} clips (shots count from 1)")
        shots = [
            EditClip(
                path=p,
                speed=speed_map.get(i + 1, 1.0),
                freeze=freeze_map.get(i + 1),
                trim_in=trim_map.get(i + 1, (0.0, None))[0],
                duration=trim_map.get(i + 1, (0.0, None))[1],
            )
            for i, p in enumerate(inputs)
        ]
        beds = []
        if music:
            beds.append(AudioBed(music, "music"))
        if voiceover:
            beds.append(AudioBed(voiceover, "voiceover"))
        result = build_timeline(
            shots,
            transitions=parse_transition(transition),
            fade_in=fade_in,
            fade_out=fade_out,
            rate=rate_option_value(rate, "--rate"),
            name=name or output.stem,
            beds=beds,
            metadata={"source": "clips"},
        )
    if name:
        result.timeline.name = name
    report = export_timeline(result.timeline, output, for_resolve=for_app == "resolve", overwrite=force)
    summary = _summary(result.timeline)
    if as_json:
        emit_json(
            {"output": str(output), "timeline": summary, "notes": result.notes, "export": report.to_dict()}
        )
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    _echo_report(report)
    click.echo(
        f"wrote {output}: {summary['clips']} clips, {summary['transitions']} transitions, "
        f"{summary['duration']:.3f} s at {summary['rate']:g} fps"
    )


def _build_storyboard(
    path: Path,
    media_dir: Path | None,
    ledger: Path | None,
    from_dir: Path | None,
    allow_missing: bool,
    fade_in: float,
    fade_out: float,
) -> Any:
    from shotline.core.generate.storyboard import load_storyboard
    from shotline.otio_adapters.build import build_from_storyboard
    from shotline.otio_adapters.takes import takes_for_storyboard

    sb = load_storyboard(path, check_files=False)  # the edit needs the shots' media, not their stills
    ids = [s.id for s in sb.shots]
    takes, notes = takes_for_storyboard(path, ids, media_dir=media_dir, ledger=ledger, from_dir=from_dir)
    result = build_from_storyboard(sb, takes, allow_missing=allow_missing, fade_in=fade_in, fade_out=fade_out)
    result.notes[:0] = notes
    return result


@timeline_group.command("export")
@with_examples(
    "shotline timeline export film.otio -f edl -o film.edl",
    "shotline timeline export film.otio -f fcp7 --for resolve -o film.xml",
    "shotline timeline export film.otio -f otioz -o film.otioz",
    "shotline timeline export film.edl --fps 25 -o film.otio",
)
@click.argument("timeline", type=click.Path(path_type=Path))
@click.option(
    "-f", "--format", "fmt", help="edl, fcp7, fcpxml, aaf, otio or otioz (default: from -o's suffix)."
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file."
)
@click.option(
    "--for", "for_app", type=click.Choice(["resolve"]), help="Write the shape this application imports."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (write nothing) when the format would drop anything or the file reads back changed.",
)
@click.option(
    "--fps", "--rate", "in_rate", help="Frame rate of an EDL input (EDLs carry none; OTIO assumes 24)."
)
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="otioz: find media that is not where the timeline says by file name here.",
)
@click.option(
    "--allow-missing", is_flag=True, help="otioz: bundle clips whose media is missing as references only."
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def export_cmd(
    timeline: Path,
    fmt: str | None,
    output: Path,
    for_app: str | None,
    strict: bool,
    in_rate: str | None,
    media_dir: Path | None,
    allow_missing: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Export TIMELINE (any file OTIO reads) to an NLE format through OTIO's adapters.

    Each format's limits are handled explicitly: what a format cannot carry is
    listed ("dropped: ..."), what it carries differently is listed ("changed: ..."),
    never lost silently.
    """
    from shotline.otio_adapters.export import export_timeline, format_for
    from shotline.otio_adapters.timeline import read_timeline

    f = format_for(fmt, output)
    rate = rate_option_value(in_rate, "--rate")
    tl = read_timeline(timeline, rate=float(rate) if rate else None)
    report = export_timeline(
        tl,
        output,
        f.name,
        for_resolve=for_app == "resolve",
        overwrite=force,
        inputs=(timeline,),
        strict=strict,
        media_dir=media_dir,
        base=timeline.resolve().parent,
        allow_missing=allow_missing,
    )
    if as_json:
        emit_json(report.to_dict())
        return
    _echo_report(report)
    click.echo(f"wrote {output} ({f.label})")


def _add_render() -> None:
    """The conform renderer lives in its own module; it appears here once that module exists."""
    try:
        from shotline.cli.timeline_render import render_cmd
    except ImportError as exc:
        if exc.name != "shotline.cli.timeline_render":
            raise
        return
    timeline_group.add_command(render_cmd)


_add_render()


def _add_detect() -> None:
    """EditClip detection lives in its own module (its library is an optional extra, loaded on use)."""
    from shotline.cli.timeline_detect import detect_cmd

    timeline_group.add_command(detect_cmd)


_add_detect()
