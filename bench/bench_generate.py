"""Batch generation against the local Runway stand-in: wall time vs the ideal, orchestrator CPU.

50 text-to-video takes, each rendering for 2 s (simulated) on the server, at most 10 in
flight. Contenders, each in its own process so its CPU time is its own:

* shotline: the real orchestrator (core/generate/orchestrator.py) with the real Runway provider (runwayml
  SDK), ledger, checksums, resumable downloads;
* reference loop: what a user would hand-write with the SDK: a 10-thread pool doing
  ``create`` -> ``wait_for_task_output`` -> httpx download, no ledger.

Ideal wall time = ceil(50 / 10) waves x (2 s render + one download of an output, measured
alone). Polling is scaled down with the render time (0.25 s instead of Runway's 5 s) for
both contenders. The target is shotline within 1.2x of the ideal.

    python bench/bench_generate.py            # 3 repetitions, median
    python bench/bench_generate.py --quick    # 20 takes, 1 repetition
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine  # noqa: E402
from tests.generate.servers.base import LocalServer  # noqa: E402
from tests.generate.servers.fixtures import RUNWAY_KEY  # noqa: E402
from tests.generate.servers.runway import RunwayApp  # noqa: E402

RENDER_S = 2.0
CONCURRENCY = 10
POLL_S = 0.25
OUTPUT_BYTES = 1 << 20  # 1 MiB per take


def child_env() -> dict[str, str]:
    env = {**os.environ, "RUNWAYML_API_SECRET": RUNWAY_KEY, "PYTHONPATH": str(ROOT)}
    env.pop("RUNWAYML_BASE_URL", None)
    return env


def run_shotline(url: str, takes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "tests.generate.servers.driver",
            url,
            tmp,
            "--shots",
            str(takes),
            "--takes",
            "1",
            "--concurrency",
            str(CONCURRENCY),
            "--poll",
            str(POLL_S),
        ]
        out = subprocess.run(
            cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True
        ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["statuses"] == ["done"] * takes, summary["statuses"]
    return {"wall": summary["wall"], "cpu": summary["cpu"]}


def run_reference(url: str, takes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        cmd = [sys.executable, __file__, "--reference-child", url, tmp, str(takes)]
        out = subprocess.run(
            cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def reference_child(url: str, outdir: str, takes: int) -> None:
    """The hand-written loop: SDK create + wait_for_task_output + download, 10 threads."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import runwayml
    import runwayml.lib.polling as polling

    polling.POLL_TIME, polling.POLL_JITTER = POLL_S, 0.0  # same polling pace as shotline's run
    client = runwayml.RunwayML(base_url=url)

    def one(i: int) -> None:
        task = client.text_to_video.create(
            model="gen4.5",
            prompt_text=f"shot {i}: a lighthouse at dusk",
            ratio="1280:720",
            duration=5,
            seed=i,
        )
        done = task.wait_for_task_output(timeout=600)
        with httpx.stream("GET", str(done.output[0])) as r, open(Path(outdir) / f"{i}.mp4", "wb") as fh:  # type: ignore[union-attr]
            for chunk in r.iter_bytes():
                fh.write(chunk)

    t0, c0 = time.monotonic(), time.process_time()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(takes)))
    print(json.dumps({"wall": time.monotonic() - t0, "cpu": time.process_time() - c0}), flush=True)


def download_alone(server: LocalServer) -> float:
    import httpx

    server.put_file("probe.bin", os.urandom(OUTPUT_BYTES))
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        httpx.get(server.signed_url("probe.bin")).raise_for_status()
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 takes, 1 repetition")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--reference-child", nargs=3, metavar=("URL", "OUTDIR", "TAKES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_child:
        url, outdir, n = args.reference_child
        reference_child(url, outdir, int(n))
        return
    takes = 20 if args.quick else 50
    reps = args.reps or (1 if args.quick else 3)
    app = RunwayApp(RUNWAY_KEY, render_s=RENDER_S, payload=lambda body: os.urandom(OUTPUT_BYTES))
    with LocalServer(app) as server:
        dl = download_alone(server)
        waves = math.ceil(takes / CONCURRENCY)
        ideal = waves * (RENDER_S + dl)
        results: dict[str, list[dict[str, float]]] = {"shotline": [], "reference loop": []}
        for _ in range(reps):
            results["shotline"].append(run_shotline(server.url, takes))
            results["reference loop"].append(run_reference(server.url, takes))
        creates = sum(app.creates.values())
    print(
        f"# {takes} takes, {RENDER_S:g} s render, concurrency {CONCURRENCY}, poll {POLL_S:g} s, "
        f"{OUTPUT_BYTES >> 20} MiB outputs, {reps} repetition(s)"
    )
    print(f"# machine: {machine()}")
    print(f"# ideal: {waves} waves x ({RENDER_S:g} s + {dl * 1000:.0f} ms download) = {ideal:.2f} s")
    print(f"# server saw {creates} creates for {takes * reps * 2} takes run")
    print(f"{'contender':<16} {'median wall s':>14} {'x ideal':>8} {'runs':<28} {'CPU s/take':>11}")
    for name, runs in results.items():
        walls = [r["wall"] for r in runs]
        med = statistics.median(walls)
        cpu = statistics.median(r["cpu"] for r in runs) / takes
        print(
            f"{name:<16} {med:>14.2f} {med / ideal:>8.2f} {' '.join(f'{w:.2f}' for w in walls):<28} "
            f"{cpu * 1000:>8.1f} ms"
        )
    s = statistics.median(r["wall"] for r in results["shotline"])
    r = statistics.median(r["wall"] for r in results["reference loop"])
    print(f"shotline / reference loop wall: {s / r:.2f}x")


if __name__ == "__main__":
    main()
