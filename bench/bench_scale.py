"""Segments in parallel on the CPU: 1 vs 2 workers, locally and through a local Ray head.

(1) upscale a small clip (lanczos x2 in segments, and torch animevideov3 x4);
(2) render a 10-minute timeline (--quick: 2 minutes) in pieces.
Every contender runs once per repetition, interleaved, and the outputs are checked to be the
same frame for frame (and, for the render, sample for sample). The Ray head is started here
(2 CPUs, no dashboard) and shut down at the end. Prints a Markdown block for
bench/RESULTS-scale.md, with the load average, since this machine may be shared.

Usage: ``python bench/bench_scale.py [--quick] [--reps N] [--upscale-only | --render-only]``
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import fresh, machine, parse_args, synth, workdir  # noqa: E402


def digest(path: Path, audio: bool = False) -> str:
    import av

    h = hashlib.sha256()
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            h.update(f.to_ndarray(format="rgb24").tobytes())
    if audio:
        with av.open(str(path)) as c:
            for f in c.decode(audio=0):
                h.update(f.to_ndarray().tobytes())
    return h.hexdigest()[:16]


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run_set(
    title: str, frames: int, contenders: list[tuple[str, Callable[[], Path]]], reps: int, audio: bool
) -> list[str]:
    times: dict[str, list[float]] = {n: [] for n, _ in contenders}
    digests: dict[str, str] = {}
    loads: list[str] = []
    for _ in range(reps):
        for name, fn in contenders:
            loads.append(load())
            t = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - t)
            digests[name] = digest(out, audio)
    base = min(times[contenders[0][0]])
    lines = [f"| {title} | best s | frames/s | vs 1 worker |", "|---|---|---|---|"]
    for name, _ in contenders:
        sec = min(times[name])
        lines.append(f"| {name} | {sec:.2f} | {frames / sec:.1f} | {base / sec:.2f}x |")
    same = len(set(digests.values())) == 1
    lines.append("")
    lines.append(f"- outputs identical ({'frames and samples' if audio else 'frames'}): {same}")
    lines.append(f"- load average at each start: {'; '.join(loads)}")
    for line in lines:
        print(line, flush=True)
    if not same:
        raise SystemExit(f"outputs differ: {digests}")
    return lines


def upscale_cases(d: Path, address: str, reps: int, quick: bool) -> list[str]:
    from shotline.upscale import UpscaleOptions, upscale

    n = 48 if quick else 96
    src = synth(d / f"up-{n}.mp4", duration=n / 24, width=160, height=90, rate="24", gop=12)
    lines: list[str] = []
    for label, base in (
        ("lanczos x2 (segmented)", UpscaleOptions(backend="lanczos", scale=2, segment_seconds=0.5)),
        ("animevideov3 x4 (torch, CPU)", UpscaleOptions(segment_seconds=0.5, device="cpu")),
    ):

        def job(name: str, base: UpscaleOptions = base, **kw: object) -> tuple[str, Callable[[], Path]]:
            import dataclasses

            out = d / f"{name.replace(' ', '_')}.mp4"

            def go() -> Path:
                upscale(src, fresh(out), dataclasses.replace(base, resume=False, **kw))  # type: ignore[arg-type]
                return out

            return name, go

        contenders = [
            job("1 worker", workers=1),
            job("2 workers (local processes)", workers=2),
            job("Ray, 2 tasks at once", ray=address, workers=2),
        ]
        lines += [f"### upscale {label}: {n} frames 160x90", ""]
        lines += run_set(label, n, contenders, reps, audio=True) + [""]
    return lines


def timeline_case(d: Path, address: str, reps: int, quick: bool) -> list[str]:
    import opentimelineio as otio

    from shotline.otio_adapters.conform.parallel import render_parallel
    from shotline.otio_adapters.conform.render import RenderOptions

    minutes = 2 if quick else 10
    srcs = [
        synth(d / f"src{i}.mp4", duration=60, width=320, height=180, rate="25", gop=50, tone=300 + 110 * i)
        for i in range(3)
    ]
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name="long")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    clip_frames = 20 * 25
    for i in range(minutes * 3):
        src = srcs[i % 3]
        start = (i * 137) % (60 * 25 - clip_frames)
        ref = otio.schema.ExternalReference(
            target_url=str(src), available_range=otio.opentime.TimeRange(rt(0, 25), rt(60 * 25, 25))
        )
        track.append(
            otio.schema.Clip(
                name=f"c{i}",
                media_reference=ref,
                source_range=otio.opentime.TimeRange(rt(start, 25), rt(clip_frames, 25)),
            )
        )
        if i % 4 == 1 and i + 1 < minutes * 3:
            track.append(
                otio.schema.Transition(
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(12, 25),
                    out_offset=rt(12, 25),
                )
            )
    frames = minutes * 60 * 25
    opts = RenderOptions(smart=False)

    def job(name: str, **kw: object) -> tuple[str, Callable[[], Path]]:
        out = d / f"tl_{name.split()[0]}_{len(kw)}.mp4"

        def go() -> Path:
            render_parallel(tl, fresh(out), opts, overwrite=True, resume=False, **kw)  # type: ignore[arg-type]
            return out

        return name, go

    contenders = [
        job("1 worker", workers=1),
        job("2 workers (local ffmpeg processes)", workers=2),
        job("Ray, 2 tasks at once", ray_address=address, workers=2),
    ]
    lines = [f"### timeline render in pieces: {minutes} minutes, 320x180 at 25 fps, {frames} frames", ""]
    return lines + run_set("render", frames, contenders, reps, audio=True)


def main() -> None:
    only = {a for a in sys.argv[1:] if a in ("--upscale-only", "--render-only")}
    args = parse_args(__doc__, [a for a in sys.argv[1:] if a not in only])
    import ray

    reps = 1 if args.quick else min(args.reps, 2)
    d = workdir("scale")
    print(f"# {machine()}\n")
    ctx = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=tempfile.mkdtemp(prefix="ray-b"),
        logging_level="WARNING",
        log_to_driver=False,
    )
    address = ctx.address_info["gcs_address"]
    try:
        lines: list[str] = []
        if "--render-only" not in only:
            lines += upscale_cases(d, address, reps, args.quick)
        if "--upscale-only" not in only:
            lines += timeline_case(d, address, reps, args.quick)
    finally:
        ray.shutdown()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
