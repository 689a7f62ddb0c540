"""The local provider: an offline animatic renderer. No key, no network, no cost.

* image-to-video animates a still with a virtual camera (pan, tilt, dolly, zoom,
  tracking, crane, handheld shake, drone, orbit-like arcs, roll). Every frame is an
  affine warp of the still sampled bilinearly at float precision, so a move of
  0.3 px per frame is 0.3 px per frame, not 0, 0, 1 (the stair-stepping of ffmpeg's
  zoompan, which rounds the crop window to whole pixels);
* text-to-video renders a title card carrying the shot's prompt, id and camera note,
  animated with the requested move;
* extend animates the last frame of the source video;
* sound-effect synthesizes a sound from the prompt's words; text-to-image writes a card;
* every video clip carries a soft audio bed (or silence, ``options["audio"]="silence"``)
  at 48 kHz stereo so downstream mixing always finds an audio stream.

Output is a pure function of the request: the same request (seed included) gives the
same frames and samples. Rendering happens in ``submit`` (the orchestrator runs it in a
worker thread); finished renders are kept in ``workdir`` under the task id, which is
derived from the request, so ``find_task`` can always answer after a crash.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import wave
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from shotline.core.errors import FFmpegError, MediaError, ProviderError, UsageError
from shotline.core.generate.prompt import CameraMove, parse_camera
from shotline.core.generate.providers.base import (
    Capabilities,
    GenerationRequest,
    Provider,
    ShotKind,
    TaskState,
    TaskStatus,
)
from shotline.core.media.encode import BT709_TAGS, EncodeSettings
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.runner import atomic_output
from shotline.core.vocab import file_checksum

MODEL = "animatic"
MARGIN = 1.3  # the still is laid out this much larger than the frame: room to move
SAMPLE_RATE = 48000
VIDEO_KINDS = frozenset({ShotKind.TEXT_TO_VIDEO, ShotKind.IMAGE_TO_VIDEO, ShotKind.EXTEND})
KINDS = VIDEO_KINDS | {ShotKind.SOUND_EFFECT, ShotKind.TEXT_TO_IMAGE}
ENCODE = EncodeSettings(preset="veryfast", crf=20, gop_seconds=1.0)
GRAIN = 2.0  # film grain, 8-bit levels: seeded and different every frame, like a second take's


# ----------------------------------------------------------------------------- camera paths


@dataclass(frozen=True)
class CameraPath:
    """Per-frame virtual camera: offset of the view centre (output px), zoom factor, roll (radians)."""

    tx: np.ndarray
    ty: np.ndarray
    zoom: np.ndarray
    angle: np.ndarray

    def __len__(self) -> int:
        return len(self.tx)


def _ease(t: np.ndarray) -> np.ndarray:
    """Smoothstep: starts and ends at rest, continuous velocity: no jolt at the cut points."""
    return t * t * (3.0 - 2.0 * t)


def move_variation(seed: int, frames: int, fps: float) -> tuple[float, float, float, tuple[float, float]]:
    """What the seed changes in a move: (extent factor, lead, tail, drift).

    The extent factor scales the planned move (0.78-1.0); lead and tail are the shares of the
    clip held before the move starts and after it ends (each at most 8 % and 0.2 s, so a hold
    never reads as a freeze); drift (-1..1 on x and y) is the share of the free room the view
    drifts across over the move. The move runs over normalized time
    ``clip((t - lead) / (1 - lead - tail), 0, 1)``.
    """
    vary = np.random.default_rng([seed % 2**32, 0x7A4E])  # a stream of its own: handheld keeps its phases
    amp = float(vary.uniform(0.78, 1.0))
    secs = frames / fps if fps > 0 else 1.0
    hold = min(0.08, 0.2 / max(secs, 1e-6))
    lead, tail = float(vary.uniform(0.0, hold)), float(vary.uniform(0.0, hold))
    dx, dy = (float(v) for v in vary.uniform(-1.0, 1.0, 2))
    return amp, lead, tail, (dx, dy)


def camera_path(
    camera: CameraMove | None, frames: int, width: int, height: int, seed: int = 0, fps: float = 24.0
) -> CameraPath:
    """The camera trajectory of a move over ``frames`` frames.

    The seed varies every move the way a second take by an operator would: the move's extent
    (78-100 % of the planned one), its timing (a short hold before it starts and after it ends,
    at most 0.2 s each) and a slow drift on the axes the move leaves free; handheld
    and tracking moves also get a seeded wobble. A static camera stays locked off. Every
    variation stays inside the room the still leaves around the frame.
    """
    n = max(1, frames)
    t = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    zeros = np.zeros(n)
    tx, ty, zoom, angle = zeros.copy(), zeros.copy(), np.ones(n), zeros.copy()
    if camera is None or camera.move == "static":
        return CameraPath(tx, ty, zoom, angle)
    amp, lead, tail, drift = move_variation(seed, n, fps)
    e = _ease(np.clip((t - lead) / max(1e-6, 1.0 - lead - tail), 0.0, 1.0))
    s = camera.speed
    d = camera.direction
    sign = -1.0 if d in ("left", "up", "out", "back", "counterclockwise") else 1.0
    room_x = (MARGIN - 1.0) * width / 2  # how far the view may travel before leaving the still
    room_y = (MARGIN - 1.0) * height / 2
    m = camera.move
    if m == "pan":
        a = amp * min(0.55 * room_x * s, 0.95 * room_x)
        tx = sign * a * (2 * e - 1)
    elif m == "tilt":
        a = amp * min(0.55 * room_y * s, 0.95 * room_y)
        ty = sign * a * (2 * e - 1)
    elif m in ("dolly", "zoom"):
        amount = amp * (0.18 if m == "dolly" else 0.3) * s
        zoom = 1.0 + amount * (e if sign > 0 else 1.0 - e)
        if m == "dolly":  # a dolly drifts a little as the operator pushes: not a pure zoom
            ty = 0.04 * height * (e - 0.5) * sign
    elif m == "tracking":
        a = amp * min(0.8 * room_x * s, 0.95 * room_x)
        tx = sign * a * (2 * e - 1)
        zoom = np.full(n, 1.04)
    elif m == "crane":
        a = amp * min(0.7 * room_y * s, 0.9 * room_y)
        ty = sign * a * (2 * e - 1)
        zoom = 1.12 - 0.1 * amp * e  # rising reveals more of the scene
    elif m == "drone":
        zoom = 1.0 + amp * 0.3 * s * (e if sign > 0 else 1.0 - e)
        ty = -0.05 * height * e
        angle = np.radians(1.2) * amp * np.sin(np.pi * e)
    elif m == "orbit":
        a = amp * min(0.7 * room_x * s, 0.9 * room_x)
        tx = sign * a * np.sin(np.pi * (e - 0.5))
        angle = -sign * np.radians(2.5) * amp * (2 * e - 1)
        zoom = 1.06 + 0.05 * np.sin(np.pi * e)
    elif m == "roll":
        angle = sign * np.radians(6.0) * amp * s * e
        zoom = np.full(n, 1.12)
    elif m == "handheld":
        zoom = np.full(n, 1.05)
    if m == "handheld" or camera.move in ("tracking",):
        # Handheld: a few incommensurate slow sines with seeded phases, like a breathing operator.
        rng = np.random.default_rng(seed)
        secs_t = np.arange(n) / fps
        wob = 0.006 * width * (1.0 if m == "handheld" else 0.4) * s
        for axis in (0, 1, 2):
            freqs = rng.uniform(0.25, 1.6, 3)
            phases = rng.uniform(0, 2 * np.pi, 3)
            wobble = sum(
                np.sin(2 * np.pi * f * secs_t + p) / (k + 1) for k, (f, p) in enumerate(zip(freqs, phases))
            )
            if axis == 0:
                tx = tx + wob * wobble
            elif axis == 1:
                ty = ty + wob * wobble
            else:
                angle = angle + np.radians(0.35) * s * wobble
    # the seeded drift: from -d to +d over the move, d at most half the room every frame leaves
    cos, sin = np.abs(np.cos(angle)), np.abs(np.sin(angle))
    free_x = MARGIN * width / 2 - (width * cos + height * sin) / zoom / 2 - np.abs(tx)
    free_y = MARGIN * height / 2 - (width * sin + height * cos) / zoom / 2 - np.abs(ty)
    tx = tx + drift[0] * 0.5 * max(0.0, float(free_x.min())) * (2 * e - 1)
    ty = ty + drift[1] * 0.5 * max(0.0, float(free_y.min())) * (2 * e - 1)
    return CameraPath(tx.astype(np.float64), ty.astype(np.float64), zoom.astype(np.float64), angle)


def visible_box(
    path: CameraPath, width: int, height: int, canvas_w: int, canvas_h: int
) -> tuple[float, float, float, float]:
    """The canvas rectangle (x0, y0, x1, y1) that every frame of ``path`` shows whole.

    Each frame sees a ``width`` x ``height`` window, zoomed and rolled, centred at the canvas
    centre plus the frame's offset; the largest axis-aligned box of the frame's shape inside
    that window, intersected over all frames, is where a card's text stays in view.
    """
    cx, cy = (canvas_w - 1) / 2 + path.tx, (canvas_h - 1) / 2 + path.ty
    hw, hh = width / (2 * path.zoom), height / (2 * path.zoom)
    c, s = np.abs(np.cos(path.angle)), np.abs(np.sin(path.angle))
    k = np.minimum(hw / (hw * c + hh * s), hh / (hw * s + hh * c))
    bw, bh = k * hw, k * hh
    x0, x1 = float(np.max(cx - bw)), float(np.min(cx + bw))
    y0, y1 = float(np.max(cy - bh)), float(np.min(cy + bh))
    return max(0.0, x0), max(0.0, y0), min(canvas_w - 1.0, x1), min(canvas_h - 1.0, y1)


# ----------------------------------------------------------------------------- pictures


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize (Lanczos) and centre-crop an RGB image to exactly width x height."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    img = Image.fromarray(image).resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - width) // 2, (nh - height) // 2
    return np.asarray(img.crop((left, top, left + width, top + height)).convert("RGB"))


def load_still(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except FileNotFoundError:
        raise MediaError(path, "source image not found") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(path, f"not a readable image ({exc})") from None


def last_frame(path: Path) -> np.ndarray:
    """The last decodable frame of a video, as RGB (for the extend kind)."""
    import av

    frame = None
    try:
        with av.open(str(path)) as container:
            for f in container.decode(video=0):
                frame = f
    except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
        raise MediaError(path, f"cannot decode video ({exc})") from None
    if frame is None:
        raise MediaError(path, "has no video frames")
    return np.asarray(frame.to_ndarray(format="rgb24"))


def _palette(seed: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    hue = float(rng.uniform(0, 1))
    top = colorsys.hsv_to_rgb(hue, 0.55, 0.42)
    bottom = colorsys.hsv_to_rgb((hue + 0.08) % 1, 0.65, 0.12)
    return tuple(int(c * 255) for c in top), tuple(int(c * 255) for c in bottom)  # type: ignore[return-value]


def card_background(width: int, height: int, seed: int) -> np.ndarray:
    """The card's seeded gradient with a soft vignette, without any text."""
    top, bottom = _palette(seed)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    bg = (np.array(top)[None, None, :] * (1 - ramp) + np.array(bottom)[None, None, :] * ramp).astype(
        np.float32
    )
    bg = np.repeat(bg, width, axis=1)
    yy, xx = np.mgrid[0:height, 0:width]
    r = np.hypot((xx - width / 2) / width, (yy - height / 2) / height)
    bg *= (1.0 - 0.5 * np.clip(r, 0, 1) ** 2)[..., None]
    return np.clip(bg, 0, 255).astype(np.uint8)


def _fit_font(draw: Any, text: str, size: int, max_width: float, least: int = 7) -> Any:
    """The default font at ``size`` px, or smaller until ``text`` fits in ``max_width``."""
    from PIL import ImageFont

    while True:
        font = ImageFont.load_default(size=size)
        if size <= least or draw.textlength(text, font=font) <= max_width:
            return font
        size = max(least, int(size * 0.9))


def _wrap(draw: Any, text: str, font: Any, max_width: float) -> list[str]:
    """Greedy word wrap by measured width; a word wider than the line is cut to fit."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}" if cur else word
        if draw.textlength(trial, font=font) <= max_width:
            cur = trial
            continue
        if cur:
            lines.append(cur)
        while draw.textlength(word, font=font) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and draw.textlength(word[:cut], font=font) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        cur = word
    if cur:
        lines.append(cur)
    return lines or [""]


def _ellipsize(draw: Any, line: str, font: Any, max_width: float) -> str:
    while line and draw.textlength(line + "…", font=font) > max_width:
        line = line[:-1]
    return line + "…"


def title_card(
    width: int,
    height: int,
    *,
    title: str,
    prompt: str,
    note: str,
    seed: int,
    safe: float = 1.0,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """A clean card: gradient background, the shot id large, the prompt wrapped, the camera note.

    Text is laid out inside ``box`` (x0, y0, x1, y1 in card pixels; by default the middle
    ``safe`` share of the card), measured, so no line runs past it: long titles and notes
    get a smaller font, long prompts wrap and end with an ellipsis when they run out of room.
    The animatic passes the box every frame of its camera move shows (``visible_box``).
    """
    from PIL import Image, ImageDraw

    img = Image.fromarray(card_background(width, height, seed))
    draw = ImageDraw.Draw(img)
    if box is None:
        bw, bh = width * safe, height * safe
        box = ((width - bw) / 2, (height - bh) / 2, (width + bw) / 2, (height + bh) / 2)
    bx0, by0, bx1, by1 = box
    box_w, box_h = bx1 - bx0, by1 - by0
    x0 = bx0 + box_w * 0.06
    inner_w = box_w * 0.88
    y = by0 + box_h * 0.08
    bottom = by1 - box_h * 0.06
    big = _fit_font(draw, title, max(10, round(box_h * 0.13)), inner_w)
    small = _fit_font(draw, note, max(7, round(box_h * 0.05)), inner_w) if note else None
    if draw.textlength(title, font=big) > inner_w:  # even the smallest font is too wide: cut it
        title = _ellipsize(draw, title, big, inner_w)
    if small is not None and draw.textlength(note, font=small) > inner_w:
        note = _ellipsize(draw, note, small, inner_w)
    body_px = max(8, round(box_h * 0.06))
    body = _fit_font(draw, "", body_px, inner_w)
    draw.text((x0, y), title, font=big, fill=(255, 255, 255))
    y = draw.textbbox((x0, y), title or " ", font=big)[3] + box_h * 0.05
    draw.line([(x0, y), (x0 + inner_w * 0.33, y)], fill=(255, 200, 90), width=max(1, round(box_h * 0.008)))
    y += box_h * 0.05
    note_top = bottom
    if small is not None:
        nb = draw.textbbox((0, 0), note, font=small)
        note_top = bottom - (nb[3] - nb[1])
        draw.text((x0, note_top - nb[1]), note, font=small, fill=(255, 200, 90))
    line_h = body_px * 1.3
    room = max(0, int((note_top - box_h * 0.03 - y) // line_h))
    lines = _wrap(draw, prompt, body, inner_w)
    if len(lines) > room:
        lines = lines[:room]
        if lines:
            lines[-1] = _ellipsize(draw, lines[-1], body, inner_w)
    for line in lines:
        draw.text((x0, y), line, font=body, fill=(235, 235, 235))
        y += line_h
    return np.asarray(img)


def apply_look(image: np.ndarray, look: dict[str, Any] | None) -> np.ndarray:
    """A style preset's offline look: colour tint, contrast around mid-grey, optional monochrome."""
    if not look:
        return image
    out = image.astype(np.float32)
    if look.get("monochrome"):
        out = np.repeat((out @ np.array([0.2126, 0.7152, 0.0722], np.float32))[..., None], 3, axis=2)
    tint = np.asarray(look.get("tint", (1.0, 1.0, 1.0)), np.float32)
    out = (out - 128.0) * float(look.get("contrast", 1.0)) + 128.0
    return np.clip(out * tint, 0, 255).astype(np.uint8)


class Warper:
    """Samples output frames from a canvas with an affine camera, bilinear, at float precision.

    Coordinates stay in float64 (a 0.01 px step is kept, not rounded away). Without roll
    the warp is separable, so rows are blended first and columns second, about three
    times less work than the general path that gathers four neighbours per pixel.
    """

    def __init__(self, canvas: np.ndarray, width: int, height: int) -> None:
        self.ch, self.cw = canvas.shape[:2]
        # one edge pixel of padding right and below: x0 + 1 and y0 + 1 always exist
        padded = np.pad(np.asarray(canvas, dtype=np.float32), ((0, 1), (0, 1), (0, 0)), mode="edge")
        self.canvas = np.ascontiguousarray(padded)
        self.stride = self.cw + 1
        self.flat = self.canvas.reshape(-1, 3)
        self.width, self.height = width, height
        self.u = np.arange(width, dtype=np.float64) - (width - 1) / 2
        self.v = np.arange(height, dtype=np.float64) - (height - 1) / 2

    def frame(self, tx: float, ty: float, zoom: float, angle: float) -> np.ndarray:
        if angle == 0.0:
            return self._separable(tx, ty, zoom)
        return self._general(tx, ty, zoom, angle)

    def _centre(self, tx: float, ty: float) -> tuple[float, float]:
        return (self.cw - 1) / 2 + tx, (self.ch - 1) / 2 + ty

    def _separable(self, tx: float, ty: float, zoom: float) -> np.ndarray:
        cx, cy = self._centre(tx, ty)
        x = np.clip(cx + self.u / zoom, 0, self.cw - 1)
        y = np.clip(cy + self.v / zoom, 0, self.ch - 1)
        x0, y0 = x.astype(np.int64), y.astype(np.int64)
        fx = (x - x0).astype(np.float32)[None, :, None]
        fy = (y - y0).astype(np.float32)[:, None, None]
        top, bottom = self.canvas[y0], self.canvas[y0 + 1]
        rows = top + (bottom - top) * fy
        left, right = rows[:, x0], rows[:, x0 + 1]
        out = left + (right - left) * fx
        return _to_uint8(out)

    def _general(self, tx: float, ty: float, zoom: float, angle: float) -> np.ndarray:
        c, s = math.cos(angle) / zoom, math.sin(angle) / zoom
        cx, cy = self._centre(tx, ty)
        u, v = self.u[None, :], self.v[:, None]
        x = np.clip(cx + c * u - s * v, 0, self.cw - 1)
        y = np.clip(cy + s * u + c * v, 0, self.ch - 1)
        x0, y0 = x.astype(np.int64), y.astype(np.int64)
        fx = (x - x0).astype(np.float32)[..., None]
        fy = (y - y0).astype(np.float32)[..., None]
        idx = y0 * self.stride + x0
        f = self.flat
        a, b = f[idx], f[idx + 1]
        top = a + (b - a) * fx
        a, b = f[idx + self.stride], f[idx + self.stride + 1]
        bottom = a + (b - a) * fx
        return _to_uint8(top + (bottom - top) * fy)


def film_grain(frame: np.ndarray, seed: int, index: int, strength: float) -> np.ndarray:
    """``frame`` with seeded luma grain of ``strength`` levels; the grain is 2x2 pixels, like film's clumps."""
    if strength <= 0:
        return frame
    h, w = frame.shape[:2]
    rng = np.random.default_rng([seed % 2**32, index, 0x6A])
    g = rng.standard_normal(((h + 1) // 2, (w + 1) // 2), dtype=np.float32) * strength
    g = np.repeat(np.repeat(g, 2, axis=0), 2, axis=1)[:h, :w, None]
    out = frame.astype(np.float32)
    out += g
    return _to_uint8(out)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    x += 0.5
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


# ----------------------------------------------------------------------------- sound


def _seed_of(text: str, seed: int | None) -> int:
    h = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(h[:8], "little")


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    """One-pole low-pass along axis 0 (vectorized by filtering in the frequency domain)."""
    n = len(x)
    spec = np.fft.rfft(x, axis=0)
    freqs = np.fft.rfftfreq(n)
    resp = alpha / (1 - (1 - alpha) * np.exp(-2j * np.pi * freqs))
    return np.fft.irfft(spec * (resp[:, None] if x.ndim > 1 else resp), n=n, axis=0)


def audio_bed(duration: float, seed: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A soft room-tone bed: low-passed pink-ish noise and a quiet slow pad, around -32 dBFS."""
    n = max(1, round(duration * rate))
    rng = np.random.default_rng(seed)
    noise = _lowpass(rng.standard_normal((n, 2)), 0.02)
    noise /= max(1e-9, float(np.sqrt(np.mean(noise**2))))
    t = np.arange(n) / rate
    root = 110.0 * 2 ** (int(rng.integers(0, 7)) / 12)
    pad = sum(np.sin(2 * np.pi * root * r * t + rng.uniform(0, 6)) for r in (1.0, 1.5, 2.0))
    pad = pad * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
    mono = 0.018 * pad / 3
    out = 0.012 * noise + np.stack([mono, mono], axis=1)
    return _fade(out, rate, 0.05)


def synth_sfx(prompt: str, duration: float, seed: int | None, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A sound effect from the words of its prompt: impacts, whooshes, horns, bells, else a swell."""
    n = max(1, round(duration * rate))
    rng = np.random.default_rng(_seed_of(prompt, seed))
    t = np.arange(n) / rate
    words = prompt.lower()
    mono: np.ndarray
    if any(w in words for w in ("boom", "impact", "hit", "thud", "explosion", "door")):
        body = np.sin(2 * np.pi * (55 + 30 * np.exp(-t * 8)) * t) * np.exp(-t * 4)
        click = _lowpass(rng.standard_normal(n), 0.2) * np.exp(-t * 40)
        mono = 0.8 * body + 0.4 * click
    elif any(w in words for w in ("horn", "foghorn", "drone", "hum")):
        env = np.clip(t / 0.15, 0, 1) * np.clip((duration - t) / 0.4, 0, 1)
        mono = env * np.sum([np.sin(2 * np.pi * 98 * k * t) / k for k in range(1, 6)], axis=0) * 0.35
    elif any(w in words for w in ("bell", "chime", "ding")):
        base = float(rng.uniform(500, 900))
        mono = np.sum(
            [np.sin(2 * np.pi * base * r * t) * np.exp(-t * (2 + r)) for r in (1.0, 2.76, 5.4)], axis=0
        )
        mono = mono * 0.3
    else:  # whoosh, wind, swell: band-limited noise rising and falling
        env = np.sin(np.pi * np.clip(t / max(duration, 1e-3), 0, 1)) ** 2
        mono = _lowpass(rng.standard_normal(n), float(rng.uniform(0.03, 0.12))) * env * 2.5
    mono = mono / max(1e-9, float(np.max(np.abs(mono)))) * 0.5  # peak -6 dBFS
    pan = float(rng.uniform(-0.3, 0.3))
    out = np.stack([mono * (1 - pan), mono * (1 + pan)], axis=1) / (1 + abs(pan))
    return _fade(out, rate, 0.01)


def synth_music(duration: float, seed: int | None, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A quiet music bed: a slow I-V-vi-IV pad with soft attacks, peaking at -12 dBFS."""
    n = max(1, round(duration * rate))
    rng = np.random.default_rng(seed)
    root = 220.0 * 2 ** (int(rng.integers(-3, 4)) / 12)
    chords = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))
    bar = 2.0 + float(rng.uniform(0, 1))  # seconds per chord
    out = np.zeros(n)
    for i in range(int(np.ceil(duration / bar))):
        start = round(i * bar * rate)
        seg = np.arange(min(n - start, round((bar + 0.6) * rate))) / rate
        env = np.minimum(seg / 0.5, 1.0) * np.exp(-np.maximum(seg - bar, 0) / 0.2)
        for semis in chords[i % 4]:
            f = root * 2 ** (semis / 12)
            out[start : start + len(seg)] += env * (
                np.sin(2 * np.pi * f * seg) + 0.3 * np.sin(4 * np.pi * f * seg)
            )
    out = out / max(1e-9, float(np.max(np.abs(out)))) * 0.25
    return _fade(np.stack([out, out], axis=1), rate, 0.5)


def _fade(x: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    k = min(len(x) // 2, round(seconds * rate))
    if k:
        ramp = np.linspace(0, 1, k)[:, None]
        x[:k] *= ramp
        x[-k:] *= ramp[::-1]
    return x


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1] if pcm.ndim > 1 else 1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class AnimaticSpec:
    width: int
    height: int
    fps: Fraction
    duration: float
    camera: CameraMove | None
    seed: int
    audio: str = "bed"  # "bed" or "silence"
    grain: float = GRAIN  # film grain strength, in 8-bit levels (standard deviation); 0 for none

    @property
    def frames(self) -> int:
        return max(1, round(self.duration * self.fps))


def render_animatic(still: np.ndarray, spec: AnimaticSpec, output: Path) -> Path:
    """Animate ``still`` with ``spec.camera`` into an H.264/AAC mp4 at ``output`` (atomically)."""
    canvas = cover(still, round(spec.width * MARGIN), round(spec.height * MARGIN))
    warper = Warper(canvas, spec.width, spec.height)
    path = camera_path(spec.camera, spec.frames, spec.width, spec.height, spec.seed, float(spec.fps))
    seconds = spec.frames / spec.fps
    if spec.audio == "silence":
        samples = np.zeros((round(float(seconds) * SAMPLE_RATE), 2))
    else:
        samples = audio_bed(float(seconds), spec.seed)
    fps = f"{spec.fps.numerator}/{spec.fps.denominator}"
    with (
        atomic_output(output, overwrite=True) as tmp,
        tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.stem}.", suffix=".part.d") as wd,
    ):
        wav = Path(wd) / "bed.wav"
        write_wav(wav, samples)
        argv = [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{spec.width}x{spec.height}",
            "-framerate",
            fps,
            "-i",
            "pipe:0",
            "-i",
            str(wav),
            "-map",
            "0:v",
            "-map",
            "1:a",
            *ENCODE.video_args(float(spec.fps)),
            *BT709_TAGS,
            *ENCODE.audio_args(),
            *ENCODE.container_args(str(output)),
            "-f",
            "mp4",
            str(tmp),
        ]
        frames = (
            film_grain(warper.frame(*p), spec.seed, i, spec.grain)
            for i, p in enumerate(zip(path.tx, path.ty, path.zoom, path.angle))
        )
        _pipe_frames(argv, frames)
    return output


def _pipe_frames(argv: list[str], frames: Any) -> None:
    tail: deque[str] = deque(maxlen=20)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        assert proc.stdin is not None
        try:
            for frame in frames:
                proc.stdin.write(frame.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        rc = proc.wait()
        if rc != 0:
            err.seek(0)
            tail.extend(err.read().decode("utf-8", "replace").splitlines())
            raise FFmpegError(f"ffmpeg failed (exit {rc}) encoding the animatic", argv, "\n".join(tail))


# ----------------------------------------------------------------------------- the provider


class LocalProvider(Provider):
    """Offline animatics; see the module docstring. ``workdir`` keeps renders by task id."""

    name = "local"
    cost_unit = "credits"
    idempotent_submit = True  # the task id is derived from the request; a re-render is free

    def __init__(self, workdir: str | Path | None = None, render_delay: float = 0.0) -> None:
        self._workdir = Path(workdir) if workdir else None
        self.render_delay = render_delay  # simulated service latency, for demos and tests

    @property
    def workdir(self) -> Path:
        """Created on first use, so planning and checking a storyboard write nothing."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="shotline-local-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    def capabilities(self) -> Capabilities:
        return Capabilities(
            kinds=frozenset(KINDS),
            models={MODEL: {"kinds": sorted(k.value for k in KINDS), "duration": [0.1, 60.0]}},
            needs_key=None,
            poll_interval=0.05,
            max_concurrency=max(1, (os.cpu_count() or 2)),
        )

    def validate(self, request: GenerationRequest) -> None:
        where = f"shot '{request.shot_id}'"
        if request.model not in (MODEL, "", None):
            raise UsageError(f"{where}: the local provider has one model, {MODEL!r}; got {request.model!r}")
        if request.kind not in KINDS:
            kinds = ", ".join(sorted(k.value for k in KINDS))
            raise UsageError(f"{where}: the local provider cannot do {request.kind.value} (it does: {kinds})")
        if not 0 < request.duration <= 60:
            raise UsageError(f"{where}: duration must be between 0 and 60 s, got {request.duration}")
        w, h = request.width or 640, request.height or 360
        if w % 2 or h % 2 or w < 16 or h < 16:
            raise UsageError(f"{where}: frame size must be even and at least 16x16, got {w}x{h}")
        if request.kind == ShotKind.IMAGE_TO_VIDEO:
            if request.source_image is None:
                raise UsageError(f"{where}: image-to-video needs a source image")
            if not Path(request.source_image).is_file():
                raise MediaError(request.source_image, "source image not found")
        if request.kind == ShotKind.EXTEND:
            if request.source_video is None or not Path(request.source_video).is_file():
                raise MediaError(request.source_video or "(none)", "extend needs an existing source video")
        if request.camera:
            parse_camera(request.camera)

    def estimate_cost(self, request: GenerationRequest) -> float:
        return 0.0

    def task_id(self, request: GenerationRequest) -> str:
        """Derived from everything that shapes the output, source file contents included."""
        fields = {
            "kind": request.kind.value,
            "prompt": request.prompt,
            "duration": request.duration,
            "seed": request.seed,
            "camera": request.camera,
            "fps": request.fps,
            "size": [request.width, request.height],
            "shot": request.shot_id,
            "take": request.take,
            "options": {k: request.options[k] for k in sorted(request.options)},
        }
        h = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
        for src in (request.source_image, request.source_video):
            if src is not None:
                h.update(file_checksum(Path(src)).encode())
        return "local-" + h.hexdigest()[:24]

    def _output(self, task_id: str) -> Path | None:
        for suffix in (".mp4", ".wav", ".png"):
            p = self.workdir / f"{task_id}{suffix}"
            if p.is_file():
                return p
        return None

    def find_task(self, request: GenerationRequest) -> str | None:
        tid = self.task_id(request)
        return tid if self._output(tid) else None

    def submit(self, request: GenerationRequest) -> str:
        self.validate(request)
        tid = self.task_id(request)
        if self._output(tid) is None:
            if self.render_delay:
                time.sleep(self.render_delay)
            render_request(request, self.workdir / tid)
        return tid

    def poll(self, task_id: str) -> TaskStatus:
        out = self._output(task_id)
        if out is None:
            return TaskStatus(task_id, TaskState.FAILED, failure="unknown local task", raw_state="MISSING")
        return TaskStatus(task_id, TaskState.SUCCEEDED, 1.0, (out.resolve().as_uri(),), 0.0, raw_state="DONE")

    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        src = self._output(status.task_id)
        if src is None:
            raise ProviderError(f"local task {status.task_id} has no output")
        dest = Path(dest).with_suffix(src.suffix)
        with atomic_output(dest, overwrite=True) as tmp:
            shutil.copyfile(src, tmp)
        return dest


def render_request(request: GenerationRequest, stem: Path) -> Path:
    """Render one request to ``stem`` + the suffix its kind calls for; returns the path."""
    width, height = request.width or 640, request.height or 360
    fps = Fraction(request.fps).limit_denominator(1001) if request.fps else Fraction(24)
    seed = request.seed if request.seed is not None else _seed_of(request.shot_id, request.take) % 2**31
    camera = parse_camera(request.camera) if request.camera else None
    look = request.options.get("look")
    if request.kind == ShotKind.SOUND_EFFECT:
        out = stem.with_suffix(".wav")
        with atomic_output(out, overwrite=True) as tmp:
            if request.options.get("role") == "music":
                write_wav(tmp, synth_music(request.duration, request.seed))
            else:
                write_wav(tmp, synth_sfx(request.prompt, request.duration, request.seed))
        return out
    note = f"camera: {camera.note()}" if camera else "camera: static"
    if request.kind == ShotKind.IMAGE_TO_VIDEO:
        assert request.source_image is not None
        still = load_still(Path(request.source_image))
    elif request.kind == ShotKind.EXTEND:
        assert request.source_video is not None
        still = last_frame(Path(request.source_video))
    else:
        still = card_for(request, camera, width, height, fps, seed, note)
    still = apply_look(still, look)
    if request.kind == ShotKind.TEXT_TO_IMAGE:
        from PIL import Image

        out = stem.with_suffix(".png")
        with atomic_output(out, overwrite=True) as tmp:
            Image.fromarray(cover(still, width, height)).save(tmp, format="PNG")
        return out
    spec = AnimaticSpec(
        width, height, fps, request.duration, camera, seed, request.options.get("audio", "bed")
    )
    return render_animatic(still, spec, stem.with_suffix(".mp4"))


def card_for(
    request: GenerationRequest,
    camera: CameraMove | None,
    width: int,
    height: int,
    fps: Fraction,
    seed: int,
    note: str,
) -> np.ndarray:
    """The title card of a text-to-video (laid out larger than the frame, text where every frame
    of the move sees it) or text-to-image (the frame itself) request."""
    title = f"{request.shot_id} · take {request.take}"
    prompt = request.options.get("card") or request.prompt
    if request.kind == ShotKind.TEXT_TO_IMAGE:
        return title_card(
            width, height, title=title, prompt=prompt, note=f"{note} · seed {seed}", seed=seed, safe=0.92
        )
    cw, ch = round(width * MARGIN), round(height * MARGIN)
    frames = max(1, round(request.duration * fps))
    box = visible_box(camera_path(camera, frames, width, height, seed, float(fps)), width, height, cw, ch)
    return title_card(cw, ch, title=title, prompt=prompt, note=f"{note} · seed {seed}", seed=seed, box=box)
