"""Run every CPU benchmark in turn (``make bench``); pass --quick to shrink each one.

Each script prints its own table and ratios; the figures recorded from these runs are in
bench/RESULTS.md and the RESULTS-<area>.md files it links. The GPU benchmark
(bench_upscale_gpu.py) is not run here: it needs a CUDA device.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "bench_concat.py",
    "bench_fade.py",
    "bench_xfade.py",
    "bench_trim.py",
    "bench_gif.py",
    "bench_animatic.py",
    "bench_generate.py",
    "bench_timeline.py",
    "bench_timeline_export.py",
    "bench_resolve.py",
    "bench_upscale.py",
)


def main(argv: list[str]) -> int:
    failed = []
    for name in SCRIPTS:
        print(f"\n=== {name} {' '.join(argv)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / name), *argv]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
