"""``shotline produce``: the main job, storyboard to deliverables."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from shotline.cli.common import emit_json, with_examples
from shotline.core.produce.producer import STAGE_TABLE

STAGE_NAMES = [s.name for s in STAGE_TABLE]  # the stages --only and --from can name


@click.command("produce")
@click.argument(
    "storyboards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: <storyboard name>-out beside the storyboard). With several "
    "storyboards: the folder that gets one <storyboard name>-out per project.",
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
    "--review-model",
    default=None,
    help="Also judge each take's prompt adherence with this vision-language model "
    "(gpt-4.1-mini, gemini-2.5-flash...; key from OPENAI_API_KEY or GEMINI_API_KEY). Off by default.",
)
@click.option("--review-budget", type=float, default=None, help="USD cap for the prompt-adherence review.")
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
    type=click.Choice(STAGE_NAMES),
    help="Run only this stage (repeatable); the others must already be done.",
)
@click.option(
    "--from",
    "from_stage",
    type=click.Choice(STAGE_NAMES),
    help="Re-run this stage and every one after it.",
)
@click.option(
    "--use",
    "use",
    multiple=True,
    metavar="SHOT=TAKE",
    help="Put this take of a shot in the edit, whatever review chose (repeatable; SHOT=auto gives the "
    "choice back to review). Saved in OUTDIR/selection.json, which the report's buttons also write.",
)
@click.option(
    "--cancel-on-interrupt", is_flag=True, help="Cancel remote tasks on Ctrl-C (they may still be billed)."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the stage plan with estimated cost and time; run nothing."
)
@click.option(
    "--ray",
    "ray_address",
    default=None,
    metavar="auto|ADDRESS",
    help="Render pieces and upscale segments as Ray tasks ('auto': this machine's cluster, else a "
    "local one). Needs pip install 'shotline[ray]'.",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "json", "off"]),
    default="auto",
    show_default=True,
    help="Stage progress on stderr: bars (auto: on a terminal), or one JSON object a line "
    '({"stage", "state", "fraction", "eta_s", "elapsed_s", "detail"}; messages as {"message"}).',
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_examples(
    "shotline produce examples/storyboard.yaml -o out/",
    "shotline produce film.yaml --dry-run",
    "shotline produce film.yaml --from render --deliver tiktok",
    "shotline produce film.yaml --upscale animevideov3 --upscale-scale 2",
    "shotline produce a.yaml b.yaml c.yaml -o films/ --ray auto",
    "shotline produce film.yaml -o out/ --use harbour-wide=2",
)
def produce_cmd(
    storyboards: tuple[Path, ...],
    outdir: Path | None,
    provider: str | None,
    upscale_model: str | None,
    upscale_scale: int | None,
    max_retakes: int,
    budget: float | None,
    concurrency: int | None,
    review_model: str | None,
    review_budget: float | None,
    deliver: tuple[str, ...],
    preview_format: str,
    only: tuple[str, ...],
    from_stage: str | None,
    use: tuple[str, ...],
    cancel_on_interrupt: bool,
    ray_address: str | None,
    dry_run: bool,
    progress_mode: str,
    as_json: bool,
) -> None:
    """Generate, review, cut, render, upscale, export and report a STORYBOARD (or several at once).

    Re-running skips every stage that is done and still valid; a crash or Ctrl-C
    resumes where it stopped, without paying twice for a take. Several storyboards
    run at once, each in its own process and folder, each resumable on its own.
    """
    from shotline.core.produce.producer import ProduceOptions, produce

    if ray_address is not None and not dry_run:
        from shotline.core.media.cluster import ray_module

        ray_module()  # says how to install Ray (exit 6) before any work
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
        review_model=review_model,
        review_budget=review_budget,
        ray=ray_address,
    )
    if len(storyboards) > 1:
        if use:
            from shotline.core.errors import UsageError

            raise UsageError("--use names one project's shots: give one storyboard with it")
        _many(storyboards, outdir, opts, dry_run, as_json)
        return
    storyboard = storyboards[0]
    out = outdir or _default_out(storyboard)
    from shotline.cli.common import is_quiet

    say: Callable[[str], None] = (
        (lambda s: None) if as_json or is_quiet() else (lambda s: click.echo(s, err=True))
    )
    if progress_mode == "auto":
        progress_mode = "bar" if sys.stderr.isatty() and not dry_run else "off"
    display = StageDisplay(progress_mode, say)
    try:
        if use and dry_run:
            display.say("--use is not saved in a dry run; the plan shows the selection as it is")
        if use and not dry_run:
            from shotline.core.generate.storyboard import load_storyboard
            from shotline.core.produce.selection import update_selection

            ids = [s.id for s in load_storyboard(storyboard).shots]
            display.say(f"selection: {' '.join(use)} -> {update_selection(out, use, ids)}")
        result = produce(
            storyboard, out, opts, dry_run=dry_run, say=display.say, progress=display.sink, warn=display.warn
        )
    finally:
        display.close()
    if as_json:
        emit_json(result)
        return
    _summary(storyboard, out, result, dry_run)


def _default_out(storyboard: Path) -> Path:
    from shotline.otio_adapters.takes import produce_folder_for

    return produce_folder_for(storyboard)


def _many(
    storyboards: tuple[Path, ...], outdir: Path | None, opts: Any, dry_run: bool, as_json: bool
) -> None:
    from shotline.core.errors import ShotlineError
    from shotline.core.produce.many import produce_many

    outs = [outdir / _default_out(sb).name if outdir else _default_out(sb) for sb in storyboards]
    if len(set(outs)) < len(outs):
        from shotline.core.errors import UsageError

        raise UsageError("two storyboards have the same name: their output folders would collide")
    outcomes = produce_many(list(zip(storyboards, outs)), opts, dry_run=dry_run)
    if as_json:
        emit_json(
            [
                {
                    "storyboard": str(o.storyboard),
                    "outdir": str(o.outdir),
                    "error": o.error,
                    "result": o.result,
                }
                for o in outcomes
            ]
        )
    else:
        for o in outcomes:
            if o.result is not None:
                _summary(o.storyboard, o.outdir, o.result, dry_run)
            else:
                click.echo(f"{o.storyboard}: failed: {o.error}", err=True)
    failed = [o for o in outcomes if o.result is None]
    if failed:
        err = ShotlineError(f"{len(failed)} of {len(outcomes)} projects failed (each resumes on its own)")
        err.exit_code = failed[0].exit_code
        raise err


def _summary(storyboard: Path, out: Path, result: Any, dry_run: bool) -> None:
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


class StageDisplay:
    """Where produce's progress goes: rich bars on a terminal, JSON lines, or nowhere.

    With bars, messages print above them; with JSON, stderr carries only JSON lines: progress
    objects and ``{"message": ...}`` for the stage summaries.
    """

    def __init__(self, mode: str, say: Callable[[str], None]) -> None:
        self.mode = mode
        self._say = say
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def say(self, text: str) -> None:
        if self.mode == "json":
            click.echo(json.dumps({"message": text}, ensure_ascii=False), err=True)
        elif self._bars is not None:
            self._bars.console.print(text, markup=False, highlight=False)
        else:
            self._say(text)

    def warn(self, text: str) -> None:
        """A failure the user must see, quiet or not: above the bars, or as a JSON message."""
        if self.mode == "json" or self._bars is not None:
            self.say(f"warning: {text}")
        else:
            click.echo(f"warning: {text}", err=True)

    def sink(self, p: Any) -> None:
        if self.mode == "json":
            click.echo(json.dumps(p.to_dict(), ensure_ascii=False), err=True)
        elif self.mode == "bar":
            self._bar(p)

    def _bar(self, p: Any) -> None:
        if self._bars is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._bars = Progress(
                TextColumn("{task.description:<9}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[eta]:>10}"),
                TextColumn("{task.fields[detail]}"),
                console=Console(stderr=True),
            )
            self._bars.start()
        if p.stage not in self._tasks:
            self._tasks[p.stage] = self._bars.add_task(p.stage, total=1.0, eta="", detail="")
        if p.state == "running":
            eta = "" if p.eta is None else f"ETA {p.eta:4.0f} s"
        else:
            eta = f"{p.state} {p.elapsed:.1f} s" if p.state == "done" else p.state
        self._bars.update(self._tasks[p.stage], completed=p.fraction, eta=eta, detail=p.detail)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
