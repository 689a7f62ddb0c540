"""The one runner that executes Plans.

* progress from ``-progress pipe:1`` (out_time, frame, speed) to a callback, with an ETA;
* the final output is written to a temporary file beside the target and claimed only when
  every step succeeded; intermediate files live in a scratch dir. Without overwrite the claim
  is atomic (a hard link, which fails if the name exists), so of two writers racing for one
  output the second fails cleanly instead of replacing the first's file;
* temporary names carry the writer's pid and host; the next writer on that host beside the
  same output removes those whose owner is dead (a SIGKILL leaves them);
* refuses to write over any of its inputs, refuses an existing output unless overwrite;
* Ctrl-C (KeyboardInterrupt) or SIGTERM stops ffmpeg and removes partial outputs; ffmpeg dies
  with its parent (Linux: a parent-death signal), so a killed shotline leaves no encoder
  writing on; an ffmpeg stopped by a signal sent to the whole group (Ctrl-C while shotline
  itself ignores SIGINT, as a script's background job does) is an interruption (130), too;
* failures raise FFmpegError carrying the command and the tail of ffmpeg's stderr;
* argv lists only: nothing goes through a shell.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotline.core.errors import FFmpegError, FFmpegKilled, Interrupted, OutputExistsError, UsageError, shown
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
            raise UsageError(f"{shown(output)}: output would overwrite an input; choose another output path")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{shown(output)}: already exists (use --force to overwrite)")
    if output.exists() and output.is_dir():
        raise UsageError(f"{shown(output)}: is a directory; give a file name")
    parent = output.parent
    if not parent.exists():
        raise UsageError(f"{shown(output)}: folder {shown(parent)} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{shown(output)}: folder {shown(parent)} is not writable")


def not_writable(output: Path, exc: OSError) -> UsageError:
    """The one-line error for a folder the OS refuses to write in (read-only, permissions, full)."""
    if exc.errno == errno.ENOSPC:
        return UsageError(f"{shown(output)}: no space left on device in {shown(output.parent)}")
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    return UsageError(f"{shown(output)}: cannot write in folder {shown(output.parent)} ({why})")


_OWNED = re.compile(r"\.(\d+)-([0-9a-f]{4})[^.]*\.(?:part|work)")


def owner_tag() -> str:
    """What a temporary name carries to say whose it is: this process's pid and a short tag of
    the host, so a folder shared between machines (or containers) never has another host's
    live files taken for a dead writer's."""
    global _HOST
    if _HOST is None:
        import hashlib
        import socket

        _HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:4]
    return f"{os.getpid()}-{_HOST}"


_HOST: str | None = None


def _owner_alive(pid: int, host: str) -> bool:
    if host != owner_tag().partition("-")[2]:
        return True  # another host's: we cannot tell, so it stays
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_dead(output: Path, stem: str | None = None) -> list[Path]:
    """Remove the temporary files and scratch folders beside ``output`` whose writer is dead
    (a SIGKILL, a power cut): their names carry the owner's pid. Returns what was removed."""
    prefix = f".{(stem if stem is not None else output.stem)[:40]}."
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(output.parent) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        m = _OWNED.match(entry.name[len(prefix) - 1 :])
        if m and not _owner_alive(int(m.group(1)), m.group(2)):
            _unlink(Path(entry.path))
            removed.append(Path(entry.path))
            log.info("removed %s, left by a writer that died", entry.path)
    return removed


def temp_path_for(output: Path) -> Path:
    """A unique temporary path beside output, with the same suffix so muxers infer the format."""
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{output.stem[:40]}.{owner_tag()}", suffix=f".part{output.suffix}", dir=output.parent
        )
    except OSError as exc:
        raise not_writable(output, exc) from None
    os.close(fd)
    os.unlink(name)
    return Path(name)


def claim(tmp: Path, output: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``output``. Without overwrite this is one atomic step that
    fails if ``output`` appeared meanwhile (another writer won): a hard link, then the temporary
    name goes. Where the filesystem has no hard links it falls back to a check and a rename."""
    if overwrite:
        os.replace(tmp, output)
        return
    try:
        os.link(tmp, output)
    except FileExistsError:
        raise OutputExistsError(
            f"{shown(output)}: already exists: another writer finished it first (use --force to overwrite)"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if output.exists():
            raise OutputExistsError(f"{shown(output)}: already exists (use --force to overwrite)") from None
        os.replace(tmp, output)
        return
    os.unlink(tmp)


@contextmanager
def atomic_output(
    output: Path,
    inputs: tuple[Path, ...] | list[Path] = (),
    overwrite: bool = False,
) -> Iterator[Path]:
    """Yield a temp path beside ``output``; rename it into place only if the block succeeds."""
    output = Path(output)
    check_output(output, inputs, overwrite)
    sweep_dead(output)
    tmp = temp_path_for(output)
    try:
        yield tmp
        if not tmp.exists():
            raise UsageError(f"{shown(output)}: nothing was written")
        claim(tmp, output, overwrite)
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
        workdir = Path(
            tempfile.mkdtemp(prefix=f".{output.stem[:40]}.{owner_tag()}", suffix=".work", dir=output.parent)
        )
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


# what every ffmpeg the runner starts is told first: quiet, no prompts, progress on stdout
FFMPEG_HEAD = ("-hide_banner", "-nostdin", "-y", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")


def _argv(step: Step, tmp: Path, workdir: Path) -> list[str]:
    args = [_sub(a, tmp, workdir) for a in step.args]
    if step.tool != "ffmpeg":
        return [step.tool, *args]
    return [ffmpeg_path(), *FFMPEG_HEAD] + args + [_sub(step.output, tmp, workdir)]


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
            preexec_fn=die_with_parent(),
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
        name = Path(argv[0]).name
        if -rc in _STOP_SIGNALS or _SIGNALLED.search(stderr) or _ffmpeg_signalled(rc, stderr):
            # a Ctrl-C or SIGTERM that reached ffmpeg (the whole process group got it) but not
            # us: we ignore SIGINT when started as a background job of a script
            raise Interrupted("interrupted; partial output removed")
        if "No space left on device" in stderr:
            where = next((a for a in reversed(argv) if os.sep in a), "")
            folder = f" in {shown(Path(where).parent)}" if where else ""
            raise FFmpegError(f"{name}: no space left on device{folder}", argv, short)
        if rc < 0:
            raise FFmpegKilled(f"{name} was killed by signal {-rc}", argv, short)
        raise FFmpegError(f"{name} failed (exit {rc})", argv, short)
    return stderr


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_SIGNALLED = re.compile(r"received signal (2|15|1)\b")


def _ffmpeg_signalled(rc: int, stderr: str) -> bool:
    """ffmpeg exits 255 after a SIGINT/SIGTERM it handled (it says so only at -loglevel info);
    the only other way to 255 is an EPERM error, which names itself."""
    return rc == 255 and "Operation not permitted" not in stderr


def die_with_parent() -> Callable[[], None] | None:
    """A preexec function that makes the child die (SIGKILL) when this process dies, so an
    ffmpeg never outlives a killed shotline (Linux prctl PR_SET_PDEATHSIG; elsewhere None:
    the child is stopped on every exit path we see, but not after a SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    global _PRCTL
    if _PRCTL is None:
        import ctypes

        _PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, never in the child
    prctl, parent = _PRCTL, os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return preexec


_PRCTL: Any = None


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
