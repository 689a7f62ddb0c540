"""Benchmark trims: keep 7.3-22.1 s of a 30 s 720p30 clip (GOP 2 s).

Contenders: ``shotline trim`` smart render (frame-exact, copies the inner GOPs),
``shotline trim --mode fast`` (keyframe-snapped stream copy), the hand-written
frame-accurate command (``-ss`` before ``-i``, full re-encode of the range), the
hand-written keyframe copy (``-ss -t -c copy``), and MoviePy 2.x ``subclipped``.
Target: smart >= 5x faster than the full re-encode, frame-exact.

    python bench/bench_trim.py [--quick] [--reps N] [--no-moviepy]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ffmpeg,
    frames_match,
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


def moviepy_trim(src: Path, out: Path, start: float, end: float) -> None:
    from moviepy import VideoFileClip

    clip = VideoFileClip(str(src))
    try:
        moviepy_write(clip.subclipped(start, end), out)
    finally:
        clip.close()


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 30.0
    start, end = (7.3, 22.1) if not ns.quick else (7.3, 14.1)
    d = workdir("trim")
    src = synth(d / "src_30s.mp4", duration=seconds, rate="30", gop=60)
    print(f"# trim benchmark ({'quick' if ns.quick else 'full'}), median of {ns.reps}")
    print(f"# machine: {machine()}")
    hw, hwc, smart, fast, mp = (
        d / n for n in ("hw.mp4", "hwcopy.mp4", "smart.mp4", "fast.mp4", "moviepy.mp4")
    )
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
    aenc = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"]
    dur = f"{end - start:g}"
    rows = [
        median_time(
            "hand-written ffmpeg -ss -t (re-encode)",
            lambda: ffmpeg("-ss", str(start), "-i", str(src), "-t", dur, *enc, *aenc, str(fresh(hw))),
            ns.reps,
        ),
        median_time(
            "shotline trim, smart render (CLI)",
            lambda: sh(
                shotline_argv("trim", str(src), "-s", str(start), "-e", str(end), "-o", str(fresh(smart)))
            ),
            ns.reps,
        ),
        median_time(
            "hand-written ffmpeg -ss -t -c copy",
            lambda: ffmpeg("-ss", str(start), "-i", str(src), "-t", dur, "-c", "copy", str(fresh(hwc))),
            ns.reps,
        ),
        median_time(
            "shotline trim --mode fast (CLI)",
            lambda: sh(
                shotline_argv(
                    "trim",
                    str(src),
                    "-s",
                    str(start),
                    "-e",
                    str(end),
                    "--mode",
                    "fast",
                    "-o",
                    str(fresh(fast)),
                )
            ),
            ns.reps,
        ),
    ]
    if moviepy_available() and not ns.no_moviepy:
        rows.append(
            median_time("MoviePy 2 subclipped", lambda: moviepy_trim(src, fresh(mp), start, end), ns.reps)
        )
    print_table(
        f"trim {start:g}-{end:g} s of a {seconds:g} s 720p30 clip",
        rows,
        "hand-written ffmpeg -ss -t (re-encode)",
    )
    ok, detail = frames_match(smart, hw)
    print(f"smart vs hand-written re-encode: {'frame-exact' if ok else 'MISMATCH'} ({detail})")
    print(f"re-encode / smart: {rows[0].median / rows[1].median:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
