"""Synthesize tiny, awkward test media with ffmpeg's lavfi sources, and read frames back.

``make_clip`` caches by parameters inside one directory, so a session builds each
clip once. ``barcode=True`` paints the frame number as a 12-bit barcode along the
top 16 rows (white = 1, left bit = LSB), which ``read_barcodes`` decodes again:
frame-exact assertions without OCR.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotline.core.media.ffmpeg import ffmpeg_path

BARCODE_BITS = 12
BARCODE_ROWS = 16


@dataclass(frozen=True)
class ClipSpec:
    duration: float = 1.0
    width: int = 320
    height: int = 180
    rate: str = "25"
    audio: str | None = "stereo"  # None, "mono", "stereo"
    sample_rate: int = 48000
    pix_fmt: str = "yuv420p"
    sar: str | None = None  # e.g. "4:3"
    vfr: bool = False
    rotation: int = 0
    barcode: bool = False
    source: str = "testsrc2"  # testsrc2, color=c=red, smptebars, mandelbrot...
    codec: str = "libx264"
    container: str = "mp4"
    tone: float = 440.0
    gop: int | None = None


def ffmpeg(*args: str) -> None:
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"fixture ffmpeg failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")


def reencode_h264(
    src: Path, dst: Path, *, gop: int, preset: str = "veryfast", bframes: int | None = None, **x264: str
) -> Path:
    """Re-encode ``src``'s video as H.264 with fixed GOPs of ``gop`` frames (no scene-cut
    keyframes), ``bframes`` B-frames (x264's default when None) and any other x264 options,
    keeping its sound as it is: the GOP structures the smart-render tests need."""
    args = ["-i", str(src), "-c:v", "libx264", "-preset", preset, "-g", str(gop), "-keyint_min", str(gop)]
    args += ["-sc_threshold", "0"] + (["-bf", str(bframes)] if bframes is not None else [])
    if x264:
        args += ["-x264-params", ":".join(f"{k.replace('_', '-')}={v}" for k, v in x264.items())]
    ffmpeg(*args, "-c:a", "copy", str(dst))
    return dst


def build_clip(path: Path, spec: ClipSpec) -> Path:
    src = spec.source
    if "=" in src or ":" in src:
        vsrc = f"{src}:s={spec.width}x{spec.height}:r={spec.rate}:d={spec.duration}"
    else:
        vsrc = f"{src}=s={spec.width}x{spec.height}:r={spec.rate}:d={spec.duration}"
    args = ["-f", "lavfi", "-i", vsrc]
    if spec.audio:
        cl = "mono" if spec.audio == "mono" else "stereo"
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=f={spec.tone}:r={spec.sample_rate}:d={spec.duration},aformat=channel_layouts={cl}",
        ]
    vf = []
    if spec.barcode:
        bits = "+".join(
            f"(gte(X,{i * w})*lt(X,{(i + 1) * w})*mod(floor(N/{2**i}),2))"
            for i, w in [(i, spec.width // BARCODE_BITS) for i in range(BARCODE_BITS)]
        )
        vf.append(f"geq=lum='if(lt(Y,{BARCODE_ROWS}),255*({bits}),lum(X,Y))':cb='cb(X,Y)':cr='cr(X,Y)'")
    if spec.sar:
        vf.append(f"setsar={spec.sar.replace(':', '/')}")
    if spec.vfr:
        # drop frames irregularly and keep their timestamps: real variable frame rate
        vf.append("select='not(eq(mod(n,5),2))*not(eq(mod(n,7),3))'")
    vf.append(f"format={spec.pix_fmt}")
    args += ["-vf", ",".join(vf)]
    if spec.vfr:
        args += ["-fps_mode", "vfr"]
    args += ["-c:v", spec.codec]
    if spec.codec == "libx264":
        args += ["-preset", "ultrafast", "-crf", "18"]
        if spec.gop:
            args += ["-g", str(spec.gop)]
    if spec.audio:
        args += ["-c:a", "aac" if spec.container != "mkv" else "flac", "-shortest"]
    if spec.container == "mp4":
        args += ["-movflags", "+faststart"]
    if spec.rotation:
        tmp = path.with_name(path.stem + ".norot" + path.suffix)
        ffmpeg(*args, str(tmp))
        ffmpeg("-display_rotation", str(spec.rotation), "-i", str(tmp), "-c", "copy", str(path))
        tmp.unlink()
    else:
        ffmpeg(*args, str(path))
    return path


class ClipFactory:
    """Builds clips on demand into one folder, once per parameter set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str | None = None, **kw: object) -> Path:
        spec = ClipSpec(**kw)  # type: ignore[arg-type]
        key = hashlib.sha1(json.dumps(spec.__dict__, sort_keys=True).encode()).hexdigest()[:10]
        fname = name or f"clip-{key}.{spec.container}"
        path = self.root / key / fname
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            build_clip(path, spec)
        return path


def decode_gray(path: Path | str, max_frames: int | None = None) -> list[np.ndarray]:
    """Decode video frames as 8-bit luma arrays (rotation not applied)."""
    import av

    frames = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="gray"))
            if max_frames and len(frames) >= max_frames:
                break
    return frames


def frame_times(path: Path | str) -> list[float]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [float(f.pts * s.time_base) for f in c.decode(s)]


def read_barcode(gray: np.ndarray) -> int | None:
    h, w = gray.shape
    bw = w // BARCODE_BITS
    if h < BARCODE_ROWS:
        return None
    band = gray[2 : BARCODE_ROWS - 2]
    value = 0
    for i in range(BARCODE_BITS):
        cell = band[:, i * bw + 2 : (i + 1) * bw - 2]
        m = float(cell.mean())
        if 60 < m < 190:
            return None  # not a clean barcode (a blend, a slate, black)
        if m >= 190:
            value |= 1 << i
    return value


def read_barcodes(path: Path | str) -> list[int | None]:
    return [read_barcode(g) for g in decode_gray(path)]


def audio_samples(path: Path | str, rate: int = 48000) -> np.ndarray:
    """Decode the first audio stream to mono float32 at ``rate``."""
    cmd = [
        ffmpeg_path(),
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(rate),
        "-f",
        "f32le",
        "-",
    ]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32)
