"""Benchmark concat: (a) 10 matching 5 s 720p clips, (b) 10 mismatched clips.

(a) ``shotline concat`` as a CLI process (start-up, probing and all) against the raw
    ``ffmpeg -f concat -c copy`` command and MoviePy 2.x re-encoding the same join.
    Target: at most 0.5 s over the raw copy.
(b) ``shotline concat`` normalizing mixed sizes/rates/SAR/audio against one hand-written
    ffmpeg command doing the same (scale/pad, fps, setsar, aresample, silence, concat
    filter) and MoviePy; all at x264 veryfast crf 18, AAC 48 kHz.

    python bench/bench_concat.py [--quick] [--reps N] [--no-moviepy]
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

ENC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
AENC = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"]


def matching(d: Path, seconds: float) -> list[Path]:
    return [
        synth(d / f"match_{seconds:g}s_{i}.mp4", duration=seconds, tone=300 + 40 * i, gop=60)
        for i in range(10)
    ]


# (size, rate, sar, audio (rate, channels) or None)
MIXED = [
    ((1280, 720), "30", None, (48000, 2)),
    ((1920, 1080), "25", None, (44100, 2)),
    ((720, 1280), "30", None, (48000, 1)),
    ((1280, 720), "24", None, None),
    ((960, 720), "30000/1001", "4:3", (48000, 2)),
    ((1080, 1080), "30", None, (44100, 1)),
    ((1280, 720), "60", None, (48000, 2)),
    ((854, 480), "25", None, None),
    ((1280, 720), "30", None, (32000, 2)),
    ((1024, 576), "24", None, (48000, 2)),
]


def mismatched(d: Path, seconds: float) -> list[Path]:
    out = []
    for i, ((w, h), rate, sar, audio) in enumerate(MIXED):
        name = d / f"mixed_{seconds:g}s_{i}.mp4"
        out.append(
            synth(
                name,
                duration=seconds,
                width=w,
                height=h,
                rate=rate,
                sar=sar,
                audio=audio is not None,
                sample_rate=audio[0] if audio else 48000,
                channels=audio[1] if audio else 2,
                tone=300 + 40 * i,
            )
        )
    return out


def handwritten_normalize(clips: list[Path], seconds: float, out: Path) -> list[str]:
    """What an experienced user would type for (b): one filter graph, concat filter."""
    graph, pairs = [], []
    for i, (_, _, _, audio) in enumerate(MIXED):
        graph.append(
            f"[{i}:v]scale=1280:720:force_original_aspect_ratio=decrease,"
            f"pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30,format=yuv420p[v{i}]"
        )
        if audio:
            graph.append(f"[{i}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}]")
        else:
            graph.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={seconds}[a{i}]")
        pairs.append(f"[v{i}][a{i}]")
    graph.append("".join(pairs) + f"concat=n={len(clips)}:v=1:a=1[v][a]")
    args = []
    for c in clips:
        args += ["-i", str(c)]
    return [
        *args,
        "-filter_complex",
        ";".join(graph),
        "-map",
        "[v]",
        "-map",
        "[a]",
        *ENC,
        "-g",
        "60",
        *AENC,
        str(out),
    ]


def moviepy_concat(clips: list[Path], out: Path, compose: bool) -> None:
    from moviepy import VideoFileClip, concatenate_videoclips

    vc = [VideoFileClip(str(c)) for c in clips]
    try:
        joined = concatenate_videoclips(vc, method="compose" if compose else "chain")
        moviepy_write(joined, out, fps=30)
    finally:
        for c in vc:
            c.close()


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 2.0 if ns.quick else 5.0
    d = workdir("concat")
    print(f"# concat benchmark ({'quick' if ns.quick else 'full'}), median of {ns.reps}")
    print(f"# machine: {machine()}")

    clips = matching(d, seconds)
    listing = d / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    raw_out, sl_out, mp_out, enc_out = d / "raw.mp4", d / "shotline.mp4", d / "moviepy.mp4", d / "enc.mp4"

    rows = [
        median_time(
            "raw ffmpeg -f concat -c copy",
            lambda: ffmpeg(
                "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(fresh(raw_out))
            ),
            ns.reps,
            warmup=True,
        ),
        median_time(
            "shotline concat (CLI process)",
            lambda: sh(shotline_argv("concat", *map(str, clips), "-o", str(fresh(sl_out)))),
            ns.reps,
            warmup=True,
        ),
    ]
    if not ns.quick:
        rows.append(
            median_time(
                "ffmpeg concat re-encoded (x264)",
                lambda: ffmpeg(
                    "-f", "concat", "-safe", "0", "-i", str(listing), *ENC, *AENC, str(fresh(enc_out))
                ),  # fmt: skip
                ns.reps,
            )
        )
    if moviepy_available() and not ns.no_moviepy:
        rows.append(
            median_time(
                "MoviePy 2 concatenate_videoclips",
                lambda: moviepy_concat(clips, fresh(mp_out), False),
                ns.reps,
            )
        )
    print_table(f"(a) 10 matching {seconds:g} s 720p clips", rows, "raw ffmpeg -f concat -c copy")
    over = rows[1].median - rows[0].median
    print(f"shotline overhead over the raw copy: {over:+.3f} s (target <= 0.5 s)")
    if len(rows) > 2 and rows[-1].name.startswith("MoviePy"):
        print(f"MoviePy / shotline: {rows[-1].median / rows[1].median:.1f}x")

    mixed = mismatched(d, seconds)
    hw_out, sl2_out, mp2_out = d / "hw_mixed.mp4", d / "shotline_mixed.mp4", d / "moviepy_mixed.mp4"
    rows = [
        median_time(
            "hand-written ffmpeg normalize+concat",
            lambda: ffmpeg(*handwritten_normalize(mixed, seconds, fresh(hw_out))),
            ns.reps,
        ),
        median_time(
            "shotline concat (normalize)",
            lambda: sh(
                shotline_argv(
                    "concat", *map(str, mixed), "--size", "1280x720", "--fps", "30", "-o", str(fresh(sl2_out))
                )
            ),
            ns.reps,
        ),
    ]
    if moviepy_available() and not ns.no_moviepy:
        rows.append(
            median_time(
                "MoviePy 2 concatenate (compose)",
                lambda: moviepy_concat(mixed, fresh(mp2_out), True),
                ns.reps,
            )
        )
    print_table(
        f"(b) 10 mismatched {seconds:g} s clips -> 1280x720 30 fps",
        rows,
        "hand-written ffmpeg normalize+concat",
    )


if __name__ == "__main__":
    main()
