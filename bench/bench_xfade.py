"""Benchmark (d): a chain of 4 crossfades (5 clips of 720p30, 0.5 s dissolves).

Contenders: ``shotline xfade`` (CLI process), the hand-written single ffmpeg command
with xfade + acrossfade and offsets worked out by hand, and MoviePy 2.x
(CrossFadeIn with negative padding), all at x264 veryfast crf 18 + AAC 48 kHz.
Target: within 1.25x of the hand-written command.

    python bench/bench_xfade.py [--quick] [--reps N] [--no-moviepy]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ffmpeg,
    fresh,
    machine,
    median_time,
    moviepy_available,
    moviepy_write,
    parse_args,
    print_table,
    sh,
    shotline_argv,
    synth,
    workdir,
)

D = 0.5


def handwritten(clips: list[Path], seconds: float, out: Path) -> list[str]:
    graph, v, a = [], "[0:v]", "[0:a]"
    for k in range(1, len(clips)):
        offset = k * seconds - k * D
        graph.append(f"{v}[{k}:v]xfade=transition=fade:duration={D}:offset={offset:g}[v{k}]")
        graph.append(f"{a}[{k}:a]acrossfade=d={D}[a{k}]")
        v, a = f"[v{k}]", f"[a{k}]"
    args = []
    for c in clips:
        args += ["-i", str(c)]
    return [
        *args, "-filter_complex", ";".join(graph), "-map", v, "-map", a,
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-g", "60",
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", str(out),
    ]  # fmt: skip


def moviepy_chain(clips: list[Path], out: Path) -> None:
    from moviepy import VideoFileClip, concatenate_videoclips, vfx

    vc = [VideoFileClip(str(c)) for c in clips]
    try:
        parts = [vc[0]] + [c.with_effects([vfx.CrossFadeIn(D)]) for c in vc[1:]]
        moviepy_write(concatenate_videoclips(parts, method="compose", padding=-D), out, fps=30)
    finally:
        for c in vc:
            c.close()


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 2.0 if ns.quick else 5.0
    d = workdir("xfade")
    clips = [
        synth(d / f"clip_{seconds:g}s_{i}.mp4", duration=seconds, tone=300 + 60 * i, gop=60) for i in range(5)
    ]
    print(f"# xfade benchmark ({'quick' if ns.quick else 'full'}), median of {ns.reps}")
    print(f"# machine: {machine()}")
    hw, sl, mp = d / "hw.mp4", d / "shotline.mp4", d / "moviepy.mp4"
    rows = [
        median_time(
            "hand-written ffmpeg xfade+acrossfade",
            lambda: ffmpeg(*handwritten(clips, seconds, fresh(hw))),
            ns.reps,
        ),
        median_time(
            "shotline xfade (CLI)",
            lambda: sh(
                shotline_argv("xfade", *map(str, clips), "-t", "fade", "-d", str(D), "-o", str(fresh(sl)))
            ),
            ns.reps,
        ),
    ]
    if moviepy_available() and not ns.no_moviepy:
        rows.append(
            median_time("MoviePy 2 CrossFadeIn + padding", lambda: moviepy_chain(clips, fresh(mp)), ns.reps)
        )
    print_table(
        f"(d) 4 crossfades over 5 x {seconds:g} s 720p30 clips", rows, "hand-written ffmpeg xfade+acrossfade"
    )


if __name__ == "__main__":
    main()
