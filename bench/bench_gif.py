"""Benchmark (e): GIF preview, 15 fps, 480 px wide, from a 720p30 clip.

Speed: ``shotline gif`` (the CLI in a fresh process, start-up included) against the
hand-written ffmpeg command for the same job (one command, split -> palettegen ->
paletteuse), the classic hand-written two-command version (palette PNG first),
and MoviePy 2.x's ``write_gif``.

Size and quality: every output is compared with its source resampled to the
same size and rate (SSIM and PSNR over RGB, through ffmpeg's filters), next to a
naive one-pass ``ffmpeg -i x.mp4 x.gif`` (as typed, and at the same fps/size).
Two sources: a synthetic test pattern and a grainy moving gradient that behaves
more like camera or AI footage.

    python bench/bench_gif.py [--quick] [--reps N] [--no-moviepy]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Timing,
    ffmpeg,
    ffmpeg_bin,
    fresh,
    machine,
    moviepy_available,
    parse_args,
    print_table,
    sh,
    shotline_argv,
    synth,
    workdir,
)

FPS, WIDTH = 15, 480


def sources(d: Path, seconds: float) -> dict[str, Path]:
    pattern = synth(d / f"testsrc2-{seconds:g}s.mp4", duration=seconds, audio=False)
    grainy = d / f"grainy-{seconds:g}s.mp4"
    if not grainy.exists():
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"gradients=s=1280x720:r=30:d={seconds}:speed=0.02:n=5,noise=alls=5:allf=t,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            str(grainy),
        )
    return {"testsrc2": pattern, "grainy gradient": grainy}


def hand_one_command(src: Path, out: Path) -> list[str]:
    graph = (
        f"[0:v]fps={FPS},scale={WIDTH}:-1:flags=lanczos,split[a][b];"
        "[a]palettegen=max_colors=64:stats_mode=diff[p];[b][p]paletteuse=dither=none:diff_mode=rectangle"
    )
    return [ffmpeg_bin(), "-v", "error", "-y", "-i", str(src), "-filter_complex", graph, str(out)]


def hand_two_pass(src: Path, out: Path, palette: Path) -> None:
    vf = f"fps={FPS},scale={WIDTH}:-1:flags=lanczos"
    sh(
        [
            ffmpeg_bin(),
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-vf",
            f"{vf},palettegen=max_colors=64:stats_mode=diff",
            str(palette),
        ]
    )
    sh(
        [ffmpeg_bin(), "-v", "error", "-y", "-i", str(src), "-i", str(palette), "-lavfi",
         f"{vf}[x];[x][1:v]paletteuse=dither=none:diff_mode=rectangle", str(out)]
    )  # fmt: skip


def moviepy_gif(src: Path, out: Path) -> None:
    from moviepy import VideoFileClip

    with VideoFileClip(str(src), audio=False) as clip:
        clip.resized(width=WIDTH).write_gif(str(out), fps=FPS, logger=None)


CPU: dict[str, list[float]] = {}


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(name: str, fn: Callable[[], object], reps: int) -> Timing:
    """Wall-clock median (the figure) plus the CPU seconds of this process and its children.

    On a shared, loaded machine wall time swings with the neighbours' work; CPU
    seconds (user + system, ffmpeg children included) barely move, so the ratios
    are printed for both.
    """
    t = Timing(name)
    cpu = CPU.setdefault(name, [])
    for _ in range(max(1, reps)):
        c0, w0 = _cpu(), time.perf_counter()
        fn()
        t.runs.append(time.perf_counter() - w0)
        cpu.append(_cpu() - c0)
    return t


def print_cpu(rows: list[Timing], baseline: str) -> None:
    base = statistics.median(CPU[baseline])
    print(f"{'  CPU seconds (user+sys, children included)':<44} {'median':>10} {'vs baseline':>16}")
    for r in rows:
        c = statistics.median(CPU[r.name])
        print(f"  {r.name:<42} {c:>10.3f} {c / base:>15.2f}x")
    sys.stdout.flush()


def main() -> None:
    args = parse_args(__doc__)

    seconds = 4.0 if args.quick else 10.0
    d = workdir("gif")
    print(f"# GIF preview benchmark: {FPS} fps, {WIDTH} px wide, {seconds:g} s 1280x720 30 fps sources")
    print(f"# machine: {machine()}")
    for name, src in sources(d, seconds).items():
        out = d / "out"
        out.mkdir(exist_ok=True)
        run_source(name, src, out, args)


def run_source(name: str, src: Path, out: Path, args: argparse.Namespace) -> None:
    from shotline.core.media.probe import probe
    from shotline.core.ops.gif import quality

    rows: list[Timing] = []
    rows.append(
        timed(
            "hand-written ffmpeg (one command)",
            lambda: sh(hand_one_command(src, fresh(out / "hand.gif"))),
            args.reps,
        )
    )
    rows.append(
        timed(
            "shotline gif (CLI, fresh process)",
            lambda: sh(shotline_argv("gif", str(src), "--fps", str(FPS), "--width", str(WIDTH), "-o", str(fresh(out / "shotline.gif")))),
            args.reps,
        )
    )  # fmt: skip
    rows.append(
        timed(
            "hand-written ffmpeg (two commands, palette.png)",
            lambda: hand_two_pass(src, fresh(out / "twopass.gif"), out / "palette.png"),
            args.reps,
        )
    )
    if moviepy_available() and not args.no_moviepy:
        rows.append(
            timed("MoviePy 2.x write_gif", lambda: moviepy_gif(src, fresh(out / "moviepy.gif")), args.reps)
        )
    rows.append(
        timed(
            "naive one-pass: ffmpeg -i x.mp4 x.gif",
            lambda: sh(
                [ffmpeg_bin(), "-v", "error", "-y", "-i", str(src), str(fresh(out / "naive-full.gif"))]
            ),
            max(1, args.reps - 2),
        )
    )
    print_table(f"{name}: time", rows, baseline="hand-written ffmpeg (one command)")
    print_cpu(rows, "hand-written ffmpeg (one command)")

    # size and quality at the same size and rate
    sh(
        [
            ffmpeg_bin(),
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-vf",
            f"fps={FPS},scale={WIDTH}:-1",
            str(out / "naive.gif"),
        ]
    )
    for colors, dither, fname in [(256, "sierra2_4a", "hq.gif"), (32, "none", "c32.gif")]:
        sh(shotline_argv("gif", str(src), "--fps", str(FPS), "--width", str(WIDTH), "--colors", str(colors),
                         "--dither", dither, "-o", str(fresh(out / fname))))  # fmt: skip
    entries = [
        ("shotline default (64 colours, no dither)", out / "shotline.gif", FPS),
        ("shotline 32 colours", out / "c32.gif", FPS),
        ("shotline 256 colours, sierra2_4a", out / "hq.gif", FPS),
        ("naive one-pass at 15 fps, 480 px", out / "naive.gif", FPS),
        ("naive one-pass as typed (30 fps, 1280 px)", out / "naive-full.gif", 30),
    ]
    if (out / "moviepy.gif").exists():
        entries.insert(3, ("MoviePy 2.x write_gif", out / "moviepy.gif", FPS))
    naive_size = (out / "naive.gif").stat().st_size
    print(f"\n## {name}: size and quality (against the source at the GIF's size and rate)")
    print(f"{'output':<44} {'KB':>8} {'vs naive':>9} {'SSIM':>7} {'PSNR dB':>8} {'plays s':>8}")
    for label, path, fps in entries:
        q = quality(path, src, fps=fps)
        size = path.stat().st_size
        plays = probe(path).duration  # a writer that rounds frame delays plays too fast
        print(
            f"{label:<44} {size / 1024:>8.0f} {size / naive_size:>8.2f}x {q.ssim:>7.3f} {q.psnr:>8.2f} {plays:>8.2f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
