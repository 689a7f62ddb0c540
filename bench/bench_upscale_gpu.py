"""GPU upscale benchmark (CUDA). Run on a machine with an NVIDIA GPU:

    pip install -e '.[upscale]'          # with a CUDA build of torch
    python bench/bench_upscale_gpu.py    # about 5 minutes on an H100; --quick for about 1

(1) Network throughput per model and input size: frames/s and achieved TFLOP/s (FLOPs counted
    from the network with forward hooks), fp16, channels_last, uint8 in and out on the device.
(2) End to end, animevideov3 x4 on a 540p clip of 300 frames (--quick: 60): shotline's
    pipeline vs the reference loop (bench_upscale_reference.py, same network and encoder
    settings), and each stage alone: decode-only, network-only and encode-only.
Targets: end to end >= 2.5x the reference loop and >= 0.9x the slowest stage alone; x4plus
network >= 10 frames/s at 540p input. Prints a Markdown block for bench/RESULTS-upscale.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_upscale_reference import reference_upscale  # noqa: E402
from bench.common import fresh, machine, parse_args, synth, workdir  # noqa: E402


def timed(fn, reps: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


DEVICE = "cuda"
SMOKE = False  # --smoke: tiny sizes on the CPU, to check the script itself without a GPU


def sync() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def network(reps: int, quick: bool) -> list[str]:
    import torch

    from shotline.upscale.arch import count_flops
    from shotline.upscale.models import load
    from shotline.upscale.torch_backend import TorchOptions, TorchUpscaler

    lines = ["| model | input | batch | precision | frames/s | TFLOP/s |", "|---|---|---|---|---|---|"]
    cases = [
        ("animevideov3", (540, 960), 1),
        ("animevideov3", (540, 960), 4),
        ("animevideov3", (720, 1280), 4),
        ("x4plus", (540, 960), 1),
        ("x4plus", (540, 960), 2),
        ("x4plus-anime", (540, 960), 2),
    ]
    precisions = ["fp32"] if SMOKE else ["fp16"] if quick else ["fp16", "bf16"]
    if SMOKE:
        cases = [(n, (36, 64), b) for n, _, b in cases[::2]]
    for name, (h, w), b in cases:
        for prec in precisions:
            model = load(name)
            up = TorchUpscaler(model, TorchOptions(device=DEVICE, precision=prec))
            x = torch.randint(0, 255, (b, h, w, 3), dtype=torch.uint8, device=DEVICE)
            n = 4 if model.arch.arch == "RRDBNet" else 20
            if quick:
                n = max(2, n // 4)

            def run(up=up, x=x, n=n) -> None:  # type: ignore[no-untyped-def]
                for _ in range(n):
                    up.run_tensor(x)
                sync()

            run()  # warm-up (cudnn.benchmark picks kernels)
            sec = timed(run, reps)
            fps = n * b / sec
            # FLOPs of the network on the pre-padded frame, as run
            flops = count_flops(model.arch.build(), h + 20, w + 20)
            lines.append(f"| {name} | {w}x{h} | {b} | {prec} | {fps:.1f} | {fps * flops / 1e12:.1f} |")
            print(lines[-1], flush=True)
            del up
            if DEVICE == "cuda":
                torch.cuda.empty_cache()
    return lines


def end_to_end(reps: int, quick: bool) -> list[str]:
    import av
    import torch

    from shotline.core.media.encode import EncodeSettings
    from shotline.core.media.probe import probe
    from shotline.upscale import UpscaleOptions, upscale
    from shotline.upscale.models import load
    from shotline.upscale.pipeline import ColourTags, _SegmentWriter
    from shotline.upscale.torch_backend import TorchOptions, TorchUpscaler

    frames = 8 if SMOKE else 60 if quick else 300
    h, w = (36, 64) if SMOKE else (540, 960)
    d = workdir("upscale-gpu")
    src = synth(d / f"in{h}-{frames}.mp4", duration=frames / 30, width=w, height=h, rate="30", gop=60)
    info = probe(src)
    out, ref = d / "shotline.mp4", d / "reference.mp4"
    rows: list[tuple[str, float]] = []

    def dec() -> None:
        with av.open(str(src)) as c:
            c.streams.video[0].thread_type = "AUTO"
            for f in c.decode(video=0):
                f.reformat(format="rgb24", src_colorspace="itu601", dst_color_range="JPEG").to_ndarray()

    rows.append(("decode only (PyAV -> RGB)", timed(dec, reps)))

    up = TorchUpscaler(load("animevideov3"), TorchOptions(device=DEVICE))
    up.output_i420("itu601", False)  # as the pipeline does for a yuv420p encode
    x = torch.randint(0, 255, (4, h, w, 3), dtype=torch.uint8, device=DEVICE)

    def net() -> None:
        for _ in range(frames // 4):
            up.run_tensor(x)
        sync()

    net()
    rows.append(("network only (batch 4, fp16, RGB->4:2:0 on device)", timed(net, reps)))

    host = up(
        np.ascontiguousarray(np.random.default_rng(0).integers(0, 255, (4, 540, 960, 3), dtype=np.uint8))
    )

    def enc() -> None:
        w = _SegmentWriter(
            fresh(d / "enc.mp4"),
            3840,
            2160,
            info,
            info.video.time_base,
            EncodeSettings(),
            ColourTags.of(info),
        )  # type: ignore[union-attr]
        for i in range(frames):
            w.write([i * 512], host[i % 4 : i % 4 + 1])
        w.close()

    rows.append(("encode only (4:2:0 -> x264 veryfast crf 18)", timed(enc, reps)))

    def ours() -> None:
        upscale(src, fresh(out), UpscaleOptions(device=DEVICE, resume=False, segment_seconds=4))

    ours()  # warm-up
    rows.append(("shotline end to end", timed(ours, reps)))
    m = load("animevideov3")

    def reference() -> None:
        reference_upscale(src, fresh(ref), m.net, scale=4, device=DEVICE, half=DEVICE == "cuda")

    rows.append(("reference loop end to end", timed(reference, reps)))
    lines = [f"| stage ({frames} frames {w}x{h} -> {w * 4}x{h * 4}) | median s | frames/s |", "|---|---|---|"]
    for name, sec in rows:
        lines.append(f"| {name} | {sec:.2f} | {frames / sec:.1f} |")
    fps = {n: frames / s for n, s in rows}
    slowest = min(v for k, v in fps.items() if "only" in k)
    lines.append("")
    lines.append(
        f"- shotline / reference loop: {fps['shotline end to end'] / fps['reference loop end to end']:.2f}x (target >= 2.5x)"
    )
    lines.append(
        f"- shotline / slowest stage alone: {fps['shotline end to end'] / slowest:.2f} (target >= 0.9)"
    )
    for line in lines:
        print(line, flush=True)
    return lines


def main() -> None:
    global DEVICE, SMOKE
    SMOKE = "--smoke" in sys.argv
    args = parse_args(__doc__, [a for a in sys.argv[1:] if a != "--smoke"])
    import torch

    if SMOKE:
        DEVICE = "cpu"
        args.reps = 1
        print("# smoke run on the CPU: checks the script, measures nothing")
        print("\n".join(network(1, True) + end_to_end(1, True)))
        return
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark needs an NVIDIA GPU and a CUDA build of torch")
    dev = torch.cuda.get_device_name(0)
    print(f"# {machine()}\n# GPU: {dev}, torch {torch.__version__}, CUDA {torch.version.cuda}\n")
    lines = [
        "### Network throughput",
        *network(args.reps, args.quick),
        "",
        "### End to end",
        *end_to_end(args.reps, args.quick),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
