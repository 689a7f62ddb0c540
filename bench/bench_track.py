"""Benchmark reframe --track on the face film: face detectors, and tracking against a centre crop.

The film (tests/filmkit.py ``face_film``): scikit-image's astronaut photograph (a real face) at
300x300 moving across a 640x360 frame at 25 fps (hold, 6 px/frame right, hold, 5 px/frame
back, hold), then a hard cut to a shot where it holds further right; 240 frames. Reframed to the
TikTok preset (1080x1920: the picture scaled to 3414x1920, a 1080-wide window). The face box
per frame is known from how the film was made (set by eye on the photograph, not by any
detector).

Figures per contender: frames with the face wholly inside the window, the largest
frame-to-frame acceleration of the window (px/frame^2 at output scale: the jitter), the
bound the planner guarantees for the subject's speed, and the seconds spent observing.

    python bench/bench_track.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.filmkit import FACE_CUT, FACE_FRAMES, FACE_SIZE, face_box, face_film, face_x


def main() -> None:
    import numpy as np

    from shotline.core.errors import DependencyError
    from shotline.core.ops import track as tr
    from shotline.core.ops.reframe import geometry

    geo = geometry(FACE_SIZE, (1080, 1920), "crop")
    assert geo.crop is not None
    k = geo.scaled[0] / FACE_SIZE[0]
    speed = max(abs(face_x(t + 1) - face_x(t)) for t in range(FACE_CUT - 1)) * k

    def inside(xs: list[int]) -> int:
        return sum(
            face_box(t)[0] * k >= xs[t] and face_box(t)[2] * k <= xs[t] + geo.frame[0]
            for t in range(FACE_FRAMES)
        )

    with tempfile.TemporaryDirectory() as tmp:
        film = face_film(Path(tmp) / "face.mp4")
        print(f"load average before: {os.getloadavg()}")
        cuts, _ = tr.shot_cuts(film)
        rows = [
            ("centre crop (reframe without --track)", inside([geo.crop[0]] * FACE_FRAMES), 0.0, "-", 0.0, "-")
        ]
        for mode, det in (
            ("face", "haar"),
            ("face", "haar-alt2"),
            ("face", "dlib-hog"),
            ("subject", "haar"),
            ("motion", "haar"),
        ):
            t0 = time.perf_counter()
            try:
                obs = tr.observe(film, mode, detector=det, cuts=cuts)
            except DependencyError as exc:
                print(f"{mode}/{det}: skipped ({exc})")
                continue
            secs = time.perf_counter() - t0
            path = tr.plan_path(obs, geo.scaled, geo.frame, mode=mode, cuts=cuts)
            naive = [(b[0] + b[2]) / 2 for b in path.subject[:FACE_CUT] if b is not None]
            naive_acc = float(np.abs(np.diff(naive, 2)).max()) if len(naive) > 2 else 0.0
            name = f"--track {mode}" + (f" ({det})" if mode != "motion" else "")
            rows.append((name, inside(list(path.x)), path.accel(), f"{naive_acc:.1f}", secs, f"{obs.found}"))
        print(f"load average after: {os.getloadavg()}")
        print(
            f"bound for a subject at {speed:.0f} px/frame: {tr.CameraPath.accel_bound(path, speed):.2f} px/frame^2"
        )
        print(
            "| contender | face inside | % | window accel max px/frame^2 | detections' accel max | observe s | frames with a subject |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, n_in, acc, nacc, secs, found in rows:
            print(
                f"| {name} | {n_in}/{FACE_FRAMES} | {100 * n_in / FACE_FRAMES:.1f} | {acc:.1f} | {nacc} | {secs:.2f} | {found} |"
            )


if __name__ == "__main__":
    main()
