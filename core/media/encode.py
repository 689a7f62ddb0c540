"""Encoder settings shared by every operation that re-encodes.

One dataclass so the CLI, the timeline renderer, the upscaler and the benchmarks
all encode the same way, and a benchmark compares like with like.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

log = logging.getLogger("shotline.encode")


# Rec. 709 tags for a file made from RGB (stills, rendered cards, upscaled RGB frames)
BT709_TAGS = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709")


@dataclass(frozen=True)
class EncodeSettings:
    """How a re-encode is done: codec, quality (CRF), preset, profile, pixel format, GOP, audio."""

    vcodec: str = "libx264"
    crf: int | None = 18
    preset: str = "veryfast"
    profile: str | None = "high"
    pix_fmt: str = "yuv420p"
    maxrate: str | None = None  # e.g. "12M"; bufsize is twice it
    gop_seconds: float | None = 2.0  # keyframe interval for editing-friendly output
    acodec: str = "aac"
    abitrate: str = "192k"
    sample_rate: int = 48000
    faststart: bool = True
    threads: int | None = None

    def with_(self, **kw: object) -> EncodeSettings:
        return replace(self, **kw)  # type: ignore[arg-type]

    def video_args(self, fps: float | None = None) -> list[str]:
        args = ["-c:v", self.vcodec]
        if self.vcodec in ("libx264", "libx265"):
            args += ["-preset", self.preset]
            if self.crf is not None:
                args += ["-crf", str(self.crf)]
            profile = self.x264_profile
            if profile and self.vcodec == "libx264":
                args += ["-profile:v", profile]
        elif self.vcodec == "prores_ks":
            args += ["-profile:v", self.profile or "3"]
        elif self.vcodec == "libvpx-vp9" and self.crf is not None:
            args += ["-crf", str(self.crf), "-b:v", "0"]
        if self.maxrate:
            args += ["-maxrate", self.maxrate, "-bufsize", _double(self.maxrate)]
        if self.pix_fmt:
            args += ["-pix_fmt", self.pix_fmt]
        if self.gop_seconds and fps:
            args += ["-g", str(max(1, round(self.gop_seconds * fps)))]
        if self.threads:
            args += ["-threads", str(self.threads)]
        return args

    @property
    def x264_profile(self) -> str | None:
        """The x264 profile to ask for: lossless (crf 0) needs High 4:4:4 Predictive, the only
        profile x264 allows it in (it still writes 4:2:0 when pix_fmt asks for it)."""
        if self.crf == 0 and self.profile in ("baseline", "main", "high", "high10", "high422"):
            return "high444"
        return self.profile

    def even_filter(self, width: int, height: int) -> str | None:
        """The one size rule of every re-encode: a pixel format with subsampled chroma (4:2:0,
        4:2:2) needs an even width (and, for 4:2:0, an even height), so an odd side gets one
        black pixel of padding (nothing is scaled or cut). None when the size fits as it is."""
        w2, h2 = self.fit_size(width, height)
        if (w2, h2) == (width, height):
            return None
        return f"pad={w2}:{h2}:0:0"

    def fit_size(self, width: int, height: int) -> tuple[int, int]:
        """The size a frame of ``width`` x ``height`` is encoded at (see even_filter)."""
        ew, eh = _SUBSAMPLED.get(self.pix_fmt, (False, False))
        return width + (width % 2 if ew else 0), height + (height % 2 if eh else 0)

    def fit_chain(
        self, chain: str | None, width: int, height: int, *, rotation: int = 0, source: object = ""
    ) -> str | None:
        """``chain`` (a -vf filter chain that keeps the frame size, or None) with the even-size
        pad appended when needed; ``width`` x ``height`` is the coded size, ``rotation`` the
        display matrix ffmpeg applies before the chain. Says so (a warning) when it pads."""
        if rotation in (90, 270):
            width, height = height, width
        pad = self.even_filter(width, height)
        if pad:
            w2, h2 = self.fit_size(width, height)
            log.warning(
                "note: %s: %dx%d padded to %dx%d (%s needs even sides)",
                source,
                width,
                height,
                w2,
                h2,
                self.pix_fmt,
            )
        return ",".join(x for x in (chain, pad) if x) or None

    def audio_args(self, source_rate: int | None = None) -> list[str]:
        """Encoder options for the sound. With ``source_rate`` (an edit of one clip: fade, trim,
        speed) the source's rate is kept where the codec takes it, so nothing is resampled that
        was not asked for; the channel layout is always the input's."""
        rate = self.sample_rate
        if source_rate and source_rate in CODEC_RATES.get(self.acodec, ()):
            rate = source_rate
        return ["-c:a", self.acodec, "-b:a", self.abitrate, "-ar", str(rate)]

    def container_args(self, output: str) -> list[str]:
        if self.faststart and output.lower().endswith((".mp4", ".mov", ".m4v")):
            return ["-movflags", "+faststart"]
        return []


# sample rates an audio encoder takes (AAC: the MPEG-4 sampling frequency table)
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
CODEC_RATES: dict[str, tuple[int, ...]] = {"aac": _AAC_RATES, "libfdk_aac": _AAC_RATES}  # rates a codec takes

# pixel format -> (needs an even width, needs an even height)
_SUBSAMPLED = {
    "yuv420p": (True, True),
    "yuvj420p": (True, True),
    "nv12": (True, True),
    "yuv420p10le": (True, True),
    "p010le": (True, True),
    "yuv422p": (True, False),
    "yuvj422p": (True, False),
    "yuv422p10le": (True, False),
}


def _double(rate: str) -> str:
    num = rate.rstrip("kKmMgG")
    unit = rate[len(num) :]
    try:
        return f"{float(num) * 2:g}{unit}"
    except ValueError:
        return rate


DEFAULT = EncodeSettings()
