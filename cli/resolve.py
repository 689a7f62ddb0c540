"""``shotline resolve``: write Resolve job files, install the Resolve script, uninstall it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shotline.cli.common import emit_json, to_jsonable, with_examples

F = TypeVar("F", bound=Callable[..., Any])


@click.group("resolve")
def resolve_group() -> None:
    """Hand a timeline to DaVinci Resolve: job files and the Workspace > Scripts script."""


def _pairs(values: tuple[str, ...], option: str) -> list[tuple[str, Path]]:
    out = []
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key or not path:
            raise click.BadParameter(f"{value!r}: expected KEY=FILE", param_hint=option)
        out.append((key, Path(path)))
    return out


@resolve_group.command("job")
@click.argument("timeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Job file."
)
@click.option("--name", help="Timeline name in Resolve (default: the timeline's own name).")
@click.option("--project", help="Resolve project to open or create (default: the open project).")
@click.option("--width", type=click.IntRange(16, 16384), help="Timeline width (default: from the timeline).")
@click.option(
    "--height", type=click.IntRange(16, 16384), help="Timeline height (default: from the timeline)."
)
@click.option("--drx", type=click.Path(dir_okay=False, path_type=Path), help="DRX grade for every clip.")
@click.option("--drx-shot", multiple=True, metavar="SHOT=FILE", help="DRX grade for one shot (repeatable).")
@click.option(
    "--drx-track", multiple=True, metavar="N=FILE", help="DRX grade for video track N (repeatable)."
)
@click.option(
    "--grade-mode",
    type=click.IntRange(0, 2),
    default=0,
    show_default=True,
    help="0 no keyframes, 1 source timecode aligned, 2 start frames aligned.",
)
@click.option(
    "--lut",
    type=click.Path(dir_okay=False, path_type=Path),
    help="LUT for every clip (in Resolve's LUT folder).",
)
@click.option("--lut-shot", multiple=True, metavar="SHOT=FILE", help="LUT for one shot (repeatable).")
@click.option("--lut-track", multiple=True, metavar="N=FILE", help="LUT for video track N (repeatable).")
@click.option(
    "--preset", "presets", multiple=True, help="Platform preset to render (repeatable): youtube, tiktok..."
)
@click.option("--render-dir", type=click.Path(file_okay=False, path_type=Path), help="Render target folder.")
@click.option(
    "--render/--no-render", "start_render", default=False, help="Start rendering after queuing the jobs."
)
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="With --render, wait until rendering ends."
)
@click.option(
    "--xml/--no-xml", default=True, show_default=True, help="Also write the FCP7 XML fallback beside the job."
)
@click.option(
    "--import-as",
    type=click.Choice(["auto", "fcp7xml"]),
    default="auto",
    show_default=True,
    help="auto: OTIO on Resolve 18.5+, the XML if that fails or on older versions; fcp7xml: the XML only.",
)
@click.option(
    "--allow-offline",
    is_flag=True,
    help="Count a run with offline clips as a success (they are listed in the result either way).",
)
@click.option(
    "--render-offline", is_flag=True, help="Queue and render even when clips are offline (off by default)."
)
@click.option(
    "--overwrite-renders",
    is_flag=True,
    help="Let Resolve write over render files of an earlier run (default: a new name).",
)
@click.option("--force", is_flag=True, help="Overwrite the job (and XML) if they exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--dry-run", is_flag=True, help="Print the job and write nothing.")
@with_examples(
    "shotline resolve job edit.otio --preset youtube --preset tiktok -o job.json",
    "shotline resolve job edit.otio --drx look.drx --drx-shot hero=hero.drx --project Promo -o job.json",
)
def job_cmd(
    timeline: Path,
    output: Path,
    name: str | None,
    project: str | None,
    width: int | None,
    height: int | None,
    drx: Path | None,
    drx_shot: tuple[str, ...],
    drx_track: tuple[str, ...],
    grade_mode: int,
    lut: Path | None,
    lut_shot: tuple[str, ...],
    lut_track: tuple[str, ...],
    presets: tuple[str, ...],
    render_dir: Path | None,
    start_render: bool,
    wait: bool,
    xml: bool,
    import_as: str,
    allow_offline: bool,
    render_offline: bool,
    overwrite_renders: bool,
    force: bool,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Write the job file that the Resolve script imports.

    TIMELINE is a .otio, best written with `shotline timeline build ... --for resolve`.
    Run the job from Resolve's Workspace > Scripts > Shotline Import Job, or from a
    terminal against Resolve Studio. The script writes JOB.result.json beside the job.
    The job's path is also noted in shotline's config folder, so the script can find
    it where Resolve allows no dialog (the free edition from 19.1 on).
    """
    from shotline.core.errors import UsageError
    from shotline.resolve_plugin.job import build_job, result_path, write_job_files

    def track_pairs(values: tuple[str, ...], option: str) -> dict[int, Path]:
        out = {}
        for key, path in _pairs(values, option):
            if not key.isdigit():
                raise UsageError(f"{option} {key}={path}: N must be a video track number from 1")
            out[int(key)] = path
        return out

    xml_path = output.with_suffix(".xml") if xml else None
    job = build_job(
        timeline,
        name=name,
        project=project,
        width=width,
        height=height,
        drx=drx,
        drx_shots=dict(_pairs(drx_shot, "--drx-shot")),
        drx_tracks=track_pairs(drx_track, "--drx-track"),
        grade_mode=grade_mode,
        lut=lut,
        lut_shots=dict(_pairs(lut_shot, "--lut-shot")),
        lut_tracks=track_pairs(lut_track, "--lut-track"),
        presets=presets,
        render_dir=render_dir,
        start_render=start_render,
        wait=wait,
        fallback_xml=xml_path,
        import_as=import_as,
        allow_offline=allow_offline,
        render_offline=render_offline,
        overwrite_renders=overwrite_renders,
    )
    if dry_run:
        emit_json(job)
        return
    write_job_files(job, output, xml_path, overwrite=force)
    summary = {
        "job": str(output),
        "fallback_xml": str(xml_path) if xml_path else None,
        "result_file": str(result_path(output)),
        "timeline": job["timeline"]["name"],
        "render_jobs": [j["preset"] for j in job["render"]["jobs"]],
    }
    if as_json:
        emit_json(summary)
    else:
        presets_text = ", ".join(summary["render_jobs"]) or "no render jobs"
        click.echo(f"wrote {output} ({job['timeline']['name']!r}, {presets_text})")


def _scope_root(scope: str, dest: Path | None) -> Path:
    from shotline.resolve_plugin.install import scripts_dir

    return dest if dest is not None else Path(scripts_dir(scope))


_scope = click.option(
    "--user/--system",
    "user",
    default=True,
    help="This user's Scripts folder (default) or the one for all users.",
)
_dest = click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use this Fusion/Scripts folder instead (e.g. the Mac App Store build's).",
)


@resolve_group.command("install")
@_scope
@_dest
@click.option(
    "--force", is_flag=True, help="Replace a script of the same name that shotline did not install."
)
@click.option("--dry-run", is_flag=True, help="Say what would be copied and copy nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_examples("shotline resolve install", "shotline resolve install --system --dry-run")
def install_cmd(user: bool, dest: Path | None, force: bool, dry_run: bool, as_json: bool) -> None:
    """Copy the script into Resolve's Scripts folder (Workspace > Scripts > Shotline Import Job)."""
    from shotline.resolve_plugin.install import check_python, install

    result = install(_scope_root("user" if user else "system", dest), force=force, dry_run=dry_run)
    python = check_python()
    if as_json:
        emit_json({**to_jsonable(result), "python": to_jsonable(python)})
        return
    verb = "would copy" if dry_run else "installed"
    for path in result.written:
        click.echo(f"{verb} {path}")
    click.echo(("python: " if python.ok else "python MISSING: ") + python.message)
    if not dry_run:
        click.echo("restart Resolve, then run Workspace > Scripts > Shotline Import Job")


@resolve_group.command("uninstall")
@_scope
@_dest
@click.option("--dry-run", is_flag=True, help="Say what would be removed and remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def uninstall_cmd(user: bool, dest: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove the script shotline installed (only files it installed and nobody changed)."""
    from shotline.resolve_plugin.install import uninstall

    result = uninstall(_scope_root("user" if user else "system", dest), dry_run=dry_run)
    if as_json:
        emit_json(result)
        return
    verb = "would remove" if dry_run else "removed"
    for path in result.removed:
        click.echo(f"{verb} {path}")
    for note in result.kept:
        click.echo(f"kept {note}")


@resolve_group.command("verify")
@click.argument("job", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_examples("shotline resolve verify job.json")
def verify_cmd(job: Path, as_json: bool) -> None:
    """Check the files Resolve rendered for JOB: streams, size, frame rate, length.

    Reads JOB.result.json (written by the script in Resolve) and probes every render it
    lists against the job: a video stream (and sound where asked), the frame size and
    rate, and a length within one frame of the timeline. Exits 1 if any file is wrong.
    """
    from shotline.resolve_plugin.verify import verify_job

    report = verify_job(job)
    if as_json:
        emit_json(
            {
                "job": report.job,
                "result": report.result,
                "ok": report.ok,
                "renders": [
                    {"preset": c.preset, "path": c.path, "ok": c.ok, "problems": list(c.problems), **c.facts}
                    for c in report.checks
                ],
            }
        )
    else:
        for c in report.checks:
            text = "ok" if c.ok else "; ".join(c.problems)
            click.echo(f"{c.preset}: {c.path}: {text}")
    if not report.ok:
        raise click.exceptions.Exit(1)
