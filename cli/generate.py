"""``shotline storyboard check`` and ``shotline generate``: thin commands over core.storyboard and core.batch."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import click

from shotline.cli.common import emit_json, is_quiet, with_examples


@click.group("storyboard")
def storyboard_group() -> None:
    """Check storyboards: validation, resolved prompts, the take plan and its cost."""


@storyboard_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--provider", help="Plan every shot on this provider instead of the storyboard's choice.")
@click.option("--json", "as_json", is_flag=True, help="Print the resolved storyboard and plan as JSON.")
@with_examples(
    "shotline storyboard check examples/storyboard.yaml",
    "shotline storyboard check film.yaml --provider runway --json",
)
def check_cmd(file: Path, provider: str | None, as_json: bool) -> None:
    """Validate FILE and print each shot's resolved prompt, the plan and the estimated cost."""
    from shotline.core.generate.orchestrator import estimate, plan_storyboard
    from shotline.core.generate.prompt import build_prompt
    from shotline.core.generate.providers.base import Provider
    from shotline.core.generate.providers.registry import get_provider
    from shotline.core.generate.storyboard import load_storyboard

    sb = load_storyboard(file)
    providers: dict[str, Provider] = {}

    def provider_named(name: str) -> Provider:
        if name not in providers:
            providers[name] = get_provider(name)
        return providers[name]

    try:
        plans = plan_storyboard(sb, provider_named, provider_override=provider)
    finally:
        for prov in providers.values():
            prov.close()
    totals = estimate(plans)
    if as_json:
        emit_json(
            {
                "storyboard": str(file),
                "title": sb.title,
                "output": {"width": sb.width, "height": sb.height, "fps": sb.fps, "aspect": sb.aspect},
                "duration": round(sb.duration, 3),
                "deliver": list(sb.deliver),
                "shots": [
                    {
                        "id": s.id,
                        "kind": s.kind.value,
                        "duration": s.duration,
                        "provider": provider or s.provider,
                        "takes": s.takes,
                        "camera": s.parts.camera or None,
                        "transition": {"type": s.transition.type, "duration": s.transition.duration},
                        "prompt": build_prompt(sb, s).text,
                        "negative_prompt": build_prompt(sb, s).negative,
                    }
                    for s in sb.shots
                ],
                "plan": [_plan_dict(p) for p in plans],
                "estimated_cost": totals,
            }
        )
        return
    fps = f"{float(sb.fps):.3f}".rstrip("0").rstrip(".")
    click.echo(f"{sb.title}: {len(sb.shots)} shots, {sb.duration:.1f} s at {sb.width}x{sb.height} {fps} fps")
    if sb.deliver:
        click.echo(f"platform cuts: {', '.join(sb.deliver)}")
    if sb.music is not None:
        click.echo(f"music bed: {sb.music.path or sb.music.prompt!r} at {sb.music.volume_db:g} dB")
    for s in sb.shots:
        r = build_prompt(sb, s)
        cam = f", camera {r.camera.note()}" if r.camera else ""
        trans = (
            f", then {s.transition.type} {s.transition.duration:g} s"
            if s.transition.type != "cut"
            else ", then cut"
        )
        click.echo(f"\n{s.label} {s.kind.value}, {s.duration:g} s{cam}{trans}")
        click.echo(textwrap.fill(r.text, 100, initial_indent="  prompt: ", subsequent_indent="          "))
        if r.negative:
            click.echo(
                textwrap.fill(r.negative, 100, initial_indent="  avoid:  ", subsequent_indent="          ")
            )
        if s.audio.sfx or s.audio.voiceover:
            click.echo(f"  audio:  sfx {s.audio.sfx!r}, voice-over {s.audio.voiceover!r}")
    click.echo("\nplan:")
    for p in plans:
        cost = f"{p.cost_estimate:g} {p.cost_unit}"
        click.echo(
            f"  {p.request.shot_id:<20} take {p.request.take}  {p.provider}/{p.request.model:<14} "
            f"{p.request.kind.value:<15} {p.request.duration:>5.2f} s  seed {p.request.seed:<10} {cost}"
        )
    click.echo("estimated cost: " + (", ".join(f"{v:g} {u}" for u, v in totals.items()) or "0"))


def _plan_dict(p: Any) -> dict[str, Any]:
    r = p.request
    return {
        "shot": r.shot_id,
        "take": r.take,
        "provider": p.provider,
        "model": r.model,
        "kind": r.kind.value,
        "duration": r.duration,
        "seed": r.seed,
        "size": [r.width, r.height],
        "camera": r.camera,
        "request_hash": p.request_hash,
        "output": p.output.as_posix(),
        "cost_estimate": p.cost_estimate,
        "cost_unit": p.cost_unit,
    }


STATE_STYLE = {
    "queued": "dim",
    "submitting": "cyan",
    "submitted": "cyan",
    "running": "yellow",
    "downloading": "blue",
    "done": "green",
    "reused": "green",
    "failed": "red",
    "uncertain": "magenta",
    "cancelled": "red",
    "interrupted": "red",
}


# without a terminal, one line per take for these states only
QUIET_SHOWN = frozenset({"running", "done", "reused", "failed", "uncertain", "cancelled", "interrupted"})


class LiveView:
    """One live table of every take on a terminal; one line per state change otherwise."""

    def __init__(self, plans: list[Any], enabled: bool) -> None:
        self.rows: dict[tuple[str, int], Any] = {}
        self.order = [p.key for p in plans]
        self.providers = {p.key: p.provider for p in plans}
        self.lock = threading.Lock()
        self.live: Any = None
        self.tty = enabled and sys.stderr.isatty()
        self.enabled = enabled

    def __enter__(self) -> LiveView:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(
                self._table(), console=Console(stderr=True), refresh_per_second=4, transient=False
            )
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.stop()

    def update(self, view: Any) -> None:
        with self.lock:
            old = self.rows.get(view.key)
            self.rows[view.key] = view
        if self.live is not None:
            self.live.update(self._table())
        elif (
            (self.enabled or view.state == "failed")
            and (old is None or old.state != view.state)
            and view.state in QUIET_SHOWN
        ):
            shot, take, kind = view.key
            shot += " (sound)" if kind == "sound-effect" else ""
            extra = f" ({view.detail})" if view.detail and view.state in ("failed", "uncertain") else ""
            click.echo(f"{shot} take {take}: {view.state} after {view.elapsed:.1f} s{extra}", err=True)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title="shotline generate", expand=False)
        for col in ("shot", "take", "kind", "provider", "state", "elapsed", "detail"):
            table.add_column(col, justify="right" if col in ("take", "elapsed") else "left")
        counts: dict[str, int] = {}
        with self.lock:
            for key in self.order:
                v = self.rows.get(key)
                state = v.state if v else "queued"
                counts[state] = counts.get(state, 0) + 1
                elapsed = f"{v.elapsed:.1f} s" if v and v.started else ""
                detail = (v.detail if v else "")[:60]
                style = STATE_STYLE.get(state, "")
                table.add_row(
                    key[0],
                    str(key[1]),
                    key[2],
                    self.providers[key],
                    f"[{style}]{state}[/]" if style else state,
                    elapsed,
                    detail,
                )
        table.caption = "  ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
        return table


@click.command("generate")
@click.argument("storyboard", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder for takes and the ledger (default: STORYBOARD's name + '-takes', beside it).",
)
@click.option("--provider", help="Generate every shot with this provider (default: each shot's own).")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Tasks in flight per provider.")
@click.option("--budget", type=click.FloatRange(0), help="Refuse to start if unfinished takes cost more.")
@click.option(
    "--poll-interval", type=click.FloatRange(0.01), help="Seconds between polls (default: provider's)."
)
@click.option("--dry-run", is_flag=True, help="Print the plan and its estimated cost; send nothing.")
@click.option("--cancel-on-interrupt", is_flag=True, help="On Ctrl-C, cancel remote tasks still running.")
@click.option(
    "--retry-uncertain",
    is_flag=True,
    help="Re-send creates that may have reached the service before a crash.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_examples(
    "shotline generate examples/storyboard.yaml -o demo-out/takes",
    "shotline generate film.yaml --provider runway --concurrency 4 --budget 400",
    "shotline generate film.yaml --dry-run",
)
def generate_cmd(
    storyboard: Path,
    outdir: Path | None,
    provider: str | None,
    concurrency: int | None,
    budget: float | None,
    poll_interval: float | None,
    dry_run: bool,
    cancel_on_interrupt: bool,
    retry_uncertain: bool,
    as_json: bool,
) -> None:
    """Generate every take of STORYBOARD, resumably.

    Finished takes are reused on the next run; tasks in flight when the run stopped
    (Ctrl-C, a crash, even SIGKILL) are polled again, never paid for twice. Progress,
    task ids, costs and checksums are kept in OUTDIR/ledger.sqlite; OUTDIR/manifest.json
    lists every take for the timeline.
    """
    from shotline.core.errors import ProviderError
    from shotline.core.generate.orchestrator import BatchConfig, Orchestrator, estimate
    from shotline.core.generate.storyboard import load_storyboard
    from shotline.core.generate.take_manifest import write_take_manifest

    sb = load_storyboard(storyboard)
    outdir = outdir or storyboard.with_name(storyboard.stem + "-takes")
    if outdir.exists() and not outdir.is_dir():
        from shotline.core.errors import UsageError

        raise UsageError(f"{outdir}: exists and is not a folder")
    config = BatchConfig(
        concurrency=concurrency,
        poll_interval=poll_interval,
        cancel_on_interrupt=cancel_on_interrupt,
        retry_uncertain=retry_uncertain,
        budget=budget,
    )
    orch = Orchestrator(outdir, config=config)
    try:
        plans = orch.plan(sb, provider_override=provider)
        if dry_run:
            todo = orch.pending(plans)
            totals = estimate(todo)
            if as_json:
                emit_json(
                    {
                        "outdir": str(outdir),
                        "plan": [dict(_plan_dict(p), done=p not in todo) for p in plans],
                        "estimated_cost": totals,
                    }
                )
            else:
                click.echo(f"# {len(plans)} takes into {outdir} ({len(plans) - len(todo)} already done)")
                for p in plans:
                    mark = "new " if p in todo else "done"
                    click.echo(
                        f"{mark} {p.request.shot_id:<20} take {p.request.take}  {p.provider}/{p.request.model}  "
                        f"{p.request.kind.value}  {p.request.duration:g} s  -> {p.output.as_posix()}"
                    )
                click.echo("estimated cost: " + (", ".join(f"{v:g} {u}" for u, v in totals.items()) or "0"))
            orch.check_budget(plans)  # --budget applies to a dry run too
            return
        view = LiveView(plans, enabled=not is_quiet())
        orch.on_update = view.update
        with view:
            result = orch.run(plans)
        write_take_manifest(outdir, storyboard, plans, result)
    finally:
        orch.close()
    if as_json:
        emit_json(
            {
                "outdir": str(outdir),
                "ledger": str(result.ledger),
                "manifest": str(outdir / "manifest.json"),
                "wall_seconds": round(result.wall_seconds, 3),
                "takes": [
                    {
                        "shot": o.shot_id,
                        "take": o.take,
                        "provider": o.provider,
                        "status": o.status,
                        "reused": o.reused,
                        "output": str(o.output) if o.output else None,
                        "checksum": o.checksum,
                        "task_id": o.task_id,
                        "attempts": o.attempts,
                        "error": o.error,
                    }
                    for o in result.outcomes
                ],
            }
        )
    else:
        done = result.count("done")
        reused = sum(1 for o in result.outcomes if o.reused)
        click.echo(
            f"{done}/{len(result.outcomes)} takes done ({reused} reused) in {outdir} "
            f"in {result.wall_seconds:.1f} s"
        )
    bad = [o for o in result.outcomes if o.status != "done"]
    if bad:
        lines = "; ".join(f"{o.shot_id} take {o.take}: {o.status} ({o.error})" for o in bad[:5])
        raise ProviderError(f"{len(bad)} of {len(result.outcomes)} takes did not finish: {lines}")
