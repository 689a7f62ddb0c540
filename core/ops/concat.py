"""Concatenate clips: stream copy when every stream matches, else one normalizing pass.

* **copy**: the concat demuxer reads a list file (names quoted and escaped, so quotes,
  spaces and unicode are safe) and ffmpeg copies the packets. Only possible when every
  clip has the same codec, size, SAR, pixel format, frame rate, time base, rotation
  and the same audio parameters (or no audio anywhere).
* **normalize**: one ffmpeg command decodes every clip, brings it to a common target
  (core.normalize: scale/pad, fps, SAR 1, pix_fmt, 48 kHz stereo, silence where a clip
  has none) and joins them with the concat filter, encoding once.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.normalize import Target, choose_target, normalize_graph, probe_all
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.core.media.probe import MediaInfo
from shotline.core.media.runner import ProgressCallback, run


@dataclass(frozen=True)
class ConcatResult:
    output: Path
    mode: str  # "copy" or "normalize"
    inputs: int
    duration: float
    elapsed: float
    reasons: tuple[str, ...]  # why a stream copy was not possible (empty for copy)


def concat_list(paths: list[Path] | tuple[Path, ...]) -> str:
    """Concat-demuxer list text. Each name is single-quoted; a quote becomes '\\''."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        name = str(Path(p).resolve())
        if "\n" in name or "\r" in name:
            raise UsageError(f"{p}: file names with line breaks cannot be concatenated by stream copy")
        lines.append("file '" + name.replace("'", "'\\''") + "'")
    return "\n".join(lines) + "\n"


def _signature(info: MediaInfo) -> dict[str, object]:
    v, a = info.video, info.audio
    sig: dict[str, object] = {"video": None, "audio": None}
    if v is not None:
        sig["video"] = {
            "codec": v.codec,
            "size": (v.width, v.height),
            "sar": v.sar,
            "pix_fmt": v.pix_fmt,
            "rate": v.rate,
            "time_base": v.time_base,
            "rotation": v.rotation,
            "vfr": v.vfr,
        }
    if a is not None:
        sig["audio"] = {"codec": a.codec, "sample_rate": a.sample_rate, "channels": a.channels}
    return sig


def mismatches(infos: list[MediaInfo]) -> list[str]:
    """Reasons the clips cannot be joined by stream copy (empty list: they can)."""
    reasons: list[str] = []
    first = _signature(infos[0])
    for info in infos[1:]:
        sig = _signature(info)
        for kind in ("video", "audio"):
            f, s = first[kind], sig[kind]
            if f is None or s is None:
                if (f is None) != (s is None):
                    reasons.append(f"{Path(info.path).name}: {kind} stream present in some clips only")
                continue
            assert isinstance(f, dict) and isinstance(s, dict)
            for key in f:
                if f[key] != s[key]:
                    reasons.append(f"{Path(info.path).name}: {kind} {key} {_fmt(s[key])} != {_fmt(f[key])}")
    if infos[0].video is None:
        reasons.append(f"{Path(infos[0].path).name}: no video stream")
    if not reasons and Path(infos[0].path).suffix.lower() not in (".mp4", ".mov", ".m4v", ".mkv"):
        reasons.append(f"{Path(infos[0].path).name}: container is not mp4/mov/mkv")
    return reasons


def _fmt(v: object) -> str:
    if isinstance(v, Fraction):
        return f"{v.numerator}/{v.denominator}"
    if isinstance(v, tuple):
        return "x".join(str(x) for x in v)
    return str(v)


@dataclass(frozen=True)
class _Header:
    """What a stream copy must agree on, read from the container header only (no decoding
    beyond what opening the file costs): the fast path for clips that match."""

    duration: float
    has_audio: bool
    signature: tuple[object, ...]


MP4_LIKE = (".mp4", ".mov", ".m4v")


def _headers(paths: list[Path]) -> list[_Header] | None:
    """Headers of every clip (in threads), or None when a full probe must decide."""
    if any(p.suffix.lower() not in MP4_LIKE for p in paths):
        return None
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        heads = list(pool.map(_header, paths))
    return None if any(h is None for h in heads) else [h for h in heads if h is not None]


def _header(p: Path) -> _Header | None:
    import av

    if not p.exists():
        raise MediaError(p, "no such file")
    if p.is_dir() or p.stat().st_size == 0:
        return None  # let the full probe name the problem
    matrices = mp4_track_matrices(p)
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError:
        return None
    with container:
        if not container.streams.video or not container.duration:
            return None
        v = container.streams.video[0]
        cc = v.codec_context
        video = (cc.name, cc.width, cc.height, v.sample_aspect_ratio, cc.pix_fmt, v.average_rate, v.base_rate)
        audio = None
        if container.streams.audio:
            ac = container.streams.audio[0].codec_context
            audio = (ac.name, ac.sample_rate, ac.channels)
        sig = (video, v.time_base, audio, matrices)
        return _Header(container.duration / 1_000_000, audio is not None, sig)


def mp4_track_matrices(path: Path) -> tuple[bytes, ...]:
    """The display matrix of every track (tkhd), read straight from the MP4/MOV boxes: the
    rotation a player applies. Raises MediaError when a top-level box runs past the end of
    the file (truncated) or there is no moov box."""
    size = path.stat().st_size
    matrices: list[bytes] = []
    with open(path, "rb") as f:
        moov = None
        for typ, start, end in _boxes(f, 0, size):
            if not (typ.isascii() and typ.decode("ascii").isprintable()):  # a PNG, random bytes...
                raise MediaError(path, "not an MP4/MOV file (no box structure)")
            if end > size:
                raise MediaError(
                    path, f"truncated: the {typ.decode('ascii')} box runs past the end of the file"
                )
            if typ == b"moov":
                moov = (start, end)
        if moov is None:
            raise MediaError(path, "no moov box: truncated, or not an MP4/MOV file")
        for typ, start, end in _boxes(f, *moov):
            if typ != b"trak":
                continue
            for sub, s0, _ in _boxes(f, start, end):
                if sub == b"tkhd":
                    f.seek(s0)
                    version = f.read(1)
                    f.seek(s0 + (52 if version == b"\x01" else 40))
                    matrices.append(f.read(36))
    return tuple(matrices)


def _boxes(f: Any, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes between start and end."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, typ = struct.unpack(">I4s", f.read(8))
        head = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            return
        yield typ, pos + head, pos + size
        pos += size


def plan_concat(
    inputs: list[Path] | tuple[Path, ...],
    output: Path,
    *,
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
    size: tuple[int, int] | None = None,
    rate: Fraction | None = None,
    infos: list[MediaInfo] | None = None,
) -> Plan:
    """Plan a concat. ``mode``: "auto" (copy if possible), "copy" (fail if not), "normalize"."""
    if len(inputs) < 2:
        raise UsageError("concat needs at least two input clips")
    if mode not in ("auto", "copy", "normalize"):
        raise UsageError(f"unknown concat mode {mode!r} (auto, copy or normalize)")
    paths = [Path(p) for p in inputs]
    output = Path(output)
    if infos is None and mode != "normalize":
        quick = _headers(paths)
        if quick is not None and len({h.signature for h in quick}) == 1:
            return _plan_copy(paths, quick[0].has_audio, output, sum(h.duration for h in quick))
    infos = infos if infos is not None else probe_all(paths)
    reasons = mismatches(infos)
    total = sum(i.duration for i in infos)
    if mode == "copy" and reasons:
        raise UsageError("clips differ, stream copy impossible: " + "; ".join(reasons[:5]))
    if mode != "normalize" and not reasons:
        return _plan_copy(paths, infos[0].has_audio, output, total)
    return _plan_normalize(paths, infos, output, settings, choose_target(infos, size, rate), tuple(reasons))


def _plan_copy(paths: list[Path], has_audio: bool, output: Path, total: float) -> Plan:
    args = ["-f", "concat", "-safe", "0", "-i", work("list.ffconcat"), "-map", "0:v:0"]
    if has_audio:
        args += ["-map", "0:a:0"]
    args += ["-c", "copy"]
    if output.suffix.lower() in (".mp4", ".mov", ".m4v"):
        args += ["-movflags", "+faststart"]
    step = Step(
        tuple(args), OUT, total, "concat (stream copy)", files=(("list.ffconcat", concat_list(paths)),)
    )
    return Plan(
        (step,),
        output,
        tuple(paths),
        f"concat {len(paths)} clips by stream copy",
        {"mode": "copy", "duration": total, "reasons": ()},
    )


def _plan_normalize(
    paths: list[Path],
    infos: list[MediaInfo],
    output: Path,
    settings: EncodeSettings,
    target: Target,
    reasons: tuple[str, ...],
) -> Plan:
    g = normalize_graph(infos, target)
    n = len(paths)
    joined = "".join(f"{v}{a}" for v, a in zip(g.video, g.audio))
    graph = [*g.graph, f"{joined}concat=n={n}:v=1:a=1[vout][aout]"]
    args: list[str] = []
    for p in paths:
        args += ["-i", str(p)]
    total = float(Fraction(sum(g.frames)) / target.rate)
    args += ["-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]"]
    args += settings.video_args(float(target.rate)) + ["-r", target.rate_str]
    args += settings.audio_args() + ["-ac", "2"]
    args += settings.container_args(str(output))
    return Plan(
        (Step(tuple(args), OUT, total, "concat (normalize)"),),
        output,
        tuple(paths),
        f"concat {n} clips, normalized to {target.width}x{target.height} @ {target.rate_str} fps",
        {"mode": "normalize", "duration": total, "reasons": reasons, "target": target},
    )


def concat(
    inputs: list[Path] | tuple[Path, ...],
    output: Path,
    *,
    mode: str = "auto",
    settings: EncodeSettings = DEFAULT,
    size: tuple[int, int] | None = None,
    rate: Fraction | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ConcatResult:
    """Join ``inputs`` end to end into ``output`` (see the module docstring)."""
    plan = plan_concat(inputs, output, mode=mode, settings=settings, size=size, rate=rate)
    res = run(plan, overwrite=overwrite, progress=progress)
    duration, reasons = plan.meta["duration"], plan.meta["reasons"]
    assert isinstance(duration, float) and isinstance(reasons, tuple)
    return ConcatResult(res.output, str(plan.meta["mode"]), len(inputs), duration, res.elapsed, reasons)
