"""Probe once, carry the facts: one function that returns a frozen MediaInfo.

Probing is in-process through PyAV (the libav* libraries), so it costs no
subprocess. Rotation comes from the first decoded frame's display matrix, VFR
from the spread of the video packets' timestamps.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import MediaError

# Packets scanned for VFR detection and frame counting. Short clips are
# counted exactly; long ones use the container's own count when it has one.
_SCAN_PACKETS = 3000


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    sar: Fraction
    dar: Fraction
    rotation: int  # degrees counter-clockwise the player applies (0, 90, 180, 270)
    avg_rate: Fraction  # average frame rate (frames / duration)
    real_rate: Fraction  # base ("r_frame_rate") rate: the lowest rate that represents all timestamps
    time_base: Fraction
    vfr: bool
    pix_fmt: str
    bit_depth: int
    color_range: str | None
    color_space: str | None
    color_primaries: str | None
    color_transfer: str | None
    frame_count: int | None
    start_time: float
    profile: str | None = None

    @property
    def rate(self) -> Fraction:
        """The frame rate to use for a constant-rate output."""
        return self.avg_rate if self.vfr or not self.real_rate else self.real_rate

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as a player shows them: SAR applied, rotation applied."""
        w = round(self.width * self.sar) if self.sar and self.sar != 1 else self.width
        h = self.height
        return (h, w) if self.rotation in (90, 270) else (w, h)


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    layout: str
    time_base: Fraction
    start_time: float


@dataclass(frozen=True)
class MediaInfo:
    """Everything shotline needs to know of a media file, read once by :func:`probe`."""

    path: str
    container: str
    duration: float
    size_bytes: int
    bit_rate: int | None
    video: VideoInfo | None
    audio: AudioInfo | None
    n_video_streams: int
    n_audio_streams: int
    n_subtitle_streams: int

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def has_video(self) -> bool:
        return self.video is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: fractions become "num/den" strings."""

        def conv(v: Any) -> Any:
            if isinstance(v, Fraction):
                return f"{v.numerator}/{v.denominator}"
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v

        d = conv(asdict(self))
        d["has_audio"] = self.has_audio
        if self.video:
            d["video"]["fps"] = float(self.video.rate)
        return d


_COLOR_NAMES = {
    # AVColorRange / AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic ids -> ffmpeg names
    "range": {1: "tv", 2: "pc"},
    "space": {
        0: "gbr",
        1: "bt709",
        4: "fcc",
        5: "bt470bg",
        6: "smpte170m",
        7: "smpte240m",
        8: "ycgco",
        9: "bt2020nc",
        10: "bt2020c",
        14: "ictcp",
    },
    "primaries": {
        1: "bt709",
        4: "bt470m",
        5: "bt470bg",
        6: "smpte170m",
        7: "smpte240m",
        8: "film",
        9: "bt2020",
        10: "smpte428",
        11: "smpte431",
        12: "smpte432",
        22: "jedec-p22",
    },
    "transfer": {
        1: "bt709",
        4: "gamma22",
        5: "gamma28",
        6: "smpte170m",
        7: "smpte240m",
        8: "linear",
        11: "iec61966-2-4",
        13: "iec61966-2-1",
        14: "bt2020-10",
        15: "bt2020-12",
        16: "smpte2084",
        17: "smpte428",
        18: "arib-std-b67",
    },
}


def _color(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return _COLOR_NAMES[kind].get(int(value))
    except (TypeError, ValueError):
        return str(value) or None


def _frac(x: Any) -> Fraction:
    if x is None:
        return Fraction(0)
    try:
        return Fraction(x)
    except (TypeError, ValueError, ZeroDivisionError):
        return Fraction(0)


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe a media file. Raises MediaError naming the file when it cannot be used."""
    import av  # lazy: keeps CLI start-up fast

    p = Path(path)
    if not p.exists():
        raise MediaError(p, "no such file")
    if p.is_dir():
        raise MediaError(p, "is a directory, not a media file")
    if not p.is_file():  # never opened: reading a FIFO would wait for a writer forever
        raise MediaError(p, "is not a regular file (a FIFO, socket or device); give a media file")
    size = p.stat().st_size
    if size == 0:
        raise MediaError(p, "file is empty (0 bytes)")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise MediaError(p, f"not a media file ffmpeg can read ({exc.strerror or exc})") from exc
    try:
        return _probe_open(p, container, size)
    except av.error.FFmpegError as exc:
        raise MediaError(p, f"cannot be decoded, truncated or corrupt? ({exc.strerror or exc})") from exc
    finally:
        container.close()


def header_duration(path: str | os.PathLike[str]) -> float:
    """The container's duration in seconds from its header alone: no packet walk, no decode.
    For reporting on a file shotline has just written; use probe() on anything else."""
    import av

    p = Path(path)
    try:
        with av.open(str(p), metadata_errors="ignore") as container:
            return container.duration / 1_000_000 if container.duration else 0.0
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(p, f"not a media file ffmpeg can read ({exc})") from exc


def _probe_open(p: Path, container: Any, size: int) -> MediaInfo:
    vstreams = list(container.streams.video)
    astreams = list(container.streams.audio)
    sstreams = list(container.streams.subtitles)
    if not vstreams and not astreams:
        raise MediaError(p, "has no video or audio stream")

    duration = container.duration / 1_000_000 if container.duration else 0.0
    video = _probe_video(p, container, vstreams[0]) if vstreams else None
    audio = None
    if astreams:
        a = astreams[0]
        cc = a.codec_context
        layout = cc.layout.name if cc.layout is not None else ""
        audio = AudioInfo(
            codec=cc.name,
            sample_rate=int(cc.sample_rate or 0),
            channels=int(cc.channels or 0),
            layout=layout,
            time_base=_frac(a.time_base),
            start_time=float(a.start_time * a.time_base) if a.start_time is not None and a.time_base else 0.0,
        )
        if not duration and a.duration and a.time_base:
            duration = float(a.duration * a.time_base)
    if video is not None and not duration and video.frame_count and video.avg_rate:
        duration = float(video.frame_count / video.avg_rate)
    if duration <= 0 and not (video is not None and video.frame_count == 1):
        raise MediaError(p, "has zero duration")
    return MediaInfo(
        path=str(p.resolve()),
        container=container.format.name,
        duration=duration,
        size_bytes=size,
        bit_rate=int(container.bit_rate) if container.bit_rate else None,
        video=video,
        audio=audio,
        n_video_streams=len(vstreams),
        n_audio_streams=len(astreams),
        n_subtitle_streams=len(sstreams),
    )


def _probe_video(p: Path, container: Any, v: Any) -> VideoInfo:
    import av

    cc = v.codec_context
    pix_fmt = cc.pix_fmt or ""
    try:
        bit_depth = max(c.bits for c in av.VideoFormat(pix_fmt).components) if pix_fmt else 8
    except (ValueError, TypeError):
        bit_depth = 8
    sar = _frac(v.sample_aspect_ratio) or Fraction(1)
    w, h = int(cc.width or v.width), int(cc.height or v.height)
    dar = Fraction(w * sar.numerator, h * sar.denominator) if h else Fraction(0)
    time_base = _frac(v.time_base)

    # Walk the packets: exact frame count for short files, and the pts spread for VFR.
    pts: list[int] = []
    count = 0
    complete = True
    for packet in container.demux(v):
        if packet.size == 0 and packet.pts is None:
            continue  # flush packet
        count += 1
        if packet.pts is not None:
            pts.append(packet.pts)
        if count >= _SCAN_PACKETS:
            complete = False
            break
    vfr = _is_vfr(pts)
    indexed = int(v.frames or 0)
    if complete and indexed and count < indexed:
        # the container's index promises frames whose bytes are not in the file
        raise MediaError(p, f"truncated: the index lists {indexed} video frames but only {count} are present")
    frame_count = count if complete else (indexed or None)

    # Decode one frame: validates the stream and gives the display-matrix rotation.
    container.seek(0)
    rotation = 0
    got_frame = False
    for frame in container.decode(v):
        rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
        got_frame = True
        break
    if not got_frame:
        raise MediaError(p, "video stream has no decodable frame (truncated or corrupt)")

    avg = _frac(v.average_rate)
    real = _frac(v.base_rate) or _frac(v.guessed_rate)
    if not avg and frame_count and v.duration and time_base:
        avg = Fraction(frame_count) / (v.duration * time_base)
    return VideoInfo(
        codec=cc.name,
        width=w,
        height=h,
        sar=sar,
        dar=dar,
        rotation=rotation,
        avg_rate=avg,
        real_rate=real,
        time_base=time_base,
        vfr=vfr,
        pix_fmt=pix_fmt,
        bit_depth=bit_depth,
        color_range=_color("range", cc.color_range),
        color_space=_color("space", cc.colorspace),
        color_primaries=_color("primaries", cc.color_primaries),
        color_transfer=_color("transfer", cc.color_trc),
        frame_count=frame_count,
        start_time=float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0,
        profile=getattr(cc, "profile", None),
    )


def _is_vfr(pts: list[int]) -> bool:
    """Frame durations that differ by more than rounding: variable frame rate."""
    if len(pts) < 3:
        return False
    s = sorted(pts)
    deltas = [b - a for a, b in zip(s, s[1:]) if b > a]
    if not deltas:
        return False
    lo, hi = min(deltas), max(deltas)
    # Timestamps rounded to the time base wobble by one tick; real VFR differs by a lot more.
    return hi - lo > max(2, lo // 10)
