from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.ops.lut import apply_lut, read_cube

Fn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def write_cube(path: Path, size: int, fn: Fn, one_d: bool = False) -> Path:
    """A .cube file: red varies fastest, then green, then blue (the format's order)."""
    lines = ['TITLE "synth"', f"LUT_{'1D' if one_d else '3D'}_SIZE {size}"]
    g = np.linspace(0.0, 1.0, size)
    if one_d:
        r, gg, b = fn(g, g, g)
    else:
        B, G, R = np.meshgrid(g, g, g, indexing="ij")
        r, gg, b = (x.ravel() for x in fn(R.ravel(), G.ravel(), B.ravel()))
    lines += [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in zip(r, gg, b)]
    path.write_text("\n".join(lines) + "\n")
    return path


def rgb(path: Path, index: int = 3) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24").astype(np.float32)
    raise AssertionError


def test_identity_invert_and_channel_swap(clips, out: Path):
    src = clips(duration=0.5, source="smptebars")
    ref = rgb(src)
    ident = apply_lut(src, out / "i.mp4", write_cube(out / "identity.cube", 17, lambda r, g, b: (r, g, b)))
    assert np.abs(rgb(ident.output) - ref).mean() < 2.5
    inv = apply_lut(
        src, out / "n.mp4", write_cube(out / "invert.cube", 17, lambda r, g, b: (1 - r, 1 - g, 1 - b))
    )
    assert np.abs(rgb(inv.output) - (255 - ref)).mean() < 3
    swap = apply_lut(src, out / "s.mp4", write_cube(out / "swap.cube", 17, lambda r, g, b: (b, g, r)))
    assert np.abs(rgb(swap.output) - ref[..., ::-1]).mean() < 3
    assert inv.cube.kind == "3d" and inv.cube.size == 17 and inv.duration == pytest.approx(0.5, abs=0.05)


def test_1d_lut_strength_and_awkward_lut_name(clips, out: Path):
    src = clips(duration=0.5, source="smptebars", audio="mono")
    weird = out / "look: 'teal' 50% [v2],ü.cube"
    cube = write_cube(weird, 1024, lambda r, g, b: (1 - r, 1 - g, 1 - b), one_d=True)
    assert read_cube(cube).kind == "1d"
    half = apply_lut(src, out / "h.mp4", cube, strength=0.5)
    assert np.abs(rgb(half.output) - 127.5).mean() < 3  # halfway between a picture and its negative
    assert rgb(half.output).std() < 4


def test_10bit_source(clips, out: Path):
    src = clips(duration=0.3, source="smptebars", pix_fmt="yuv420p10le", audio=None)
    res = apply_lut(src, out / "t.mp4", write_cube(out / "id.cube", 9, lambda r, g, b: (r, g, b)))
    with av.open(str(res.output)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert rgb(res.output, 0).mean() > 50


@pytest.mark.parametrize(
    "body, problem",
    [
        ("LUT_3D_SIZE 2\n0 0 0\n1 1 1\n", "needs 8 entries, found 2"),
        ("LUT_3D_SIZE 2\n" + "0 0 x\n" * 8, "line 2: expected three numbers"),
        ("0 0 0\n", "table data before"),
        ("hello world\n", "unknown keyword"),
        ('TITLE "x"\n', "no LUT_3D_SIZE"),
        ("LUT_3D_SIZE 999\n", "outside 2..256"),
    ],
)
def test_bad_cube_files_named(clips, out: Path, body: str, problem: str):
    cube = out / "bad.cube"
    cube.write_text(body)
    with pytest.raises(MediaError, match=problem) as exc:
        apply_lut(clips(), out / "x.mp4", cube)
    assert "bad.cube" in str(exc.value)
    assert sorted(p.name for p in out.iterdir()) == ["bad.cube"]


def test_bad_parameters(clips, out: Path):
    cube = write_cube(out / "id.cube", 5, lambda r, g, b: (r, g, b))
    with pytest.raises(UsageError, match="strength"):
        apply_lut(clips(), out / "x.mp4", cube, strength=0)
    with pytest.raises(UsageError, match="interpolation"):
        apply_lut(clips(), out / "x.mp4", cube, interp="cubic-spline")
    with pytest.raises(MediaError, match="no such LUT"):
        apply_lut(clips(), out / "x.mp4", out / "missing.cube")
    with pytest.raises(MediaError, match="binary"):
        (out / "bin.cube").write_bytes(b"\xff\xfe\x00garbage")
        apply_lut(clips(), out / "x.mp4", out / "bin.cube")
    assert not (out / "x.mp4").exists()
