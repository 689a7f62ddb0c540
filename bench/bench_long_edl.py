"""A long EDL: hundreds of events in one render (the graph no longer fits one argument).

    python bench/bench_long_edl.py [--clips 548] [--frames 4] [--reps 1]

Builds an EDL of N events cut from two 320x180 25 fps sources (with sound), each event
``--frames`` long, and times ``render_timeline`` (full render) on it. Before the filter graph
went to ffmpeg in a file, 548 events failed with ``[Errno 7] Argument list too long``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import opentimelineio as otio  # noqa: E402

from shotline.core.media.ffmpeg import ffmpeg_path  # noqa: E402
from shotline.otio_adapters.conform.render import render_timeline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=548)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="long-edl-"))
    for name in ("alpha", "beta"):
        subprocess.run(
            [ffmpeg_path(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=40"]
            + ["-f", "lavfi", "-i", "sine=d=40", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]
            + ["-c:a", "aac", "-shortest", str(work / f"{name}.mp4")],
            check=True,
        )
    lines = ["TITLE: long", "FCM: NON-DROP FRAME", ""]
    rec = 0
    for i in range(a.clips):
        src = (i * 7) % 900
        tc = [
            otio.opentime.to_timecode(otio.opentime.RationalTime(f, 25), 25)
            for f in (src, src + a.frames, rec, rec + a.frames)
        ]
        lines += [
            f"{i + 1:03d}  AX       V     C        {' '.join(tc)}",
            f"* FROM CLIP NAME: {('alpha', 'beta')[i % 2]}.mp4",
            "",
        ]
        rec += a.frames
    edl = work / "long.edl"
    edl.write_text("\n".join(lines))
    times = []
    for _ in range(a.reps):
        t = time.monotonic()
        r = render_timeline(
            edl, work / "out.mp4", media_dir=work, rate=Fraction(25), smart=False, overwrite=True
        )
        times.append(time.monotonic() - t)
    print(
        f"{a.clips} events, {r.frames} frames: {sorted(times)[len(times) // 2]:.1f} s wall (median of {a.reps}); load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
