"""The streaming, resumable frame pipeline: decode -> model -> encode, segment by segment.

* Decoding and encoding are in-process (PyAV); three threads overlap decode, inference and
  encode through small bounded queues, so frames never touch the disk.
* The input is cut into segments on keyframes (``segment_seconds`` each, at least). Each
  segment is encoded to its own file in a work folder beside the output and recorded in
  ``manifest.json`` once complete. A crash or Ctrl-C loses at most the segment in progress:
  running the same command again finds the manifest (same input and settings) and resumes.
* The join is a stream copy: the video packets of the segments, plus the input's audio and
  subtitle packets untouched, interleaved by time into the final file.
* Timestamps are the input's own (every frame keeps its pts; VFR stays VFR), the frame count
  is checked per segment, colour tags are copied, and the RGB conversions use the input's
  matrix and range both ways.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shotline.core.errors import Interrupted, MediaError, ShotlineError, UsageError
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.probe import MediaInfo

log = logging.getLogger("shotline.upscale")

MANIFEST_VERSION = 1
_DONE = object()


class FrameUpscaler(Protocol):
    scale: int

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Segment:
    index: int
    start_pts: int  # first frame's pts (a keyframe), in the video stream's time base
    end_pts: int | None  # exclusive; None for the last segment
    frames: int
    start: float  # seconds, for display


@dataclass(frozen=True)
class SourceLayout:
    """The video stream's packet facts that segmenting and checking need."""

    time_base: Fraction
    segments: tuple[Segment, ...]
    frames: int


@dataclass(frozen=True)
class PipelineProgress:
    frames_done: int
    frames_total: int
    fps: float  # frames per second over this run
    eta: float | None  # seconds
    segments_done: int
    segments_total: int
    running: tuple[int, ...] = ()  # indexes of the segments being worked on now (parallel runs)
    workers: int = 1

    @property
    def fraction(self) -> float:
        return self.frames_done / self.frames_total if self.frames_total else 1.0


@dataclass
class PipelineStats:
    frames: int = 0
    segments_run: int = 0
    segments_resumed: int = 0
    elapsed: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # busy seconds per stage


def layout(path: Path, segment_seconds: float) -> SourceLayout:
    """Scan the video packets (no decoding) and cut segments on keyframes."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        tb = Fraction(v.time_base) if v.time_base else Fraction(1, 1000)
        pts: list[int] = []
        keys: list[int] = []
        for pkt in c.demux(v):
            if pkt.pts is None:
                if pkt.size:
                    raise MediaError(path, "video packets without timestamps; remux it first")
                continue
            pts.append(pkt.pts)
            if pkt.is_keyframe:
                keys.append(pkt.pts)
    if not pts:
        raise MediaError(path, "video stream has no frames")
    pts.sort()
    keys = sorted(k for k in keys if k >= pts[0]) or [pts[0]]
    if keys[0] != pts[0]:
        keys.insert(0, pts[0])
    step = max(1, round(segment_seconds / tb)) if segment_seconds > 0 else None
    starts = [keys[0]]
    for k in keys[1:]:
        if step is not None and k - starts[-1] >= step:
            starts.append(k)
    segs = []
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else None
        lo = bisect.bisect_left(pts, s)
        hi = bisect.bisect_left(pts, e) if e is not None else len(pts)
        segs.append(Segment(i, s, e, hi - lo, float(s * tb)))
    return SourceLayout(tb, tuple(segs), len(pts))


# ---------------------------------------------------------------- colour


_MATRIX = {
    "bt709": "itu709",
    "fcc": "fcc",
    "smpte240m": "smpte240m",
    "bt2020nc": "bt2020",
    "bt2020c": "bt2020",
}


def _matrix(name: str | None) -> str:
    """swscale's name for the input's YCbCr matrix (untagged and BT.601 variants: itu601)."""
    return _MATRIX.get(name or "", "itu601")


def _range(name: str | None) -> str:
    return "JPEG" if name == "pc" else "MPEG"


@dataclass(frozen=True)
class ColourTags:
    range: str | None
    space: str | None
    primaries: str | None
    transfer: str | None

    @classmethod
    def of(cls, info: MediaInfo) -> ColourTags:
        v = info.video
        assert v is not None
        return cls(v.color_range, v.color_space, v.color_primaries, v.color_transfer)


# ---------------------------------------------------------------- work folder and manifest


def work_dir_for(output: Path) -> Path:
    return output.parent / f".{output.name}.shotline-upscale"


def run_key(info: MediaInfo, settings: dict[str, Any]) -> str:
    st = os.stat(info.path)
    blob = json.dumps(
        {"input": info.path, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "settings": settings},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class Manifest:
    """``manifest.json`` in the work folder: the run's key and the finished segments."""

    def __init__(self, folder: Path, key: str, resume: bool) -> None:
        self.folder = folder
        self.path = folder / "manifest.json"
        self.key = key
        self.done: dict[int, dict[str, Any]] = {}
        self.resumed = False
        old = self._read() if resume else None
        if old is not None and old.get("key") == key and old.get("version") == MANIFEST_VERSION:
            for idx, rec in old.get("segments", {}).items():
                f = folder / rec["file"]
                if f.is_file() and f.stat().st_size == rec["bytes"]:
                    self.done[int(idx)] = rec
            self.resumed = bool(self.done)
        else:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
        for stray in folder.glob("*.part.*"):
            stray.unlink()
        self._write()

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def segment_file(self, seg: Segment) -> Path:
        return self.folder / f"seg-{seg.index:05d}.mp4"

    def record(self, seg: Segment, path: Path, frames: int) -> None:
        self.done[seg.index] = {"file": path.name, "bytes": path.stat().st_size, "frames": frames}
        self._write()

    def _write(self) -> None:
        data = {"version": MANIFEST_VERSION, "key": self.key, "segments": self.done}
        tmp = self.path.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


class SegmentStore(Protocol):
    """Where finished segments go: the run's :class:`Manifest`, or a worker's scratch folder."""

    folder: Path
    done: dict[int, dict[str, Any]]

    def segment_file(self, seg: Segment) -> Path: ...

    def record(self, seg: Segment, path: Path, frames: int) -> None: ...


class ScratchStore:
    """A worker's folder: segments are written there and remembered, nothing is persisted
    (the driver records them in the run's manifest once it has them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.done: dict[int, dict[str, Any]] = {}

    def segment_file(self, seg: Segment) -> Path:
        return self.folder / f"seg-{seg.index:05d}.mp4"

    def record(self, seg: Segment, path: Path, frames: int) -> None:
        self.done[seg.index] = {"file": path.name, "bytes": path.stat().st_size, "frames": frames}


# ---------------------------------------------------------------- the three stages


@dataclass(frozen=True)
class _Batch:
    seg: Segment
    pts: list[int]
    frames: np.ndarray  # (N, H, W, 3) uint8


@dataclass(frozen=True)
class _SegEnd:
    seg: Segment


class _Stop(Exception):
    pass


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue


def _decode(
    path: Path,
    todo: list[Segment],
    lay: SourceLayout,
    batch: int,
    colour: ColourTags,
    out: queue.Queue[Any],
    stop: threading.Event,
    busy: dict[str, float],
) -> None:
    """Decode the frames of the segments in ``todo`` (in order) into RGB batches."""
    import av

    starts = [s.start_pts for s in lay.segments]
    wanted = {s.index for s in todo}
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        v.thread_type = "AUTO"
        if todo[0].index > 0:
            c.seek(todo[0].start_pts, stream=v, backward=True)
        cur: Segment | None = None
        pts_buf: list[int] = []
        frames_buf: list[np.ndarray] = []
        remaining = sum(s.frames for s in todo)
        t0 = time.perf_counter()
        try:
            for frame in c.decode(v):
                if frame.pts is None:
                    continue
                seg = (
                    lay.segments[bisect.bisect_right(starts, frame.pts) - 1]
                    if frame.pts >= starts[0]
                    else None
                )
                if seg is None or seg.index not in wanted:
                    continue
                if cur is not None and seg.index != cur.index:
                    if frames_buf:
                        _put(out, _Batch(cur, pts_buf, np.stack(frames_buf)), stop)
                        pts_buf, frames_buf = [], []
                    _put(out, _SegEnd(cur), stop)
                cur = seg
                rgb = frame.reformat(
                    format="rgb24",
                    src_colorspace=_matrix(colour.space),
                    src_color_range=_range(colour.range),
                    dst_color_range="JPEG",
                ).to_ndarray()
                pts_buf.append(frame.pts)
                frames_buf.append(rgb)
                if len(frames_buf) >= batch:
                    busy["decode"] = busy.get("decode", 0.0) + time.perf_counter() - t0
                    _put(out, _Batch(cur, pts_buf, np.stack(frames_buf)), stop)
                    t0 = time.perf_counter()
                    pts_buf, frames_buf = [], []
                remaining -= 1
                if remaining == 0:
                    break
        except av.error.FFmpegError as exc:
            raise MediaError(path, f"cannot be decoded, truncated or corrupt? ({exc})") from exc
        busy["decode"] = busy.get("decode", 0.0) + time.perf_counter() - t0
        if cur is not None:
            if frames_buf:
                _put(out, _Batch(cur, pts_buf, np.stack(frames_buf)), stop)
            _put(out, _SegEnd(cur), stop)
    _put(out, _DONE, stop)


class _SegmentWriter:
    """Encodes one segment's frames to ``seg-NNNNN.part.nut``; renamed when complete."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        info: MediaInfo,
        time_base: Fraction,
        enc: EncodeSettings,
        colour: ColourTags,
        start_pts: int = 0,
        threads: int = 0,
    ) -> None:
        import av

        v = info.video
        assert v is not None
        self.final = path
        self.part = path.with_name(path.stem + ".part" + path.suffix)
        self.colour = colour
        self.width, self.height = width - width % 2, height - height % 2  # 4:2:0 needs even sizes
        self.c = av.open(str(self.part), "w", format="mp4")
        rate = v.rate if v.rate else Fraction(25)
        s: Any = self.c.add_stream(enc.vcodec, rate=rate)  # a VideoStream (PyAV types it as any stream)
        s.width, s.height = self.width, self.height
        s.pix_fmt = enc.pix_fmt
        s.time_base = time_base
        cc = s.codec_context
        cc.time_base = time_base
        if v.sar and v.sar != 1:
            cc.sample_aspect_ratio = v.sar
        opts: dict[str, str] = {}
        if enc.vcodec in ("libx264", "libx265"):
            opts["preset"] = enc.preset
            if enc.crf is not None:
                opts["crf"] = str(enc.crf)
            if enc.profile and enc.vcodec == "libx264":
                cc.profile = enc.profile
            if enc.vcodec == "libx264":
                # libx264's macroblock tree (as linked into PyAV) gives different bits for the same
                # frames from one run to the next inside this pipeline; without it every segment is
                # the same on every run, worker and machine (what resume and --workers rely on)
                opts["x264-params"] = "mbtree=0"
        if enc.gop_seconds:
            cc.gop_size = max(1, round(enc.gop_seconds * rate))
        cc.options = opts
        # libx264 cuts each frame in one slice per thread: the count is fixed by the driver so
        # that a segment's bytes are the same on every worker and machine (0 = the encoder's choice)
        cc.thread_count = threads
        for attr, value in _codec_colour(colour).items():
            try:
                setattr(cc, attr, value)
            except (ValueError, TypeError, AttributeError):  # pragma: no cover
                log.debug("cannot tag %s=%s", attr, value)
        self.stream: Any = s
        self.time_base = time_base
        self.start_pts = start_pts  # segments start at 0: MP4 edit lists round other starts to 1 ms
        self.frames = 0

    def write(self, pts: list[int], frames: np.ndarray) -> None:
        import av

        if frames.ndim == 3:  # planar 4:2:0 made by the upscaler: no conversion needed
            for p, i420 in zip(pts, frames):
                vf = av.VideoFrame.from_ndarray(i420, format="yuv420p")
                self._encode(vf, p)
            return
        for p, rgb in zip(pts, frames):
            if rgb.shape[0] != self.height or rgb.shape[1] != self.width:
                rgb = rgb[: self.height, : self.width]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf = vf.reformat(
                format=self.stream.pix_fmt,
                src_colorspace=_matrix(self.colour.space),
                dst_colorspace=_matrix(self.colour.space),
                src_color_range="JPEG",
                dst_color_range=_range(self.colour.range),
            )
            self._encode(vf, p)

    def _encode(self, vf: Any, pts: int) -> None:
        vf.pts = pts - self.start_pts
        vf.time_base = self.time_base
        for pkt in self.stream.encode(vf):
            self.c.mux(pkt)
        self.frames += 1

    def close(self) -> Path:
        for pkt in self.stream.encode(None):
            self.c.mux(pkt)
        self.c.close()
        os.replace(self.part, self.final)
        return self.final

    def abort(self) -> None:
        try:
            self.c.close()
        except Exception:  # pragma: no cover - best effort on the error path
            pass
        self.part.unlink(missing_ok=True)


def _frame_size(frames: np.ndarray) -> tuple[int, int]:
    """(height, width) of a batch: (N, H, W, 3) RGB or (N, H*3/2, W) planar 4:2:0."""
    if frames.ndim == 3:
        return frames.shape[1] * 2 // 3, frames.shape[2]
    return frames.shape[1], frames.shape[2]


_COLOUR_IDS = {
    "color_range": {"tv": 1, "pc": 2},
    "colorspace": {
        "bt709": 1,
        "fcc": 4,
        "bt470bg": 5,
        "smpte170m": 6,
        "smpte240m": 7,
        "bt2020nc": 9,
        "bt2020c": 10,
    },
    "color_primaries": {"bt709": 1, "bt470m": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "bt2020": 9},
    "color_trc": {
        "bt709": 1,
        "gamma22": 4,
        "gamma28": 5,
        "smpte170m": 6,
        "smpte240m": 7,
        "iec61966-2-1": 13,
        "bt2020-10": 14,
        "smpte2084": 16,
        "arib-std-b67": 18,
    },
}


def _codec_colour(colour: ColourTags) -> dict[str, int]:
    wanted = {
        "color_range": colour.range,
        "colorspace": colour.space,
        "color_primaries": colour.primaries,
        "color_trc": colour.transfer,
    }
    return {k: _COLOUR_IDS[k][v] for k, v in wanted.items() if v in _COLOUR_IDS[k]}


# ---------------------------------------------------------------- run


def process(
    info: MediaInfo,
    upscaler: FrameUpscaler,
    manifest: SegmentStore,
    lay: SourceLayout,
    *,
    enc: EncodeSettings,
    batch: int = 1,
    progress: Callable[[PipelineProgress], None] | None = None,
    on_segment: Callable[[Segment], None] | None = None,
    cancel: threading.Event | None = None,
    only: Collection[int] | None = None,
    enc_threads: int = 0,
) -> PipelineStats:
    """Upscale every segment the manifest lacks (of ``only``, when given: a worker's share),
    overlapping decode, inference and encode."""
    v = info.video
    assert v is not None
    path = Path(info.path)
    colour = ColourTags.of(info)
    stats = PipelineStats(segments_resumed=len(manifest.done))
    todo = [s for s in lay.segments if s.index not in manifest.done and (only is None or s.index in only)]
    if enc.pix_fmt == "yuv420p" and hasattr(upscaler, "output_i420"):
        upscaler.output_i420(_matrix(colour.space), colour.range == "pc")  # colour conversion on the device
    done_frames = sum(s.frames for s in lay.segments if s.index in manifest.done)
    if not todo:
        return stats
    stop = threading.Event()  # every stage stops now
    stop_decode = threading.Event()  # the decoder stops; the encoder finishes what is queued
    q_in: queue.Queue[Any] = queue.Queue(maxsize=3)
    q_out: queue.Queue[Any] = queue.Queue(maxsize=3)
    errors: list[BaseException] = []
    busy: dict[str, float] = {}
    started = time.monotonic()
    counted = [0]

    def guard(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except _Stop:
                pass
            except BaseException as exc:
                errors.append(exc)
                stop_decode.set()
                stop.set()

        return run

    def drain() -> None:
        """Stop decoding, let the encoder finish the segments already queued, then stop."""
        stop_decode.set()
        try:
            _put(q_out, _DONE, stop)
            threads[1].join()
        except (_Stop, KeyboardInterrupt):
            pass
        stop.set()
        for t in threads:
            t.join()

    def encode_loop() -> None:
        writer: _SegmentWriter | None = None
        try:
            while True:
                item = _get(q_out, stop)
                if item is _DONE:
                    return
                if isinstance(item, _Batch):
                    t0 = time.perf_counter()
                    if writer is None:
                        h, w = _frame_size(item.frames)
                        writer = _SegmentWriter(
                            manifest.segment_file(item.seg),
                            w,
                            h,
                            info,
                            lay.time_base,
                            enc,
                            colour,
                            item.seg.start_pts,
                            enc_threads,
                        )
                    writer.write(item.pts, item.frames)
                    busy["encode"] = busy.get("encode", 0.0) + time.perf_counter() - t0
                    counted[0] += len(item.pts)
                    if progress is not None:
                        _report(progress, done_frames + counted[0], lay, started, counted[0], manifest)
                elif isinstance(item, _SegEnd):
                    if writer is None:
                        raise MediaError(path, f"segment at {item.seg.start:.3f} s decoded to no frames")
                    t0 = time.perf_counter()
                    got = writer.frames
                    out = writer.close()
                    writer = None
                    busy["encode"] = busy.get("encode", 0.0) + time.perf_counter() - t0
                    if got != item.seg.frames:
                        out.unlink()
                        raise MediaError(
                            path,
                            f"segment at {item.seg.start:.3f} s: decoded {got} frames but the file "
                            f"indexes {item.seg.frames} (corrupt or truncated?)",
                        )
                    manifest.record(item.seg, out, got)
                    stats.segments_run += 1
                    if on_segment is not None:
                        on_segment(item.seg)
        finally:
            if writer is not None:
                writer.abort()

    threads = [
        threading.Thread(
            target=guard(lambda: _decode(path, todo, lay, batch, colour, q_in, stop_decode, busy)),
            name="upscale-decode",
            daemon=True,
        ),
        threading.Thread(target=guard(encode_loop), name="upscale-encode", daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            try:
                item = _get(q_in, stop_decode)
            except _Stop:
                break
            if isinstance(item, _Batch):
                t0 = time.perf_counter()
                try:
                    up = upscaler(item.frames)
                except RuntimeError as exc:
                    if "out of memory" not in str(exc).lower():
                        raise
                    raise UsageError(
                        f"the model ran out of memory on {item.frames.shape[0]} frame(s) of "
                        f"{item.frames.shape[2]}x{item.frames.shape[1]}: use --batch 1 and/or --tile 512 "
                        "(or smaller); finished segments are kept, so the next run resumes"
                    ) from exc
                busy["model"] = busy.get("model", 0.0) + time.perf_counter() - t0
                item = _Batch(item.seg, item.pts, up)
            _put(q_out, item, stop)
            if item is _DONE:
                break
        while threads[1].is_alive():
            threads[1].join(0.1)
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        drain()
        raise Interrupted(
            f"interrupted; {len(manifest.done)} of {len(lay.segments)} segments are kept in "
            f"{manifest.folder}: run the same command again to resume"
        ) from None
    except _Stop:
        pass
    except BaseException:
        drain()
        raise
    stop.set()
    for t in threads:
        t.join()
    if errors:
        err = errors[0]
        if isinstance(err, ShotlineError):
            raise err
        raise MediaError(path, f"upscale failed: {err}") from err
    stats.frames = counted[0]
    stats.elapsed = time.monotonic() - started
    stats.timings = dict(busy)
    return stats


def _report(
    progress: Callable[[PipelineProgress], None],
    done: int,
    lay: SourceLayout,
    started: float,
    this_run: int,
    manifest: SegmentStore,
) -> None:
    elapsed = time.monotonic() - started
    fps = this_run / elapsed if elapsed > 0 else 0.0
    eta = (lay.frames - done) / fps if fps > 0 else None
    progress(PipelineProgress(done, lay.frames, fps, eta, len(manifest.done), len(lay.segments)))


# ---------------------------------------------------------------- join


_SKIP_META = {"major_brand", "minor_version", "compatible_brands", "encoder", "creation_time"}


def join(info: MediaInfo, manifest: Manifest, lay: SourceLayout, target: Path) -> None:
    """Stream-copy the segments' video and the input's audio/subtitles into ``target``."""
    import av

    files = [manifest.folder / manifest.done[s.index]["file"] for s in lay.segments]
    src = av.open(info.path)
    segs = [av.open(str(f)) for f in files]
    try:
        out = av.open(str(target), "w")
        try:
            _copy_meta(src.metadata, out.metadata)
            vin = src.streams.video[0]
            vout = out.add_stream_from_template(segs[0].streams.video[0])
            vout.time_base = lay.time_base
            _copy_meta(vin.metadata, vout.metadata)
            v = info.video
            if v is not None and v.rotation:
                vout.set_display_rotation(v.rotation)
            carried: dict[int, Any] = {}
            for s in list(src.streams.audio) + list(src.streams.subtitles):
                try:
                    o = out.add_stream_from_template(s)
                except (ValueError, av.error.FFmpegError) as exc:
                    log.warning(
                        "stream %d (%s) cannot go into %s; left out: %s", s.index, s.type, target, exc
                    )
                    continue
                o.time_base = s.time_base
                _copy_meta(s.metadata, o.metadata)
                carried[s.index] = o
            for pkt in _interleave(src, carried, segs, vout, lay):
                out.mux(pkt)
        finally:
            out.close()
    finally:
        for c in segs:
            c.close()
        src.close()


def preflight(info: MediaInfo, output: Path, vcodec: str) -> None:
    """Refuse, before any work, an output container that cannot hold the video codec or the
    streams carried over (e.g. H.264 in .webm). Nothing is written."""
    import av

    probe_path = output.with_name(f".{output.stem[:40]}.preflight{output.suffix}")
    try:
        with av.open(info.path) as src, av.open(str(probe_path), "w") as dst:
            dst.add_stream(vcodec, rate=25)
            for s in list(src.streams.audio) + list(src.streams.subtitles):
                dst.add_stream_from_template(s)
    except (ValueError, av.error.FFmpegError) as exc:
        raise UsageError(
            f"{output}: a {output.suffix or 'suffix-less'} file cannot hold this ({exc}); try .mp4, .mov or .mkv"
        ) from exc
    finally:
        probe_path.unlink(missing_ok=True)


def _copy_meta(a: Any, b: Any) -> None:
    for k, val in a.items():
        if k not in _SKIP_META:
            b[k] = val


def _interleave(
    src: Any, carried: dict[int, Any], segs: list[Any], vout: Any, lay: SourceLayout
) -> Iterator[Any]:
    """Packets of every output stream merged in time order (a stream copy, no decoding)."""

    def video() -> Iterator[tuple[float, int, Any]]:
        last = None
        for c, seg in zip(segs, lay.segments):
            for pkt in c.demux(c.streams.video[0]):
                if pkt.size == 0:
                    continue
                shift = round(Fraction(seg.start_pts) * lay.time_base / pkt.time_base)
                if pkt.pts is not None:
                    pkt.pts += shift
                if pkt.dts is not None:
                    pkt.dts += shift
                if pkt.dts is not None and last is not None and pkt.dts <= last:
                    pkt.dts = min(last + 1, pkt.pts) if pkt.pts is not None else last + 1
                last = pkt.dts
                pkt.stream = vout
                t = pkt.dts if pkt.dts is not None else pkt.pts
                yield (float(t * pkt.time_base) if t is not None else 0.0, 0, pkt)

    def others() -> Iterator[tuple[float, int, Any]]:
        if not carried:
            return
        streams = [s for s in src.streams if s.index in carried]
        for pkt in src.demux(streams):
            if pkt.size == 0:
                continue
            pkt.stream = carried[pkt.stream_index] if pkt.stream_index in carried else None
            t = pkt.dts if pkt.dts is not None else pkt.pts
            yield (float(t * pkt.time_base) if t is not None else 0.0, 1, pkt)

    for _, _, pkt in heapq.merge(video(), others(), key=lambda x: (x[0], x[1])):
        yield pkt


def encoder_threads() -> int:
    """The encoder's thread (and so slice) count: this machine's cores, what libx264 picks itself.
    Decided once by the driver and given to every worker, whatever machine it runs on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def settings_key(**kw: Any) -> dict[str, Any]:
    """Settings that change the bytes of a segment: part of the resume key."""
    return {k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in kw.items()}


def remove_work_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
