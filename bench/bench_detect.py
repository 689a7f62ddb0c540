"""Benchmark shot detection against PySceneDetect's detectors on a film with known cuts.

The film (tests/filmkit.py, 454 frames of 320x180 at 25 fps): nine lavfi shots joined by six
hard cuts, a 16-frame cross-dissolve and a fade through black (10 frames out, 10 in), with a
two-frame white flash and a fast pan (an eighth of the width a frame) inside shots.

A detected boundary matches a true transition when it falls on a hard cut's frame exactly,
or anywhere from two frames before a dissolve's or fade's first changed frame to two frames
after its first wholly-new frame; each truth matches at most one boundary. Precision =
matched / boundaries reported, recall = matched / true transitions. For shotline, the ends of
the dissolve and fade it reports are also compared with the truth.

    python bench/bench_detect.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.filmkit import Transition, cut_film


def _match(found: list[int], truth: list[Transition]) -> tuple[int, int, int]:
    left = list(truth)
    tp = 0
    for f in sorted(found):
        for t in left:
            lo, hi = (t.start, t.start) if t.kind == "cut" else (t.start - 2, t.end + 2)
            if lo <= f <= hi:
                left.remove(t)
                tp += 1
                break
    return tp, len(found) - tp, len(left)


def _pyscenedetect(path: Path, make) -> list[int]:
    from scenedetect import SceneManager, open_video

    manager = SceneManager()
    manager.add_detector(make())
    manager.detect_scenes(open_video(str(path), backend="pyav"))
    return [start.frame_num for start, _ in manager.get_scene_list()[1:]]


def main() -> None:
    from scenedetect import __version__
    from scenedetect.detectors import AdaptiveDetector, ContentDetector, HashDetector, HistogramDetector

    from shotline.core.ops.detect import detect

    with tempfile.TemporaryDirectory() as tmp:
        path, truth, frames = cut_film(Path(tmp) / "film.mp4")
        print(f"load average before: {os.getloadavg()}")
        rows = []
        t0 = time.perf_counter()
        det = detect(path)
        secs = time.perf_counter() - t0
        rows.append(("shotline timeline detect", [c.frame for c in det.cuts], secs))
        for name, make in (
            ("ContentDetector() (PySceneDetect default)", ContentDetector),
            ("AdaptiveDetector()", AdaptiveDetector),
            ("HistogramDetector()", HistogramDetector),
            ("HashDetector()", HashDetector),
        ):
            t0 = time.perf_counter()
            found = _pyscenedetect(path, make)
            rows.append((name, found, time.perf_counter() - t0))
        print(f"load average after: {os.getloadavg()}")
        print(
            f"PySceneDetect {__version__}; {frames} frames; truth: {[(t.kind, t.start, t.end) for t in truth]}"
        )
        print("| detector | boundaries | TP | FP | FN | precision | recall | wall s |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, found, secs in rows:
            tp, fp, fn = _match(found, truth)
            prec = tp / (tp + fp) if tp + fp else 0.0
            rec = tp / (tp + fn) if tp + fn else 0.0
            print(f"| {name} | {found} | {tp} | {fp} | {fn} | {prec:.2f} | {rec:.2f} | {secs:.2f} |")
        for c, t in zip(det.cuts, truth):
            if t.kind != "cut":
                print(f"shotline {c.kind}: reported {c.start}-{c.end}, truth {t.start}-{t.end}")


if __name__ == "__main__":
    main()
