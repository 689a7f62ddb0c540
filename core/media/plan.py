"""Plans: plain data describing the ffmpeg commands an operation will run.

A Plan is a tuple of Steps. Each step is one ffmpeg argv (without the binary)
and the file it writes. Two placeholders may appear inside arguments and
paths; the runner substitutes them at run time:

* ``OUT``  - the temporary file beside the plan's final output (the last step writes it);
* ``WORK`` - a private scratch directory for intermediate files (concat lists, segments, palettes).

They contain NUL bytes, which no real path or argv can, so they can never collide
with user data and an unsubstituted one fails loudly. Plans never pass through a shell.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

OUT = "\0out\0"
WORK = "\0work\0"


def work(name: str) -> str:
    """A path inside the plan's scratch directory."""
    return f"{WORK}/{name}"


@dataclass(frozen=True)
class Step:
    """One ffmpeg command as an argv tuple (no shell), with the output it writes and its weight."""

    args: tuple[str, ...]
    output: str  # OUT, a work(...) path, or a real path
    duration: float | None = None  # seconds of media the step produces: progress weight and ETA
    label: str = ""
    files: tuple[tuple[str, str], ...] = ()  # (work-relative name, text) written before the step runs
    tool: str = "ffmpeg"


@dataclass(frozen=True)
class Plan:
    """What an operation will do: its ffmpeg steps, the output it promises and the inputs it reads."""

    steps: tuple[Step, ...]
    output: Path
    inputs: tuple[Path, ...] = ()
    description: str = ""
    meta: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def commands(self, binary: str = "ffmpeg") -> list[str]:
        """Human-readable shell lines (for --dry-run and -v): placeholders shown as <out> and <work>."""
        lines = []
        for step in self.steps:
            for name, text in step.files:
                lines.append(f"# write <work>/{name}:\n" + "\n".join("#   " + t for t in text.splitlines()))
            argv = [binary if step.tool == "ffmpeg" else step.tool, *step.args]
            if step.tool == "ffmpeg":
                argv.append(step.output)  # the runner puts the output last, as here
            shown = [pretty(a, self.output) for a in argv]
            lines.append(shlex.join(shown))
        return lines

    @property
    def total_duration(self) -> float:
        return sum(s.duration or 0.0 for s in self.steps)


def pretty(arg: str, final: Path | None = None) -> str:
    out = f"<tmp of {final}>" if final is not None else "<out>"
    return arg.replace(OUT, out).replace(WORK, "<work>")


def single(
    args: list[str] | tuple[str, ...],
    output: Path,
    inputs: list[Path] | tuple[Path, ...],
    duration: float | None,
    description: str,
    **meta: object,
) -> Plan:
    """The common case: one ffmpeg command writing the final output."""
    return Plan(
        steps=(Step(tuple(args), OUT, duration, description),),
        output=Path(output),
        inputs=tuple(Path(i) for i in inputs),
        description=description,
        meta=dict(meta),
    )
