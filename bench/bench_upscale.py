"""CPU upscale benchmark: network frames/s (torch vs ncnn) and end to end (shotline vs reference loop).

animevideov3 x4, 320x180 -> 1280x720, fp32 on the CPU. Every contender runs ``--reps`` times
(median reported). ``--quick`` uses fewer frames. Usage: ``python bench/bench_upscale.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_upscale_reference import reference_upscale  # noqa: E402
from bench.common import fresh, machine, median_time, parse_args, print_table, synth, workdir  # noqa: E402


def main() -> None:
    args = parse_args(__doc__)
    import torch

    from shotline.upscale import UpscaleOptions, upscale
    from shotline.upscale.models import load
    from shotline.upscale.torch_backend import TorchUpscaler

    frames = 8 if args.quick else 24
    d = workdir("upscale")
    src = synth(d / f"in320-{frames}.mp4", duration=frames / 24, width=320, height=180, rate="24", gop=12)
    print(f"# machine: {machine()}; torch {torch.__version__}")
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 255, (frames, 180, 320, 3), dtype=np.uint8)

    up = TorchUpscaler(load("animevideov3"))  # CPU default: one thread fewer than the cores
    up(batch[:1])  # warm-up

    def torch_frames() -> None:  # one frame per call, as the pipeline runs on the CPU (batch 1)
        for i in range(frames):
            up(batch[i : i + 1])

    t_torch = median_time(f"network: torch fp32 ({torch.get_num_threads()} thr)", torch_frames, args.reps)
    rows = [t_torch]
    try:
        from shotline.upscale.ncnn_backend import NcnnUpscaler

        nc = NcnnUpscaler("animevideov3", 4)
        rows.append(median_time("network: ncnn (CPU)", lambda: nc(batch), args.reps))
    except Exception as exc:  # ncnn runtime missing: say so, keep the rest
        print(f"# ncnn skipped: {exc}")
    print_table(f"CPU network only, animevideov3 x4, {frames} frames 320x180", rows, t_torch.name)
    for r in rows:
        print(f"{r.name:<44} {frames / r.median:8.2f} frames/s")

    out = d / "shotline.mp4"
    ref = d / "reference.mp4"
    e2e = [
        median_time(
            "end to end: shotline upscale",
            lambda: upscale(src, fresh(out), UpscaleOptions(device="cpu", resume=False)),
            args.reps,
        ),
        median_time(
            "end to end: reference loop",
            lambda: reference_upscale(
                src, fresh(ref), load("animevideov3").net, scale=4, device="cpu", half=False
            ),
            args.reps,
        ),
    ]
    print_table(f"CPU end to end, animevideov3 x4, {frames} frames 320x180 -> 1280x720", e2e, e2e[1].name)
    for r in e2e:
        print(f"{r.name:<44} {frames / r.median:8.2f} frames/s")


if __name__ == "__main__":
    main()
