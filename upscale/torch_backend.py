"""Real-ESRGAN in PyTorch: uint8 frames in, uint8 frames out, batched, tiled when asked.

Frames travel as uint8 both ways (a quarter of the bytes of float32), the float conversion,
clamp and rounding happen on the device, and on CUDA the host buffers are pinned so copies are
asynchronous. Tiling cuts the (pre-padded) frame into ``tile``-pixel squares, runs each with
``tile_pad`` pixels of real context around it and keeps only the centre: with a pad at least
the network's receptive radius (18 px for the compact net) the result equals the untiled one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from shotline.core.errors import DependencyError, UsageError
from shotline.upscale.models import LoadedModel

log = logging.getLogger("shotline.upscale")

# Output buffers in flight at most: 3 queued for the encoder, 1 being encoded, 1 being filled.
_RING = 8


@dataclass(frozen=True)
class TorchOptions:
    device: str = "cpu"  # "cpu", "cuda", "cuda:1"
    precision: str = "auto"  # auto (fp16 on CUDA, fp32 on CPU), fp32, fp16, bf16
    tile: int = 0  # 0 = whole frame
    tile_pad: int = 24
    pre_pad: int = 10  # reflect padding around the frame, as the ncnn build does
    channels_last: bool = True
    compile: bool = False  # torch.compile the network (pays off on long CUDA runs)
    threads: int = (
        0  # CPU intra-op threads; 0 = OMP_NUM_THREADS if set, else one core fewer than the machine (min 1)
    )


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DependencyError("--device cuda: this PyTorch build sees no CUDA device; use --device cpu")
    if not device.startswith(("cpu", "cuda")):
        raise UsageError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    return device


# (Kr, Kb) of the Y'CbCr matrices, by swscale name
_KRB = {
    "itu709": (0.2126, 0.0722),
    "itu601": (0.299, 0.114),
    "bt2020": (0.2627, 0.0593),
    "smpte240m": (0.212, 0.087),
    "fcc": (0.30, 0.11),
}


def rgb_to_i420(rgb: torch.Tensor, matrix: str, full_range: bool) -> torch.Tensor:
    """(N, 3, H, W) float RGB in 0..1 (H, W even) -> (N, H*3/2, W) uint8 planar 4:2:0.

    Done on the device so a 4K frame leaves it as 1.5 bytes per pixel and the encoder needs
    no swscale pass. Chroma is the mean of each 2x2 block.
    """
    kr, kb = _KRB.get(matrix, _KRB["itu601"])
    r, g, b = rgb.float().unbind(1)
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    ys, cs = (255.0, 255.0) if full_range else (219.0, 224.0)
    yoff = 0.0 if full_range else 16.0
    n, h, w = y.shape
    cb = F.avg_pool2d(cb.unsqueeze(1), 2).squeeze(1)
    cr = F.avg_pool2d(cr.unsqueeze(1), 2).squeeze(1)
    yq = (y * ys + yoff).round_().clamp_(0, 255).to(torch.uint8)
    cbq = (cb * cs + 128.0).round_().clamp_(0, 255).to(torch.uint8)
    crq = (cr * cs + 128.0).round_().clamp_(0, 255).to(torch.uint8)
    out = torch.empty((n, h * 3 // 2, w), dtype=torch.uint8, device=rgb.device)
    out[:, :h] = yq
    out[:, h:].view(n, -1)[:, : cbq[0].numel()] = cbq.reshape(n, -1)
    out[:, h:].view(n, -1)[:, cbq[0].numel() :] = crq.reshape(n, -1)
    return out


class TorchUpscaler:
    """Callable on (N, H, W, 3) uint8 RGB arrays; returns (N, H*s, W*s, 3) uint8 RGB, or,
    after :meth:`output_i420`, (N, H'*3/2, W') planar 4:2:0 with H', W' rounded down to even."""

    def __init__(self, model: LoadedModel, options: TorchOptions | None = None) -> None:
        self.options = opts = options or TorchOptions()
        self.model = model
        self.scale = model.scale
        self.device = torch.device(resolve_device(opts.device))
        cuda = self.device.type == "cuda"
        if not cuda and (opts.threads or not os.environ.get("OMP_NUM_THREADS")):
            # Leave a core to the decode and encode threads: OpenMP threads that find their
            # cores busy spin, and on a 2-core machine 2 threads ran 6x slower than 1.
            torch.set_num_threads(opts.threads or max(1, (os.cpu_count() or 2) - 1))
        prec = opts.precision if opts.precision != "auto" else ("fp16" if cuda else "fp32")
        self.dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[prec]
        self.precision = prec
        net = model.net.to(self.device, self.dtype).eval()
        if opts.channels_last:
            net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.net = torch.compile(net) if opts.compile else net
        self.cuda = cuda
        self.i420: tuple[str, bool] | None = None
        self._buffers: dict[tuple[str, tuple[int, ...]], list[torch.Tensor]] = {}
        self._turn: dict[tuple[str, tuple[int, ...]], int] = {}
        if cuda:
            torch.backends.cudnn.benchmark = True

    def output_i420(self, matrix: str, full_range: bool) -> None:
        """Return encoder-ready planar 4:2:0 in the given matrix and range instead of RGB."""
        self.i420 = (matrix, full_range)

    def describe(self) -> str:
        tile = f"tile {self.options.tile}+{self.options.tile_pad}" if self.options.tile else "no tiling"
        return f"torch {torch.__version__} on {self.device} ({self.precision}, {tile})"

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = self.run_tensor(self.upload(frames))
        if not self.cuda:
            return out.numpy()
        host = self._pinned("out", out.shape, _RING)
        host.copy_(out, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return host.numpy()

    def upload(self, frames: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(frames))
        if self.cuda:
            staged = self._pinned("in", tuple(t.shape), 1)  # reused: the copy ends before the next call
            staged.copy_(t)
            t = staged.to(self.device, non_blocking=True)
        return t

    def _pinned(self, role: str, shape: tuple[int, ...], ring: int) -> torch.Tensor:
        """Page-locked host buffers, allocated once per shape and reused round-robin.

        Output buffers go to the encoder thread, which may still hold a few while the next
        batch runs: the ring is longer than the queues between the stages can hold.
        """
        key = (role, tuple(shape))
        bufs = self._buffers.get(key)
        if bufs is None:
            bufs = self._buffers[key] = [
                torch.empty(shape, dtype=torch.uint8, pin_memory=True) for _ in range(ring)
            ]
        self._turn[key] = (self._turn.get(key, -1) + 1) % ring
        return bufs[self._turn[key]]

    @torch.inference_mode()
    def run_tensor(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) uint8 on the device -> (N, H*s, W*s, 3) uint8 on the device."""
        n, h, w, _ = frames.shape
        x = frames.permute(0, 3, 1, 2).to(self.dtype).div_(255.0)
        pad = min(self.options.pre_pad, h - 1, w - 1)
        if pad > 0:
            x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        if self.options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.forward_tiled(x) if self.options.tile else self.net(x)
        if self.model.post_scale:
            y = F.interpolate(
                y.float(), scale_factor=self.model.post_scale, mode="bicubic", align_corners=False
            )
        s = self.scale
        if pad > 0:
            y = y[:, :, pad * s : pad * s + h * s, pad * s : pad * s + w * s]
        if self.i420 is not None:
            y = y[:, :, : y.shape[2] // 2 * 2, : y.shape[3] // 2 * 2].clamp(0, 1)
            return rgb_to_i420(y, *self.i420)
        y = y.clamp_(0, 1).mul_(255.0).round_().to(torch.uint8)
        return y.permute(0, 2, 3, 1).contiguous()

    def forward_tiled(self, x: torch.Tensor) -> torch.Tensor:
        tile, tpad = self.options.tile, self.options.tile_pad
        s = self.model.arch.scale
        n, c, h, w = x.shape
        out = torch.empty((n, c, h * s, w * s), dtype=x.dtype, device=x.device)
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                py0, px0 = max(y0 - tpad, 0), max(x0 - tpad, 0)
                py1, px1 = min(y1 + tpad, h), min(x1 + tpad, w)
                piece = self.net(x[:, :, py0:py1, px0:px1])
                oy, ox = (y0 - py0) * s, (x0 - px0) * s
                out[:, :, y0 * s : y1 * s, x0 * s : x1 * s] = piece[
                    :, :, oy : oy + (y1 - y0) * s, ox : ox + (x1 - x0) * s
                ]
        return out
