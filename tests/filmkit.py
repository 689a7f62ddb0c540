"""Test films built with ffmpeg's lavfi sources, with their ground truth.

``cut_film`` joins nine lavfi shots with hard cuts, a cross-dissolve and a fade through
black, and hides two traps inside shots (a two-frame white flash, a fast pan) that a shot
detector must not cut. The truth lists every transition in frames of the output.
``face_film`` moves scikit-image's astronaut photograph (a real face) across a 16:9 frame
and pauses it; the truth is the face box per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.mediakit import ffmpeg

RATE = 25
SIZE = (320, 180)


@dataclass(frozen=True)
class Transition:
    kind: str  # "cut", "dissolve" or "fade"
    start: int  # first frame of the new shot (cut) or first frame of the change
    end: int  # first frame fully in the new shot (== start for a cut)


# (lavfi source, frames): the shots in order; every source moves, so no shot is a still.
_W, _H = SIZE
SHOTS: tuple[tuple[str, int], ...] = (
    (f"testsrc2=s={_W}x{_H}:r={RATE}", 50),
    (f"mandelbrot=s={_W}x{_H}:r={RATE}", 50),
    (f"smptehdbars=s={_W}x{_H}:r={RATE},scroll=h=0.004", 50),
    (f"gradients=s={_W}x{_H}:r={RATE}:speed=0.05:c0=0x2060ff:c1=0xffd020:seed=7", 60),
    (f"colorspectrum=s={_W}x{_H}:r={RATE},hue=s=0.6", 50),
    (
        f"gradients=s={_W}x{_H}:r={RATE}:speed=0.08:c0=0x103010:c1=0x30c060:c2=0xc02020:n=3:seed=3",
        60,
    ),  # flash
    (
        f"mandelbrot=s={_W * 8}x{_H}:r={RATE}:start_scale=0.4,crop={_W}:{_H}:x='min(n*40,{_W * 7})':y=0",
        50,
    ),  # fast pan
    (f"sierpinski=s={_W}x{_H}:r={RATE}", 50),
    (f"zoneplate=s={_W}x{_H}:r={RATE}:kt2=2:kx2=120:ky2=120,eq=saturation=0", 50),
)
DISSOLVE = (2, 16)  # cross-dissolve from shot 2 into shot 3, 16 frames
FADE = (4, 10, 10)  # fade shot 4 out to black over 10 frames, shot 5 in from black over 10
FLASH = (5, 24, 2)  # shot 5 flashes white at its frame 24 for 2 frames
PAN = 6  # shot 6 is a fast pan (40 px, an eighth of the width, a frame)


def cut_film(path: Path) -> tuple[Path, list[Transition], int]:
    """Build the film at ``path`` (H.264, 1 s GOPs); return it, its transitions and frame count."""
    args: list[str] = []
    for src, frames in SHOTS:
        args += ["-f", "lavfi", "-i", f"{src},trim=end_frame={frames},setpts=PTS-STARTPTS,format=yuv420p"]
    chains = []
    fi, fo_frames, fi_frames = FADE
    for i, (_, frames) in enumerate(SHOTS):
        f = f"[{i}:v]settb=1/{RATE},setsar=1"
        if i == FLASH[0]:
            a, n = FLASH[1], FLASH[2]
            f += f",drawbox=c=white:t=fill:enable='between(n,{a},{a + n - 1})'"
        if i == fi:
            f += f",fade=t=out:s={frames - fo_frames}:n={fo_frames}"
        if i == fi + 1:
            f += f",fade=t=in:s=0:n={fi_frames}"
        chains.append(f"{f}[s{i}]")
    d_from, d_len = DISSOLVE
    # xfade: frame k of the transition shows (1 - k/len) of A; k = 0 is still all A.
    pre = "".join(f"[s{i}]" for i in range(d_from))
    offset = SHOTS[d_from][1] - d_len
    chains.append(
        f"[s{d_from}][s{d_from + 1}]xfade=transition=fade:duration={d_len / RATE}:offset={offset / RATE}[x]"
    )
    post = "".join(f"[s{i}]" for i in range(d_from + 2, len(SHOTS)))
    n_parts = d_from + 1 + len(SHOTS) - d_from - 2
    chains.append(f"{pre}[x]{post}concat=n={n_parts}:v=1:a=0[v]")
    ffmpeg(
        *args,
        "-filter_complex",
        ";".join(chains),
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-g",
        str(RATE),
        "-keyint_min",
        str(RATE),
        "-sc_threshold",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-r",
        str(RATE),
        str(path),
    )
    truth: list[Transition] = []
    pos = 0
    for i, (_, frames) in enumerate(SHOTS[:-1]):
        if i == d_from:
            start = pos + frames - d_len
            truth.append(Transition("dissolve", start + 1, start + d_len))
            pos += frames - d_len
            continue
        pos += frames
        if i == fi:
            truth.append(Transition("fade", pos - fo_frames + 1, pos + fi_frames))
        else:
            truth.append(Transition("cut", pos, pos))
    total = sum(f for _, f in SHOTS) - d_len
    return path, truth, total


# The face in scikit-image's astronaut photograph (512x512), forehead to chin and ear to ear,
# set by eye on the picture (not by any detector under test).
FACE_BOX = (172, 60, 282, 168)
FACE_SIZE = (640, 360)  # the 16:9 film
FACE_SCALE = 300  # the photograph is laid at 300x300
FACE_Y = 30


def face_x(frame: int) -> int:
    """Where the photograph's left edge is at ``frame``: hold 1 s, move right 6 px a frame for
    2 s, hold 2.4 s, move back 5 px a frame for 1.5 s, hold 1 s; at frame FACE_CUT a hard cut to a new shot with the
    photograph held further right. (The overlay's ``n`` runs one ahead of the output frame:
    measured on the film, so the truth follows it.)"""
    n = frame + 1
    if n < 25:
        return 20
    if n < 75:
        return 20 + (n - 25) * 6
    if n < 135:
        return 320
    if n < 173:
        return 320 - (n - 135) * 5
    if n < FACE_CUT + 1:
        return 130
    return 330


FACE_FRAMES = 240
FACE_CUT = 198


def face_expr() -> str:
    return (
        "if(lt(n,25),20,if(lt(n,75),20+(n-25)*6,if(lt(n,135),320,"
        f"if(lt(n,173),320-(n-135)*5,if(lt(n,{FACE_CUT + 1}),130,330)))))"
    )


def face_box(n: int) -> tuple[float, float, float, float]:
    k = FACE_SCALE / 512
    x0, y0, x1, y1 = FACE_BOX
    ox = face_x(n)
    return (ox + x0 * k, FACE_Y + y0 * k, ox + x1 * k, FACE_Y + y1 * k)


def face_film(path: Path) -> Path:
    """The astronaut's face crossing a 16:9 frame (see face_x), over a slowly drifting background."""
    from skimage import data
    from skimage.io import imsave

    still = path.with_name("astronaut.png")
    imsave(still, data.astronaut(), check_contrast=False)
    w, h = FACE_SIZE
    graph = (
        f"gradients=s={w}x{h}:r={RATE}:speed=0.02:c0=0x302a40:c1=0x504030:seed=5,"
        f"drawbox=c=0x203040:t=fill:enable='gte(n,{FACE_CUT})'[bg];"
        f"[0:v]scale={FACE_SCALE}:{FACE_SCALE},format=rgba[fg];"
        f"[bg][fg]overlay=x='{face_expr()}':y={FACE_Y}:eval=frame:shortest=1,format=yuv420p[v]"
    )
    ffmpeg(
        "-loop", "1", "-framerate", str(RATE), "-i", str(still),
        "-filter_complex", graph, "-map", "[v]", "-frames:v", str(FACE_FRAMES),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-r", str(RATE), str(path),
    )  # fmt: skip
    return path
