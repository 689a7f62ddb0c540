"""``shotline produce``: the main job, storyboard to deliverables."""

from __future__ import annotations

from pathlib import Path

import click

from shotline.cli.common import emit_json, with_examples


@click.command("produce")
@click.argument("storyboard", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: <storyboard name>-out beside the storyboard).",
)
@click.option("--provider", default=None, help="Use this provider for every shot (e.g. local).")
@click.option(
    "--upscale",
    "upscale_model",
    default=None,
    help="AI-upscale the master: animevideov3, x4plus, x4plus-anime, lanczos or topaz:<model>.",
)
@click.option("--upscale-scale", type=int, default=None, help="Upscale factor (default: the model's).")
@click.option(
    "--max-retakes",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Regeneration rounds, with new seeds, for shots whose every take failed review.",
)
@click.option(
    "--budget", type=float, default=None, help="Refuse to start generation past this estimated cost."
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Takes in flight per provider.")
@click.option(
    "--deliver",
    "deliver",
    multiple=True,
    help="Platform cut to render (repeatable); overrides the storyboard.",
)
@click.option(
    "--preview", "preview_format", type=click.Choice(["gif", "webp"]), default="gif", show_default=True
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["generate", "review", "timeline", "render", "upscale", "export"]),
    help="Run only this stage (repeatable); the others must already be done.",
)
@click.option(
    "--from",
    "from_stage",
    type=click.Choice(["generate", "review", "timeline", "render", "upscale", "export"]),
    help="Re-run this stage and every one after it.",
)
@click.option(
    "--cancel-on-interrupt", is_flag=True, help="Cancel remote tasks on Ctrl-C (they may still be billed)."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the stage plan with estimated cost and time; run nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_examples(
    "shotline produce examples/storyboard.yaml -o out/",
    "shotline produce film.yaml --dry-run",
    "shotline produce film.yaml --from render --deliver tiktok",
    "shotline produce film.yaml --upscale animevideov3 --upscale-scale 2",
)
def produce_cmd(
    storyboard: Path,
    outdir: Path | None,
    provider: str | None,
    upscale_model: str | None,
    upscale_scale: int | None,
    max_retakes: int,
    budget: float | None,
    concurrency: int | None,
    deliver: tuple[str, ...],
    preview_format: str,
    only: tuple[str, ...],
    from_stage: str | None,
    cancel_on_interrupt: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Generate, review, cut, render, upscale, export and report a STORYBOARD.

    Re-running skips every stage that is done and still valid; a crash or Ctrl-C
    resumes where it stopped, without paying twice for a take.
    """
    from shotline.core.produce.producer import ProduceOptions, produce

    out = outdir or storyboard.with_name(storyboard.stem.split(".")[0] + "-out")
    opts = ProduceOptions(
        provider=provider,
        upscale=upscale_model,
        upscale_scale=upscale_scale,
        max_retakes=max_retakes,
        budget=budget,
        concurrency=concurrency,
        deliver=deliver or None,
        preview_format=preview_format,
        only=only,
        from_stage=from_stage,
        cancel_on_interrupt=cancel_on_interrupt,
    )
    from shotline.cli.common import is_quiet

    say = (lambda s: None) if as_json or is_quiet() else (lambda s: click.echo(s, err=True))
    result = produce(
        storyboard, out, opts, dry_run=dry_run, say=say, warn=lambda s: click.echo(f"warning: {s}", err=True)
    )
    if as_json:
        emit_json(result)
        return
    click.echo(f"{'plan' if dry_run else 'stages'} for {storyboard} -> {out}")
    for line in result.stages:
        click.echo(f"  {line.stage:<9} {line.action:<5} {line.detail}")
    if dry_run:
        return
    for d in result.deliverables:
        dur = f"{d['duration']:.2f} s" if d.get("duration") else ""
        click.echo(f"  {d['kind']:<22} {d['size'] / 1e6:8.2f} MB {dur:>9}  {d['path']}")
    shown = 8
    for n in result.notes[:shown]:
        click.echo(f"  note: {n}")
    if len(result.notes) > shown:
        click.echo(f"  ... {len(result.notes) - shown} more notes in {result.manifest}")
    cost = ", ".join(f"{v:g} {u}" for u, v in result.total_cost.items()) or "0"
    click.echo(f"done in {result.elapsed:.1f} s, cost {cost}; report: {result.report}")
