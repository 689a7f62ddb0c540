"""Render a timeline in pieces at once: ``timeline render --workers N`` and ``--ray``.

The timeline's frames are cut into pieces of about ``PIECE_SECONDS``, at cuts that lie at
least ``MARGIN_SECONDS`` from any transition where there is one (else at a frame outside
every transition). Each piece is the full render's filter graph restricted to its frames
(``build_graph(start=, end=)``), video only; the sound is rendered once, whole, by its own
task; the join is a stream copy (concat of the pieces, the sound beside them). Where the
pieces fall depends on the timeline only, and the encoder's thread count is fixed by the
driver, so the output is the same frame for frame and sample for sample for any number of
workers, local or on Ray. The smart render's stream copies are not used on this path.

Finished pieces are kept, with a manifest, in a work folder beside the output until the
join: a killed or interrupted run resumes where it stopped. Ray tasks get the media files
through the object store and send the piece's bytes back (nodes need not share files).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from shotline.core.errors import UsageError
from shotline.core.media import cluster
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.plan import OUT, Plan, Step
from shotline.core.media.runner import Progress, ProgressCallback, RunResult, check_output, run
from shotline.otio_adapters.conform.graph import build_graph
from shotline.otio_adapters.conform.model import Conform
from shotline.otio_adapters.conform.render import (
    CONTAINERS,
    RenderOptions,
    RenderPlan,
    RenderResult,
    finish,
    load,
    output_settings,
)

PIECE_SECONDS = 10  # pieces are about this long (a property of the timeline, not of the workers)
MARGIN_SECONDS = 1  # a cut this close to a transition is not used as a split
MANIFEST_VERSION = 1
SOUND = "sound"


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


# ---------------------------------------------------------------- where to split


def split_points(conform: Conform, piece_seconds: float = PIECE_SECONDS) -> list[int]:
    """Frame numbers where pieces start after the first: cuts far from transitions, else any
    frame outside every transition, about ``piece_seconds`` apart."""
    total = conform.frames
    target = max(1, round(piece_seconds * conform.rate))
    margin = round(MARGIN_SECONDS * conform.rate)
    windows = [(d.start, d.end) for t in conform.video for d in t.dissolves]

    def clear(f: int, m: int) -> bool:
        return all(not (s - m < f < e + m) for s, e in windows)

    cuts = sorted({i.start for t in conform.video for i in t.items if 0 < i.start < total})
    usable = [c for c in cuts if clear(c, margin)]
    points: list[int] = []
    last = 0
    while total - last > target * 3 // 2:
        near = [c for c in usable if last + target // 2 <= c <= last + target * 3 // 2]
        if near:
            f = min(near, key=lambda c: (abs(c - (last + target)), c))
        else:
            f = last + target
            while f < total and not clear(f, 0):
                f += 1
            if f >= total:
                break
        points.append(f)
        last = f
    return points


def pieces_of(conform: Conform, piece_seconds: float = PIECE_SECONDS) -> list[tuple[int, int]]:
    edges = [0, *split_points(conform, piece_seconds), conform.frames]
    return list(zip(edges[:-1], edges[1:]))


# ---------------------------------------------------------------- one piece, the sound


@dataclass(frozen=True)
class RenderJob:
    """What a worker needs besides the piece's key."""

    conform: Conform
    pieces: tuple[tuple[int, int], ...]
    settings: EncodeSettings
    font: str | None
    threads: int  # the encoder's threads: the driver's choice, the same on every worker


def piece_plan(job: RenderJob, key: Hashable, output: Path) -> Plan:
    """The plan rendering piece ``key`` (its frames, video only) or the whole sound into ``output``."""
    c = job.conform
    if key == SOUND:
        g = build_graph(c, job.settings, video=False, font=job.font)
        args = g.args() + ["-vn", *job.settings.audio_args(), "-sn", "-dn"]
        step = Step(tuple(args), OUT, float(c.duration), "render the sound")
        return Plan((step,), output, tuple(g.paths), "sound")
    assert isinstance(key, int)
    start, end = job.pieces[key]
    g = build_graph(c, job.settings, start=start, end=end, audio=False, font=job.font)
    args = g.args() + job.settings.video_args(float(c.rate)) + ["-threads", str(job.threads)]
    if job.settings.vcodec == "libx264":
        # with frame threads, libx264's macroblock tree gives different bits for the same frames
        # from one run to the next; without it a piece is the same on every run and worker
        args += ["-x264-params", "mbtree=0"]
    args += ["-fps_mode", "passthrough", "-an", "-sn", "-dn"]
    step = Step(tuple(args), OUT, float(Fraction(end - start) / c.rate), f"render frames {start}-{end}")
    return Plan((step,), output, tuple(g.paths), f"piece {key}")


def _name(key: Hashable) -> str:
    return "sound.m4a" if key == SOUND else f"piece-{key:05d}.mp4"


def render_piece(job: RenderJob, key: Hashable, folder: Path, cancel: threading.Event | None = None) -> Path:
    out = folder / _name(key)
    run(piece_plan(job, key, out), overwrite=True, cancel=cancel)
    return out


def _with_media(conform: Conform, mapping: dict[Path, Path]) -> Conform:
    """``conform`` reading its media from other paths (where a node put the shipped files)."""

    def track(t: Any) -> Any:
        items = tuple(
            dataclasses.replace(i, media=dataclasses.replace(i.media, path=mapping[i.media.path]))
            if i.media is not None and i.media.path in mapping
            else i
            for i in t.items
        )
        return dataclasses.replace(t, items=items)

    return dataclasses.replace(
        conform, video=[track(t) for t in conform.video], audio=[track(t) for t in conform.audio]
    )


def _ray_piece(job: RenderJob, key: Hashable, media: dict[str, tuple[str, Any]]) -> Any:
    """A Ray task: the media arrive through the object store, the piece leaves as bytes."""
    import numpy as np
    import ray

    mapping = {}
    for path, (fkey, ref) in media.items():
        mapping[Path(path)] = cluster.node_copy(fkey, Path(path).name, ray.get(ref))
    job = dataclasses.replace(job, conform=_with_media(job.conform, mapping))
    with tempfile.TemporaryDirectory(prefix="shotline-piece-") as d:
        return np.fromfile(render_piece(job, key, Path(d)), dtype=np.uint8)


# ---------------------------------------------------------------- work folder


def work_dir_for(output: Path) -> Path:
    return output.parent / f".{output.name}.shotline-render"


def _key(job: RenderJob, extracted: Path) -> str:
    """The run's identity. Media unpacked from an .otioz land in a new folder each run: they
    count by their place in the bundle and size, so an interrupted .otioz render resumes too."""
    stats: list[tuple[str, int, int]] = []
    for p in job.conform.media_files():
        st = p.stat()
        inside = p.is_relative_to(extracted)
        stats.append(
            (str(p.relative_to(extracted)) if inside else str(p), st.st_size, 0 if inside else st.st_mtime_ns)
        )
    blob = repr((job.conform, job.pieces, job.settings, job.font, job.threads, stats))
    blob = blob.replace(str(extracted), "<bundle>")
    return hashlib.sha256(blob.encode()).hexdigest()


class _Manifest:
    def __init__(self, folder: Path, key: str, resume: bool) -> None:
        self.folder, self.key = folder, key
        self.path = folder / "manifest.json"
        self.done: dict[str, dict[str, Any]] = {}
        old: dict[str, Any] | None = None
        if resume:
            try:
                old = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
        if isinstance(old, dict) and old.get("key") == key and old.get("version") == MANIFEST_VERSION:
            for name, rec in old.get("pieces", {}).items():
                f = folder / rec["file"]
                if f.is_file() and f.stat().st_size == rec["bytes"]:
                    self.done[name] = rec
        else:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        self._write()

    def record(self, key: Hashable, path: Path) -> None:
        self.done[str(key)] = {"file": path.name, "bytes": path.stat().st_size}
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_name("manifest.json.tmp")
        data = {"version": MANIFEST_VERSION, "key": self.key, "pieces": self.done}
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- the driver


def render_parallel(
    timeline: str | Path | otio.schema.Timeline,
    output: str | Path,
    options: RenderOptions | None = None,
    *,
    workers: int = 0,
    ray_address: str | None = None,
    overwrite: bool = False,
    resume: bool = True,
    piece_seconds: float = PIECE_SECONDS,
    progress: ProgressCallback | None = None,
    on_piece: Callable[[Hashable], None] | None = None,
    cancel: threading.Event | None = None,
) -> RenderResult:
    """Render ``timeline`` into ``output`` in pieces on ``workers`` local ffmpeg processes or on Ray."""
    options = options or RenderOptions()
    output = Path(output)
    if output.suffix.lower() not in CONTAINERS:
        raise UsageError(f"{output}: the render writes {', '.join(CONTAINERS)} files")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shotline-conform-") as tmp:
        conform = load(timeline, options, Path(tmp))
        check_output(output, conform.media_files(), overwrite)
        pieces = tuple(pieces_of(conform, piece_seconds))
        job = RenderJob(conform, pieces, output_settings(conform, options.settings), options.font, _threads())
        work_dir = work_dir_for(output)
        manifest = _Manifest(work_dir, _key(job, Path(tmp)), resume)
        keys: list[Hashable] = list(range(len(pieces)))
        if conform.has_audio:
            keys.insert(0, SOUND)  # the longest single task goes first
        todo = [k for k in keys if str(k) not in manifest.done]
        executor = _executor(
            job, work_dir, workers if ray_address else workers or default_workers(), ray_address
        )
        running: list[Hashable] = []
        frames_done = [sum(e - s for i, (s, e) in enumerate(pieces) if str(i) in manifest.done)]
        resumed_frames = frames_done[0]
        t0 = time.monotonic()

        def report() -> None:
            if progress is None:
                return
            frac = frames_done[0] / conform.frames if conform.frames else 1.0
            elapsed = time.monotonic() - t0
            eta = elapsed * (1 - frac) / frac if frac > 0.01 else None
            now = ",".join(str(k) for k in running)
            rate = (frames_done[0] - resumed_frames) / elapsed if elapsed > 0 else 0.0
            label = (
                f"pieces {len(manifest.done)}/{len(keys)} done, running [{now}] on {executor.where}, "
                f"{rate:.0f} frames/s"
            )
            progress(Progress(len(manifest.done), len(keys), 0.0, frames_done[0], None, frac, eta, label))

        def on_state(now: list[Hashable]) -> None:
            running[:] = now
            report()

        def done(key: Hashable, value: Any) -> None:
            path = work_dir / _name(key)
            if ray_address is not None:
                tmp_path = path.with_name(path.name + ".recv")
                with open(tmp_path, "wb") as f:
                    f.write(memoryview(value))
                os.replace(tmp_path, path)
            manifest.record(key, path)
            if isinstance(key, int):
                frames_done[0] += pieces[key][1] - pieces[key][0]
            if on_piece is not None:
                on_piece(key)

        cluster.drive(
            executor,
            todo,
            done,
            on_state=on_state,
            cancel=cancel,
            interrupted=lambda: (
                f"interrupted; {len(manifest.done)} of {len(keys)} pieces are kept in {work_dir}: "
                "run the same command again to resume"
            ),
        )
        result = _join(job, manifest, output, overwrite, started)
    shutil.rmtree(work_dir, ignore_errors=True)
    rp = RenderPlan(Plan((), output), conform, "parallel", 0, f"{len(pieces)} pieces on {executor.where}")
    return finish(rp, result)


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _join(job: RenderJob, manifest: _Manifest, output: Path, overwrite: bool, started: float) -> RunResult:
    folder = manifest.folder
    listing = folder / "pieces.ffconcat"
    names = [manifest.done[str(i)]["file"] for i in range(len(job.pieces))]
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{n}'\n" for n in names), encoding="utf-8")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    if SOUND in manifest.done:
        args += ["-i", str(folder / manifest.done[SOUND]["file"]), "-map", "0:v:0", "-map", "1:a:0"]
    else:
        args += ["-map", "0:v:0", "-an"]
    args += ["-c", "copy", *job.settings.container_args(str(output))]
    step = Step(tuple(args), OUT, float(job.conform.duration), "join")
    result = run(Plan((step,), output, (), "join the pieces"), overwrite=overwrite)
    return RunResult(output, time.monotonic() - started, result.commands)


def _executor(job: RenderJob, folder: Path, workers: int, ray_address: str | None) -> cluster.Executor:
    if ray_address is None:
        return cluster.ThreadExecutor(lambda key, stop: render_piece(job, key, folder, stop), workers)
    ray = cluster.connect(ray_address)
    media = {str(p): (cluster.file_key(p), cluster.ship(ray, p)) for p in job.conform.media_files()}
    capacity = workers if workers else cluster.cluster_cpus(ray)
    remote = ray.remote(_ray_piece).options(num_cpus=1, max_retries=cluster.RETRIES)
    return cluster.RayExecutor(
        ray, lambda key: remote.remote(job, key, media), capacity, f"Ray ({capacity} task(s) at once)"
    )
