"""One ffmpeg filter graph for a whole timeline (or one frame range of it).

Each track is cut into pieces that ``concat`` joins: a *solo* piece is one item
(clip, gap, slate) alone, a *mix* piece is a transition window where ``xfade``
(video) and ``acrossfade`` (audio) blend the items on both sides of a cut. Every
piece has an exact frame count (and an exact sample count, ``round(f * sample_rate / rate)``, the sources' own rate when they agree, else 48 kHz,
at each boundary), so the output has exactly the timeline's frames and the sound
never drifts. Video tracks are overlaid bottom to top; audio tracks are summed.

A clip is decoded once per render: its input is seeked close to the first media
frame it needs, retimed to the timeline rate by ``fps`` and then ``split`` into
the pieces that use it. Frame choice is exact: timeline frame ``f`` shows the last
media frame whose time is at or before ``media_at(f)`` (timestamps are moved to a
1/705600000 s time base first, so no rounding flips a frame on an exact boundary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from shotline.core.media.encode import EncodeSettings
from shotline.core.ops.effects import atempo_chain
from shotline.otio_adapters.conform.model import Conform, Item, Track

SAMPLE_RATE = 48000  # the sound's rate when its sources disagree (Conform.sample_rate says which)
FINE_TB = 705600000  # divisible by every common frame rate, 30000/1001 included


def aclock(sample_rate: int) -> str:
    """Sample n of a track at exactly n / sample_rate seconds."""
    return f"asettb=1/{sample_rate},asetpts=N"


def layout(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


def frac(x: Fraction) -> str:
    """An exact rate for a filter option ("30000/1001", "25")."""
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


def dec(x: Fraction | float) -> str:
    """A decimal with enough digits for nanosecond timing."""
    return f"{float(x):.9f}".rstrip("0").rstrip(".") or "0"


@dataclass(frozen=True)
class Piece:
    """Frames ``[start, end)`` of a track: one item alone, or a transition window."""

    start: int
    end: int
    item: int | None = None  # index of the item shown alone
    mix: tuple[int | None, int | None] | None = None  # (item before, item after); None = edge
    effect: str = "fade"


@dataclass
class Graph:
    """Inputs (argv chunks), the filtergraph text and its output pads."""

    inputs: list[list[str]] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    video: str | None = None
    audio: str | None = None
    frames: int = 0
    slates: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    paths: list[Path] = field(default_factory=list)

    @property
    def text(self) -> str:
        return ";\n".join(self.chains)

    def args(self, script: str | None = None) -> list[str]:
        """The inputs, the graph and the output maps. With ``script`` (a file the caller writes
        ``text`` into) ffmpeg reads the graph from that file: a graph of hundreds of clips is
        longer than one command-line argument may be (128 KiB on Linux)."""
        out: list[str] = []
        for chunk in self.inputs:
            out += chunk
        out += ["-/filter_complex", script] if script is not None else ["-filter_complex", self.text]
        if self.video:
            out += ["-map", f"[{self.video}]"]
        if self.audio:
            out += ["-map", f"[{self.audio}]"]
        return out


def samples_at(frame: int, rate: Fraction, sample_rate: int = SAMPLE_RATE) -> int:
    """The sound sample where timeline frame ``frame`` starts."""
    return round(Fraction(frame) * sample_rate / rate)


def pieces(track: Track, start: int, end: int) -> list[Piece]:
    """The track's pieces that cover ``[start, end)``, in order; a mix window is never cut."""
    cuts = {start, end}
    for it in track.items:
        cuts.update((it.start, it.end))
    for d in track.dissolves:
        cuts.update((d.start, d.end))
    edges = sorted(x for x in cuts if start <= x <= end)
    out: list[Piece] = []
    for x, y in zip(edges, edges[1:]):
        window = next((d for d in track.dissolves if d.start <= x < d.end), None)
        if window is not None:
            if window.start < start or window.end > end:
                raise ValueError(f"range {start}-{end} cuts transition window {window.start}-{window.end}")
            p = Piece(x, y, mix=(window.before, window.after), effect=window.effect)
        else:
            idx = next(i for i, it in enumerate(track.items) if it.start <= x < it.end)
            p = Piece(x, y, item=idx)
        if out and out[-1].mix == p.mix and out[-1].item == p.item and out[-1].end == x:
            p = Piece(out[-1].start, y, p.item, p.mix, p.effect)
            out[-1] = p
        else:
            out.append(p)
    return out


class GraphBuilder:
    """Builds the filtergraph for ``conform`` over frames ``[start, end)``."""

    def __init__(
        self,
        conform: Conform,
        settings: EncodeSettings,
        *,
        start: int = 0,
        end: int | None = None,
        video: bool = True,
        audio: bool = True,
        font: str | None = None,
        first_input: int = 0,
        tag: str = "",
    ) -> None:
        self.c = conform
        self.first_input = first_input
        self.tag = tag
        self.settings = settings
        self.start = start
        self.end = conform.frames if end is None else end
        self.want_video = video
        self.want_audio = audio and conform.has_audio
        self.font = font
        self.g = Graph(frames=self.end - self.start)
        self._n = 0
        self._inputs: dict[tuple[int, str], int] = {}

    def label(self, prefix: str) -> str:
        self._n += 1
        return f"{self.tag}{prefix}{self._n}"

    def add(self, chain: str) -> None:
        self.g.chains.append(chain)

    def build(self) -> Graph:
        if self.want_video:
            outs = [self.video_track(t, upper=i > 0) for i, t in enumerate(self.c.video)]
            base = outs[0]
            for top in outs[1:]:
                lab = self.label("ov")
                self.add(f"[{base}][{top}]overlay=eof_action=pass:format=auto[{lab}]")
                base = lab
            final = self.label("vout")
            self.add(f"[{base}]format={self.settings.pix_fmt},setsar=1,{self.clock()}[{final}]")
            self.g.video = final
        if self.want_audio:
            tracks = self.c.audio or self.c.video[:1]
            outs = [self.audio_track(t) for t in tracks]
            if len(outs) == 1:
                self.g.audio = outs[0]
            else:
                lab = self.label("aout")
                joined = "".join(f"[{o}]" for o in outs)
                ns = samples_at(self.end, self.c.rate, self.c.sample_rate) - samples_at(
                    self.start, self.c.rate, self.c.sample_rate
                )
                mix = f"amix=inputs={len(outs)}:normalize=0:duration=longest"
                self.add(f"{joined}{mix},atrim=end_sample={ns},{aclock(self.c.sample_rate)}[{lab}]")
                self.g.audio = lab
        return self.g

    # ------------------------------------------------------------------ inputs

    def input(self, item: Item, seek: Fraction) -> int:
        """The input decoding ``item`` (one per item, shared by its video and audio chains)."""
        assert item.media is not None
        path = item.media.path
        key = (id(item), dec(seek))
        if key not in self._inputs:
            chunk = ["-ss", dec(seek)] if seek > 0 else []
            self.g.inputs.append([*chunk, "-i", str(path)])
            self._inputs[key] = self.first_input + len(self.g.inputs) - 1
            if path not in self.g.paths:
                self.g.paths.append(path)
        return self._inputs[key]

    def seek_for(self, item: Item, lo: int, hi: int) -> Fraction:
        """Where to seek the input so every media frame of timeline frames [lo, hi) is decoded."""
        assert item.media is not None
        t = min(item.media_at(lo), item.media_at(hi - 1))
        v = item.media.info.video
        src = v.rate if v is not None and v.rate else self.c.rate
        t -= max(2 / src, Fraction(1, 10))
        if t <= Fraction(1, 2):
            return Fraction(0)
        # ffmpeg keeps -ss in microseconds and shifts the stream's timestamps by it in the
        # stream's own ticks: a seek on both grids shifts every timestamp exactly
        tb = Fraction(v.time_base or 0) if v is not None else Fraction(0)
        grid = Fraction(tb.numerator, math.gcd(tb.denominator, 10**6)) if tb > 0 else Fraction(1, 10**6)
        return math.floor(t / grid) * grid

    # ------------------------------------------------------------------ video

    def video_track(self, track: Track, upper: bool) -> str:
        ps = pieces(track, self.start, self.end)
        fmt = "yuva420p" if upper else self.settings.pix_fmt
        uses: dict[int, list[tuple[int, int, str]]] = {}
        labels: list[str] = []
        for p in ps:
            if p.mix is None:
                assert p.item is not None
                lab = self.label("vp")
                uses.setdefault(p.item, []).append((p.start, p.end, lab))
                labels.append(lab)
                continue
            sides = []
            for idx in p.mix:
                lab = self.label("vx")
                if idx is None:
                    self.add(self.blank(p.end - p.start, fmt, upper) + f"[{lab}]")
                else:
                    uses.setdefault(idx, []).append((p.start, p.end, lab))
                sides.append(lab)
            out = self.label("vm")
            dur = dec(Fraction(p.end - p.start) / self.c.rate)
            self.add(f"[{sides[0]}][{sides[1]}]xfade=transition={p.effect}:duration={dur}:offset=0[{out}]")
            labels.append(out)
        for idx, parts in uses.items():
            self.item_video(track.items[idx], parts, fmt, upper)
        out = self.label("vt")
        joined = "".join(f"[{x}]" for x in labels)
        join = f"concat=n={len(labels)}:v=1:a=0," if len(labels) > 1 else ""
        self.add(f"{joined}{join}{self.clock()}[{out}]")
        return out

    def clock(self) -> str:
        """The one timing model: frame n of a stream at exactly n / rate (time base 1/rate).

        Pieces are joined by count, so their own timestamps (xfade's, a one-frame piece's,
        a retimed clip's) never decide where a frame sits: concat would otherwise guess the
        length of a piece's last frame and could put two frames in one slot.
        """
        r = self.c.rate
        return f"settb={r.denominator}/{r.numerator},setpts=N"

    def generated(self, source: str, frames: int, fmt: str) -> str:
        """A generator's picture (bars, a colour) at the output size and rate."""
        name, _, opts = source.partition("=")
        size = f"s={self.c.width}x{self.c.height}:r={frac(self.c.rate)}"
        return f"{name}={opts + ':' if opts else ''}{size},format={fmt},trim=end_frame={frames}"

    def blank(self, frames: int, fmt: str, transparent: bool) -> str:
        color = "black@0.0" if transparent else "black"
        size = f"{self.c.width}x{self.c.height}"
        return f"color=c={color}:s={size}:r={frac(self.c.rate)},format={fmt},trim=end_frame={frames}"

    def item_video(self, item: Item, parts: list[tuple[int, int, str]], fmt: str, upper: bool) -> None:
        lo = min(p[0] for p in parts)
        hi = max(p[1] for p in parts)
        n = hi - lo
        if item.kind == "gap":
            head = self.blank(n, fmt, upper)
        elif item.kind == "generator":
            head = self.generated(item.generator, n, fmt)
        elif item.kind == "slate" or item.media is None:
            head = self.slate(item, n, fmt)
        else:
            head = self.clip_video(item, lo, hi, fmt, upper)
        self.fan_out(head, lo, parts, "trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS")

    def fan_out(
        self, head: str, lo: int, parts: list[tuple[int, int, str]], cut: str, split: str = "split"
    ) -> None:
        if len(parts) == 1:
            a, b, lab = parts[0]
            if a == lo:
                self.add(f"{head}[{lab}]")
                return
        src = self.label("s")
        outs = [self.label("s") for _ in parts]
        if len(parts) == 1:
            self.add(f"{head}[{src}]")
            a, b, lab = parts[0]
            self.add(f"[{src}]" + cut.format(a=a - lo, b=b - lo) + f"[{lab}]")
            return
        self.add(f"{head},{split}={len(parts)}" + "".join(f"[{o}]" for o in outs))
        for o, (a, b, lab) in zip(outs, parts):
            self.add(f"[{o}]" + cut.format(a=a - lo, b=b - lo) + f"[{lab}]")

    def slate(self, item: Item, frames: int, fmt: str) -> str:
        from shotline.core.media.text import filter_value, find_font

        font = find_font(self.font)
        text = f"MISSING MEDIA: {item.name}"
        size = max(12, self.c.height // 16)
        self.g.slates.append((item.name, text))
        return (
            f"color=c=0x3a3a3a:s={self.c.width}x{self.c.height}:r={frac(self.c.rate)},"
            f"drawtext=fontfile={filter_value(font)}:text={filter_value(text)}:expansion=none:"
            f"fontcolor=white:fontsize={size}:x=(w-text_w)/2:y=(h-text_h)/2,"
            f"format={fmt},trim=end_frame={frames}"
        )

    def clip_video(self, item: Item, lo: int, hi: int, fmt: str, upper: bool) -> str:
        assert item.media is not None
        info = item.media.info
        v = info.video
        assert v is not None
        n = hi - lo
        seek = self.seek_for(item, lo, hi)
        k = self.input(item, seek)
        eps = self.hair(item)
        speed = abs(item.speed)
        first = min(item.media_at(lo), item.media_at(hi - 1))  # forward order start
        offset = first + eps - seek
        count = 1 if speed == 0 else n
        chain = [f"settb=1/{FINE_TB}"]
        shift = f"(PTS{'-' if offset >= 0 else '+'}{dec(abs(offset))}/TB)"
        chain.append(f"setpts={shift}" if speed in (0, 1) else f"setpts={shift}/{dec(speed)}")
        chain.append(f"fps=fps={frac(self.c.rate)}:start_time=0:round=up")
        chain.append(f"tpad=stop_mode=clone:stop=-1,trim=end_frame={count}")
        if item.speed < 0:
            chain.append("reverse")
        if speed == 0 and n > 1:
            chain.append(f"tpad=stop_mode=clone:stop={n - 1}")
        chain += self.fit(item, fmt, upper)
        chain.append("setpts=PTS-STARTPTS")
        return f"[{k}:v:0]" + ",".join(chain)

    def hair(self, item: Item) -> Fraction:
        """How far past the exact media time a frame is still taken, so one that sits exactly on
        it is chosen despite rounding. Where every frame lasts a whole number of ticks of the
        file's time base its timestamps are exact and the hair is 0.1 us (the filters' own
        rounding): a media time a thousandth of a frame before a frame still shows the frame
        before, as OTIO's mapping says. Otherwise half a tick (timestamps are exact to that)."""
        assert item.media is not None and item.media.info.video is not None
        v = item.media.info.video
        src = v.rate or self.c.rate
        tb = Fraction(v.time_base or 0)
        if tb > 0 and not v.vfr and (1 / (src * tb)).denominator == 1:
            return Fraction(1, 10**7)
        eps = max(Fraction(1, 100000), tb / 2 + Fraction(1, 10**6))
        return min(eps, 1 / (4 * max(src, self.c.rate)))

    def fit(self, item: Item, fmt: str, upper: bool) -> list[str]:
        """Square pixels, letterboxed into the output frame (transparent bars on upper tracks)."""
        assert item.media is not None and item.media.info.video is not None
        v = item.media.info.video
        out: list[str] = []
        square = not v.sar or v.sar == 1
        if not square:
            out.append("scale=trunc(iw*sar/2)*2:ih")
        if not square or v.display_size != (self.c.width, self.c.height):
            W, H = self.c.width, self.c.height
            if upper:
                out.append("format=yuva420p")
            out.append(f"scale={W}:{H}:force_original_aspect_ratio=decrease:force_divisible_by=2")
            out.append(f"pad={W}:{H}:(ow-iw)/2:(oh-ih)/2:color={'black@0.0' if upper else 'black'}")
        out.append(f"setsar=1,format={fmt}")
        return out

    # ------------------------------------------------------------------ audio

    def audio_track(self, track: Track) -> str:
        ps = pieces(track, self.start, self.end)
        rate = self.c.rate
        uses: dict[int, list[tuple[int, int, str]]] = {}
        labels: list[str] = []
        for p in ps:
            ns = samples_at(p.end, rate, self.c.sample_rate) - samples_at(p.start, rate, self.c.sample_rate)
            if p.mix is None:
                assert p.item is not None
                lab = self.label("ap")
                uses.setdefault(p.item, []).append((p.start, p.end, lab))
                labels.append(lab)
                continue
            sides = []
            for idx in p.mix:
                lab = self.label("ax")
                if idx is None:
                    self.add(self.silence(ns) + f"[{lab}]")
                else:
                    uses.setdefault(idx, []).append((p.start, p.end, lab))
                sides.append(lab)
            out = self.label("am")
            self.add(f"[{sides[0]}][{sides[1]}]acrossfade=ns={ns}:o=1:c1=tri:c2=tri[{out}]")
            labels.append(out)
        for idx, parts in uses.items():
            self.item_audio(track.items[idx], parts)
        out = self.label("at")
        joined = "".join(f"[{x}]" for x in labels)
        join = f"concat=n={len(labels)}:v=0:a=1," if len(labels) > 1 else ""
        self.add(f"{joined}{join}{aclock(self.c.sample_rate)}[{out}]")
        return out

    def silence(self, ns: int) -> str:
        return f"anullsrc=r={self.c.sample_rate}:cl={layout(self.c.channels)},atrim=end_sample={ns}"

    def item_audio(self, item: Item, parts: list[tuple[int, int, str]]) -> None:
        rate = self.c.rate
        lo = min(p[0] for p in parts)
        hi = max(p[1] for p in parts)
        base = samples_at(lo, rate, self.c.sample_rate)
        ns = samples_at(hi, rate, self.c.sample_rate) - base
        if item.media is None or not item.media.info.has_audio or item.speed == 0:
            head = self.silence(ns)
        else:
            head = self.clip_audio(item, lo, hi, ns)
        parts_s = [
            (samples_at(a, rate, self.c.sample_rate), samples_at(b, rate, self.c.sample_rate), lab)
            for a, b, lab in parts
        ]
        self.fan_out(
            head, base, parts_s, "atrim=start_sample={a}:end_sample={b},asetpts=PTS-STARTPTS", split="asplit"
        )

    def clip_audio(self, item: Item, lo: int, hi: int, ns: int) -> str:
        assert item.media is not None
        seek = self.seek_for(item, lo, hi)
        k = self.input(item, seek)
        speed = abs(item.speed)
        first = min(item.media_at(lo), item.media_at(hi - 1))
        sr = self.c.sample_rate
        span = Fraction(ns, sr) * speed  # media seconds consumed
        skip = first - seek
        chain = [f"aresample={sr}", f"aformat=sample_fmts=fltp:channel_layouts={layout(self.c.channels)}"]
        if skip >= 0:
            # by timestamp, not by counting samples: where the seek time is a keyframe's decode
            # time ffmpeg starts the audio a little late, and the timestamps say by how much
            chain.append(f"atrim=start_pts={round(skip * sr)}")
            chain.append("asetpts=N/SR/TB")
        else:  # handle before the start of the file: silence first
            chain.append("asetpts=N/SR/TB")
            chain.append(f"adelay=delays={round(-skip * sr)}S:all=1")
        if item.speed < 0:
            chain.append(f"atrim=end_sample={round(span * sr)},areverse")
        chain += _atempo(speed)
        chain.append(f"apad,atrim=end_sample={ns}")
        return f"[{k}:a:0]" + ",".join(chain)


def _atempo(speed: Fraction) -> list[str]:
    """The atempo stages for ``speed`` (shared with ``shotline speed``: each stage within 0.5-2)."""
    if speed in (0, 1):
        return []
    return atempo_chain(float(speed)).split(",")


def build_graph(
    conform: Conform,
    settings: EncodeSettings,
    *,
    start: int = 0,
    end: int | None = None,
    video: bool = True,
    audio: bool = True,
    font: str | None = None,
    first_input: int = 0,
    tag: str = "",
) -> Graph:
    """The filtergraph (and inputs) rendering frames ``[start, end)`` of ``conform``.

    To put several graphs in one command, ``first_input`` numbers this graph's inputs after
    that many earlier inputs and ``tag`` prefixes its pad labels.
    """
    builder = GraphBuilder(
        conform,
        settings,
        start=start,
        end=end,
        video=video,
        audio=audio,
        font=font,
        first_input=first_input,
        tag=tag,
    )
    return builder.build()
