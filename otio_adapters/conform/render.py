"""Render (conform) any OpenTimelineIO timeline to a video file with ffmpeg.

``render_timeline("film.otio", "film.mp4")`` reads anything OTIO's adapters read
(.otio, .otioz, CMX 3600 EDL, FCP7 XML, FCPXML), resolves and relinks media, and
renders exactly the timeline's frames: clips retimed to the timeline rate, gaps as
black and silence, video tracks composited bottom to top, audio tracks summed,
transitions centred on their cuts, LinearTimeWarp/FreezeFrame, slates for missing
media. Everything that had to be substituted is in ``RenderResult.notes``.

Two paths, one result:

* the full render: one ffmpeg command, one filter graph for the whole timeline;
* the smart render (default where it applies): stretches of untouched clips that
  already match the output format are stream-copied from keyframe to keyframe,
  only the frames around transitions, effects and cuts off keyframes are encoded;
  AAC sound is packet-copied between edits where the sources allow it and encoded
  around each seam (otherwise rendered once in full), and a concat joins it all
  (see conform_smart).
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from shotline.core.errors import UsageError
from shotline.core.media.encode import CODEC_RATES, DEFAULT, EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.core.media.runner import ProgressCallback, RunResult, run
from shotline.otio_adapters.conform.edl import ignored_note
from shotline.otio_adapters.conform.graph import build_graph
from shotline.otio_adapters.conform.model import Conform, build_conform
from shotline.otio_adapters.conform.smart import SmartLayout, plan_smart_timeline
from shotline.otio_adapters.timeline import read_timeline

CONTAINERS = (".mp4", ".mov", ".m4v", ".mkv")
AUDIO_CONTAINERS = {".m4a": ["-c:a", "aac"], ".wav": ["-c:a", "pcm_s16le"]}  # sound only
GRAPH_FILE = "graph.txt"  # the filter graph travels in a file: no length limit


@dataclass(frozen=True)
class RenderOptions:
    """How a timeline is rendered: media relinking, missing-media policy, smart render, encoder."""

    media_dir: Path | None = None
    missing: str = "slate"  # or "error"
    smart: bool = True
    settings: EncodeSettings = DEFAULT
    rate: Fraction | None = None  # override the timeline's rate
    size: tuple[int, int] | None = None  # override the output size (default: the first clip's)
    font: str | None = None  # slate font


@dataclass
class RenderPlan:
    """What a render will do: the ffmpeg plan plus the facts a user should see first."""

    plan: Plan
    conform: Conform
    mode: str  # "full" or "smart"
    copied_frames: int = 0
    smart_reason: str = ""  # why the smart path was not (fully) used
    layout: SmartLayout | None = None


@dataclass(frozen=True)
class RenderResult:
    """A rendered timeline: the file, its frame count, rate, size, and the notes the user must read."""

    output: Path
    frames: int
    rate: Fraction
    width: int
    height: int
    duration: float
    mode: str
    copied_frames: int
    encoded_frames: int
    elapsed: float
    notes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    smart_reason: str = ""
    commands: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "output": str(self.output),
            "frames": self.frames,
            "rate": f"{self.rate.numerator}/{self.rate.denominator}",
            "size": f"{self.width}x{self.height}",
            "duration": round(self.duration, 6),
            "mode": self.mode,
            "copied_frames": self.copied_frames,
            "encoded_frames": self.encoded_frames,
            "elapsed": round(self.elapsed, 3),
            "notes": list(self.notes),
            "missing": list(self.missing),
            "smart_reason": self.smart_reason,
        }


def load(
    timeline: str | Path | otio.schema.Timeline, options: RenderOptions, extract_dir: Path | None = None
) -> Conform:
    """Read (if a path) and translate a timeline into the render model."""
    if isinstance(timeline, otio.schema.Timeline):
        tl, base = timeline, Path.cwd()
    else:
        path = Path(timeline)
        tl, base = read_timeline(path, options.rate, extract_dir), path.resolve().parent
        if extract_dir is not None and path.suffix.lower() == ".otioz":
            base = extract_dir
    conform = build_conform(
        tl,
        base=base,
        media_dir=options.media_dir,
        missing=options.missing,
        rate=options.rate,
        size=options.size,
    )
    if not isinstance(timeline, otio.schema.Timeline) and Path(timeline).suffix.lower() == ".edl":
        skipped = ignored_note(Path(timeline))
        if skipped:
            conform.notes.insert(0, skipped)
        if options.rate is None:
            conform.notes.insert(0, "an EDL carries no frame rate: read at 24 fps (pass --rate for another)")
    return conform


def output_settings(conform: Conform, settings: EncodeSettings) -> EncodeSettings:
    """``settings`` with the sound at the timeline's own rate (its sources' when they agree), where
    the audio codec takes that rate: nothing is resampled that the sources did not ask for."""
    rate = conform.sample_rate
    if settings.acodec.startswith("pcm_") or rate in CODEC_RATES.get(settings.acodec, ()):
        return dataclasses.replace(settings, sample_rate=rate)
    return settings


def full_plan(conform: Conform, output: Path, settings: EncodeSettings, font: str | None = None) -> Plan:
    """One ffmpeg command, one filter graph for the whole timeline."""
    sound_only = AUDIO_CONTAINERS.get(output.suffix.lower())
    if sound_only is not None and not conform.has_audio:
        raise UsageError(f"{output}: timeline '{conform.name}' has no sound to write")
    g = build_graph(conform, settings, font=font, video=sound_only is None)
    args = g.args(script=work(GRAPH_FILE))
    args += settings.video_args(float(conform.rate)) if g.video else ["-vn"]
    args += ["-fps_mode", "passthrough"] if g.video else []
    if g.audio:
        args += settings.audio_args() + (sound_only or [])
    else:
        args += ["-an"]
    args += ["-sn", "-dn"] + settings.container_args(str(output))
    step = Step(
        tuple(args),
        OUT,
        float(conform.duration),
        f"render {conform.frames} frames",
        files=((GRAPH_FILE, g.text),),
    )
    return Plan(
        steps=(step,),
        output=output,
        inputs=tuple(g.paths),
        description=f"render timeline '{conform.name}' ({conform.frames} frames at {_fps(conform.rate)} fps)",
    )


def plan_render(
    timeline: str | Path | otio.schema.Timeline,
    output: str | Path,
    options: RenderOptions | None = None,
    extract_dir: Path | None = None,
) -> RenderPlan:
    """Read the timeline and build the plan (smart where it applies, else full)."""
    options = options or RenderOptions()
    output = Path(output)
    if output.suffix.lower() not in (*CONTAINERS, *AUDIO_CONTAINERS):
        raise UsageError(f"{output}: the render writes {', '.join((*CONTAINERS, *AUDIO_CONTAINERS))} files")
    conform = load(timeline, options, extract_dir)
    options = dataclasses.replace(options, settings=output_settings(conform, options.settings))
    if output.suffix.lower() in AUDIO_CONTAINERS:
        return RenderPlan(
            full_plan(conform, output, options.settings, options.font), conform, "full", 0, "sound only"
        )
    if options.smart:
        smart = plan_smart_timeline(conform, output, options.settings, font=options.font)
        if smart.plan is not None:
            return RenderPlan(smart.plan, conform, "smart", smart.copied_frames, smart.reason, smart.layout)
        return RenderPlan(
            full_plan(conform, output, options.settings, options.font), conform, "full", 0, smart.reason
        )
    return RenderPlan(
        full_plan(conform, output, options.settings, options.font), conform, "full", 0, "not asked"
    )


def render_timeline(
    timeline: str | Path | otio.schema.Timeline,
    output: str | Path,
    *,
    media_dir: str | Path | None = None,
    missing: str = "slate",
    smart: bool = True,
    settings: EncodeSettings = DEFAULT,
    rate: Fraction | None = None,
    size: tuple[int, int] | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RenderResult:
    """Render ``timeline`` to ``output``; see the module docstring. Raises TimelineError/MediaError/FFmpegError."""
    options = RenderOptions(
        media_dir=Path(media_dir) if media_dir is not None else None,
        missing=missing,
        smart=smart,
        settings=settings,
        rate=rate,
        size=size,
    )
    with tempfile.TemporaryDirectory(prefix="shotline-conform-") as tmp:
        rp = plan_render(timeline, output, options, extract_dir=Path(tmp))
        result = run(rp.plan, overwrite=overwrite, progress=progress, cancel=cancel)
    return finish(rp, result)


def finish(rp: RenderPlan, result: RunResult) -> RenderResult:
    """The RenderResult of a finished run of ``rp``."""
    c = rp.conform
    return RenderResult(
        output=result.output,
        frames=c.frames,
        rate=c.rate,
        width=c.width,
        height=c.height,
        duration=float(c.duration),
        mode=rp.mode,
        copied_frames=rp.copied_frames,
        encoded_frames=c.frames - rp.copied_frames,
        elapsed=result.elapsed,
        notes=tuple(c.notes),
        missing=tuple(c.missing),
        smart_reason=rp.smart_reason,
        commands=result.commands,
    )


def _fps(rate: Fraction) -> str:
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")
