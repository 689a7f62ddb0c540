"""Encoder settings shared by every operation that re-encodes.

One dataclass so the CLI, the timeline renderer, the upscaler and the benchmarks
all encode the same way, and a benchmark compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


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
            if self.profile and self.vcodec == "libx264":
                args += ["-profile:v", self.profile]
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

    def audio_args(self) -> list[str]:
        return ["-c:a", self.acodec, "-b:a", self.abitrate, "-ar", str(self.sample_rate)]

    def container_args(self, output: str) -> list[str]:
        if self.faststart and output.lower().endswith((".mp4", ".mov", ".m4v")):
            return ["-movflags", "+faststart"]
        return []


def _double(rate: str) -> str:
    num = rate.rstrip("kKmMgG")
    unit = rate[len(num) :]
    try:
        return f"{float(num) * 2:g}{unit}"
    except ValueError:
        return rate


DEFAULT = EncodeSettings()
