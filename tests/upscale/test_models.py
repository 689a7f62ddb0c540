"""Networks, weight conversion, registry, tiling and the torch/ncnn agreement (no video I/O)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")


from shotline.core.errors import MediaError, UsageError  # noqa: E402
from shotline.core.vocab import sha256_file as sha256  # noqa: E402
from shotline.upscale import models  # noqa: E402
from shotline.upscale.arch import RRDBNet, SRVGGNetCompact, build_from_state_dict, count_flops, detect  # noqa: E402
from shotline.upscale.ncnn_convert import convert, parse_param, read_bin, wheel_model_dir  # noqa: E402
from shotline.upscale.torch_backend import TorchOptions, TorchUpscaler  # noqa: E402
from tests.upscale.conftest import needs_ncnn, needs_weights  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def sample_frame(h: int = 36, w: int = 64, seed: int = 0) -> np.ndarray:
    """A frame with smooth gradients, hard edges and noise: what a shot has."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 4) % 256, (y * 7) % 256, ((x + y) * 3) % 256], -1).astype(np.float64)
    img[h // 3 : h // 2, w // 4 : w // 2] = (250, 20, 40)
    img += np.random.default_rng(seed).normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@needs_weights
def test_converted_weights_match_pinned_checksums_and_cache() -> None:
    for spec in models.MODELS.values():
        for stem in set(spec.ncnn_stem.values()):
            first = convert(stem)
            assert first.source_sha256 == spec.source_sha256
            assert first.sha256 == spec.pth_sha256 == sha256(first.path)
            again = convert(stem)
            assert not again.fresh and again.path == first.path
            meta = json.loads(first.path.with_suffix(".json").read_text())
            assert meta["sha256"] == first.sha256 and meta["source_sha256"] == spec.source_sha256


@needs_weights
def test_corrupted_cache_is_converted_again() -> None:
    conv = convert("realesr-animevideov3-x4")
    conv.path.write_bytes(conv.path.read_bytes()[:-10] + b"0123456789")
    again = convert("realesr-animevideov3-x4")
    assert again.fresh and sha256(again.path) == models.MODELS["animevideov3"].pth_sha256


@needs_weights
def test_converter_rejects_a_truncated_bin(tmp_path) -> None:
    src = wheel_model_dir()
    (tmp_path / "m.param").write_bytes((src / "realesr-animevideov3-x4.param").read_bytes())
    (tmp_path / "m.bin").write_bytes((src / "realesr-animevideov3-x4.bin").read_bytes()[:-100])
    with pytest.raises(MediaError, match="shorter"):
        read_bin(tmp_path / "m.bin", parse_param(tmp_path / "m.param"))


@needs_weights
def test_ncnn_layouts_map_onto_official_architectures() -> None:
    x2 = parse_param(wheel_model_dir() / "realesr-animevideov3-x2.param")
    x3 = parse_param(wheel_model_dir() / "realesr-animevideov3-x3.param")
    assert (x2.post_scale, x3.post_scale) == (0.5, 0.75)
    loaded = models.load("x4plus-anime")
    assert loaded.arch.arch == "RRDBNet" and loaded.arch.depth == 6
    assert models.load("animevideov3", 2).scale == 2


def test_official_checkpoint_wrappers_load_unchanged(tmp_path) -> None:
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_conv=4, upscale=2)
    path = tmp_path / "compact.pth"
    torch.save({"params": net.state_dict()}, path)
    loaded = models.load(str(path))
    assert loaded.scale == 2 and loaded.arch.depth == 4
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(loaded.net(x), net.eval()(x))
    rrdb = RRDBNet(scale=2, num_block=1)
    spec = detect({"params_ema": rrdb.state_dict()}["params_ema"])
    assert (spec.arch, spec.scale, spec.depth) == ("RRDBNet", 2, 1)
    built, _ = build_from_state_dict({"params_ema": rrdb.state_dict()})
    assert built(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)
    with pytest.raises(UsageError, match="x2 only"):
        models.load(str(path), 4)


def test_a_file_that_is_not_a_model_is_refused(tmp_path) -> None:
    bad = tmp_path / "notes.pth"
    torch.save({"something": torch.zeros(3)}, bad)
    with pytest.raises(MediaError, match="not a usable Real-ESRGAN model"):
        models.load(str(bad))


def test_registry_errors() -> None:
    with pytest.raises(UsageError, match="unknown model 'x9'"):
        models.lookup("x9")
    with pytest.raises(UsageError, match="offers x4"):
        models.check_scale("x4plus", 2)
    assert models.check_scale("animevideov3", None) == 4


def test_flop_count_matches_published_figure() -> None:
    # 540p in, x4: the x4plus network needs 18.6 TFLOP per frame (6.7 frames/s = 124 TFLOP/s)
    with torch.device("meta"):  # no weights needed to count
        rrdb, compact = RRDBNet(), SRVGGNetCompact()
    assert count_flops(rrdb, 540, 960) == pytest.approx(18.59e12, rel=0.01)
    assert count_flops(compact, 540, 960) == pytest.approx(0.642e12, rel=0.01)


@needs_weights
def test_tiled_equals_untiled_for_the_compact_net() -> None:
    frame = sample_frame()[None]
    whole = TorchUpscaler(models.load("animevideov3"))(frame)
    tiled = TorchUpscaler(models.load("animevideov3"), TorchOptions(tile=16, tile_pad=24))(frame)
    assert whole.shape == tiled.shape == (1, 144, 256, 3)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


@needs_weights
def test_tiled_rrdbnet_agrees_with_untiled() -> None:
    frame = sample_frame(24, 32)[None]
    model = models.load("x4plus-anime")
    whole = TorchUpscaler(model)(frame)
    tiled = TorchUpscaler(model, TorchOptions(tile=16, tile_pad=10))(frame)
    assert psnr(whole, tiled) > 40


@needs_ncnn
@pytest.mark.parametrize(
    "name,scale,h,w",
    [
        ("animevideov3", 4, 36, 64),
        ("animevideov3", 2, 36, 64),
        ("animevideov3", 3, 36, 64),
        ("x4plus", 4, 16, 16),
    ],
)
def test_torch_and_ncnn_agree(name: str, scale: int, h: int, w: int) -> None:
    from shotline.upscale.ncnn_backend import NcnnUpscaler

    frames = np.stack([sample_frame(h, w, 0), sample_frame(h, w, 1)])
    a = TorchUpscaler(models.load(name, scale))(frames)
    b = NcnnUpscaler(name, scale)(frames)
    assert a.shape == b.shape == (2, h * scale, w * scale, 3)
    for i in range(2):
        assert psnr(a[i], b[i]) > 40


@pytest.mark.parametrize(
    "matrix,full", [("itu709", False), ("itu601", False), ("itu709", True), ("bt2020", False)]
)
def test_device_side_i420_matches_swscale(matrix: str, full: bool) -> None:
    import av

    from shotline.upscale.torch_backend import rgb_to_i420

    rgb = sample_frame(36, 64)
    ours = rgb_to_i420(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255, matrix, full)[0].numpy()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    rng = "JPEG" if full else "MPEG"
    ref = frame.reformat(format="yuv420p", dst_colorspace=matrix, src_color_range="JPEG", dst_color_range=rng)
    theirs = ref.to_ndarray()
    assert ours.shape == theirs.shape == (54, 64)
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    assert diff[:36].max() <= 1  # luma
    assert diff[36:].mean() < 1.5  # chroma on a noisy frame: 2x2 mean vs swscale's filter
