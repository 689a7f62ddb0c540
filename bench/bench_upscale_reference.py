"""The reference loop the upscale benchmarks compare against.

Shaped like Real-ESRGAN's ``inference_realesrgan_video.py``: ffmpeg decodes to raw BGR24 on a
pipe, every frame goes through ``RealESRGANer.enhance``-style pre/post-processing on the host
(numpy BGR->RGB, float32, reflect pre-pad, one frame per forward, ``.cpu()`` round trip,
clamp, round), and a second ffmpeg encodes raw BGR24 from a pipe, copying the source audio.
The network and encoder settings are the same as shotline's, so only the pipeline differs.

Run alone: ``python bench/bench_upscale_reference.py IN OUT [--device cuda]``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def reference_upscale(
    src: Path,
    dst: Path,
    net: object,
    *,
    scale: int,
    device: str,
    half: bool,
    crf: int = 18,
    preset: str = "veryfast",
) -> int:
    """Upscale ``src`` into ``dst`` the reference way; returns the number of frames."""
    import torch
    from torch.nn import functional as F

    from shotline.core.media.ffmpeg import ffmpeg_path
    from shotline.core.media.probe import probe

    info = probe(src)
    v = info.video
    assert v is not None
    w, h = v.width, v.height
    ff = ffmpeg_path()
    reader = subprocess.Popen(
        [ff, "-v", "error", "-i", str(src), "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:"],
        stdout=subprocess.PIPE,
    )
    rate = f"{v.avg_rate.numerator}/{v.avg_rate.denominator}"
    writer = subprocess.Popen(
        [
            ff, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w * scale}x{h * scale}",
            "-r", rate, "-i", "pipe:", "-i", str(src), "-map", "0:v:0", "-map", "1:a?", "-c:v", "libx264",
            "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "copy", str(dst),
        ],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None and writer.stdin is not None
    model = net.to(device).eval()  # type: ignore[attr-defined]
    if half:
        model = model.half()
    pad = 10
    frames = 0
    with torch.no_grad():
        while True:
            buf = reader.stdout.read(w * h * 3)
            if len(buf) < w * h * 3:
                break
            img = np.frombuffer(buf, np.uint8).reshape(h, w, 3).astype(np.float32) / 255.0
            img = img[:, :, [2, 1, 0]]  # BGR -> RGB on the host, as enhance() does
            t = torch.from_numpy(np.transpose(img, (2, 0, 1)).copy()).float().unsqueeze(0).to(device)
            if half:
                t = t.half()
            t = F.pad(t, (0, pad, 0, pad), mode="reflect")
            out = model(t)[:, :, : h * scale, : w * scale]
            o = out.data.squeeze().float().cpu().clamp_(0, 1).numpy()
            o = np.transpose(o[[2, 1, 0], :, :], (1, 2, 0))
            writer.stdin.write((o * 255.0).round().astype(np.uint8).tobytes())
            frames += 1
    writer.stdin.close()
    writer.wait()
    reader.wait()
    if writer.returncode:
        raise RuntimeError("reference encoder failed")
    return frames


if __name__ == "__main__":
    import argparse

    from shotline.upscale.models import load

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="animevideov3")
    a = p.parse_args()
    m = load(a.model)
    n = reference_upscale(
        a.src, a.dst, m.net, scale=m.scale, device=a.device, half=a.device.startswith("cuda")
    )
    print(f"{n} frames")
