"""Smart render: re-encode only the GOPs an edit touches, stream-copy the rest, frame-exact.

A fade touches the first and last second of a clip; a trim touches the partial GOPs at
its two cut points. Everything in between can be copied byte for byte, which is far
faster than a full re-encode and loses no quality. The pieces, reusable by the timeline
renderer:

* ``index_frames(path)`` lists every video frame's timestamp and the *clean* keyframes
  (closed-GOP cut points: no frame of the GOP displays before its keyframe, none after
  the next one), by demuxing packets with PyAV; nothing is decoded.
* ``split(index, start, end, touched)`` splits a frame range into copy and encode
  segments aligned to those GOPs.
* ``copy_step(...)`` stream-copies whole GOPs, chosen by decode-order packet number
  rather than by timestamp, so B-frames at a GOP boundary never leak into the
  neighbour (ffmpeg's own ``-ss/-to -c copy`` and the concat demuxer's ``outpoint``
  cut on decode timestamps and do).
* ``plan_smart_file(...)`` builds the whole Plan: encode segments (matching codec settings,
  source time kept for the filters), copy segments, and a final concat-demuxer join
  that also renders the audio in full (audio is cheap, and sample-exact that way).

Only H.264 8-bit 4:2:0 constant-rate sources take the smart path; ``unsupported(...)``
says why another source cannot, and callers fall back to a full re-encode.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, overload

from shotline.core.errors import MediaError
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step, work
from shotline.core.media.probe import MediaInfo

SMART_CODECS = ("h264",)
SMART_PIX_FMTS = ("yuv420p",)
SMALL_SEGMENT = 12  # frames to decode or encode at or below which one thread does it


@dataclass(frozen=True)
class PtsGrid(Sequence[int]):
    """The timestamps of a constant-rate stream: frame ``k`` shows at ``first + k * step``."""

    first: int
    step: int
    frames: int

    def __len__(self) -> int:
        return self.frames

    @overload
    def __getitem__(self, k: int) -> int: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[int]: ...
    def __getitem__(self, k: int | slice) -> int | Sequence[int]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self.frames))]
        if k < 0:
            k += self.frames
        if not 0 <= k < self.frames:
            raise IndexError(k)
        return self.first + k * self.step


@dataclass(frozen=True)
class FrameIndex:
    """The video frames of a file, in presentation order, and where it can be cut.

    A whole index (``pts`` a tuple) knows every frame and every keyframe; a windowed one
    (``pts`` a PtsGrid) knows the keyframes and cut points only near the times it was
    asked about, which is all a cut needs: whatever lies between two clean cut points is
    copied whole."""

    path: str
    time_base: Fraction
    start_time: float  # container start (seconds); frame times are relative to it
    pts: Sequence[int]  # presentation timestamps, sorted
    keyframes: tuple[int, ...]  # frame numbers of the keyframes (all, or those near the windows)
    cut_points: tuple[int, ...]  # frame numbers of keyframes that start a closed GOP

    @property
    def frames(self) -> int:
        return len(self.pts)

    @property
    def hidden_frames(self) -> bool:
        """Frames before time zero: an edit list hides the start of the stream (a copy with
        ``-c copy -ss`` makes one). Seeks in such a file do not land where its times say."""
        return self.frames > 0 and self.time(0) < -self.frame_duration / 2

    def unsupported(self) -> str | None:
        """Why this file cannot be smart-rendered, on top of ``unsupported(info)`` (None: it can)."""
        return "an edit list hides frames before its start" if self.hidden_frames else None

    def time(self, frame: int) -> float:
        """Seconds from the container start to frame ``frame`` (``frames`` = the end)."""
        if frame >= len(self.pts):
            return self.end_time
        return float(self.pts[frame] * self.time_base) - self.start_time

    @property
    def frame_duration(self) -> float:
        if len(self.pts) < 2:
            return 0.0
        return float((self.pts[-1] - self.pts[0]) * self.time_base) / (len(self.pts) - 1)

    @property
    def end_time(self) -> float:
        return float(self.pts[-1] * self.time_base) - self.start_time + self.frame_duration

    def frame_at(self, seconds: float) -> int:
        """The first frame whose timestamp is at or after ``seconds`` (half a frame of tolerance)."""
        target = (seconds - self.frame_duration / 2 + self.start_time) / self.time_base
        return bisect.bisect_left(self.pts, target)


def index_frames(path: str | Path, around: Sequence[float] = ()) -> FrameIndex:
    """Demux the first video stream of ``path`` (no decoding) into a FrameIndex.

    With ``around`` (seconds from the start), a constant-rate file whose container counts
    its frames is indexed only near those times and at its two ends, so cutting a few
    seconds out of an hour reads a few GOPs, not the hour. Anything that does not check out
    (a varying frame step, a frame count that does not match, no count) gets the whole walk."""
    import av

    p = Path(path)
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(p, f"cannot be read ({exc})") from exc
    with container:
        if not container.streams.video:
            raise MediaError(p, "has no video stream")
        stream = container.streams.video[0]
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        start = container.start_time / 1_000_000 if container.start_time else 0.0
        if around:
            windowed = _index_windows(p, container, stream, tb, start, around)
            if windowed is not None:
                return windowed
            container.seek(0)
        gops: list[list[int]] = []  # pts of each GOP's packets in decode order, keyframe first
        nal_size, not_idr = _nal_length_size(stream), set[int]()
        for pkt in container.demux(stream):
            if pkt.pts is not None:
                _add_packet(pkt, gops, not_idr, nal_size)
    if not gops:
        raise MediaError(p, "video stream has no frames")
    pts = tuple(sorted(x for g in gops for x in g))
    position = {x: i for i, x in enumerate(pts)}
    keyframes = [position[g[0]] for g in gops]
    cuts = [position[gops[i][0]] for i in _clean_gops(gops, first_is_start=True, not_idr=not_idr)]
    return FrameIndex(str(p), tb, start, pts, tuple(keyframes), tuple(cuts))


def _add_packet(pkt: Any, gops: list[list[int]], not_idr: set[int], nal_size: int | None) -> None:
    """Add a packet (in decode order) to ``gops``; a keyframe starts a GOP, noted in
    ``not_idr`` when it is not an IDR picture."""
    if pkt.is_keyframe or not gops:
        gops.append([])
        if not _is_idr(pkt, nal_size):
            not_idr.add(int(pkt.pts))
    gops[-1].append(int(pkt.pts))


def _nal_length_size(stream: Any) -> int | None:
    """Bytes of the NAL length prefix of an H.264 stream stored as avcC (MP4, MOV, Matroska)."""
    extra = stream.codec_context.extradata
    return (extra[4] & 3) + 1 if extra and len(extra) > 4 and extra[0] == 1 else None


def _is_idr(pkt: Any, nal_size: int | None) -> bool:
    """Whether a keyframe packet holds an IDR picture. Open-GOP encoders flag plain I-frames
    (recovery points) as keyframes too; a copy starting at one does not decode after a
    re-encoded bridge, even where its GOP looks closed, so only IDR keyframes are cut points."""
    if nal_size is None:
        return False
    data = memoryview(pkt)
    i = 0
    while i + nal_size < len(data):
        length = int.from_bytes(data[i : i + nal_size], "big")
        i += nal_size
        if length <= 0 or i + length > len(data):
            return False
        kind = data[i] & 0x1F
        if 1 <= kind <= 5:  # the first slice decides
            return kind == 5
        i += length
    return False


def _clean_gops(
    gops: Sequence[Sequence[int]],
    *,
    first_is_start: bool,
    next_key: int | None = None,
    not_idr: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Which of consecutive ``gops`` (pts in decode order, keyframe first) start at a clean
    cut: nothing of the GOP shows before its keyframe or after the next one, nothing of the
    GOP before it after its keyframe, and the keyframe an IDR picture (not in ``not_idr``).
    The first GOP is judged only when it starts the file; the last only when ``next_key`` (the
    keyframe after it) is known or it ends the file."""
    clean = []
    for gi, gop in enumerate(gops):
        if gi == 0 and not first_is_start:
            continue
        key = gop[0]
        if key in not_idr:
            continue
        nxt = gops[gi + 1][0] if gi + 1 < len(gops) else next_key
        if min(gop) == key and (nxt is None or max(gop) < nxt) and (gi == 0 or max(gops[gi - 1]) < key):
            clean.append(gi)
    return clean


def _index_windows(
    p: Path, container: Any, stream: Any, tb: Fraction, start: float, around: Sequence[float]
) -> FrameIndex | None:
    """The windowed index of index_frames, or None when the file does not allow one."""
    count = int(stream.frames or 0)
    length = float(container.duration or 0) / 1_000_000
    head = next((pk for pk in container.demux(stream) if pk.pts is not None), None)
    if count < 2 or length <= 0 or head is None or head.dts is None:
        return None
    nal_size = _nal_length_size(stream)
    windows: list[tuple[list[list[int]], int | None, bool, set[int]]] = []
    for t in sorted({0.0, *(min(max(0.0, x), length) for x in around), length}):
        got = _gops_near(
            container, stream, round((t + start) / tb), int(head.dts), to_end=t >= length, nal_size=nal_size
        )
        if got is None:
            return None
        windows.append(got)
    every = sorted({x for gops, *_ in windows for g in gops for x in g})
    shown = [sorted(x for g in gops for x in g) for gops, *_ in windows]  # each window, in display order
    steps = {b - a for xs in shown for a, b in zip(xs, xs[1:])}
    if len(steps) != 1 or not windows[0][2]:
        return None
    step, first = steps.pop(), every[0]
    if step <= 0 or (every[-1] - first) // step + 1 != count or any((x - first) % step for x in every):
        return None  # a varying step, or frames missing or extra somewhere between the windows
    keyframes: set[int] = set()
    cuts: set[int] = set()
    for gops, next_key, at_start, not_idr in windows:
        keyframes.update((g[0] - first) // step for g in gops)
        clean = _clean_gops(gops, first_is_start=at_start, next_key=next_key, not_idr=not_idr)
        cuts.update((gops[i][0] - first) // step for i in clean)
    grid = PtsGrid(first, step, count)
    return FrameIndex(str(p), tb, start, grid, tuple(sorted(keyframes)), tuple(sorted(cuts)))


WINDOW_GOPS_AFTER = 2  # whole GOPs a window reads past its time (to find the clean cut after it)


def _keyframe_before(container: Any, stream: Any, ts: int) -> tuple[Any, Iterator[Any]] | None:
    """Seek to the keyframe at or before ``ts``: (its packet, the demux iterator after it)."""
    container.seek(ts, stream=stream, backward=True, any_frame=False)
    packets = (pk for pk in container.demux(stream) if pk.pts is not None)
    key = next(packets, None)
    if key is None or not key.is_keyframe or key.dts is None:
        return None
    return key, packets


def _gops_near(
    container: Any, stream: Any, target: int, head_dts: int, *, to_end: bool, nal_size: int | None
) -> tuple[list[list[int]], int | None, bool, set[int]] | None:
    """The GOPs around pts ``target``: from the GOP before the one showing ``target`` to
    WINDOW_GOPS_AFTER GOPs past it (or to the end of the file). Returns (the GOPs' pts in
    decode order, the keyframe pts after the last one or None at the end, whether the first
    GOP starts the file). None when seeking does not behave."""
    found = _keyframe_before(container, stream, target)
    for _ in range(4):  # a seek by decode time can land on a keyframe shown just after target
        if found is None or found[0].pts <= target or found[0].dts == head_dts:
            break
        found = _keyframe_before(container, stream, int(found[0].dts) - 1)
    if found is None or (found[0].pts > target and found[0].dts != head_dts):
        return None
    holding = int(found[0].pts)
    if found[0].dts != head_dts:  # step back one more GOP: the cut at ``holding`` needs it
        found = _keyframe_before(container, stream, int(found[0].dts) - 1)
        if found is None or found[0].pts >= holding:
            return None
    key, packets = found
    at_start = key.dts == head_dts
    gops: list[list[int]] = []
    not_idr: set[int] = set()
    _add_packet(key, gops, not_idr, nal_size)
    next_key, after = None, 0
    for pkt in packets:
        if pkt.is_keyframe and int(pkt.pts) > target:
            after += 1
            if after > WINDOW_GOPS_AFTER and not to_end:
                next_key = int(pkt.pts)
                break
        _add_packet(pkt, gops, not_idr, nal_size)
    if all(g[0] != holding for g in gops):
        return None
    return gops, next_key, at_start, not_idr


def keyframe_times(path: str | Path) -> list[float]:
    """Seconds of every keyframe of the first video stream (from the container start)."""
    idx = index_frames(path)
    return [idx.time(k) for k in idx.keyframes]


@dataclass(frozen=True)
class Span:
    """Frames [start, end) of the source, either stream-copied or re-encoded."""

    start: int
    end: int
    copy: bool

    @property
    def frames(self) -> int:
        return self.end - self.start


def split(index: FrameIndex, start: int, end: int, touched: Sequence[tuple[int, int]] = ()) -> list[Span]:
    """Split frames [start, end) into copy segments (whole clean GOPs that no ``touched``
    range [a, b) overlaps) and encode segments (everything else), in order."""
    if not 0 <= start < end <= index.frames:
        raise ValueError(f"bad frame range {start}..{end} of {index.frames}")
    bounds = sorted({*index.cut_points, index.frames})
    segs: list[Span] = []

    def add(a: int, b: int, copy: bool) -> None:
        if a >= b:
            return
        if segs and segs[-1].copy == copy and segs[-1].end == a:
            segs[-1] = Span(segs[-1].start, b, copy)
        else:
            segs.append(Span(a, b, copy))

    pos = start
    for a, b in zip(bounds, bounds[1:]):
        if a < start or b > end:
            continue
        if any(ta < b and a < tb for ta, tb in touched):
            continue
        add(pos, a, False)
        add(a, b, True)
        pos = b
    add(pos, end, False)
    return segs


def unsupported(info: MediaInfo, settings: EncodeSettings = DEFAULT) -> str | None:
    """Why ``info`` cannot be smart-rendered with ``settings`` (None: it can)."""
    v = info.video
    if v is None:
        return "no video stream"
    if settings.crf == 0:
        return "lossless (crf 0) needs a High 4:4:4 stream the copied GOPs are not"
    if v.codec not in SMART_CODECS:
        return f"codec {v.codec} (smart render handles {', '.join(SMART_CODECS)})"
    if v.pix_fmt not in SMART_PIX_FMTS:
        return f"pixel format {v.pix_fmt}"
    if v.vfr:
        return "variable frame rate"
    if v.rotation:
        return "rotated (display matrix)"
    if v.width % 2 or v.height % 2:
        return f"odd size {v.width}x{v.height} (x264 encodes 4:2:0 at even sizes only)"
    if Path(info.path).suffix.lower() not in (".mp4", ".mov", ".m4v", ".mkv"):
        return "container is not mp4/mov/mkv"
    return None


def _profile(info: MediaInfo) -> list[str]:
    prof = (info.video.profile or "").lower() if info.video else ""
    return ["-profile:v", prof] if prof in ("baseline", "main", "high") else []


def _colour(info: MediaInfo) -> list[str]:
    v = info.video
    args: list[str] = []
    if v is None:
        return args
    for flag, value in (
        ("-color_primaries", v.color_primaries),
        ("-color_trc", v.color_transfer),
        ("-colorspace", v.color_space),
        ("-color_range", v.color_range),
    ):
        if value:
            args += [flag, value]
    return args


def encode_step(
    src: Path,
    info: MediaInfo,
    index: FrameIndex,
    seg: Span,
    name: str,
    vf: str | None,
    settings: EncodeSettings = DEFAULT,
) -> Step:
    """Re-encode frames [seg.start, seg.end) to ``work(name)``. ``vf`` sees source timestamps."""
    t0 = index.time(seg.start)
    args: list[str] = []
    if seg.start > 0 and seg.start in index.keyframes:
        # a keyframe: seek just past it without accurate seek, so ffmpeg starts decoding at
        # that very keyframe (no frames before it are decoded only to be dropped)
        args += ["-noaccurate_seek", "-ss", f"{t0 + index.frame_duration / 4:.6f}"]
    elif seg.start > 0:
        # seek half a frame early: the accurate seek then drops everything before the frame
        args += ["-ss", f"{max(0.0, t0 - index.frame_duration / 2):.6f}"]
    # A segment of a few frames gains nothing from frame threads: starting them (and their
    # 720p+ buffers) costs more than the work, and the segments of a plan share the CPU anyway.
    key = max((k for k in index.keyframes if k <= seg.start), default=0)
    if seg.end - key <= SMALL_SEGMENT:
        args += ["-threads", "1"]
    chain = [f"setpts=PTS-STARTPTS+{t0:.6f}/TB"]
    if vf:
        chain.append(vf)
    chain.append("setpts=PTS-STARTPTS")
    args += ["-i", str(src), "-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", str(seg.frames)]
    args += ["-vf", ",".join(chain), "-fps_mode", "passthrough"]
    args += ["-c:v", "libx264", "-preset", settings.preset]
    if seg.frames <= SMALL_SEGMENT:
        args += ["-threads", "1"]
    elif settings.threads:
        args += ["-threads", str(settings.threads)]
    if settings.crf is not None:
        args += ["-crf", str(settings.crf)]
    args += _profile(info) + ["-pix_fmt", "yuv420p"] + _colour(info)
    args += ["-video_track_timescale", str(index.time_base.denominator)]
    dur = index.time(seg.end) - t0
    return Step(tuple(args), work(name), dur, f"encode frames {seg.start}-{seg.end - 1}")


COPY_SEEK_LEAD = 1.0  # seconds the copy input seeks before the GOP it wants


def copy_step(src: Path, index: FrameIndex, seg: Span, name: str) -> Step:
    """Stream-copy the whole GOPs of ``seg`` to ``work(name)``, video only, starting at zero.

    The input seeks to a second before the segment (so a copy from late in a long file
    never reads it from the start); the seek lands on a keyframe at or before that. The
    noise bitstream filter then drops every packet displayed before the segment's keyframe:
    the GOP boundary is clean, so that is exactly the packets before the keyframe in decode
    order, and B-frames at the boundary stay with their own GOP (ffmpeg's own ``-ss/-to -c
    copy`` and the concat demuxer's ``outpoint`` cut on decode timestamps and let them
    leak). ``-frames`` stops after the segment's packets (one per frame, counted after the
    drop); setts moves the first picture to time zero, keeping each packet's pts-dts offset."""
    t0 = index.time(seg.start)
    seek = max(0.0, t0 - COPY_SEEK_LEAD) if seg.start > 0 else 0.0
    args: list[str] = ["-ss", f"{seek:.6f}"] if seek > 0 else []
    bsf = "setts=pts=PTS-STARTPTS:dts=DTS-STARTPTS"
    if seg.start > 0:
        # after the seek the keyframe's pts is (t0 - seek) / time base; the cut sits half a
        # frame before it, between ticks even when a frame lasts a single tick
        key = round((t0 - seek) / index.time_base)
        cut = key - index.frame_duration / float(index.time_base) / 2
        bsf = f"noise=drop=lt(pts\\,{cut:.3f}),{bsf}"
    args += ["-i", str(src), "-map", "0:v:0", "-c", "copy", "-bsf:v", bsf]
    args += ["-frames:v", str(seg.frames), "-f", "mp4"]
    dur = index.time(seg.end) - index.time(seg.start)
    return Step(tuple(args), work(name), dur, f"copy frames {seg.start}-{seg.end - 1}")


AAC_BLOCK = 1024
AUDIO_LEAD_BLOCKS = (
    4  # blocks a fresh encoder runs before its first kept packet (no onset transient at the seam)
)


@dataclass(frozen=True)
class AudioIndex:
    """The AAC packet grid of a file's first audio stream (in samples)."""

    sample_rate: int
    first_pts: int  # pts of packet 0 in samples (-1024: one block of encoder priming)
    packets: int

    def packet_at(self, sample: int) -> int:
        """Packet whose decoded block starts at ``sample`` (a grid point)."""
        return (sample - self.first_pts) // AAC_BLOCK


def index_audio(path: str | Path, sample_rate: int, around: Sequence[float] = ()) -> AudioIndex | None:
    """The AAC grid of ``path`` when its audio can be smart-rendered: AAC at ``sample_rate``,
    1024-sample packets on a grid through sample 0, starting with the container. Else None.

    With ``around`` (seconds), the grid is checked only near those times and at the end,
    against the container's packet count (as index_frames does for video); without, or
    when that does not check out, every packet is read."""
    import av

    with av.open(str(path)) as c:
        if not c.streams.audio or (c.start_time or 0) != 0:
            return None
        a = c.streams.audio[0]
        cc = a.codec_context
        if cc.name != "aac" or cc.sample_rate != sample_rate or a.time_base != Fraction(1, sample_rate):
            return None
        if (a.start_time or 0) != 0:
            return None
        if around:
            near = _audio_grid_near(c, a, sample_rate, around)
            if near is not None:
                return near
            c.seek(0)
        first, count = None, 0
        for pkt in c.demux(a):
            if pkt.pts is None:
                continue
            if first is None:
                first = int(pkt.pts)
            elif pkt.duration not in (None, AAC_BLOCK) and count < a.frames - 1:
                return None  # not a plain 1024-sample grid
            count += 1
    if first is None or first % AAC_BLOCK:
        return None
    return AudioIndex(sample_rate, first, count)


AUDIO_WINDOW_BLOCKS = 16  # packets read around each time the windowed audio index checks


def _audio_grid_near(c: Any, a: Any, sr: int, around: Sequence[float]) -> AudioIndex | None:
    """index_audio's windowed check, or None when it does not check out."""
    count = int(a.frames or 0)
    packets = (pk for pk in c.demux(a) if pk.pts is not None)
    head = next(packets, None)
    if count < 2 or head is None or int(head.pts) % AAC_BLOCK:
        return None
    first = int(head.pts)
    end = first + (count - 1) * AAC_BLOCK  # where the last packet must start
    for t in sorted({*around, end / sr}):
        at = max(first, round(t * sr) - AUDIO_WINDOW_BLOCKS // 2 * AAC_BLOCK)
        c.seek(at, stream=a, backward=True, any_frame=False)
        seen = [
            (int(pk.pts), pk.duration)
            for _, pk in zip(range(AUDIO_WINDOW_BLOCKS), c.demux(a))
            if pk.pts is not None
        ]
        if not seen or any((pts - first) % AAC_BLOCK for pts, _ in seen):
            return None
        if any(d not in (None, AAC_BLOCK) for pts, d in seen if pts != end):
            return None
        if any(q - p != AAC_BLOCK for (p, _), (q, _) in zip(seen, seen[1:])):
            return None
        if t == end / sr and seen[-1][0] != end:
            return None  # the packets do not add up to the container's count
    return AudioIndex(sr, first, count)


AUDIO_SEEK_BLOCKS = 3  # blocks an audio input seeks before the first sample it needs


def _audio_input(src: Path, sample: int, sr: int) -> tuple[list[str], int]:
    """Input args that read the audio of ``src`` from near ``sample`` (a grid point), and the
    timestamp (in samples) ``sample`` has in that input. The input seeks AUDIO_SEEK_BLOCKS
    early; the pieces then cut by timestamp, never by counting decoded samples: where the
    seek time is also a video keyframe's decode time, ffmpeg starts the audio one block late,
    and the first block after a seek is decoded without its predecessor's overlap anyway."""
    margin = AUDIO_SEEK_BLOCKS * AAC_BLOCK
    if sample < 2 * margin:
        return ["-i", str(src)], sample
    return ["-ss", f"{(sample - margin) / sr:.6f}", "-i", str(src)], margin


def aac_copy_args(src: Path, first: int, end: int, sr: int) -> tuple[list[str], list[str]]:
    """(input args, output codec args) that stream-copy the AAC packets of ``src`` whose
    blocks start at samples [first, end) (grid points): the input seeks just before them,
    and the packets are picked by pts, never by their count from the file start."""
    inp, off = _audio_input(src, first, sr)
    keep0, keep1 = off - AAC_BLOCK // 2, off + end - first - AAC_BLOCK // 2
    drop = f"noise=drop=lt(pts\\,{keep0})+gte(pts\\,{keep1})"
    return inp, ["-c:a", "copy", "-bsf:a", drop, "-frames:a", str((end - first) // AAC_BLOCK)]


def audio_steps(
    src: Path,
    aidx: AudioIndex,
    t_start: float,
    t_end: float,
    touched: Sequence[tuple[float, float]],
    af: str | None,
    settings: EncodeSettings,
) -> tuple[list[Step], list[str], list[str]] | None:
    """Smart-render the audio of source seconds [t_start, t_end): re-encode the blocks the
    edits touch (``touched``: output-time ranges at the start and/or the end) and copy the
    AAC packets in between. Returns (steps, input args for the join, the join's audio output
    args: the last packet cut to the last sample) or None when the copy
    part would be too small or an edit sits in the middle.

    The copied packets and the re-encoded ones share the source's 1024-sample grid. The head
    encode runs one block past the seam and stops there, the tail encode starts
    AUDIO_LEAD_BLOCKS early and drops those packets, so at both seams the neighbouring
    MDCT halves describe the same, unedited signal and cancel as in one encode. Both encodes
    get AUDIO_LEAD_BLOCKS of signal before any seam and the tail as many after it, so the
    encoder's start and end (an onset from or a drop to silence, which it codes with short
    windows) are never next to a copied packet. The joined
    ADTS stream starts with the head's priming block and lead-in, removed again by a
    negative input offset (an MP4 edit list)."""
    sr, blk = aidx.sample_rate, AAC_BLOCK
    dur = t_end - t_start
    s0, s1 = round(t_start * sr), round(t_end * sr)
    head_end, tail_start = s0, s1
    for a, b in touched:
        if a <= 1e-9:
            head_end = max(head_end, s0 + round(b * sr))
        elif b >= dur - 1e-9:
            tail_start = min(tail_start, s0 + round(a * sr))
        else:
            return None
    s0g = s0 // blk * blk
    h0 = max(0, s0g - AUDIO_LEAD_BLOCKS * blk)  # the head encode starts early too, where it can
    first_copy = max(-(-head_end // blk) * blk, s0g + blk, h0 + (AUDIO_LEAD_BLOCKS + 1) * blk)
    # one untouched block after the seam, and the end of the signal kept well away from it
    end_copy = min(tail_start // blk * blk - blk, s1 // blk * blk - AUDIO_LEAD_BLOCKS * blk)
    lead_start = end_copy - AUDIO_LEAD_BLOCKS * blk
    if end_copy - first_copy < 4 * blk or lead_start < 0 or aidx.packet_at(end_copy) > aidx.packets:
        return None
    delta = s0 - h0
    chain_tail = f",{af}" if af else ""
    enc = [*settings.audio_args(sr), "-f", "adts"]
    if enc[enc.index("-ar") + 1] != str(sr):
        return None  # the encoder cannot write the source's rate: the packets would not match
    kept = (first_copy - h0) // blk + 1  # priming packet + the blocks up to the seam
    inp, off = _audio_input(src, h0, sr)
    head = (
        *inp, "-vn", "-sn", "-dn", "-map", "0:a:0",
        "-af", f"atrim=start_pts={off}:end_pts={off + first_copy + blk - h0},"
        f"asetpts=(N-{delta})/SR/TB{chain_tail}",
        *enc, "-bsf:a", f"noise=drop=gte(n\\,{kept})",
    )  # fmt: skip
    inp, copy = aac_copy_args(src, first_copy, end_copy, sr)
    mid = (*inp, "-vn", "-sn", "-dn", "-map", "0:a:0", *copy, "-f", "adts")
    inp, off = _audio_input(src, lead_start, sr)
    tail = (
        *inp, "-vn", "-sn", "-dn", "-map", "0:a:0",
        "-af", f"atrim=start_pts={off}:end_pts={off + s1 - lead_start},"
        f"asetpts=(N+{lead_start - s0})/SR/TB{chain_tail}",
        *enc, "-bsf:a", f"noise=drop=lt(n\\,{AUDIO_LEAD_BLOCKS + 1})",
    )  # fmt: skip
    steps = [
        Step(head, work("a0.aac"), (first_copy - s0) / sr, "encode audio head"),
        Step(mid, work("a1.aac"), (end_copy - first_copy) / sr, "copy audio"),
        Step(tail, work("a2.aac"), (s1 - end_copy) / sr, "encode audio tail"),
    ]
    joined = "concat:" + "|".join(work(n) for n in ("a0.aac", "a1.aac", "a2.aac"))
    packets = kept + (end_copy - first_copy) // blk + -(-(s1 - end_copy) // blk)
    rest = (s1 - end_copy) - (-(-(s1 - end_copy) // blk) - 1) * blk
    join_input = ["-itsoffset", f"{-(blk + delta) / sr:.9f}", "-i", joined]
    return steps, join_input, ["-bsf:a", last_packet_bsf(packets, rest)]


def last_packet_bsf(packets: int, rest: int) -> str:
    """A setts filter giving the last of ``packets`` AAC packets the duration of the ``rest``
    samples it really holds (raw ADTS says 1024 for every packet), so the sound ends on its
    last sample instead of the block's."""
    return f"setts=duration=if(eq(N\\,{packets - 1})\\,DURATION*{rest}/{AAC_BLOCK}\\,DURATION)"


def merge_steps(steps: Sequence[Step], label: str = "segments") -> Step:
    """One ffmpeg command doing the work of several one-input, one-output steps: each keeps
    its own input (with its seek options) and its own output. ffmpeg runs every decoder,
    filter graph, encoder and muxer in its own thread, so the pieces render in parallel and
    only one process starts."""
    inputs: list[str] = []
    outputs: list[str] = []
    for k, step in enumerate(steps):
        if step.tool != "ffmpeg" or step.files or step.args.count("-i") != 1:
            raise ValueError(f"cannot merge step {step.label!r}")
        args = list(step.args)
        i = args.index("-i")
        inputs += args[: i + 2]
        rest = args[i + 2 :]
        for j, arg in enumerate(rest):
            if j > 0 and rest[j - 1] == "-map" and arg.startswith("0:"):
                arg = f"{k}:{arg[2:]}"
            outputs.append(arg)
        if k < len(steps) - 1:
            outputs.append(step.output)
    longest = max((s.duration or 0.0) for s in steps)
    return Step(tuple(inputs + outputs), steps[-1].output, longest, label)


def plan_smart_file(
    src: Path,
    output: Path,
    *,
    info: MediaInfo,
    index: FrameIndex,
    start: int,
    end: int,
    touched: Sequence[tuple[int, int]],
    vf: str | None,
    af: str | None,
    settings: EncodeSettings = DEFAULT,
    description: str = "smart render",
    meta: dict[str, object] | None = None,
    audio_touched: Sequence[tuple[float, float]] = (),
) -> Plan:
    """Frames [start, end) of ``src`` with ``vf`` (in source time) applied to the touched GOPs
    and ``af`` (in output time) applied to the audio. Untouched GOPs are copied; so are the
    untouched AAC packets when the audio allows it (``audio_touched``: the output-time ranges
    ``af`` changes), else the audio is re-encoded in full."""
    segs = split(index, start, end, touched)
    steps: list[Step] = []
    names: list[str] = []
    for i, seg in enumerate(segs):
        name = f"seg{i:04d}.mp4"
        names.append(name)
        if seg.copy:
            steps.append(copy_step(src, index, seg, name))
        else:
            steps.append(encode_step(src, info, index, seg, name, vf, settings))
    listing = "ffconcat version 1.0\n" + "".join(f"file '{n}'\n" for n in names)
    t_start, t_end = index.time(start), index.time(end)
    args = ["-f", "concat", "-safe", "0", "-i", work("segments.ffconcat")]
    smart_audio = None
    source_rate = info.audio.sample_rate if info.audio else None
    if info.has_audio and source_rate and "|" not in str(output):
        # any rate and layout: the packets copied and the blocks re-encoded are the source's
        aidx = index_audio(src, source_rate, around=(t_start, t_end))
        if aidx is not None and settings.acodec == "aac":
            smart_audio = audio_steps(src, aidx, t_start, t_end, audio_touched, af, settings)
    if smart_audio is not None:
        steps += smart_audio[0]
        args += [*smart_audio[1], "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", *smart_audio[2]]
    elif info.has_audio:
        chain = [f"atrim=start={t_start:.6f}:end={t_end:.6f}", "asetpts=PTS-STARTPTS"]
        if af:
            chain.append(af)
        args += ["-i", str(src), "-map", "0:v:0", "-map", "1:a:0", "-af", ",".join(chain)]
        args += ["-c:v", "copy", *settings.audio_args(source_rate)]
    else:
        args += ["-map", "0:v:0", "-c:v", "copy"]
    args += settings.container_args(str(output))
    join = Step(tuple(args), OUT, t_end - t_start, "join", files=(("segments.ffconcat", listing),))
    steps = [merge_steps(steps)]
    copied = sum(s.frames for s in segs if s.copy)
    m: dict[str, object] = {
        "mode": "smart",
        "audio": "smart" if smart_audio else ("full" if info.has_audio else "none"),
        "duration": t_end - t_start,
        "copied_frames": copied,
        "encoded_frames": (end - start) - copied,
        "segments": [(s.start, s.end, "copy" if s.copy else "encode") for s in segs],
    }
    m.update(meta or {})
    return Plan((*steps, join), Path(output), (Path(src),), description, m)
