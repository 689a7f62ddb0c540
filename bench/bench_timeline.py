"""Benchmarks of ``shotline timeline render`` (the OTIO conform renderer).

1. Dissolves: a 12-clip, 60 s, 1280x720 30 fps timeline with 11 centred 0.5 s dissolves.
   shotline (the CLI, full render: one ffmpeg filter graph) vs the single hand-written
   ffmpeg command (xfade + acrossfade chain) vs MoviePy 2.x compositing the same
   crossfades; same encoder settings everywhere (x264 veryfast crf 18, AAC 192k 48 kHz).
2. Smart render: a 10-minute timeline of six long untouched clips with 5 dissolves
   (640x360 30 fps, 2 s GOPs, synthesized with x264 ultrafast and a barcode strip so the
   media is cheap to make), once with silent clips (generated shots usually are) and once
   with sound: ``--smart`` vs ``--no-smart``, and a frame-exactness check of both outputs
   (frame count, and every frame's burnt-in frame number read back).

``--only dissolves|smart`` runs one part. ``--quick`` shrinks both (6 clips / 30 s; a 2-minute smart timeline) and runs one
repetition of MoviePy. Run: ``python bench/bench_timeline.py [--quick] [--reps N]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import opentimelineio as otio  # noqa: E402

from bench.common import (  # noqa: E402
    ffmpeg,
    ffmpeg_bin,
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
from shotline.core.media.encode import DEFAULT  # noqa: E402

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
SOURCES = ["testsrc2", "smptebars", "testsrc", "rgbtestsrc", "smptehdbars", "yuvtestsrc"]


def dissolve_media(d: Path, n: int, rate: int) -> list[Path]:
    return [
        synth(
            d / f"clip{i:02d}.mp4",
            duration=6.0,
            rate=str(rate),
            source=SOURCES[i % len(SOURCES)],
            tone=300 + 40 * i,
        )
        for i in range(n)
    ]


def dissolve_timeline(media: list[Path], rate: int, clip_s: float, fade_s: float) -> otio.schema.Timeline:
    """Each clip shows ``clip_s`` seconds from 0.5 s into its file; dissolves centred on the cuts."""
    tl = otio.schema.Timeline(name="dissolves")
    tl.global_start_time = RT(0, rate)
    v = otio.schema.Track()
    tl.tracks.append(v)
    fade = round(fade_s * rate)
    for i, p in enumerate(media):
        if i:
            v.append(
                otio.schema.Transition(
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=RT(fade // 2, rate),
                    out_offset=RT(fade - fade // 2, rate),
                )
            )
        v.append(
            otio.schema.Clip(
                name=p.stem,
                media_reference=otio.schema.ExternalReference(target_url=str(p)),
                source_range=TR(RT(round(0.5 * rate), rate), RT(round(clip_s * rate), rate)),
            )
        )
    return tl


def handwritten(media: list[Path], out: Path, rate: int, clip_s: float, fade_s: float) -> list[str]:
    """The single ffmpeg command an expert would write for the same edit."""
    fade = round(fade_s * rate)
    head, tail = fade // 2, fade - fade // 2
    args = [ffmpeg_bin(), "-hide_banner", "-nostdin", "-y", "-v", "error"]
    lengths = []
    for i, p in enumerate(media):
        start = 0.5 - (head / rate if i else 0)
        length = clip_s + (head / rate if i else 0) + (tail / rate if i < len(media) - 1 else 0)
        lengths.append(length)
        args += ["-ss", f"{start:.6f}", "-t", f"{length:.6f}", "-i", str(p)]
    graph, v, a = [], "[0:v]", "[0:a]"
    for i in range(1, len(media)):
        offset = sum(lengths[:i]) - i * fade / rate
        graph.append(f"{v}[{i}:v]xfade=transition=fade:duration={fade / rate:.6f}:offset={offset:.6f}[v{i}]")
        graph.append(f"{a}[{i}:a]acrossfade=d={fade / rate:.6f}:c1=tri:c2=tri[a{i}]")
        v, a = f"[v{i}]", f"[a{i}]"
    args += ["-filter_complex", ";".join(graph), "-map", v, "-map", a]
    args += DEFAULT.video_args(rate) + DEFAULT.audio_args() + DEFAULT.container_args(str(out)) + [str(out)]
    return args


def moviepy_render(media: list[Path], out: Path, rate: int, clip_s: float, fade_s: float) -> None:
    from moviepy import CompositeVideoClip, VideoFileClip, vfx
    from moviepy.audio.AudioClip import CompositeAudioClip
    from moviepy.audio.fx import AudioFadeIn, AudioFadeOut

    fade = fade_s
    readers, layers, sounds = [], [], []
    t = 0.0
    for i, p in enumerate(media):
        head = fade / 2 if i else 0.0
        tail = fade / 2 if i < len(media) - 1 else 0.0
        src = VideoFileClip(str(p))
        readers.append(src)
        c = src.subclipped(0.5 - head, 0.5 + clip_s + tail).with_start(t - head)
        fx, afx = [], []
        if i:
            fx.append(vfx.CrossFadeIn(fade))
            afx.append(AudioFadeIn(fade))
        if i < len(media) - 1:
            afx.append(AudioFadeOut(fade))
        c = c.with_effects(fx)
        layers.append(c)
        if c.audio is not None:
            sounds.append(c.audio.with_effects(afx).with_start(t - head))
        t += clip_s
    comp = CompositeVideoClip(layers, size=layers[0].size).with_duration(t)
    comp = comp.with_audio(CompositeAudioClip(sounds).with_duration(t))
    moviepy_write(comp, out, fps=rate)
    for r in readers:
        r.close()


def bench_dissolves(args: object, d: Path) -> list[str]:
    quick = getattr(args, "quick", False)
    reps = getattr(args, "reps", 3)
    n, rate, clip_s, fade_s = (6 if quick else 12), 30, 5.0, 0.5
    media = dissolve_media(d / "media", n, rate)
    tl = dissolve_timeline(media, rate, clip_s, fade_s)
    otio_path = d / "dissolves.otio"
    otio.adapters.write_to_file(tl, str(otio_path))
    out_s, out_h, out_m = d / "shotline.mp4", d / "hand.mp4", d / "moviepy.mp4"
    render = shotline_argv("timeline", "render", str(otio_path), "-o", str(out_s), "--no-smart", "--force")
    rows = [
        median_time(
            "ffmpeg, hand-written xfade chain",
            lambda: sh(handwritten(media, fresh(out_h), rate, clip_s, fade_s)),
            reps,
        ),
        median_time("shotline timeline render (full)", lambda: sh(render), reps),
    ]
    if moviepy_available() and not getattr(args, "no_moviepy", False):
        m_reps = 1 if quick else reps
        rows.append(
            median_time(
                "MoviePy 2.x CompositeVideoClip",
                lambda: moviepy_render(media, fresh(out_m), rate, clip_s, fade_s),
                m_reps,
            )
        )
    title = f"{n} clips, {n * clip_s:.0f} s 1280x720 {rate} fps, {n - 1} dissolves of {fade_s} s"
    print_table(title, rows, baseline="ffmpeg, hand-written xfade chain")
    from shotline.core.media.probe import probe

    frames = [probe(p).video.frame_count for p in (out_s, out_h) if p.exists()]  # type: ignore[union-attr]
    lines = [
        f"### {title}",
        "",
        "| contender | wall s (median) | runs | vs hand-written | CPU s | vs hand-written |",
    ]
    lines.append("|---|---|---|---|---|---|")
    base, cbase = rows[0].median, rows[0].cpu_median
    for r in rows:
        lines.append(
            f"| {r.name} | {r.median:.2f} | {r.spread} | {r.median / base:.2f}x | {r.cpu_median:.2f} | "
            f"{r.cpu_median / cbase:.2f}x |"
        )
    lines.append("")
    lines.append(
        f"Output frames (shotline, hand-written): {frames}; the timeline has {round(n * clip_s * rate)}."
    )
    return lines


def barcode_clip(
    path: Path, seconds: float, rate: int, size: tuple[int, int], audio: bool, tone: float
) -> Path:
    """A cheap long clip: testsrc2 with its frame number burnt into the top 16 rows as the
    12-bit barcode tests/mediakit.py reads back (geq only on that strip), x264 ultrafast."""
    if path.exists():
        return path
    from tests.mediakit import BARCODE_BITS, BARCODE_ROWS

    w, h = size
    cell = w // BARCODE_BITS
    bits = "+".join(
        f"(gte(X,{i * cell})*lt(X,{(i + 1) * cell})*mod(floor(N/{2**i}),2))" for i in range(BARCODE_BITS)
    )
    graph = (
        f"testsrc2=s={w}x{h}:r={rate}:d={seconds},format=yuv420p,split[a][b];"
        f"[b]crop={w}:{BARCODE_ROWS}:0:0,geq=lum='255*({bits})':cb=128:cr=128[bar];"
        "[a][bar]overlay=0:0,format=yuv420p[v]"
    )
    args = ["-filter_complex", graph, "-map", "[v]"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-g", str(2 * rate)]
    if audio:  # the silent clip's video stream-copied, plus a tone
        silent = barcode_clip(
            path.with_name(path.name.replace("stereo-sound", "silent")), seconds, rate, size, False, tone
        )
        # stereo 48 kHz AAC, what generated shots and NLE media carry
        args = [
            "-i",
            str(silent),
            "-f",
            "lavfi",
            "-i",
            f"sine=f={tone}:r=48000:d={seconds},aformat=channel_layouts=stereo",
        ]
        args += ["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest"]
    tmp = path.with_name(".tmp-" + path.name)
    ffmpeg(*args, "-movflags", "+faststart", str(tmp))
    tmp.replace(path)
    return path


def bench_smart(args: object, d: Path, audio: bool) -> list[str]:
    from shotline.core.media.probe import probe
    from tests.mediakit import read_barcodes

    quick = getattr(args, "quick", False)
    reps = getattr(args, "reps", 3)
    rate, size = 30, (640, 360)
    total = 120.0 if quick else 600.0
    n = 6
    clip_s = total / n
    tag = "stereo-sound" if audio else "silent"
    media = [
        barcode_clip(
            d / "media" / f"long-{tag}-{i}-{clip_s:.0f}s.mp4", clip_s + 1.0, rate, size, audio, 300 + 50 * i
        )
        for i in range(n)
    ]
    tl = dissolve_timeline(media, rate, clip_s, 1.0)
    otio_path = d / f"long-{tag}.otio"
    otio.adapters.write_to_file(tl, str(otio_path))
    out_smart, out_full = d / f"smart-{tag}.mp4", d / f"full-{tag}.mp4"
    smart = shotline_argv("timeline", "render", str(otio_path), "-o", str(out_smart), "--force")
    full = shotline_argv("timeline", "render", str(otio_path), "-o", str(out_full), "--no-smart", "--force")
    rows = [
        median_time("shotline --no-smart (full re-encode)", lambda: sh(full), reps),
        median_time("shotline --smart (copy + encode edits)", lambda: sh(smart), reps),
    ]
    title = (
        f"{total / 60:.0f}-minute timeline, {n} long {'clips with sound' if audio else 'silent clips'} "
        f"{size[0]}x{size[1]} {rate} fps, {n - 1} dissolves of 1 s"
    )
    print_table(title, rows, baseline="shotline --no-smart (full re-encode)")
    expected_frames = round(total * rate)
    codes_s, codes_f = read_barcodes(out_smart), read_barcodes(out_full)
    info = probe(out_smart)
    assert info.video is not None
    both = [(a, b) for a, b in zip(codes_s, codes_f) if a is not None and b is not None]
    blends = len(codes_s) - len(both)
    differ = sum(a != b for a, b in both)
    check = (
        f"Frames: smart {len(codes_s)}, full {len(codes_f)}, timeline {expected_frames}; frame numbers "
        f"read back from {len(both)} frames (the other {blends} are dissolve blends): {differ} differ"
    )
    if audio:
        check += f"; audio duration smart {info.duration:.3f} s"
    print(check)
    lines = [f"### {title}", "", "| contender | wall s (median) | runs | speed-up vs full | CPU s |"]
    lines.append("|---|---|---|---|---|")
    base = rows[0].median
    for r in rows:
        lines.append(
            f"| {r.name} | {r.median:.2f} | {r.spread} | {base / r.median:.1f}x | {r.cpu_median:.2f} |"
        )
    lines += ["", check]
    return lines


def main() -> None:
    only = None
    if "--only" in sys.argv:  # --only dissolves|smart: run one part
        i = sys.argv.index("--only")
        only = sys.argv[i + 1]
        del sys.argv[i : i + 2]
    args = parse_args(__doc__)
    d = workdir("timeline")
    print(machine())
    lines = [
        f"Machine: {machine()}",
        f"Mode: {'--quick' if args.quick else 'full'}, {args.reps} repetitions (median)",
        "",
    ]
    if only in (None, "dissolves"):
        lines += bench_dissolves(args, d) + [""]
    if only in (None, "smart"):
        lines += bench_smart(args, d, audio=False) + [""]
        lines += bench_smart(args, d, audio=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
