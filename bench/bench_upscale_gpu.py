"""GPU upscale benchmark (CUDA). Run on a machine with an NVIDIA GPU:

    pip install -e '.[upscale]'          # with a CUDA build of torch
    python bench/bench_upscale_gpu.py    # about 5 minutes on an H100; --quick for about 1
    python bench/bench_upscale_gpu.py --workers 4 --ray auto   # also N segment workers and Ray tasks

(1) Network throughput per model and input size: frames/s and achieved TFLOP/s (FLOPs counted
    from the network with forward hooks), fp16, channels_last, uint8 in and out on the device.
(2) End to end, animevideov3 x4 on a 540p clip of 300 frames (--quick: 60): shotline's
    pipeline vs the reference loop (bench_upscale_reference.py, same network and encoder
    settings), and each stage alone: decode-only, network-only and encode-only.
    With ``--workers N`` (default 4) shotline also runs with N segments encoded at once (N worker
    processes sharing the GPU, one model each), and with ``--ray auto|ADDRESS`` as Ray tasks
    (half a GPU each); every variant's output is checked to be the same frame for frame.
Targets: end to end >= 3x the reference loop (>= 22 frames/s on an H100-class GPU) and >= 0.9x
the slowest stage alone; x4plus network >= 10 frames/s at 540p input. Prints a Markdown block
for bench/RESULTS-upscale.md and bench/RESULTS-scale.md.
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
WORKERS = 4  # --workers N: segments encoded at once in the parallel run
RAY: str | None = None  # --ray auto|ADDRESS: also run the segments as Ray tasks


def digest(path: Path) -> str:
    import hashlib

    import av

    h = hashlib.sha256()
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            h.update(f.to_ndarray(format="rgb24").tobytes())
    return h.hexdigest()


def take_option(argv: list[str], name: str) -> str | None:
    """Remove ``name VALUE`` from argv and return VALUE (None when absent)."""
    if name not in argv:
        return None
    i = argv.index(name)
    value = argv[i + 1]
    del argv[i : i + 2]
    return value


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

    seg = 1 if SMOKE else 2  # 300 frames at 30 fps: 5 segments, enough to spread

    def ours() -> None:
        upscale(src, fresh(out), UpscaleOptions(device=DEVICE, resume=False, segment_seconds=seg, workers=1))

    ours()  # warm-up
    rows.append(("shotline end to end", timed(ours, reps)))
    one = digest(out)
    par = d / "parallel.mp4"

    def parallel() -> None:
        opts = UpscaleOptions(device=DEVICE, resume=False, segment_seconds=seg, workers=WORKERS)
        upscale(src, fresh(par), opts)

    rows.append((f"shotline end to end, {WORKERS} workers", timed(parallel, reps)))
    same = {"workers": digest(par) == one}
    if RAY is not None:
        on_ray = d / "ray.mp4"

        def ray_run() -> None:
            opts = UpscaleOptions(device=DEVICE, resume=False, segment_seconds=seg, ray=RAY, workers=WORKERS)
            upscale(src, fresh(on_ray), opts)

        ray_run()  # warm-up: workers start, the model loads, the input is shipped
        rows.append((f"shotline end to end, Ray ({WORKERS} tasks at once)", timed(ray_run, reps)))
        same["ray"] = digest(on_ray) == one
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
    best = max(v for k, v in fps.items() if k.startswith("shotline"))
    lines.append(
        f"- shotline (best) / reference loop: {best / fps['reference loop end to end']:.2f}x (target >= 3x, "
        ">= 22 frames/s on an H100-class GPU)"
    )
    lines.append(f"- shotline (best) / slowest stage alone: {best / slowest:.2f} (target >= 0.9)")
    lines.append(f"- outputs identical to one worker: {same}")
    for line in lines:
        print(line, flush=True)
    return lines


def main() -> None:
    global DEVICE, SMOKE, WORKERS, RAY
    argv = sys.argv[1:]
    SMOKE = "--smoke" in argv
    WORKERS = int(take_option(argv, "--workers") or WORKERS)
    RAY = take_option(argv, "--ray")
    args = parse_args(__doc__, [a for a in argv if a != "--smoke"])
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
