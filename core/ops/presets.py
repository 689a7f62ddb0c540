"""Platform delivery presets: one frozen record per platform, nothing but data.

`shotline reframe`, `shotline produce` (platform cuts) and the Resolve plugin
(render jobs per preset) all read this table, so a new platform is a new row,
never a new code branch. Every preset encodes the same way: H.264 High,
yuv420p, AAC 48 kHz stereo, +faststart, a peak-rate cap; what differs is the
frame size, the rate caps and the platform's upload limits.

Bitrate caps follow the platforms' published upload recommendations
(YouTube: 8-12 Mbit/s for 1080p, 35-68 Mbit/s for 2160p); they cap the peak
rate of a CRF encode, so simple shots stay small and busy ones stay legal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from shotline.core.errors import UsageError
from shotline.core.media.encode import EncodeSettings


@dataclass(frozen=True)
class Preset:
    """A delivery target: frame size, encoding caps and upload limits of one platform."""

    name: str
    label: str
    width: int
    height: int
    aliases: tuple[str, ...] = ()
    max_fps: Fraction = Fraction(60)  # fps policy: keep the source rate, halve it (integer step) above this
    video_maxrate: str = "12M"  # peak video bitrate cap (bufsize is twice it)
    crf: int = 20
    profile: str = "high"
    pix_fmt: str = "yuv420p"
    audio_bitrate: str = "192k"
    sample_rate: int = 48000
    audio_channels: int = 2
    max_bytes: int | None = None  # the platform's upload limit, warned about, never enforced
    max_seconds: float | None = None

    @property
    def aspect(self) -> Fraction:
        return Fraction(self.width, self.height)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def encode_settings(self, preset_speed: str = "veryfast") -> EncodeSettings:
        """The EncodeSettings every reframe/produce/render for this platform uses."""
        return EncodeSettings(
            vcodec="libx264",
            crf=self.crf,
            preset=preset_speed,
            profile=self.profile,
            pix_fmt=self.pix_fmt,
            maxrate=self.video_maxrate,
            gop_seconds=2.0,
            acodec="aac",
            abitrate=self.audio_bitrate,
            sample_rate=self.sample_rate,
            faststart=True,
        )

    def output_fps(self, source: Fraction) -> Fraction:
        """Keep the source rate when the platform accepts it; otherwise divide it by an integer.

        Dividing by an integer (59.94 -> 29.97, 120 -> 60) drops whole frames evenly
        instead of resampling motion.
        """
        if source <= 0:
            return Fraction(30)
        k = 1
        while source / k > self.max_fps:
            k += 1
        return source / k

    def limit_warnings(self, duration: float, size_bytes: int | None = None) -> list[str]:
        """Human-readable warnings when a file exceeds the platform's upload limits."""
        warnings = []
        if self.max_seconds is not None and duration > self.max_seconds + 1e-3:
            warnings.append(
                f"{self.label}: {duration:.1f} s is longer than the platform's "
                f"{_clock(self.max_seconds)} limit; trim it before uploading"
            )
        if self.max_bytes is not None and size_bytes is not None and size_bytes > self.max_bytes:
            warnings.append(
                f"{self.label}: {size_bytes / 2**20:.0f} MB is over the platform's "
                f"{self.max_bytes / 2**20:.0f} MB upload limit; lower --crf or the rate cap"
            )
        return warnings


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


PRESETS: tuple[Preset, ...] = (
    Preset("youtube-1080p", "YouTube 1080p 16:9", 1920, 1080, ("youtube", "yt", "youtube-1080"), Fraction(60), "12M"),
    Preset("youtube-4k", "YouTube 2160p 16:9", 3840, 2160, ("yt-4k", "youtube-2160p", "4k"), Fraction(60), "45M", crf=18),
    Preset("tiktok", "TikTok / Reels / Shorts 9:16", 1080, 1920, ("reels", "shorts", "instagram-reels", "youtube-shorts", "vertical", "9x16"), Fraction(60), "10M"),
    Preset("instagram-portrait", "Instagram post 4:5", 1080, 1350, ("instagram", "ig", "instagram-post", "4x5"), Fraction(30), "8M"),
    Preset("instagram-square", "Instagram square 1:1", 1080, 1080, ("square", "ig-square", "1x1"), Fraction(30), "8M"),
    Preset("x", "X (Twitter) 720p 16:9", 1280, 720, ("twitter", "x-720p"), Fraction(60), "5M", max_bytes=512 * 2**20, max_seconds=140.0),
    Preset("linkedin", "LinkedIn 1080p 16:9", 1920, 1080, ("linkedin-1080p",), Fraction(60), "10M"),
)  # fmt: skip


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


_BY_NAME: dict[str, Preset] = {_key(n): p for p in PRESETS for n in p.names}


def get_preset(name: str) -> Preset:
    """Look a preset up by name or alias (case-insensitive); UsageError lists the known names."""
    preset = _BY_NAME.get(_key(name))
    if preset is None:
        known = ", ".join(f"{p.name} ({', '.join(p.aliases)})" if p.aliases else p.name for p in PRESETS)
        raise UsageError(f"unknown preset {name!r}; known presets: {known}")
    return preset


def iter_presets() -> Iterator[Preset]:
    return iter(PRESETS)
