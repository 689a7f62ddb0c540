"""Smart render of a timeline: copy untouched GOPs, encode only around edits, then join.

A timeline of long plain clips with a few dissolves spends almost all its frames
showing media exactly as it is in the file. Where such a stretch already matches the
output (H.264 4:2:0 8-bit, the output size, square pixels, the timeline rate, constant
rate, no rotation), whole closed GOPs are stream-copied (``shotline.core.media.smart``:
frame index, GOP split, decode-order remux); everything else (transitions, gaps,
slates, speed changes, the partial GOPs at each cut) is rendered by the same filter
graph as the full render, restricted to its frame range, and encoded with settings
that match the copied stream. The sound takes the same path where it can
(``audio_layout``): inside the copied stretches the source's own AAC packets are copied,
on the source's 1024-sample grid, and only the bridges between them (and the head and
tail of the timeline) are rendered by the filter graph and encoded, each with a few
blocks of lead-in and run-out whose packets are dropped (as ``core.smart.audio_steps``
does for fades), so the MDCT halves at every seam describe the same signal. Where the
sound cannot be copied (audio tracks of their own, a source whose AAC is not at the timeline's
rate and layout, a rate that puts frames off the sample grid, nothing long enough), it is rendered
once for the whole timeline and the reason is recorded. One ffmpeg command writes all of
these files side by side (so the single-threaded AAC encoders overlap the rest), and a
concat join remuxes them. The video has exactly the timeline's frames, the sound exactly
its samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.media import smart as gop
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.otio_adapters.conform.graph import Graph, build_graph, pieces, samples_at
from shotline.otio_adapters.conform.model import Conform, Item

MIN_COPY_SECONDS = Fraction(1)  # shorter copyable stretches are encoded: a step costs more than it saves
BLOCK = gop.AAC_BLOCK
LEAD = gop.AUDIO_LEAD_BLOCKS  # blocks encoded (and dropped) before and after every seam
MIN_AUDIO_COPY_BLOCKS = 4 * LEAD  # shorter audio stretches are left to the bridge encodes


@dataclass(frozen=True)
class Span:
    """Timeline frames [start, end): copied from ``source`` frames [src_start, ...) or encoded."""

    start: int
    end: int
    copy: bool
    item: Item | None = None
    segment: gop.Span | None = None
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
class AudioCopy:
    """Timeline samples [start, end) (grid points) copied as AAC packets of ``path``,
    whose sample ``t + offset`` is timeline sample ``t``."""

    start: int
    end: int
    path: Path
    index: gop.AudioIndex
    offset: int


@dataclass(frozen=True)
class SmartPlan:
    plan: Plan | None
    copied_frames: int
    reason: str  # why nothing (or not everything) could be copied
    layout: SmartLayout | None = None
    audio_copies: tuple[AudioCopy, ...] = ()
    audio_reason: str = ""  # why the sound (or part of it) is encoded rather than copied


def why_not(conform: Conform, output: Path, settings: EncodeSettings) -> str | None:
    """Why this timeline cannot take the smart path at all (None: it can)."""
    if len(conform.video) != 1:
        return f"{len(conform.video)} video tracks are composited"
    if settings.vcodec != "libx264" or settings.pix_fmt not in gop.SMART_PIX_FMTS:
        return f"the output encoder is {settings.vcodec} {settings.pix_fmt}"
    if output.suffix.lower() not in (".mp4", ".mov", ".m4v"):
        return f"the output container is {output.suffix}"
    if settings.crf == 0:  # x264 writes lossless only as High 4:4:4, which no copied GOP is
        return "lossless (crf 0) output"
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
    candidates = []
    around: dict[Path, list[float]] = {}  # per source, where the timeline cuts into it
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
        candidates.append((p, item))
        around.setdefault(item.media.path, []).extend(float(item.media_at(f)) for f in (p.start, p.end))
    # a long source used for a few seconds is indexed near those seconds only
    indexes = {path: gop.index_frames(path, around=times) for path, times in around.items()}
    for p, item in candidates:
        assert item.media is not None
        idx = indexes[item.media.path]
        if idx.unsupported():
            reasons.append(f"'{item.name}': {idx.unsupported()}")
            continue
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


def audio_layout(conform: Conform, lay: SmartLayout, settings: EncodeSettings) -> tuple[list[AudioCopy], str]:
    """The AAC packet stretches the sound can copy (inside the copied video spans, all on one
    1024-sample grid so the bridges between them are whole blocks), and why the rest cannot."""
    if not conform.has_audio:
        return [], "no sound"
    if conform.audio:
        return [], "the sound comes from audio tracks"
    sr = conform.sample_rate
    if settings.acodec != "aac" or settings.sample_rate != sr:
        return (
            [],
            f"the output sound is {settings.acodec} at {settings.sample_rate} Hz, the timeline's {sr} Hz",
        )
    per_frame = Fraction(sr) / conform.rate
    if per_frame.denominator != 1:
        return [], f"frames at {float(conform.rate):.3f} fps do not start on whole samples"
    found: list[AudioCopy] = []
    reasons: list[str] = []
    indexes: dict[Path, gop.AudioIndex | None] = {}
    around: dict[Path, list[float]] = {}  # per source, the seconds its copied stretches start and end
    for span in lay.spans:
        if span.copy and span.item is not None and span.item.media is not None:
            times = (float(span.item.media_at(f)) for f in (span.start, span.end))
            around.setdefault(span.item.media.path, []).extend(times)
    for span in lay.spans:
        if not span.copy or span.item is None or span.item.media is None:
            continue
        item, media = span.item, span.item.media
        a = media.info.audio
        if a is None or a.channels != conform.channels:
            reasons.append(f"'{item.name}': " + ("no sound" if a is None else f"{a.channels}-channel sound"))
            continue
        if media.path not in indexes:
            indexes[media.path] = gop.index_audio(media.path, sr, around=around[media.path])
        aidx = indexes[media.path]
        if aidx is None:
            reasons.append(f"'{item.name}': sound is not {sr} Hz AAC on a 1024-sample grid")
            continue
        src = item.media_at(span.start) * sr
        if src.denominator != 1:
            reasons.append(f"'{item.name}': source range does not start on a sample")
            continue
        lo, hi = (
            samples_at(span.start, conform.rate, conform.sample_rate),
            samples_at(span.end, conform.rate, conform.sample_rate),
        )
        offset = int(src) - lo
        # one untouched block kept between every seam and the edge of the stretch
        start = -(-(lo + offset) // BLOCK) * BLOCK - offset + BLOCK
        end = (hi + offset) // BLOCK * BLOCK - offset - BLOCK
        if (
            end - start < MIN_AUDIO_COPY_BLOCKS * BLOCK
            or (end + offset - aidx.first_pts) // BLOCK > aidx.packets
        ):
            continue
        found.append(AudioCopy(start, end, media.path, aidx, offset))
    if not found:
        return [], "; ".join(reasons[:5]) or "no copied stretch is long enough"
    by_phase: dict[int, int] = {}
    for c in found:
        by_phase[c.start % BLOCK] = by_phase.get(c.start % BLOCK, 0) + c.end - c.start
    phase = max(by_phase, key=lambda k: by_phase[k])
    copies = [c for c in found if c.start % BLOCK == phase]
    off = len(found) - len(copies)
    if off:
        reasons.append(f"{off} of {len(found)} stretches are off the 1024-sample grid of the rest")
    # the first copy needs a head encode of LEAD blocks before it, the last a tail after it
    total = samples_at(conform.frames, conform.rate, conform.sample_rate)
    while copies and copies[0].start < (LEAD + 1) * BLOCK:
        copies.pop(0)
    while copies and copies[-1].end > total - LEAD * BLOCK:
        copies.pop()
    if not copies:
        reasons.append("no copied stretch is far enough from the ends")
    return copies, "; ".join(reasons[:5])


def plan_smart_timeline(
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
    enc += _reorder_args(first.item.media.path)
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
    acopies, audio_reason = audio_layout(conform, lay, settings)
    sound = ""
    if acopies:
        sound = _smart_sound(conform, settings, acopies, cmd, font)
    elif conform.has_audio:
        audio = build_graph(conform, settings, video=False, first_input=cmd.n_inputs, tag="a_")
        cmd.add_graph(audio)
        assert audio.audio is not None
        cmd.outputs.append((["-map", f"[{audio.audio}]", "-vn", *settings.audio_args()], work("sound.m4a")))
        sound = "full"
    label = f"render {len(lay.spans)} spans"
    if sound:
        label += " and the sound" if sound == "full" else f" and {len(acopies) * 2 + 1} pieces of sound"
    steps.insert(0, cmd.step(float(conform.duration), label))
    listing = "ffconcat version 1.0\n" + "".join(f"file '{n}'\n" for n in names)
    args = ["-f", "concat", "-safe", "0", "-i", work("spans.ffconcat")]
    if sound == "full":
        args += ["-i", work("sound.m4a"), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]
    elif sound:
        args += ["-itsoffset", sound, "-i", _joined(acopies), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy"]
        args += ["-bsf:a", _last_packet(conform, acopies)]
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
        {
            "spans": [(s.start, s.end, "copy" if s.copy else "encode") for s in lay.spans],
            "audio": "smart" if acopies else sound or "none",
            "audio_copies": [(c.start, c.end) for c in acopies],
        },
    )
    shown = reasons[:5]
    if conform.has_audio and audio_reason:
        what = "sound partly encoded" if acopies else "sound encoded in full"
        shown.append(f"{what} ({audio_reason})")
    reason = "; ".join(shown)
    return SmartPlan(plan, lay.copied_frames, reason, lay, tuple(acopies), audio_reason)


def decode_delay(path: Path) -> int | None:
    """Frames the first picture waits in decode order (B-frame reorder depth), from the packets."""
    import av

    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            pts: list[int] = []
            first_dts: int | None = None
            for p in c.demux(s):
                if p.pts is None or p.dts is None:
                    continue
                first_dts = p.dts if first_dts is None else first_dts
                pts.append(p.pts)
                if len(pts) >= 32:
                    break
    except Exception:  # unreadable here means unknown: keep the encoder's default
        return None
    if first_dts is None or len(pts) < 2:
        return None
    pts.sort()
    step = (pts[-1] - pts[0]) / (len(pts) - 1)
    return round((pts[0] - first_dts) / step) if step > 0 else None


def _reorder_args(path: Path) -> list[str]:
    """x264 options giving encoded spans the copied source's decode delay. The concat join
    needs one delay throughout: a span that delays more than the one before it starts its
    decode times before that one's end, and the muxer squeezes them (a short frame)."""
    delay = decode_delay(path)
    if delay == 0:
        return ["-bf", "0"]
    if delay == 1:
        return ["-bf", "1", "-b_pyramid", "none"]
    return []  # x264's default: B-frames in a pyramid, two frames of delay


def _head(acopies: list[AudioCopy]) -> int:
    """The grid point at or before timeline sample 0 where the head encode starts (<= 0)."""
    phase = acopies[0].start % BLOCK
    return phase - BLOCK if phase else 0


def _piece_names(acopies: list[AudioCopy]) -> list[str]:
    return [f"sound{i:04d}.aac" for i in range(2 * len(acopies) + 1)]


def _smart_sound(
    conform: Conform, settings: EncodeSettings, acopies: list[AudioCopy], cmd: _Command, font: str | None
) -> str:
    """Add the sound's pieces to ``cmd``: a bridge encode before, between and after the copied
    AAC stretches, each a raw ADTS file on the one grid. Returns the join's input offset (the
    head's priming block and the samples before timeline sample 0)."""
    total = samples_at(conform.frames, conform.rate, conform.sample_rate)
    per_frame = int(Fraction(conform.sample_rate) / conform.rate)
    h = _head(acopies)
    names = _piece_names(acopies)
    bounds = [h, *[x for c in acopies for x in (c.start, c.end)], total]
    enc = [*settings.audio_args(), "-f", "adts"]
    for k in range(len(acopies) + 1):
        e, f = bounds[2 * k], bounds[2 * k + 1]
        head, tail = k == 0, k == len(acopies)
        a = e if head else e - LEAD * BLOCK  # encoded signal, timeline samples [a, b)
        b = total if tail else f + LEAD * BLOCK
        a0, b0 = max(a, 0), min(b, total)
        fa, fb = a0 // per_frame, min(conform.frames, -(-b0 // per_frame))
        g = build_graph(
            conform,
            settings,
            start=fa,
            end=fb,
            video=False,
            font=font,
            first_input=cmd.n_inputs,
            tag=f"s{k}_",
        )
        cmd.add_graph(g)
        assert g.audio is not None
        base = samples_at(fa, conform.rate, conform.sample_rate)
        chain = f"atrim=start_sample={a0 - base}:end_sample={b0 - base},asetpts=N/SR/TB"
        if a0 > a:  # the head starts on the grid before sample 0: silence first
            chain += f",adelay=delays={a0 - a}S:all=1"
        lab = f"s{k}_out"
        cmd.chains.append(f"[{g.audio}]{chain}[{lab}]")
        kept = (f - e) // BLOCK if not tail else -(-(f - e) // BLOCK)
        first = 0 if head else LEAD + 1  # the head keeps its priming block, the others drop theirs
        if head:
            kept += 1
        drop = f"gte(n\\,{first + kept})" if first == 0 else f"lt(n\\,{first})+gte(n\\,{first + kept})"
        cmd.outputs.append(
            (["-map", f"[{lab}]", "-vn", *enc, "-bsf:a", f"noise=drop={drop}"], work(names[2 * k]))
        )
        if tail:
            break
        c = acopies[k]
        inp, copy = gop.aac_copy_args(c.path, c.start + c.offset, c.end + c.offset, conform.sample_rate)
        cmd.head += inp
        cmd.paths.append(c.path)
        cmd.outputs.append(
            (
                ["-map", f"{cmd.n_inputs}:a:0", "-vn", "-sn", "-dn", *copy, "-f", "adts"],
                work(names[2 * k + 1]),
            )
        )
        cmd.n_inputs += 1
    return f"{-(BLOCK - h) / conform.sample_rate:.9f}"


def _joined(acopies: list[AudioCopy]) -> str:
    return "concat:" + "|".join(work(n) for n in _piece_names(acopies))


def _last_packet(conform: Conform, acopies: list[AudioCopy]) -> str:
    """The bitstream filter that ends the sound on the timeline's last sample."""
    total = samples_at(conform.frames, conform.rate, conform.sample_rate)
    h = _head(acopies)
    packets = 1 + -(-(total - h) // BLOCK)  # priming block, then the grid from h to the end
    return gop.last_packet_bsf(packets, total - h - (packets - 2) * BLOCK)


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
        """Fold a ``core.smart.copy_step`` (``[-ss T] -i SRC -map 0:v:0 ...``) in as one more
        input (with its seek) and output."""
        a = list(step.args)
        i = a.index("-i") if "-i" in a else -1
        if step.tool != "ffmpeg" or i < 0 or a.count("-i") != 1 or a[i + 2 : i + 4] != ["-map", "0:v:0"]:
            return False
        self.head += a[: i + 2]
        self.paths.append(Path(a[i + 1]))
        self.outputs.append((["-map", f"{self.n_inputs}:v:0", *a[i + 4 :]], step.output))
        self.n_inputs += 1
        return True

    def step(self, duration: float, label: str) -> Step:
        args = list(self.head)
        files: tuple[tuple[str, str], ...] = ()
        if self.chains:  # in a file: a graph of many spans outgrows one command-line argument
            args += ["-/filter_complex", work("graph.txt")]
            files = (("graph.txt", ";\n".join(self.chains)),)
        for opts, path in self.outputs[:-1]:
            args += [*opts, path]
        opts, last = self.outputs[-1]
        return Step(tuple(args + opts), last, duration, label, files=files)
