"""Benchmark (c): fade in + out of 1 s each on a 30 s 720p clip.

Contenders: ``shotline fade`` smart render (CLI process), ``shotline fade --mode full``,
the hand-written single ffmpeg command (full re-encode) and MoviePy 2.x, all at x264
veryfast crf 18 + AAC 48 kHz. Target: smart render >= 5x faster than the full
re-encode, and frame-exact (same frame count, fades on the same frames).

The source has a 2 s GOP (what shotline itself writes, and common for generated
clips). The gain shrinks as GOPs grow, since smart render re-encodes whole GOPs at
both ends.

    python bench/bench_fade.py [--quick] [--reps N] [--no-moviepy]
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


def moviepy_fade(src: Path, out: Path) -> None:
    from moviepy import VideoFileClip, afx, vfx

    clip = VideoFileClip(str(src))
    try:
        faded = clip.with_effects([vfx.FadeIn(1), vfx.FadeOut(1)])
        if faded.audio is not None:
            faded = faded.with_audio(faded.audio.with_effects([afx.AudioFadeIn(1), afx.AudioFadeOut(1)]))
        moviepy_write(faded, out)
    finally:
        clip.close()


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 12.0 if ns.quick else 30.0
    d = workdir("fade")
    src = synth(d / f"src_{seconds:g}s.mp4", duration=seconds, rate="30", gop=60)
    print(f"# fade benchmark ({'quick' if ns.quick else 'full'}), median of {ns.reps}")
    print(f"# machine: {machine()}")
    smart, full, hw, mp = d / "smart.mp4", d / "full.mp4", d / "hw.mp4", d / "moviepy.mp4"
    vf = f"fade=t=in:st=0:d=1,fade=t=out:st={seconds - 1:g}:d=1"
    af = f"afade=t=in:st=0:d=1,afade=t=out:st={seconds - 1:g}:d=1"
    rows = [
        median_time(
            "hand-written ffmpeg (full re-encode)",
            lambda: ffmpeg(
                "-i",
                str(src),
                "-vf",
                vf,
                "-af",
                af,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "18",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "192k",
                "-ar",
                "48000",
                str(fresh(hw)),
            ),  # fmt: skip
            ns.reps,
        ),
        median_time(
            "shotline fade --mode full (CLI)",
            lambda: sh(
                shotline_argv(
                    "fade", str(src), "--in", "1", "--out", "1", "--mode", "full", "-o", str(fresh(full))
                )
            ),
            ns.reps,
        ),
        median_time(
            "shotline fade, smart render (CLI)",
            lambda: sh(shotline_argv("fade", str(src), "--in", "1", "--out", "1", "-o", str(fresh(smart)))),
            ns.reps,
        ),
    ]
    if moviepy_available() and not ns.no_moviepy:
        rows.append(median_time("MoviePy 2 FadeIn/FadeOut", lambda: moviepy_fade(src, fresh(mp)), ns.reps))
    print_table(
        f"(c) fade in 1 s + out 1 s, {seconds:g} s 720p30 clip, GOP 2 s",
        rows,
        "hand-written ffmpeg (full re-encode)",
    )
    ok, detail = frames_match(smart, full)
    print(f"smart vs full re-encode: {'frame-exact' if ok else 'MISMATCH'} ({detail})")
    print(f"full re-encode / smart: {rows[0].median / rows[2].median:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
