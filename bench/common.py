"""Shared benchmark helpers: timing (median of N), bench media synthesis, ratio tables.

Every benchmark script in bench/ uses these so results are comparable:

* ``parse_args(doc)`` gives ``--quick`` (fewer/shorter inputs), ``--reps N`` and ``--keep``;
* ``median_time(fn, reps)`` runs ``fn`` ``reps`` times (after an optional warm-up) and
  returns a ``Timing`` with every run and the median;
* ``synth(path, ...)`` makes a test clip with ffmpeg's lavfi sources (cached by name);
* ``shotline_argv(...)`` runs the installed ``shotline`` CLI as a separate process, so
  start-up cost is part of what is measured;
* ``print_table(title, rows, baseline)`` prints seconds and ratios against a baseline;
* ``machine()`` describes the machine for RESULTS files.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # let "python bench/x.py" import bench.common
    sys.path.insert(0, str(ROOT))


@dataclass
class Timing:
    name: str
    runs: list[float] = field(default_factory=list)  # wall-clock seconds
    cpu: list[float] = field(default_factory=list)  # CPU seconds (this process + its children)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def spread(self) -> str:
        if not self.runs:
            return ""
        return f"{min(self.runs):.3f}-{max(self.runs):.3f}"


def median_time(name: str, fn: Callable[[], object], reps: int = 3, warmup: bool = False) -> Timing:
    """Time ``fn`` ``reps`` times (wall clock) and keep every run; the median is the figure."""
    if warmup:
        fn()
    t = Timing(name)
    for _ in range(max(1, reps)):
        _time_once(fn, t)
    return t


def _time_once(fn: Callable[[], object], into: Timing) -> None:
    c0 = _cpu()
    start = time.perf_counter()
    fn()
    into.runs.append(time.perf_counter() - start)
    into.cpu.append(_cpu() - c0)


def interleaved(contenders: Sequence[tuple[str, Callable[[], object]]], reps: int = 3) -> list[Timing]:
    """Time several contenders round by round (each once per round, after one warm-up round),
    so a load that drifts over the run weighs on all of them alike; ``paired_ratio`` then
    compares two of them round by round."""
    for _, fn in contenders:
        fn()
    timings = [Timing(name) for name, _ in contenders]
    for _ in range(max(1, reps)):
        for t, (_, fn) in zip(timings, contenders):
            _time_once(fn, t)
    return timings


def paired_ratio(slow: Timing, fast: Timing) -> tuple[float, float]:
    """Median over the rounds of slow/fast, in wall time and in CPU time (rows from ``interleaved``)."""
    wall = statistics.median(a / b for a, b in zip(slow.runs, fast.runs))
    cpu = statistics.median(a / b for a, b in zip(slow.cpu, fast.cpu) if b > 0)
    return wall, cpu


def _cpu() -> float:
    """CPU seconds used so far by this process and its waited-for children. On a shared,
    overloaded machine wall time includes waiting for a core; CPU time does not."""
    u = os.times()
    return u.user + u.system + u.children_user + u.children_system


def ffmpeg_bin() -> str:
    from shotline.core.media.ffmpeg import ffmpeg_path

    return ffmpeg_path()


def sh(argv: Sequence[str], quiet: bool = True) -> None:
    """Run a command (argv list, no shell); raise with the stderr tail on failure."""
    # As on an installed copy, Python may cache the compiled bytecode of shotline's modules
    # (some CI images set PYTHONDONTWRITEBYTECODE, which recompiles them on every start).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    r = subprocess.run(list(argv), capture_output=quiet, text=True, env=env)
    if r.returncode != 0:
        tail = (r.stderr or "")[-2000:] if quiet else ""
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(argv)}\n{tail}")


def ffmpeg(*args: str) -> None:
    sh([ffmpeg_bin(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args])


def synth(
    path: Path,
    *,
    duration: float = 5.0,
    width: int = 1280,
    height: int = 720,
    rate: str = "30",
    audio: bool = True,
    sample_rate: int = 48000,
    channels: int = 2,
    source: str = "testsrc2",
    preset: str = "veryfast",
    gop: int | None = None,
    pix_fmt: str = "yuv420p",
    sar: str | None = None,
    tone: float = 440.0,
) -> Path:
    """Synthesize a bench clip once (kept if it already exists): H.264 with B-frames, AAC."""
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"{source}=s={width}x{height}:r={rate}:d={duration}"]
    if audio:
        layout = "mono" if channels == 1 else "stereo"
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=f={tone}:r={sample_rate}:d={duration},aformat=channel_layouts={layout}",
        ]
    vf = [f"format={pix_fmt}"]
    if sar:
        vf.insert(0, f"setsar={sar.replace(':', '/')}")
    args += ["-vf", ",".join(vf), "-c:v", "libx264", "-preset", preset, "-crf", "20"]
    if gop:
        args += ["-g", str(gop)]
    if audio:
        args += ["-c:a", "aac", "-b:a", "128k", "-shortest"]
    tmp = path.with_name(".tmp-" + path.name)
    ffmpeg(*args, "-movflags", "+faststart", str(tmp))
    os.replace(tmp, path)
    return path


def shotline_argv(*args: str) -> list[str]:
    """argv that runs the shotline CLI in a fresh process (the console script if installed)."""
    script = Path(sys.executable).with_name("shotline")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "shotline.cli.main", *args]


def moviepy_available() -> bool:
    try:
        import moviepy  # noqa: F401
    except ImportError:
        return False
    return True


def workdir(name: str, keep: bool = False) -> Path:
    """A scratch folder for one benchmark (under the system temp dir unless BENCH_DIR is set)."""
    base = Path(os.environ.get("BENCH_DIR") or tempfile.gettempdir()) / "shotline-bench"
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def fresh(path: Path) -> Path:
    """Remove ``path`` if it exists (outputs between repetitions)."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    return path


def parse_args(doc: str | None, argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--quick", action="store_true", help="smaller inputs, fewer repetitions")
    p.add_argument("--reps", type=int, default=None, help="repetitions per contender (default 3)")
    p.add_argument("--no-moviepy", action="store_true", help="skip the MoviePy contender")
    ns = p.parse_args(argv)
    if ns.reps is None:
        ns.reps = 3
    return ns


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from shotline.core.media.ffmpeg import find_ffmpeg

    ff = find_ffmpeg()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"ffmpeg {ff.version} ({ff.source}), {platform.system()} {platform.release()}, "
        f"load average now {load}"
    )


def print_table(title: str, rows: Sequence[Timing], baseline: str | None = None) -> None:
    """Print medians and the ratio of each row against ``baseline`` (a row name)."""
    base = next((r for r in rows if r.name == baseline), None)
    print(f"\n## {title}")
    print(f"{'contender':<40} {'wall s':>8} {'(min-max)':>14} {'ratio':>7} {'cpu s':>8} {'ratio':>7}")
    for r in rows:
        wr = cr = ""
        if base is not None and base.median > 0 and r.runs:
            wr = f"{r.median / base.median:.2f}x"
        if base is not None and base.cpu_median > 0 and r.cpu:
            cr = f"{r.cpu_median / base.cpu_median:.2f}x"
        print(f"{r.name:<40} {r.median:>8.3f} {r.spread:>14} {wr:>7} {r.cpu_median:>8.3f} {cr:>7}")
    if base is not None:
        print(
            f"(ratios against: {base.name}; medians of {len(base.runs)} runs; load average at the end: "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})"
        )
    sys.stdout.flush()


def moviepy_write(clip: object, path: Path, fps: float | None = None) -> None:
    """Write a MoviePy clip with the same encoder settings shotline uses (x264 veryfast crf 18, AAC 48k)."""
    clip.write_videofile(  # type: ignore[attr-defined]
        str(path),
        fps=fps,
        codec="libx264",
        preset="veryfast",
        audio_codec="aac",
        audio_fps=48000,
        audio_bitrate="192k",
        ffmpeg_params=["-crf", "18", "-pix_fmt", "yuv420p"],
        logger=None,
    )


def luma_means(path: Path) -> list[float]:
    """Mean luma of every decoded frame: a cheap fingerprint for frame-exact comparisons."""
    import av

    means = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            means.append(float(f.to_ndarray(format="gray").mean()))
    return means


def frames_match(a: Path, b: Path, tolerance: float = 2.0) -> tuple[bool, str]:
    """Same frame count and per-frame mean luma within ``tolerance``: (ok, one-line detail)."""
    la, lb = luma_means(a), luma_means(b)
    if len(la) != len(lb):
        return False, f"frame counts differ: {len(la)} vs {len(lb)}"
    worst = max((abs(x - y) for x, y in zip(la, lb)), default=0.0)
    return worst <= tolerance, f"{len(la)} frames, worst per-frame luma difference {worst:.2f}"
