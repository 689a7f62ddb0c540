"""The two Real-ESRGAN networks, written out here with the official state-dict key names.

``RRDBNet`` (RealESRGAN_x4plus, x4plus_anime_6B, x2plus) and ``SRVGGNetCompact``
(realesr-animevideov3, realesr-general-x4v3) are small, plain PyTorch modules. shotline
carries them instead of depending on the ``realesrgan``/``basicsr`` packages, which no longer
import on current torchvision and pull in face-restoration extras. Because the parameter
names match the originals exactly, an official ``.pth`` a user already has (with its
``params_ema`` or ``params`` wrapper) loads unchanged: see :func:`build_from_state_dict`.

The definitions follow the BSD-3 licensed originals (xinntao/Real-ESRGAN, XPixelGroup/BasicSR).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs with dense connections; output scaled by 0.2 and added to the input."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks and a 0.2-scaled skip."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator. Scale 4 natively; scale 2 and 1 pixel-unshuffle the input first."""

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        self.scale = scale
        if scale == 2:
            num_in_ch *= 4
        elif scale == 1:
            num_in_ch *= 16
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 2:
            feat = F.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            feat = F.pixel_unshuffle(x, 4)
        else:
            feat = x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """A VGG-style stack of 3x3 convs and PReLUs, pixel shuffle, plus the nearest-upsampled input."""

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = "prelu",
    ) -> None:
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList()
        self.body.append(nn.Conv2d(num_in_ch, num_feat, 3, 1, 1))
        self.body.append(_activation(act_type, num_feat))
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(_activation(act_type, num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "lrelu":
        return nn.LeakyReLU(negative_slope=0.1, inplace=True)
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"unknown activation {act_type!r}")


@dataclass(frozen=True)
class ArchSpec:
    """What a state dict says about its network: enough to rebuild it."""

    arch: str  # "RRDBNet" or "SRVGGNetCompact"
    scale: int
    num_feat: int
    depth: int  # RRDB blocks, or compact convs
    num_grow_ch: int = 32
    act_type: str = "prelu"

    def build(self) -> nn.Module:
        if self.arch == "RRDBNet":
            return RRDBNet(3, 3, self.scale, self.num_feat, self.depth, self.num_grow_ch)
        return SRVGGNetCompact(3, 3, self.num_feat, self.depth, self.scale, self.act_type)


def count_flops(net: nn.Module, height: int, width: int) -> float:
    """Floating-point operations (2 x multiply-adds of every convolution) for one frame of this size.

    Counted with forward hooks on a real forward pass on the meta device, so it follows the
    network as written (pixel unshuffle, upsampling) instead of a hand-derived formula.
    """
    total = 0.0

    def hook(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(mod, nn.Conv2d)
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += 2.0 * mod.in_channels * k * out.shape[1] * out.shape[2] * out.shape[3] / mod.groups

    meta = copy.deepcopy(net).to("meta")
    handles = [m.register_forward_hook(hook) for m in meta.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            meta(torch.empty(1, 3, height, width, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


def unwrap(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The bare state dict from an official checkpoint (``params_ema`` preferred, then ``params``)."""
    for key in ("params_ema", "params", "state_dict"):
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping):
            return dict(inner)
    return dict(checkpoint)


_BODY_CONV = re.compile(r"^body\.(\d+)\.weight$")


def detect(state: Mapping[str, torch.Tensor]) -> ArchSpec:
    """Recognise RRDBNet or SRVGGNetCompact from key names and tensor shapes.

    Raises ValueError when the state dict is neither.
    """
    if "conv_first.weight" in state and "conv_last.weight" in state:
        in_ch = int(state["conv_first.weight"].shape[1])
        scale = {3: 4, 12: 2, 48: 1}.get(in_ch)
        if scale is None:
            raise ValueError(f"RRDBNet with {in_ch} input channels is not a 3-channel image model")
        blocks = {int(k.split(".")[1]) for k in state if k.startswith("body.") and ".rdb1." in k}
        return ArchSpec(
            "RRDBNet",
            scale,
            num_feat=int(state["conv_first.weight"].shape[0]),
            depth=len(blocks),
            num_grow_ch=int(state["body.0.rdb1.conv1.weight"].shape[0]),
        )
    conv_idx = sorted(int(m.group(1)) for k in state if (m := _BODY_CONV.match(k)) and state[k].ndim == 4)
    if conv_idx and conv_idx[0] == 0:
        last = state[f"body.{conv_idx[-1]}.weight"]
        scale = math.isqrt(int(last.shape[0]) // 3)
        if scale * scale * 3 != int(last.shape[0]):
            raise ValueError("compact network whose last conv is not 3*scale^2 channels")
        prelu = "body.1.weight" in state
        return ArchSpec(
            "SRVGGNetCompact",
            scale,
            num_feat=int(state["body.0.weight"].shape[0]),
            depth=len(conv_idx) - 2,
            act_type="prelu" if prelu else "lrelu",
        )
    raise ValueError("not a Real-ESRGAN state dict (neither RRDBNet nor SRVGGNetCompact keys)")


def build_from_state_dict(checkpoint: Mapping[str, Any]) -> tuple[nn.Module, ArchSpec]:
    """Rebuild the network a checkpoint describes and load it strictly (every key must match)."""
    state = unwrap(checkpoint)
    spec = detect(state)
    net = spec.build()
    net.load_state_dict(state, strict=True)
    return net.eval(), spec
