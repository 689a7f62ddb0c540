"""Thumbnails and contact sheets.

Both pick their moments the same way: ``count`` times spread evenly over the clip,
each in the middle of its slice (so no black first frame, no fade-out last frame),
or explicit ``times``; the picture taken is the first frame at or after each moment. Each moment is its own input with a fast seek (``-ss``
before ``-i``, frame-accurate since ffmpeg decodes from the keyframe before it),
so an hour-long master costs as much as a ten-second shot: one ffmpeg process,
no full decode.

The contact sheet is one PNG: a header line (file name, duration, size, rate) and
a grid of frames, each labelled with its timestamp.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.plan import OUT, Plan, Step, single
from shotline.core.media.probe import MediaInfo
from shotline.core.media.runner import ProgressCallback, execute, run
from shotline.core.media.text import filter_value, find_font
from shotline.core.ops.frames import atomic_dir, image_size
from shotline.core.ops.resize import require_video, target_size


def pick_times(info: MediaInfo, count: int | None = None, times: list[float] | None = None) -> list[float]:
    """Evenly spread moments (middle of each slice), or the given ones checked against the clip.

    A moment inside the last frame is taken at that frame's start: the seek keeps the first frame
    at or after the moment, so on a short clip (one frame: every moment) it would find none."""
    last = _last_frame_start(info)
    if times:
        bad = [t for t in times if not 0 <= t < info.duration]
        if bad:
            raise UsageError(
                f"{info.path}: time {bad[0]:g} s is outside the clip (0 to {info.duration:.3f} s)"
            )
        return [min(float(t), last) for t in times]
    n = 12 if count is None else count
    if not 1 <= n <= 400:
        raise UsageError(f"count {n} must be between 1 and 400")
    return [min(round(info.duration * (i + 0.5) / n, 3), last) for i in range(n)]


def _last_frame_start(info: MediaInfo) -> float:
    """Seconds from the start to the last frame (rounded down to the millisecond)."""
    v = info.video
    assert v is not None
    step = float(1 / v.rate) if v.rate else 0.0
    end = float(v.frame_count / v.rate) if v.frame_count and v.rate and not v.vfr else info.duration
    return max(0.0, math.floor((min(end, info.duration) - step) * 1000) / 1000)


def timestamp(t: float, hours: bool = False) -> str:
    ms = int(round(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:d}:{m:02d}:{s:02d}.{ms:03d}" if hours or h else f"{m:02d}:{s:02d}.{ms:03d}"


def _seek_inputs(input: str | os.PathLike[str], times: list[float]) -> list[str]:
    args: list[str] = []
    for t in times:
        args += ["-ss", f"{t:.6f}", "-i", str(input)]
    return args


@dataclass(frozen=True)
class ThumbsResult:
    output: Path  # folder
    files: tuple[Path, ...]
    times: tuple[float, ...]
    width: int
    height: int


def plan_thumbnails(
    input: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    count: int | None = 6,
    times: list[float] | None = None,
    width: int | None = 320,
    format: str = "png",
) -> Plan:
    """One command writing one still per moment into ``output_dir`` (thumb_001.png ...)."""
    info = require_video(input)
    assert info.video is not None
    if format not in ("png", "jpg", "webp"):
        raise UsageError(f"unknown thumbnail format {format!r}; choose png, jpg or webp")
    moments = pick_times(info, count, times)
    w, h = target_size(info, width=width or info.video.display_size[0], round_even=False)
    args = _seek_inputs(input, moments)
    codec = {"png": ["-c:v", "png"], "jpg": ["-c:v", "mjpeg", "-q:v", "2"], "webp": ["-c:v", "libwebp"]}[
        format
    ]
    outputs = []
    for i in range(len(moments)):
        name = f"thumb_{i + 1:03d}.{format}"
        outputs.append(name)
        args += ["-map", f"{i}:v:0", "-vf", f"scale={w}:{h}:flags=lanczos,setsar=1", "-frames:v", "1"]
        args += [*codec, "-update", "1", "-f", "image2", f"{OUT}/{name}"]
    step = Step(tuple(args[:-1]), args[-1], float(len(moments)), "thumbnails")
    return Plan(
        (step,),
        Path(output_dir),
        (Path(input),),
        f"{len(moments)} thumbnails",
        {"times": tuple(moments), "names": tuple(outputs), "width": w, "height": h},
    )


def thumbnails(
    input: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> ThumbsResult:
    """Write thumbnails into a folder that appears whole or not at all."""
    plan = plan_thumbnails(input, output_dir, **options)  # type: ignore[arg-type]
    step = plan.steps[0]
    with atomic_dir(plan.output, plan.inputs, overwrite) as tmp:
        from shotline.core.media.ffmpeg import ffmpeg_path

        sub = str(tmp).replace("%", "%%")
        argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "warning"]
        argv += [a.replace(OUT, sub) for a in (*step.args, step.output)]
        execute(argv)
        names = plan.meta["names"]
        assert isinstance(names, tuple)
        missing = [n for n in names if not (tmp / n).is_file()]
        if missing:  # ffmpeg exits 0 when a seek finds no frame: never report what is not there
            raise MediaError(
                input, f"no frame at {len(missing)} of the {len(names)} moments; nothing written"
            )
    return ThumbsResult(
        plan.output,
        tuple(plan.output / n for n in names),
        plan.meta["times"],  # type: ignore[arg-type]
        int(plan.meta["width"]),  # type: ignore[call-overload]
        int(plan.meta["height"]),  # type: ignore[call-overload]
    )


# --- contact sheet -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetLayout:
    columns: int
    rows: int
    cell: tuple[int, int]  # width, height of one frame
    gap: int
    margin: int
    header: int  # height of the header band
    size: tuple[int, int]  # the whole sheet

    def cell_origin(self, index: int) -> tuple[int, int]:
        r, c = divmod(index, self.columns)
        return (
            self.margin + c * (self.cell[0] + self.gap),
            self.margin + self.header + r * (self.cell[1] + self.gap),
        )


def sheet_layout(
    count: int, columns: int, cell: tuple[int, int], gap: int = 8, header: bool = True
) -> SheetLayout:
    if not 1 <= columns <= 20:
        raise UsageError(f"columns {columns} must be between 1 and 20")
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    cw, ch = cell
    margin = gap * 2
    head = max(24, ch // 6) if header else 0
    w = 2 * margin + cols * cw + (cols - 1) * gap
    h = 2 * margin + head + rows * ch + (rows - 1) * gap
    return SheetLayout(cols, rows, cell, gap, margin, head, (w, h))


@dataclass(frozen=True)
class SheetResult:
    output: Path
    times: tuple[float, ...]
    layout: SheetLayout


def plan_contact_sheet(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    count: int | None = 12,
    times: list[float] | None = None,
    columns: int = 4,
    width: int = 320,
    header: bool = True,
    font: str | os.PathLike[str] | None = None,
    background: str = "0x202020",
) -> Plan:
    """One PNG: a header line and a grid of frames, each labelled with its timestamp."""
    info = require_video(input)
    assert info.video is not None
    if Path(output).suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise UsageError(f"{output}: a contact sheet is an image; use .png (or .jpg/.webp)")
    if not 32 <= width <= 3840:
        raise UsageError(f"cell width {width} must be between 32 and 3840")
    if not re.fullmatch(r"#?[0-9A-Za-z]{1,20}(@[0-9.]+)?", background):
        raise UsageError(f"background {background!r}: give a colour name or hex value such as 0x202020")
    moments = pick_times(info, count, times)
    cw, ch = target_size(info, width=width)
    layout = sheet_layout(len(moments), columns, (cw, ch), header=header)
    fontfile = filter_value(find_font(font))
    size = max(10, ch // 10)
    hours = info.duration >= 3600
    parts = []
    for i, t in enumerate(moments):
        label = filter_value(timestamp(t, hours))
        parts.append(
            f"[{i}:v:0]scale={cw}:{ch}:flags=lanczos,setsar=1,format=rgb24,"
            f"drawtext=fontfile={fontfile}:expansion=none:text={label}:fontsize={size}:fontcolor=white"
            f":box=1:boxcolor=black@0.6:boxborderw={max(2, size // 4)}:x=w-tw-{size // 2}:y=h-th-{size // 2}[c{i}]"
        )
    layout_str = "|".join(
        f"{c * (cw + layout.gap)}_{r * (ch + layout.gap)}"
        for r, c in (divmod(i, layout.columns) for i in range(len(moments)))
    )
    inputs = "".join(f"[c{i}]" for i in range(len(moments)))
    grid = (
        f"{inputs}xstack=inputs={len(moments)}:layout={layout_str}:fill={background}[g]"
        if len(moments) > 1
        else "[c0]null[g]"
    )
    sw, sh = layout.size
    sheet = f"[g]pad={sw}:{sh}:{layout.margin}:{layout.margin + layout.header}:color={background}"
    if header:
        v = info.video
        title = (
            f"{Path(input).name}   {timestamp(info.duration, hours)}   {v.display_size[0]}x{v.display_size[1]}"
            f"   {float(v.rate):.3f} fps   {info.size_bytes / 1e6:.1f} MB"
        )
        hs = max(10, layout.header * 3 // 5)
        sheet += (
            f",drawtext=fontfile={fontfile}:expansion=none:text={filter_value(title)}:fontsize={hs}"
            f":fontcolor=white:x={layout.margin}:y={layout.margin + (layout.header - hs) // 2}"
        )
    graph = ";".join([*parts, grid, sheet + "[out]"])
    args = [*_seek_inputs(input, moments), "-filter_complex", graph, "-map", "[out]", "-frames:v", "1"]
    args += ["-update", "1"]
    return single(
        args,
        Path(output),
        [Path(input)],
        None,
        f"contact sheet {layout.columns}x{layout.rows}",
        times=tuple(moments),
        layout=layout,
    )


def contact_sheet(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> SheetResult:
    """Write a contact sheet image; options as for plan_contact_sheet."""
    plan = plan_contact_sheet(input, output, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    image_size(plan.output)  # the sheet must be a readable image
    layout = plan.meta["layout"]
    assert isinstance(layout, SheetLayout)
    return SheetResult(plan.output, plan.meta["times"], layout)  # type: ignore[arg-type]
