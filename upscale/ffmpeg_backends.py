"""The two backends that are one ffmpeg command: ``lanczos`` (the non-AI baseline) and ``topaz``.

Both build a Plan (argv lists, no shell) and run it with the shared runner, so they get the
same atomic output, progress and Ctrl-C handling as every other operation. Audio and
subtitles are stream-copied and timestamps pass through (``-fps_mode passthrough``).

Topaz Video AI ships its own ffmpeg with the ``tvai_up`` filter. shotline finds it through
``TVAI_FFMPEG`` or the standard install locations, checks ``TVAI_MODEL_DIR`` and
``TVAI_MODEL_DATA_DIR``, and never imitates its output: where it is absent the error says what
is missing.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotline.core.errors import DependencyError, UsageError
from shotline.core.media.encode import BT709_TAGS, EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step
from shotline.core.media.probe import MediaInfo
from shotline.core.media.runner import FFMPEG_HEAD


def _carry_args() -> list[str]:
    return ["-map", "0:a?", "-map", "0:s?", "-c:a", "copy", "-c:s", "copy", "-map_metadata", "0"]


def _rgb(info: MediaInfo) -> bool:
    """An RGB source (PNG-in-MOV, an image): its tags (matrix gbr, full range) describe RGB, not
    the YUV the encoder writes, so the scaler converts with BT.709 and the output says so."""
    v = info.video
    assert v is not None
    return v.color_space in ("gbr", "rgb") or v.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr"))


def _colour_args(info: MediaInfo) -> list[str]:
    v = info.video
    assert v is not None
    if _rgb(info):
        return [*BT709_TAGS, "-color_range", "tv"]
    args = []
    for flag, value in (
        ("-color_range", v.color_range),
        ("-colorspace", v.color_space),
        ("-color_primaries", v.color_primaries),
        ("-color_trc", v.color_transfer),
    ):
        if value:
            args += [flag, value]
    return args


def lanczos_plan(info: MediaInfo, output: Path, scale: int, enc: EncodeSettings) -> Plan:
    """ffmpeg's lanczos scaler at ``scale``x, sizes rounded down to even, everything else carried."""
    v = info.video
    assert v is not None
    vf = f"scale=trunc(iw*{scale}/2)*2:trunc(ih*{scale}/2)*2:flags=lanczos+accurate_rnd+full_chroma_int"
    if _rgb(info):
        vf += ":out_color_matrix=bt709:out_range=tv"
    args = ["-i", info.path, "-map", "0:v:0", *_carry_args(), "-vf", vf, "-fps_mode", "passthrough"]
    args += enc.video_args(float(v.rate) if v.rate else None) + _colour_args(info)
    args += enc.container_args(str(output))
    step = Step(tuple(args), OUT, info.duration, f"lanczos x{scale}")
    return Plan((step,), Path(output), (Path(info.path),), f"upscale x{scale} with lanczos (ffmpeg)")


class LanczosUpscaler:
    """Lanczos by swscale on the pipeline's RGB frames: the segmented, parallel form of the
    lanczos backend (``--workers``/``--ray``); frames and sizes as the model backends give them."""

    def __init__(self, scale: int) -> None:
        self.scale = scale

    def __call__(self, frames: Any) -> Any:
        import av
        import numpy as np

        n, h, w, _ = frames.shape
        out = np.empty((n, h * self.scale, w * self.scale, 3), dtype=np.uint8)
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")
            out[i] = vf.reformat(
                width=w * self.scale, height=h * self.scale, format="rgb24", interpolation="LANCZOS"
            ).to_ndarray()
        return out

    def describe(self) -> str:
        return f"swscale lanczos x{self.scale}"


# ---------------------------------------------------------------- Topaz


TOPAZ_MODEL = re.compile(r"^[a-z]{3,4}-\d{1,2}$")  # e.g. prob-4, ahq-12, iris-2, nyx-3


@dataclass(frozen=True)
class TopazOptions:
    """Topaz Video AI through its ffmpeg build: model, scale or target size, and its options."""

    model: str = "prob-4"
    scale: int | None = 2  # or give width/height
    width: int | None = None
    height: int | None = None
    noise: float | None = None  # enhancement parameters, -1..1 (None: let the model estimate)
    details: float | None = None
    halo: float | None = None
    blur: float | None = None
    compression: float | None = None
    blend: float | None = None
    estimate: int = 8  # frames used to estimate parameters
    device: int = 0  # GPU index (-2 = auto, -1 = CPU)
    vram: float = 1.0
    instances: int = 1


@dataclass(frozen=True)
class TopazInstall:
    ffmpeg: Path
    model_dir: Path | None
    model_data_dir: Path | None


def topaz_candidates(env: dict[str, str] | None = None, platform: str | None = None) -> list[Path]:
    """Where Topaz Video AI's ffmpeg may be, in the order they are tried."""
    env = dict(os.environ) if env is None else env
    platform = platform or sys.platform
    found = [Path(env["TVAI_FFMPEG"])] if env.get("TVAI_FFMPEG") else []
    if platform == "win32":
        pf = env.get("ProgramFiles", r"C:\Program Files")
        found.append(Path(pf) / "Topaz Labs LLC" / "Topaz Video AI" / "ffmpeg.exe")
    elif platform == "darwin":
        found.append(Path("/Applications/Topaz Video AI.app/Contents/MacOS/ffmpeg"))
    else:
        found += [Path("/opt/TopazVideoAIBETA/bin/ffmpeg"), Path("/opt/TopazVideoAI/bin/ffmpeg")]
    return found


def find_topaz(env: dict[str, str] | None = None, platform: str | None = None) -> TopazInstall:
    """Locate Topaz's ffmpeg and model folders, or raise DependencyError saying what is missing."""
    env = dict(os.environ) if env is None else env
    platform = platform or sys.platform
    tried = topaz_candidates(env, platform)
    exe = next((p for p in tried if p.is_file() and os.access(p, os.X_OK)), None)
    if exe is None:
        where = ", ".join(str(p) for p in tried)
        raise DependencyError(
            f"Topaz Video AI's ffmpeg was not found (looked at: {where}); install Topaz Video AI "
            "or set TVAI_FFMPEG to its ffmpeg"
        )
    dirs: dict[str, Path | None] = {}
    missing = []
    for var in ("TVAI_MODEL_DIR", "TVAI_MODEL_DATA_DIR"):
        value = env.get(var)
        dirs[var] = Path(value) if value else None
        if value and not Path(value).is_dir():
            missing.append(f"{var}={value} is not a folder")
        elif not value and platform != "darwin":  # the macOS app sets its own defaults
            missing.append(f"{var} is not set")
    if missing:
        raise DependencyError(
            "Topaz Video AI needs its model folders: " + "; ".join(missing) + " (see Topaz's CLI docs)"
        )
    return TopazInstall(exe, dirs["TVAI_MODEL_DIR"], dirs["TVAI_MODEL_DATA_DIR"])


def tvai_filter(opts: TopazOptions) -> str:
    """The ``tvai_up`` filter string; every value is validated, so nothing needs escaping."""
    if not TOPAZ_MODEL.match(opts.model):
        raise UsageError(f"Topaz model {opts.model!r} is not a Topaz model name such as prob-4 or ahq-12")
    parts = [f"model={opts.model}"]
    if opts.width or opts.height:
        if not (opts.width and opts.height):
            raise UsageError("Topaz: give both width and height, or a scale")
        parts += [f"w={int(opts.width)}", f"h={int(opts.height)}"]
    elif opts.scale:
        if opts.scale not in (1, 2, 3, 4):
            raise UsageError(f"Topaz scale {opts.scale} is not 1, 2, 3 or 4")
        parts.append(f"scale={int(opts.scale)}")
    for name in ("noise", "details", "halo", "blur", "compression", "blend"):
        value = getattr(opts, name)
        if value is not None:
            if not -1.0 <= float(value) <= 1.0:
                raise UsageError(f"Topaz {name}={value} is outside -1..1")
            parts.append(f"{name}={float(value):g}")
    parts += [
        f"estimate={int(opts.estimate)}",
        f"device={int(opts.device)}",
        f"vram={float(opts.vram):g}",
        f"instances={int(opts.instances)}",
    ]
    return "tvai_up=" + ":".join(parts)


def topaz_plan(
    info: MediaInfo, output: Path, opts: TopazOptions, enc: EncodeSettings, install: TopazInstall
) -> Plan:
    v = info.video
    assert v is not None
    args = [
        *FFMPEG_HEAD,  # Topaz's own ffmpeg: the runner adds this head only to its ffmpeg
        "-i",
        info.path,
        "-map",
        "0:v:0",
        *_carry_args(),
        "-vf",
        tvai_filter(opts),
        "-fps_mode",
        "passthrough",
        *enc.video_args(float(v.rate) if v.rate else None),
        *_colour_args(info),
        *enc.container_args(str(output)),
        OUT,
    ]
    step = Step(tuple(args), OUT, info.duration, f"topaz {opts.model}", tool=str(install.ffmpeg))
    return Plan((step,), Path(output), (Path(info.path),), f"upscale with Topaz Video AI ({opts.model})")


def which_topaz() -> Path | None:
    """Topaz's ffmpeg if it is installed (no model-folder checks), for ``--backend auto`` and doctor."""
    for p in topaz_candidates():
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None
