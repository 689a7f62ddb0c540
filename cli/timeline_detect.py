"""``shotline timeline detect``: find the shots of one flat video and write them as an OTIO timeline."""

from __future__ import annotations

from pathlib import Path

import click

from shotline.cli.common import ProgressBar, emit_json, with_examples


@click.command("detect")
@with_examples(
    "shotline timeline detect film.mp4 -o cuts.otio",
    "shotline timeline detect film.mp4 -o cuts.otio --split shots/",
    "shotline timeline detect film.mp4 -o cuts.edl --json",
)
@click.argument("input", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The timeline to write: .otio, or any export suffix (.edl, .xml, .fcpxml...).",
)
@click.option(
    "--split",
    "split_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each shot to this folder (stream copy where a cut is on a keyframe, smart render otherwise).",
)
@click.option("--threshold", type=float, default=3.0, show_default=True, help="AdaptiveDetector's threshold.")
@click.option(
    "--min-content", type=float, default=15.0, show_default=True, help="AdaptiveDetector's min_content_val."
)
@click.option("--flash", type=float, default=0.2, show_default=True, help="Longest burst (s) that is no cut.")
@click.option("--max-dissolve", type=float, default=2.0, show_default=True, help="Longest dissolve (s).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT and existing shot files.")
@click.option("--json", "as_json", is_flag=True, help="Print the detection as JSON.")
def detect_cmd(
    input: Path,
    output: Path,
    split_dir: Path | None,
    threshold: float,
    min_content: float,
    flash: float,
    max_dissolve: float,
    force: bool,
    as_json: bool,
) -> None:
    """Find the shots of INPUT (hard cuts, dissolves, fades through black; flashes and fast
    pans are not cuts) and write a timeline of them that references INPUT, with a marker and
    a confidence per shot. Needs the detect extra: pip install 'shotline[detect]'."""
    from shotline.core.ops import detect as dt
    from shotline.otio_adapters.cuts import describe, timeline_from_detection
    from shotline.otio_adapters.export import export_timeline

    bar = ProgressBar("detect")
    try:
        det = dt.detect(
            input, threshold=threshold, min_content=min_content, flash=flash, max_dissolve=max_dissolve
        )
    finally:
        bar.close()
    report = export_timeline(timeline_from_detection(det), output, overwrite=force)
    files = []
    if split_dir is not None:
        bar = ProgressBar("split")
        try:
            files = dt.split(det, split_dir, overwrite=force)
        finally:
            bar.close()
    if as_json:
        payload = det.to_dict()
        payload["output"] = str(output)
        payload["export"] = report.to_dict()
        payload["split"] = [
            {"output": str(r.output), "mode": r.mode, "frames": r.frames, "copied_frames": r.copied_frames}
            for r in files
        ]
        emit_json(payload)
        return
    for shot in det.shots:
        click.echo(f"{shot.start_time:9.3f}-{shot.end_time:9.3f} s  {describe(shot)}")
    for r in files:
        how = "stream copy" if r.copied_frames == r.frames else f"{r.copied_frames}/{r.frames} frames copied"
        click.echo(f"wrote {r.output} ({r.frames} frames, {how})")
    click.echo(f"wrote {output}: {len(det.shots)} shots, {len(det.cuts)} transitions")
