"""Shared CLI plumbing: the common options, running a Plan with a progress bar, --json output."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _option_value(parse: Callable[[str], T], text: str | None, hint: str) -> T | None:
    """``parse(text)`` for an option given as text, a click usage error naming ``hint`` if it fails."""
    from shotline.core.errors import UsageError

    if not text:
        return None
    try:
        return parse(text)
    except UsageError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def rate_option_value(text: str | None, hint: str = "--fps") -> Fraction | None:
    """A --fps/--rate value as an exact rate (29.97 -> 30000/1001); None when not given."""
    from shotline.core.vocab import parse_rate

    return _option_value(parse_rate, text, hint)


def size_option_value(text: str | None, hint: str = "--size") -> tuple[int, int] | None:
    """A WIDTHxHEIGHT value (each side 2-16384); None when not given."""
    from shotline.core.vocab import parse_size

    return _option_value(parse_size, text, hint)


def output_options(func: F) -> F:
    """-o/--output, --force, --json, --dry-run: the options every writing command takes."""
    func = click.option("--dry-run", is_flag=True, help="Print the ffmpeg command(s) and run nothing.")(func)
    func = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)
    func = click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")(func)
    func = click.option(
        "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file."
    )(func)
    return func


def is_quiet() -> bool:
    """Whether -q/--quiet was given (before or after the command name)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and (ctx.find_root().obj or {}).get("quiet"))


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Fraction):
        return f"{obj.numerator}/{obj.denominator}"
    return obj


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))


def plan_dict(plan: Any, **extra: Any) -> dict[str, Any]:
    """A plan as JSON-ready data: what --dry-run --json prints."""
    from shotline.core.media.ffmpeg import ffmpeg_path
    from shotline.core.media.plan import pretty

    binary = ffmpeg_path()
    steps = []
    for step in plan.steps:
        argv = [binary if step.tool == "ffmpeg" else step.tool, *step.args]
        if step.tool == "ffmpeg":
            argv.append(step.output)
        steps.append(
            {
                "tool": step.tool,
                "argv": [pretty(a, plan.output) for a in argv],
                "label": step.label,
                "duration": step.duration,
                "files": [name for name, _ in step.files],
            }
        )
    return {
        "dry_run": True,
        "description": plan.description,
        "output": str(plan.output),
        "inputs": [str(i) for i in plan.inputs],
        "commands": plan.commands(binary),
        "steps": steps,
        **extra,
    }


def print_plan(plan: Any, as_json: bool = False, **extra: Any) -> None:
    """--dry-run: the plan's commands as shell lines, or (with --json) as JSON."""
    from shotline.core.media.ffmpeg import ffmpeg_path

    if as_json:
        emit_json(plan_dict(plan, **extra))
        return
    click.echo(f"# {plan.description}" if plan.description else "# plan")
    for line in plan.commands(ffmpeg_path()):
        click.echo(line)
    click.echo(f"# then rename the temporary file to {plan.output}")


class ProgressBar:
    """A rich progress bar on stderr, shown only on a terminal, not with -q, and only after a second.

    ``fields`` turns a progress report into (fraction done, text after the bar); commands whose
    reports say more (frames, segments, pieces) override it.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._progress: Any = None
        self._task: Any = None
        self._start: float | None = None

    def fields(self, p: Any) -> tuple[float, str]:
        return p.fraction, (f"{p.speed:.1f}x" if getattr(p, "speed", None) else "")

    def __call__(self, p: Any) -> None:
        import time

        if not sys.stderr.isatty() or is_quiet():
            return
        fraction, text = self.fields(p)
        now = time.monotonic()
        if self._start is None:
            self._start = now
        if self._progress is None and now - self._start < 1.0 and fraction < 1.0:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[text]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=1.0, text="")
        self._progress.update(self._task, completed=fraction, text=text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def run_plan(
    plan: Any, *, force: bool, dry_run: bool, as_json: bool, summary: Callable[[Any], Any] | None = None
) -> None:
    """Run a Plan from a command: dry-run printing, progress, and the result line or JSON."""
    from shotline.core.media.probe import header_duration, probe
    from shotline.core.media.runner import run

    if dry_run:
        print_plan(plan, as_json)
        return
    bar = ProgressBar(plan.description or str(plan.output))
    try:
        result = run(plan, overwrite=force, progress=bar)
    finally:
        bar.close()
    if as_json:
        info = probe(result.output)
        payload = {"output": str(result.output), "elapsed": round(result.elapsed, 3), "media": info.to_dict()}
        if summary is not None:
            payload["summary"] = summary(info)
        emit_json(payload)
    else:  # the one line needs no full probe (its packet walk and decode cost start-up time)
        seconds, size = header_duration(result.output), result.output.stat().st_size
        click.echo(f"wrote {result.output} ({seconds:.3f} s, {size / 1e6:.2f} MB) in {result.elapsed:.1f} s")


def with_examples(*examples: str) -> Callable[[F], F]:
    """Append an Examples section to a command's --help (place it below @click.command)."""

    def deco(func: F) -> F:
        text = "\n\n\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)
        func.__doc__ = inspect.cleandoc(func.__doc__ or "") + text
        return func

    return deco
