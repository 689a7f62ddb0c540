"""Benchmark trims: keep 7.3-22.1 s of a 30 s 720p30 clip (GOP 2 s), then 10 s from an hour.

Contenders: ``shotline trim`` smart render (frame-exact, copies the inner GOPs),
``shotline trim --mode fast`` (keyframe-snapped stream copy), the hand-written
frame-accurate command (``-ss`` before ``-i``, full re-encode of the range), the
hand-written keyframe copy (``-ss -t -c copy``), and MoviePy 2.x ``subclipped``.
Target: smart >= 5x faster than the full re-encode, frame-exact.

The smart render and the re-encode it is held against run alternately, round by round,
and the ratio is the median of the per-round ratios, so a load that drifts during the run
(a shared machine) weighs on both alike. The second table cuts 10 s out of the 50th minute
of an hour-long source (180p, made once and kept): a smart cut must not read the hour.

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
    interleaved,
    machine,
    median_time,
    moviepy_available,
    moviepy_write,
    paired_ratio,
    parse_args,
    print_table,
    sh,
    shotline_argv,
    synth,
    workdir,
)

ENC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
AENC = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"]


def moviepy_trim(src: Path, out: Path, start: float, end: float) -> None:
    from moviepy import VideoFileClip

    clip = VideoFileClip(str(src))
    try:
        moviepy_write(clip.subclipped(start, end), out)
    finally:
        clip.close()


def hand_written(src: Path, out: Path, start: float, end: float) -> None:
    ffmpeg("-ss", str(start), "-i", str(src), "-t", f"{end - start:g}", *ENC, *AENC, str(fresh(out)))


def smart(src: Path, out: Path, start: float, end: float, *extra: str) -> None:
    sh(shotline_argv("trim", str(src), "-s", str(start), "-e", str(end), *extra, "-o", str(fresh(out))))


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 30.0
    start, end = (7.3, 22.1) if not ns.quick else (7.3, 14.1)
    d = workdir("trim")
    src = synth(d / "src_30s.mp4", duration=seconds, rate="30", gop=60)
    print(f"# trim benchmark ({'quick' if ns.quick else 'full'}), median of {ns.reps}")
    print(f"# machine: {machine()}")
    hw, hwc, sm, fast, mp = (d / n for n in ("hw.mp4", "hwcopy.mp4", "smart.mp4", "fast.mp4", "moviepy.mp4"))
    dur = f"{end - start:g}"
    rows = interleaved(
        [
            ("hand-written ffmpeg -ss -t (re-encode)", lambda: hand_written(src, hw, start, end)),
            ("shotline trim, smart render (CLI)", lambda: smart(src, sm, start, end)),
        ],
        ns.reps,
    )
    rows += [
        median_time(
            "hand-written ffmpeg -ss -t -c copy",
            lambda: ffmpeg("-ss", str(start), "-i", str(src), "-t", dur, "-c", "copy", str(fresh(hwc))),
            ns.reps,
        ),
        median_time(
            "shotline trim --mode fast (CLI)", lambda: smart(src, fast, start, end, "--mode", "fast"), ns.reps
        ),
    ]
    if moviepy_available() and not ns.no_moviepy:
        rows.append(
            median_time("MoviePy 2 subclipped", lambda: moviepy_trim(src, fresh(mp), start, end), ns.reps)
        )
    print_table(f"trim {start:g}-{end:g} s of a {seconds:g} s 720p30 clip", rows, rows[0].name)
    ok, detail = frames_match(sm, hw)
    print(f"smart vs hand-written re-encode: {'frame-exact' if ok else 'MISMATCH'} ({detail})")
    wall, cpu = paired_ratio(rows[0], rows[1])
    print(f"re-encode / smart, median of per-round ratios: {wall:.1f}x wall, {cpu:.1f}x CPU (target >= 5x)")
    if not ns.quick:
        long_source(d, ns.reps)


def long_source(d: Path, reps: int) -> None:
    src = synth(
        d / "src_1h_180p.mp4", duration=3600.0, width=320, height=180, rate="30", gop=60, preset="ultrafast"
    )
    start, end = 3000.3, 3010.3
    hw, sm = d / "long_hw.mp4", d / "long_smart.mp4"
    rows = interleaved(
        [
            ("hand-written ffmpeg -ss -t (re-encode)", lambda: hand_written(src, hw, start, end)),
            ("shotline trim, smart render (CLI)", lambda: smart(src, sm, start, end)),
        ],
        reps,
    )
    print_table(
        f"trim {start:g}-{end:g} s of a 1 h 180p30 clip ({src.stat().st_size / 1e6:.0f} MB)",
        rows,
        rows[0].name,
    )
    ok, detail = frames_match(sm, hw)
    print(f"smart vs hand-written re-encode: {'frame-exact' if ok else 'MISMATCH'} ({detail})")
    wall, cpu = paired_ratio(rows[0], rows[1])
    print(f"re-encode / smart, median of per-round ratios: {wall:.2f}x wall, {cpu:.2f}x CPU")


if __name__ == "__main__":
    main()
