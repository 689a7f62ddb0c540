"""The one runner that executes Plans.

* progress from ``-progress pipe:1`` (out_time, frame, speed) to a callback, with an ETA;
* the final output is written to a temporary file beside the target and renamed into
  place only when every step succeeded; intermediate files live in a scratch dir;
* refuses to write over any of its inputs, refuses an existing output unless overwrite;
* Ctrl-C (KeyboardInterrupt) or SIGTERM stops ffmpeg and removes partial outputs;
* failures raise FFmpegError carrying the command and the tail of ffmpeg's stderr;
* argv lists only: nothing goes through a shell.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import FFmpegError, Interrupted, OutputExistsError, UsageError
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.plan import OUT, WORK, Plan, Step
from shotline.core.vocab import install_sigterm, restore_sigterm

log = logging.getLogger("shotline.runner")


@dataclass(frozen=True)
class Progress:
    step: int  # 0-based index of the running step
    steps: int
    out_time: float  # seconds written so far by this step
    frame: int
    speed: float | None  # x realtime as ffmpeg reports it
    fraction: float  # 0..1 over the whole plan (by media duration)
    eta: float | None  # seconds
    label: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RunResult:
    """A plan that ran: the output now in place, the wall time and the commands that ran."""

    output: Path
    elapsed: float
    commands: tuple[tuple[str, ...], ...]


def same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(output: Path, inputs: tuple[Path, ...] | list[Path], overwrite: bool) -> None:
    """The output rules every writer follows (also used by in-process writers such as upscale)."""
    for inp in inputs:
        if same_file(Path(inp), output):
            raise UsageError(f"{output}: output would overwrite an input; choose another output path")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output}: already exists (use --force to overwrite)")
    if output.exists() and output.is_dir():
        raise UsageError(f"{output}: is a directory; give a file name")
    parent = output.parent
    if not parent.exists():
        raise UsageError(f"{output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{output}: folder {parent} is not writable")


def temp_path_for(output: Path) -> Path:
    """A unique temporary path beside output, with the same suffix so muxers infer the format."""
    fd, name = tempfile.mkstemp(
        prefix=f".{output.stem[:40]}.", suffix=f".part{output.suffix}", dir=output.parent
    )
    os.close(fd)
    os.unlink(name)
    return Path(name)


@contextmanager
def atomic_output(
    output: Path,
    inputs: tuple[Path, ...] | list[Path] = (),
    overwrite: bool = False,
) -> Iterator[Path]:
    """Yield a temp path beside ``output``; rename it into place only if the block succeeds."""
    output = Path(output)
    check_output(output, inputs, overwrite)
    tmp = temp_path_for(output)
    try:
        yield tmp
        if not tmp.exists():
            raise UsageError(f"{output}: nothing was written")
        os.replace(tmp, output)
    except BaseException:
        _unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a small text file (JSON, HTML) so that readers see the old or the new file, never half."""
    out = Path(path)
    with atomic_output(out, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


def _unlink(p: Path) -> None:
    try:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:  # pragma: no cover
        log.warning("could not remove %s: %s", p, exc)


def _sub(text: str, out: Path, work: Path) -> str:
    return text.replace(OUT, str(out)).replace(WORK, str(work))


def run(
    plan: Plan,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Execute every step of ``plan``; see the module docstring for the guarantees."""
    output = Path(plan.output)
    started = time.monotonic()
    total = plan.total_duration
    done_media = 0.0
    commands: list[tuple[str, ...]] = []
    with atomic_output(output, plan.inputs, overwrite) as tmp:
        workdir = Path(tempfile.mkdtemp(prefix=f".{output.stem[:40]}.work.", dir=output.parent))
        try:
            for i, step in enumerate(plan.steps):
                for name, text in step.files:
                    (workdir / name).write_text(text, encoding="utf-8")
                argv = _argv(step, tmp, workdir)
                commands.append(tuple(argv))

                def on_progress(
                    out_time: float,
                    frame: int,
                    speed: float | None,
                    i: int = i,
                    step: Step = step,
                    base: float = done_media,
                ) -> None:
                    if progress is None:
                        return
                    stepdur = step.duration or 0.0
                    cur = min(out_time, stepdur) if stepdur else 0.0
                    frac = (base + cur) / total if total else (i / len(plan.steps))
                    elapsed = time.monotonic() - started
                    eta = elapsed * (1 - frac) / frac if frac > 0.01 else None
                    progress(
                        Progress(i, len(plan.steps), out_time, frame, speed, min(frac, 1.0), eta, step.label)
                    )

                execute(argv, on_progress=on_progress, cancel=cancel)
                done_media += step.duration or 0.0
        finally:
            _unlink(workdir)
        if progress is not None:
            progress(Progress(len(plan.steps) - 1, len(plan.steps), total, 0, None, 1.0, 0.0, "done"))
    return RunResult(output, time.monotonic() - started, tuple(commands))


def _argv(step: Step, tmp: Path, workdir: Path) -> list[str]:
    args = [_sub(a, tmp, workdir) for a in step.args]
    if step.tool != "ffmpeg":
        return [step.tool, *args]
    head = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "warning",
        "-progress",
        "pipe:1",
        "-nostats",
    ]
    return head + args + [_sub(step.output, tmp, workdir)]


def execute(
    argv: list[str],
    *,
    on_progress: Callable[[float, int, float | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """Run one command; parse ffmpeg -progress output from stdout. Returns the stderr text."""
    log.info("run: %s", " ".join(argv))
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise FFmpegError(f"cannot start {argv[0]}: {exc}", argv) from exc

    tail: collections.deque[str] = collections.deque(maxlen=60)
    err_thread = threading.Thread(target=lambda: tail.extend(proc.stderr or ()), daemon=True)
    err_thread.start()
    watcher = None
    if cancel is not None:

        def watch() -> None:
            while proc.poll() is None:
                if cancel.wait(0.2):
                    _stop(proc)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

    old_term = install_sigterm()
    try:
        fields: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            fields[key] = value
            if key == "progress" and on_progress is not None:
                on_progress(_seconds(fields), _int(fields.get("frame")), _speed(fields.get("speed")))
        rc = proc.wait()
    except KeyboardInterrupt:
        _stop(proc)
        raise Interrupted("interrupted; partial output removed") from None
    finally:
        restore_sigterm(old_term)
        err_thread.join(timeout=5)
    if cancel is not None and cancel.is_set():
        raise Interrupted("cancelled; partial output removed")
    stderr = "".join(tail)
    if rc != 0:
        short = "\n".join(stderr.strip().splitlines()[-8:])
        raise FFmpegError(f"{Path(argv[0]).name} failed (exit {rc})", argv, short)
    return stderr


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _seconds(fields: dict[str, str]) -> float:
    for key in ("out_time_us", "out_time_ms"):  # both are microseconds in ffmpeg
        v = fields.get(key)
        if v and v.lstrip("-").isdigit():
            return max(0.0, int(v) / 1_000_000)
    return 0.0


def _int(v: str | None) -> int:
    try:
        return int(v) if v else 0
    except ValueError:
        return 0


def _speed(v: str | None) -> float | None:
    if not v or v == "N/A":
        return None
    try:
        return float(v.rstrip("x"))
    except ValueError:
        return None
