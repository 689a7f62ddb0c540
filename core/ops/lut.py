"""Apply a colour look-up table (.cube) with ffmpeg's lut3d (or lut1d for 1D cubes).

The .cube file is read and checked here first (size, entry count, numbers, domain),
so a broken or truncated LUT fails with a message naming the file and the line,
instead of an ffmpeg error halfway through a render. ``strength`` below 1 blends
the graded picture with the original (a "LUT at 60 %" look).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.plan import Plan, single
from shotline.core.media.probe import probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.media.text import filter_value
from shotline.core.ops.resize import audio_args, require_video

INTERPOLATIONS = ("tetrahedral", "trilinear", "nearest", "pyramid", "prism")


@dataclass(frozen=True)
class CubeInfo:
    path: Path
    kind: str  # "3d" or "1d"
    size: int
    title: str
    domain_min: tuple[float, float, float]
    domain_max: tuple[float, float, float]


def read_cube(path: str | os.PathLike[str]) -> CubeInfo:
    """Validate a .cube file (Adobe/Resolve format) and describe it."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(p, "no such LUT file")
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MediaError(p, "not a text .cube LUT (binary data)") from None
    kind, size, title = "", 0, ""
    dmin, dmax = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    rows = 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        if key == "TITLE":
            title = rest.strip().strip('"')
        elif key in ("LUT_3D_SIZE", "LUT_1D_SIZE"):
            kind = "3d" if key == "LUT_3D_SIZE" else "1d"
            try:
                size = int(rest)
            except ValueError:
                raise MediaError(p, f"line {n}: {key} is not a number") from None
            limit = 256 if kind == "3d" else 65536
            if not 2 <= size <= limit:
                raise MediaError(p, f"line {n}: {key} {size} is outside 2..{limit}")
        elif key in ("DOMAIN_MIN", "DOMAIN_MAX"):
            vals = _floats(p, n, rest)
            if key == "DOMAIN_MIN":
                dmin = vals
            else:
                dmax = vals
        elif key in ("LUT_3D_INPUT_RANGE", "LUT_1D_INPUT_RANGE"):
            lo, hi = (float(x) for x in rest.split())
            dmin, dmax = (lo, lo, lo), (hi, hi, hi)
        elif key[0].isdigit() or key[0] in "-+.":
            if not size:
                raise MediaError(p, f"line {n}: table data before LUT_3D_SIZE / LUT_1D_SIZE")
            _floats(p, n, line)
            rows += 1
        else:
            raise MediaError(p, f"line {n}: unknown keyword {key!r}; is this a .cube LUT?")
    if not size:
        raise MediaError(p, "no LUT_3D_SIZE or LUT_1D_SIZE line; not a .cube LUT")
    want = size**3 if kind == "3d" else size
    if rows != want:
        raise MediaError(
            p, f"{kind.upper()} LUT of size {size} needs {want} entries, found {rows} (truncated?)"
        )
    if any(lo >= hi for lo, hi in zip(dmin, dmax)):
        raise MediaError(p, "DOMAIN_MIN must be below DOMAIN_MAX")
    return CubeInfo(p, kind, size, title, dmin, dmax)


def _floats(p: Path, n: int, text: str) -> tuple[float, float, float]:
    parts = text.split()
    try:
        vals = tuple(float(x) for x in parts)
    except ValueError:
        raise MediaError(p, f"line {n}: expected three numbers, got {text.strip()!r}") from None
    if len(vals) != 3:
        raise MediaError(p, f"line {n}: expected three numbers, got {len(vals)}")
    return vals  # type: ignore[return-value]


@dataclass(frozen=True)
class LutResult:
    output: Path
    cube: CubeInfo
    duration: float


def plan_lut(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    cube: str | os.PathLike[str],
    *,
    strength: float = 1.0,
    interp: str = "tetrahedral",
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Grade ``input`` through ``cube``; the LUT is applied in RGB at 16 bits per channel."""
    lut = read_cube(cube)
    info = require_video(input)
    assert info.video is not None
    if interp not in INTERPOLATIONS:
        raise UsageError(f"unknown interpolation {interp!r}; choose one of {', '.join(INTERPOLATIONS)}")
    if not 0 < strength <= 1:
        raise UsageError(f"strength {strength:g} must be above 0 and at most 1")
    path = filter_value(lut.path.resolve())
    if lut.kind == "3d":
        apply = f"lut3d=file={path}:interp={interp}"
    else:
        apply = f"lut1d=file={path}:interp={'cubic' if interp == 'tetrahedral' else 'linear'}"
    v = info.video
    fmt = settings.fit_chain(
        f"format={settings.pix_fmt}", v.width, v.height, rotation=v.rotation, source=input
    )
    if strength >= 1:
        vf = f"[0:v:0]format=rgb48le,{apply},{fmt}[v]"
    else:
        vf = (
            f"[0:v:0]format=gbrp16le,split[a][b];[b]{apply}[g];"
            f"[a][g]blend=all_expr='A*{1 - strength:.4f}+B*{strength:.4f}',{fmt}[v]"
        )
    args = ["-i", str(input), "-filter_complex", vf, "-map", "[v]"]
    args += [*settings.video_args(float(info.video.rate)), *audio_args(info, output, settings)]
    args += settings.container_args(str(output))
    return single(
        args, Path(output), [Path(input), lut.path], info.duration, f"apply LUT {lut.path.name}", cube=lut
    )


def apply_lut(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    cube: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> LutResult:
    """Apply a .cube LUT; options as for plan_lut."""
    plan = plan_lut(input, output, cube, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    lut = plan.meta["cube"]
    assert isinstance(lut, CubeInfo)
    return LutResult(plan.output, lut, probe(plan.output).duration)
