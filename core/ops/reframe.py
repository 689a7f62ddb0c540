"""Reframe a clip for a platform preset (see presets.py): crop, pad or fit.

All geometry is worked out here in integers from the probed *display* size
(rotation and sample aspect applied), so the filter chain is a few plain
``scale``/``crop``/``pad``/``overlay`` filters with fixed numbers that a
--dry-run shows exactly:

* ``crop``: scale to cover the frame, cut it at the centre or at a focus point
  (``focus=(x, y)`` in 0..1 of the source picture: 0,0 top-left).
* ``pad``: scale to fit inside the frame and fill the rest, either with a blurred,
  darkened copy of the shot (``background="blur"``, what the platforms' own apps
  do) or with a solid colour.
* ``fit``: scale to fit inside the frame and stop there: the output keeps the
  source's shape, at most the preset's size.

Output: the preset's encoding (H.264 High, yuv420p, BT.709 tags, AAC 48 kHz
stereo, +faststart, peak-rate cap) at a constant frame rate from the preset's
fps policy, so VFR phone clips come out constant-rate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.errors import UsageError
from shotline.core.media.plan import Plan, Step, single, work
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.media.text import filter_value
from shotline.core.ops.presets import Preset, get_preset
from shotline.core.ops.resize import SCALE_FLAGS, even, require_video
from shotline.core.ops.track import CameraPath
from shotline.core.ops.track import filter_graph as track_graph

MODES = ("crop", "pad", "fit")
BACKGROUNDS = ("blur", "solid")


@dataclass(frozen=True)
class Geometry:
    """Where the picture lands: scaled size, crop offset, output frame and the picture's place in it."""

    scaled: tuple[int, int]
    crop: tuple[int, int] | None  # x, y of the crop window inside the scaled picture
    frame: tuple[int, int]
    offset: tuple[int, int]  # where the picture sits in the frame (pad mode)


def geometry(
    display: tuple[int, int], target: tuple[int, int], mode: str, focus: tuple[float, float] = (0.5, 0.5)
) -> Geometry:
    """Integer geometry for one reframe; pure so tests and other planners can use it."""
    if mode not in MODES:
        raise UsageError(f"unknown reframe mode {mode!r}; choose one of {', '.join(MODES)}")
    fx, fy = focus
    if not (0 <= fx <= 1 and 0 <= fy <= 1):
        raise UsageError(f"focus point {fx:g},{fy:g} must lie within 0..1 on both axes")
    dw, dh = display
    tw, th = target
    if mode == "crop":
        k = max(tw / dw, th / dh)
        sw, sh = max(tw, even(dw * k)), max(th, even(dh * k))
        x = min(max(round(fx * sw - tw / 2), 0), sw - tw)
        y = min(max(round(fy * sh - th / 2), 0), sh - th)
        return Geometry((sw, sh), (x, y), (tw, th), (0, 0))
    k = min(tw / dw, th / dh)
    sw, sh = min(tw, even(dw * k)), min(th, even(dh * k))
    if mode == "fit":
        return Geometry((sw, sh), None, (sw, sh), (0, 0))
    return Geometry((sw, sh), None, (tw, th), ((tw - sw) // 2 // 2 * 2, (th - sh) // 2 // 2 * 2))


def _scale(w: int, h: int) -> str:
    return f"scale={w}:{h}:flags=lanczos{SCALE_FLAGS}:out_color_matrix=bt709:out_range=tv"


def reframe_graph(
    geo: Geometry, fps: Fraction, mode: str, background: str = "blur", color: str = "black"
) -> str:
    """The -filter_complex graph from [0:v:0] to [v]."""
    rate = f"fps={fps.numerator}/{fps.denominator}"
    tail = "setsar=1,format=yuv420p"
    sw, sh = geo.scaled
    fw, fh = geo.frame
    if mode == "crop":
        assert geo.crop is not None
        x, y = geo.crop
        return f"[0:v:0]{rate},{_scale(sw, sh)},crop={fw}:{fh}:{x}:{y},{tail}[v]"
    if mode == "fit" or (sw, sh) == (fw, fh):
        return f"[0:v:0]{rate},{_scale(sw, sh)},{tail}[v]"
    ox, oy = geo.offset
    if background == "solid":
        if not color.replace("#", "").replace("@", "").replace(".", "").isalnum():
            raise UsageError(f"colour {color!r}: give a name (black) or a hex value (#202020)")
        return f"[0:v:0]{rate},{_scale(sw, sh)},pad={fw}:{fh}:{ox}:{oy}:color={color},{tail}[v]"
    if background != "blur":
        raise UsageError(f"unknown background {background!r}; choose blur or solid")
    # Background: the shot scaled to cover at a tenth of the size, blurred there (cheap), scaled back up.
    cover = geometry((sw, sh), (fw, fh), "crop")
    bw, bh = max(2, even(cover.scaled[0] / 8)), max(2, even(cover.scaled[1] / 8))
    cw, ch = max(2, even(fw / 8)), max(2, even(fh / 8))
    radius = max(2, min(cw, ch) // 12)
    return (
        f"[0:v:0]{rate},{_scale(sw, sh)},setsar=1,split[fg][bg0];"
        f"[bg0]scale={bw}:{bh}:flags=bilinear,crop={cw}:{ch},boxblur={radius}:2,"
        f"scale={fw}:{fh}:flags=bicubic,eq=brightness=-0.08,setsar=1[bg];"
        f"[bg][fg]overlay={ox}:{oy},{tail}[v]"
    )


@dataclass(frozen=True)
class ReframeResult:
    output: Path
    preset: str
    mode: str
    width: int
    height: int
    fps: Fraction
    duration: float
    size_bytes: int
    warnings: tuple[str, ...]
    track: dict[str, object] | None = None  # the camera path's summary, with --track


def plan_reframe(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    preset: str | Preset,
    *,
    mode: str = "crop",
    focus: tuple[float, float] = (0.5, 0.5),
    background: str = "blur",
    color: str = "black",
    crf: int | None = None,
    info: MediaInfo | None = None,
    path: CameraPath | None = None,
) -> Plan:
    """One ffmpeg command that reframes and encodes for ``preset`` (a name, alias or Preset).

    With ``path`` (core.ops.track), the crop window follows it frame by frame instead of
    staying at ``focus``."""
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    info = info or require_video(input)
    assert info.video is not None
    geo = geometry(info.video.display_size, (p.width, p.height), mode, focus)
    source_rate = info.video.avg_rate if info.video.vfr else info.video.rate
    fps = p.output_fps(Fraction(source_rate))
    settings = p.encode_settings()
    if crf is not None:
        settings = settings.with_(crf=crf)
    files: tuple[tuple[str, str], ...] = ()
    if path is not None:
        if mode != "crop":
            raise UsageError("--track moves a crop window: it needs --mode crop")
        if (path.scaled, path.window) != (geo.scaled, geo.frame):
            raise UsageError(
                f"the camera path was planned for {path.window} in {path.scaled}, not this preset"
            )
        graph = track_graph(
            path,
            _scale(*geo.scaled),
            f"fps={fps.numerator}/{fps.denominator}",
            "setsar=1,format=yuv420p",
            filter_value(work("track.cmd")),
        )
        files = (("track.cmd", path.commands(fps)),)
    else:
        graph = reframe_graph(geo, fps, mode, background, color)
    args = ["-i", str(input), "-filter_complex", graph]
    args += ["-map", "[v]", *settings.video_args(float(fps)), "-r", f"{fps.numerator}/{fps.denominator}"]
    args += ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
    if info.audio is not None:
        args += ["-map", "0:a:0", *settings.audio_args(), "-ac", str(p.audio_channels)]
    args += settings.container_args(str(output))
    plan = single(
        args,
        Path(output),
        [Path(input)],
        info.duration,
        f"reframe for {p.label} ({mode}{f', following the {path.mode}' if path is not None else ''})",
        preset=p.name,
        mode=mode,
        width=geo.frame[0],
        height=geo.frame[1],
        fps=fps,
        warnings=tuple(p.limit_warnings(info.duration)),
        track=path.mode if path is not None else None,
    )
    if files:
        step = plan.steps[0]
        step = Step(step.args, step.output, step.duration, step.label, files)
        plan = Plan((step,), plan.output, plan.inputs, plan.description, plan.meta)
    return plan


def track_for(
    input: str | os.PathLike[str],
    preset: str | Preset,
    mode: str = "subject",
    *,
    detector: str = "haar",
    smooth: float = 0.25,
    info: MediaInfo | None = None,
) -> CameraPath:
    """The camera path of a ``preset`` crop window following the subject of ``input`` (core.ops.track)."""
    from shotline.core.ops.track import track

    p = preset if isinstance(preset, Preset) else get_preset(preset)
    info = info or require_video(input)
    assert info.video is not None
    geo = geometry(info.video.display_size, (p.width, p.height), "crop")
    return track(input, geo.scaled, geo.frame, mode, detector=detector, smooth=smooth, info=info)


def reframe(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    preset: str | Preset,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> ReframeResult:
    """Reframe and encode for a platform; the result carries the platform-limit warnings."""
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    plan = plan_reframe(input, output, p, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    info = probe(plan.output)
    assert info.video is not None
    return ReframeResult(
        output=plan.output,
        preset=p.name,
        mode=str(plan.meta["mode"]),
        width=info.video.width,
        height=info.video.height,
        fps=plan.meta["fps"],  # type: ignore[arg-type]
        duration=info.duration,
        size_bytes=info.size_bytes,
        warnings=tuple(p.limit_warnings(info.duration, info.size_bytes)),
        track=path.to_dict() if isinstance(path := options.get("path"), CameraPath) else None,
    )
