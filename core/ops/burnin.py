"""Burn-ins for review copies: shot id, running timecode, a caption, the frame number.

User text reaches drawtext unchanged whatever it contains (quotes, colons, percent
signs, backslashes, brackets, newlines, any script the font covers): it is quoted
for both filtergraph levels (text.filter_value) and drawtext's own ``%{...}``
expansion is switched off for it. The timecode is drawtext's own counter, started
at ``start_tc`` and driven by the clip's exact frame rate, so it advances one frame
per frame; variable-rate clips are first made constant-rate at their average rate.

Layout: shot id top-left, timecode top-right, frame number bottom-left, caption
bottom centre, each on a translucent box. The font comes from text.find_font.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.plan import Plan, single
from shotline.core.media.probe import MediaInfo, probe
from shotline.core.media.runner import ProgressCallback, run
from shotline.core.media.text import filter_value, find_font
from shotline.core.ops.resize import audio_args, even, require_video

TC_RE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;])(\d{2})$")


def drawtext(
    fontfile: str | os.PathLike[str],
    *,
    x: str,
    y: str,
    size: int,
    text: str | None = None,
    timecode: str | None = None,
    rate: Fraction | None = None,
    expand: bool = False,
) -> str:
    """One drawtext filter: literal ``text`` (or drawtext's ``timecode``) in white on a translucent box."""
    parts = [f"drawtext=fontfile={filter_value(fontfile)}"]
    if timecode is not None:
        assert rate is not None
        parts.append(f"timecode={filter_value(timecode)}:timecode_rate={rate.numerator}/{rate.denominator}")
    else:
        parts.append(f"expansion={'normal' if expand else 'none'}:text={filter_value(text or '')}")
    border = max(2, size // 4)
    parts.append(
        f"fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.55:boxborderw={border}"
        f":line_spacing={max(1, size // 5)}:x={x}:y={y}"
    )
    return ":".join(parts)


def check_timecode(tc: str, rate: Fraction) -> str:
    m = TC_RE.match(tc)
    if not m:
        raise UsageError(f"timecode {tc!r} must look like HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame)")
    hh, mm, ss, sep, ff = m.groups()
    nominal = round(rate)
    if int(mm) > 59 or int(ss) > 59 or int(ff) >= max(1, nominal):
        raise UsageError(f"timecode {tc!r} is not valid at {float(rate):.3f} fps")
    if sep == ";" and rate.denominator != 1001:
        raise UsageError(f"drop-frame timecode {tc!r} needs a 29.97 or 59.94 fps clip")
    return tc


def burnin_filter(
    info: MediaInfo,
    *,
    shot_id: str | None = None,
    caption: str | None = None,
    timecode: bool = True,
    start_tc: str = "00:00:00:00",
    frame_number: bool = False,
    font: str | os.PathLike[str] | None = None,
    size: int | None = None,
) -> tuple[str, Fraction]:
    """The -vf chain and the constant frame rate it runs at."""
    v = info.video
    if v is None:
        raise MediaError(info.path, "has no video stream to burn into")
    if not (shot_id or caption or timecode or frame_number):
        raise UsageError("nothing to burn in: give a shot id, a caption, --timecode or --frame-number")
    for label, value in (("shot id", shot_id), ("caption", caption)):
        if value is not None and ("\0" in value or len(value) > 2000):
            raise UsageError(f"{label} must be under 2000 characters and free of NUL bytes")
    rate = Fraction(v.avg_rate if v.vfr else v.rate)
    if rate <= 0:
        raise UsageError(f"{info.path}: frame rate unknown; cannot run a timecode")
    fontfile = find_font(font)
    dw, dh = v.display_size
    size = size or max(12, round(dh / 22))
    if not 6 <= size <= 400:
        raise UsageError(f"font size {size} must be between 6 and 400")
    pad = max(4, size // 2)
    chain = []
    if v.vfr:
        chain.append(f"fps={rate.numerator}/{rate.denominator}")
    if v.sar != 1:  # square pixels first, so the text is not squashed
        chain.append(f"scale={even(dw)}:{even(dh)}:flags=lanczos,setsar=1")
    if shot_id:
        chain.append(drawtext(fontfile, text=shot_id, x=str(pad), y=str(pad), size=size))
    if timecode:
        tc = check_timecode(start_tc, rate)
        chain.append(drawtext(fontfile, timecode=tc, rate=rate, x=f"w-tw-{pad}", y=str(pad), size=size))
    if frame_number:
        chain.append(
            drawtext(fontfile, text="%{frame_num}", expand=True, x=str(pad), y=f"h-th-{pad}", size=size)
        )
    if caption:
        chain.append(drawtext(fontfile, text=caption, x="(w-tw)/2", y=f"h-th-{pad * 3}", size=size))
    return ",".join(chain), rate


@dataclass(frozen=True)
class BurninResult:
    output: Path
    duration: float
    frames: int | None


def plan_burnin(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    settings: EncodeSettings = DEFAULT,
    **options: object,
) -> Plan:
    """Plan a review copy with burn-ins; options as for burnin_filter."""
    info = require_video(input)
    vf, rate = burnin_filter(info, **options)  # type: ignore[arg-type]
    v = info.video
    assert v is not None
    if v.sar != 1:  # the chain scales to square pixels at an even size first
        w, h, rot = even(v.display_size[0]), even(v.display_size[1]), 0
    else:
        w, h, rot = v.width, v.height, v.rotation
    vf = settings.fit_chain(vf, w, h, rotation=rot, source=input) or vf
    args = ["-i", str(input), "-map", "0:v:0", "-vf", vf, *settings.video_args(float(rate))]
    args += [*audio_args(info, output, settings), *settings.container_args(str(output))]
    return single(args, Path(output), [Path(input)], info.duration, "burn in review overlays", rate=rate)


def burnin(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> BurninResult:
    """Write a review copy with burn-ins; see burnin_filter for the options."""
    plan = plan_burnin(input, output, **options)  # type: ignore[arg-type]
    run(plan, overwrite=overwrite, progress=progress)
    info = probe(plan.output)
    return BurninResult(plan.output, info.duration, info.video.frame_count if info.video else None)
