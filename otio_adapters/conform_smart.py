"""Smart render of a timeline: copy untouched GOPs, encode only around edits, then join.

A timeline of long plain clips with a few dissolves spends almost all its frames
showing media exactly as it is in the file. Where such a stretch already matches the
output (H.264 4:2:0 8-bit, the output size, square pixels, the timeline rate, constant
rate, no rotation), whole closed GOPs are stream-copied (``shotline.core.smart``:
frame index, GOP split, decode-order remux); everything else (transitions, gaps,
slates, speed changes, the partial GOPs at each cut) is rendered by the same filter
graph as the full render, restricted to its frame range, and encoded with settings
that match the copied stream. The sound is rendered once for the whole timeline, so it
stays sample-exact. One ffmpeg command writes all of these files side by side (so the
single-threaded AAC encoder overlaps the rest), and a concat join remuxes them. The
video has exactly the timeline's frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core import smart as gop
from shotline.core.encode import EncodeSettings
from shotline.core.plan import OUT, Plan, Step, work

from .conform_graph import Graph, build_graph, pieces
from .conform_model import Conform, Item

MIN_COPY_SECONDS = Fraction(1)  # shorter copyable stretches are encoded: a step costs more than it saves


@dataclass(frozen=True)
class Span:
    """Timeline frames [start, end): copied from ``source`` frames [src_start, ...) or encoded."""

    start: int
    end: int
    copy: bool
    item: Item | None = None
    segment: gop.Segment | None = None
    index: gop.FrameIndex | None = None

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class SmartLayout:
    spans: tuple[Span, ...]

    @property
    def copied_frames(self) -> int:
        return sum(s.frames for s in self.spans if s.copy)


@dataclass(frozen=True)
class SmartPlan:
    plan: Plan | None
    copied_frames: int
    reason: str  # why nothing (or not everything) could be copied
    layout: SmartLayout | None = None


def why_not(conform: Conform, output: Path, settings: EncodeSettings) -> str | None:
    """Why this timeline cannot take the smart path at all (None: it can)."""
    if len(conform.video) != 1:
        return f"{len(conform.video)} video tracks are composited"
    if settings.vcodec != "libx264" or settings.pix_fmt not in gop.SMART_PIX_FMTS:
        return f"the output encoder is {settings.vcodec} {settings.pix_fmt}"
    if output.suffix.lower() not in (".mp4", ".mov", ".m4v"):
        return f"the output container is {output.suffix}"
    return None


def copyable(item: Item, conform: Conform) -> str | None:
    """Why this clip's frames cannot be copied as they are (None: they can)."""
    if item.kind != "clip" or item.media is None:
        return "not a clip"
    if item.speed != 1:
        return "speed change"
    info = item.media.info
    bad = gop.unsupported(info)
    if bad:
        return bad
    v = info.video
    assert v is not None
    if v.rate != conform.rate:
        return f"rate {float(v.rate):.3f} is not the timeline's"
    if (v.width, v.height) != (conform.width, conform.height) or v.sar != 1:
        return f"size {v.width}x{v.height} is not the output's"
    return None


def layout(conform: Conform, min_copy: int | None = None) -> tuple[SmartLayout, list[str]]:
    """Split the timeline into copy and encode spans (and say why clips were not copied)."""
    track = conform.video[0]
    min_copy = round(MIN_COPY_SECONDS * conform.rate) if min_copy is None else min_copy
    copies: list[Span] = []
    reasons: list[str] = []
    indexes: dict[Path, gop.FrameIndex] = {}
    for p in pieces(track, 0, conform.frames):
        if p.item is None or p.end - p.start < min_copy:
            continue
        item = track.items[p.item]
        why = copyable(item, conform)
        if why is not None:
            if item.kind == "clip":
                reasons.append(f"'{item.name}': {why}")
            continue
        assert item.media is not None
        path = item.media.path
        if path not in indexes:
            indexes[path] = gop.index_frames(path)
        idx = indexes[path]
        t0 = item.media_at(p.start)
        j0 = idx.frame_at(float(t0))
        if j0 >= idx.frames or abs(idx.time(j0) - float(t0)) > 0.25 / float(conform.rate):
            reasons.append(f"'{item.name}': source range is not on a frame of the file")
            continue
        j1 = min(j0 + (p.end - p.start), idx.frames)
        for seg in gop.split(idx, j0, j1):
            if seg.copy and seg.frames >= min_copy:
                a = p.start + (seg.start - j0)
                copies.append(Span(a, a + seg.frames, True, item, seg, idx))
    spans: list[Span] = []
    pos = 0
    for c in copies:
        if c.start > pos:
            spans.append(Span(pos, c.start, False))
        spans.append(c)
        pos = c.end
    if pos < conform.frames:
        spans.append(Span(pos, conform.frames, False))
    return SmartLayout(tuple(spans)), reasons


def plan_smart(
    conform: Conform,
    output: Path,
    settings: EncodeSettings,
    *,
    font: str | None = None,
    min_copy: int | None = None,
) -> SmartPlan:
    """The smart Plan, or ``plan=None`` with the reason when nothing can be copied."""
    why = why_not(conform, output, settings)
    if why is not None:
        return SmartPlan(None, 0, why)
    lay, reasons = layout(conform, min_copy)
    if lay.copied_frames == 0:
        detail = "; ".join(reasons[:5]) or "no untouched stretch of a whole GOP or longer"
        return SmartPlan(None, 0, f"nothing to copy ({detail})")
    first = next(s for s in lay.spans if s.copy)
    assert first.item is not None and first.item.media is not None
    ref_info = first.item.media.info
    assert first.index is not None
    ref_index = first.index
    names = [f"span{i:04d}.mp4" for i in range(len(lay.spans))]
    cmd = _Command()
    steps: list[Step] = []
    enc = ["-an", "-sn", "-dn", "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", settings.preset]
    if settings.crf is not None:
        enc += ["-crf", str(settings.crf)]
    enc += gop._profile(ref_info) + ["-pix_fmt", settings.pix_fmt] + gop._colour(ref_info)
    enc += ["-video_track_timescale", str(ref_index.time_base.denominator)]
    for i, (span, name) in enumerate(zip(lay.spans, names)):
        if not span.copy:
            g = build_graph(
                conform,
                settings,
                start=span.start,
                end=span.end,
                audio=False,
                font=font,
                first_input=cmd.n_inputs,
                tag=f"e{i}_",
            )
            cmd.add_graph(g)
            assert g.video is not None
            cmd.outputs.append((["-map", f"[{g.video}]", *enc], work(name)))
            continue
        assert span.item is not None and span.item.media is not None
        assert span.segment is not None and span.index is not None
        step = gop.copy_step(span.item.media.path, span.index, span.segment, name)
        if not cmd.add_copy(step):  # a layout this module does not know: keep it a step of its own
            steps.append(step)
    audio = None
    if conform.has_audio:
        audio = build_graph(conform, settings, video=False, first_input=cmd.n_inputs, tag="a_")
        cmd.add_graph(audio)
        assert audio.audio is not None
        cmd.outputs.append((["-map", f"[{audio.audio}]", "-vn", *settings.audio_args()], work("sound.m4a")))
    steps.insert(
        0,
        cmd.step(
            float(conform.duration), f"render {len(lay.spans)} spans" + (" and the sound" if audio else "")
        ),
    )
    listing = "ffconcat version 1.0\n" + "".join(f"file '{n}'\n" for n in names)
    args = ["-f", "concat", "-safe", "0", "-i", work("spans.ffconcat")]
    if audio is not None:
        args += ["-i", work("sound.m4a"), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]
    else:
        args += ["-map", "0:v:0", "-c:v", "copy", "-an"]
    args += settings.container_args(str(output))
    steps.append(
        Step(tuple(args), OUT, float(conform.duration), "join", files=(("spans.ffconcat", listing),))
    )
    plan = Plan(
        tuple(steps),
        output,
        tuple(dict.fromkeys(cmd.paths)),
        f"smart render of timeline '{conform.name}' ({lay.copied_frames} of {conform.frames} frames copied)",
        {"spans": [(s.start, s.end, "copy" if s.copy else "encode") for s in lay.spans]},
    )
    reason = "; ".join(reasons[:5])
    return SmartPlan(plan, lay.copied_frames, reason, lay)


class _Command:
    """One ffmpeg command writing many files: every encoded span, every copied stretch and the sound
    run side by side in one process (one start-up; the single-threaded AAC encoder overlaps the rest)."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.n_inputs = 0
        self.chains: list[str] = []
        self.outputs: list[tuple[list[str], str]] = []
        self.paths: list[Path] = []

    def add_graph(self, g: Graph) -> None:
        for chunk in g.inputs:
            self.head += chunk
        self.n_inputs += len(g.inputs)
        self.chains += g.chains
        self.paths += g.paths

    def add_copy(self, step: Step) -> bool:
        """Fold a ``core.smart.copy_step`` (``-i SRC -map 0:v:0 ...``) in as one more input and output."""
        a = list(step.args)
        if step.tool != "ffmpeg" or len(a) < 4 or a[0] != "-i" or a[2:4] != ["-map", "0:v:0"]:
            return False
        self.head += ["-i", a[1]]
        self.paths.append(Path(a[1]))
        self.outputs.append((["-map", f"{self.n_inputs}:v:0", *a[4:]], step.output))
        self.n_inputs += 1
        return True

    def step(self, duration: float, label: str) -> Step:
        args = list(self.head)
        if self.chains:
            args += ["-filter_complex", ";\n".join(self.chains)]
        for opts, path in self.outputs[:-1]:
            args += [*opts, path]
        opts, last = self.outputs[-1]
        return Step(tuple(args + opts), last, duration, label)
