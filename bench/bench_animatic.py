"""Local animatic renderer: smoothness and speed of a slow camera pan over a still.

The same move (smoothstep pan to the right over the example harbour still, 640x360,
24 fps) rendered three ways, each encoded with libx264 (veryfast, crf 20):

* shotline's local provider (float affine warp, bilinear sampling, frames piped to ffmpeg);
* the hand-written ffmpeg command a user reaches for: ``zoompan`` with the same x(t);
* MoviePy 2.x: an ImageClip cropped per frame at the same x(t) (what vfx.Crop/Scroll do).

Smoothness: each output is decoded, the horizontal shift between consecutive frames is
measured to ~0.01 px (iterated Lucas-Kanade with Fourier shifts), and compared with the
intended per-frame motion. Reported: the largest and RMS error in pixels, and "stalls"
(frames that did not move while the camera should have moved by >= 0.2 px).

    python bench/bench_animatic.py [--quick] [--reps N] [--no-moviepy]
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, ffmpeg, machine, median_time, parse_args, print_table, workdir

W, H, FPS = 640, 360, 24


def shift_x(a: np.ndarray, b: np.ndarray) -> float:
    """Global horizontal shift s with b(x) = a(x + s), subpixel."""
    k = np.fft.fftfreq(a.shape[1])[None, :]
    spectrum = np.fft.fft(a, axis=1)
    inner = (slice(8, -8), slice(24, -24))
    s = 0.0
    for _ in range(5):
        moved = np.fft.ifft(spectrum * np.exp(2j * np.pi * k * s), axis=1).real
        grad = np.gradient(moved, axis=1)[inner]
        s += float(np.sum(grad * (b - moved)[inner]) / np.sum(grad * grad))
    return s


def gray_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in c.decode(video=0)]


def smoothness(path: Path, intended: np.ndarray) -> tuple[float, float, int, int]:
    frames = gray_frames(path)
    n = min(len(frames) - 1, len(intended))
    measured = np.array([shift_x(a, b) for a, b in zip(frames[:n], frames[1 : n + 1])])
    err = np.abs(measured - intended[:n])
    stalls = int(np.sum((np.abs(measured) < 0.05) & (np.abs(intended[:n]) >= 0.2)))
    return float(err.max()), float(np.sqrt(np.mean(err**2))), stalls, len(frames)


def main() -> None:
    args = parse_args(__doc__)
    seconds = 1.5 if args.quick else 3.0
    frames = round(seconds * FPS)
    from PIL import Image

    from shotline.core.generate.prompt import parse_camera
    from shotline.core.generate.providers.local import (
        MARGIN,
        AnimaticSpec,
        camera_path,
        cover,
        move_variation,
        render_animatic,
    )

    still_path = ROOT / "examples" / "assets" / "harbour.jpg"
    still = np.asarray(Image.open(still_path).convert("RGB"))
    cam = parse_camera("slow pan right")
    path = camera_path(cam, frames, W, H)
    intended = np.diff(path.tx)
    cw, ch = round(W * MARGIN), round(H * MARGIN)
    work = workdir("animatic")
    canvas_png = work / "canvas.png"
    Image.fromarray(cover(still, cw, ch)).save(canvas_png)  # both peers start from the same canvas

    outs = {"shotline local provider": work / "shotline.mp4", "ffmpeg zoompan": work / "zoompan.mp4"}

    def ours() -> None:
        render_animatic(
            still,
            # no grain: the peers have none, and the comparison is of the move
            AnimaticSpec(W, H, Fraction(FPS), seconds, cam, seed=0, audio="silence", grain=0.0),
            outs["shotline local provider"],
        )

    # x(t) of the crop's left edge in canvas pixels, the same smoothstep the provider uses,
    # over the same seeded timing (a short hold before and after the move)
    a = float(path.tx[-1])
    x0 = (cw - W) / 2
    _, lead, tail, _ = move_variation(0, frames, FPS)
    t = f"clip((on/{frames - 1}-{lead})/{1 - lead - tail},0,1)"
    x_expr = f"{x0}+{a}*(2*({t}*{t}*(3-2*{t}))-1)"
    y_expr = f"{(ch - H) / 2}"

    def zoompan() -> None:
        ffmpeg(
            "-loop", "1", "-framerate", str(FPS), "-i", str(canvas_png),
            "-vf", f"zoompan=z={cw / W}:x='{x_expr}':y={y_expr}:d={frames}:s={W}x{H}:fps={FPS},format=yuv420p",
            "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
            str(outs["ffmpeg zoompan"]),
        )  # fmt: skip

    timings = [
        median_time("shotline local provider", ours, args.reps),
        median_time("ffmpeg zoompan", zoompan, args.reps),
    ]
    if not args.no_moviepy:
        from moviepy import ImageClip

        canvas = np.asarray(Image.open(canvas_png).convert("RGB"))
        outs["moviepy 2.x crop"] = work / "moviepy.mp4"
        ys = (ch - H) // 2

        def xpos(tt: float) -> float:
            u = min(1.0, max(0.0, (tt * FPS / (frames - 1) - lead) / (1 - lead - tail)))
            return x0 + a * (2 * (u * u * (3 - 2 * u)) - 1)

        def moviepy_run() -> None:
            clip = ImageClip(canvas).with_duration(seconds).with_fps(FPS)
            moving = clip.transform(
                lambda gf, tt: gf(tt)[ys : ys + H, int(round(xpos(tt))) : int(round(xpos(tt))) + W]
            )
            moving.write_videofile(
                str(outs["moviepy 2.x crop"]), fps=FPS, codec="libx264", preset="veryfast",
                ffmpeg_params=["-crf", "20"], audio=False, logger=None,
            )  # fmt: skip

        timings.append(median_time("moviepy 2.x crop", moviepy_run, args.reps))

    print(f"# machine: {machine()}")
    print(f"# {frames} frames {W}x{H} at {FPS} fps, slow pan right ({a * 2:.1f} px in all)")
    print_table("render time, wall clock and CPU (this process + ffmpeg)", timings, baseline="ffmpeg zoompan")
    print("\n## smoothness: measured minus intended per-frame motion")
    print(f"{'contender':<28} {'max err px':>10} {'rms err px':>10} {'stalls':>7} {'frames':>7}")
    for name, out in outs.items():
        mx, rms, stalls, n = smoothness(out, intended)
        print(f"{name:<28} {mx:>10.3f} {rms:>10.3f} {stalls:>7} {n:>7}")


if __name__ == "__main__":
    main()
