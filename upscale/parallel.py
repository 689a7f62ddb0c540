"""Segments in parallel: ``--workers N`` local processes, or Ray tasks on a cluster (``--ray``).

A segment is a pure function of (input, segment, settings) -> file (:func:`run_segment`):
the worker decodes from the segment's keyframe, runs the model and encodes the segment
on its own, exactly as the one-worker pipeline does, so the joined output is the same
frame for frame whatever the number of workers or machines. The driver alone keeps the
manifest: a segment is recorded when its file has arrived, once; a segment whose worker
died is run again; Ctrl-C cancels what is outstanding and keeps what finished.

Local workers write their segment straight into the work folder. Ray tasks get the input
through the object store (written once per node into its temp folder) and send the
segment's bytes back, so the nodes need not share a filesystem; the join happens here.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shotline.core.media import cluster
from shotline.core.media.probe import MediaInfo
from shotline.upscale import pipeline
from shotline.upscale.pipeline import Manifest, PipelineProgress, PipelineStats, Segment, SourceLayout

if TYPE_CHECKING:
    from shotline.upscale.api import UpscaleOptions


@dataclass(frozen=True)
class SegmentJob:
    """Everything a worker needs besides the segment's index (sent once per worker or task)."""

    info: MediaInfo
    lay: SourceLayout
    opts: UpscaleOptions
    backend: str
    batch: int
    source_key: str  # names the input on a node that got it through Ray
    threads: int  # the encoder's threads (slices): the driver's choice, the same on every worker


_UPSCALERS: dict[str, pipeline.FrameUpscaler] = {}
_WORKER: dict[str, Any] = {}


def _upscaler(job: SegmentJob) -> pipeline.FrameUpscaler:
    """The model, built once per worker process and reused for its later segments."""
    key = repr((job.opts, job.backend))
    if key not in _UPSCALERS:
        from shotline.upscale.api import make_upscaler

        _UPSCALERS.clear()
        _UPSCALERS[key] = make_upscaler(job.opts, job.backend)
    return _UPSCALERS[key]


def run_segment(job: SegmentJob, index: int, folder: Path) -> tuple[Path, int]:
    """Upscale segment ``index`` into ``folder``; returns its file and frame count."""
    store = pipeline.ScratchStore(folder)
    pipeline.process(
        job.info,
        _upscaler(job),
        store,
        job.lay,
        enc=job.opts.encode,
        batch=job.batch,
        only={index},
        enc_threads=job.threads,
    )
    rec = store.done[index]
    return folder / rec["file"], int(rec["frames"])


# ---------------------------------------------------------------- local worker processes


def _local_init(arg: tuple[SegmentJob, str, int, Any]) -> None:
    job, folder, threads, counter = arg
    with counter.get_lock():
        number = counter.value
        counter.value += 1
    _WORKER.update(job=job, folder=Path(folder))
    if job.backend != "realesrgan":
        return
    import torch

    if threads:
        torch.set_num_threads(threads)
    if job.opts.device in ("auto", "cuda") and torch.cuda.device_count() > 1:
        job = dataclasses.replace(
            job, opts=dataclasses.replace(job.opts, device=f"cuda:{number % torch.cuda.device_count()}")
        )
    _WORKER.update(job=job, folder=Path(folder))


def _local_segment(index: Hashable) -> tuple[str, int]:
    assert isinstance(index, int)
    path, frames = run_segment(_WORKER["job"], index, _WORKER["folder"])
    return str(path), frames


# ---------------------------------------------------------------- Ray tasks


def _ray_segment(job: SegmentJob, index: int, data: Any) -> tuple[Any, int]:
    """A Ray task: the input arrives as bytes, the segment leaves as bytes."""
    import numpy as np

    local = cluster.node_copy(job.source_key, Path(job.info.path).name, data)
    job = dataclasses.replace(job, info=dataclasses.replace(job.info, path=str(local)))
    with tempfile.TemporaryDirectory(prefix="shotline-seg-") as d:
        path, frames = run_segment(job, index, Path(d))
        return np.fromfile(path, dtype=np.uint8), frames


def _write_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".recv")
    with open(tmp, "wb") as f:
        f.write(memoryview(data))
    os.replace(tmp, path)


# ---------------------------------------------------------------- the driver


def default_workers() -> int:
    """What the machine has: one encoder per two cores (each segment's encoder and model use threads)."""
    return max(1, (os.cpu_count() or 2) // 2)


def run(
    info: MediaInfo,
    lay: SourceLayout,
    manifest: Manifest,
    opts: UpscaleOptions,
    backend: str,
    batch: int,
    *,
    workers: int,
    ray_address: str | None = None,
    progress: Callable[[PipelineProgress], None] | None = None,
    on_segment: Callable[[Segment], None] | None = None,
    cancel: threading.Event | None = None,
) -> PipelineStats:
    """Upscale the segments the manifest lacks on ``workers`` local processes or on Ray."""
    stats = PipelineStats(segments_resumed=len(manifest.done))
    todo = [s for s in lay.segments if s.index not in manifest.done]
    if not todo:
        return stats
    by_index = {s.index: s for s in lay.segments}
    job = SegmentJob(
        info, lay, opts, backend, batch, cluster.file_key(Path(info.path)), pipeline.encoder_threads()
    )
    started = time.monotonic()
    frames_done = [sum(s.frames for s in lay.segments if s.index in manifest.done), 0]
    running: list[int] = []
    executor: cluster.Executor

    def report() -> None:
        if progress is None:
            return
        elapsed = time.monotonic() - started
        fps = frames_done[1] / elapsed if elapsed > 0 else 0.0
        eta = (lay.frames - frames_done[0]) / fps if fps > 0 else None
        progress(
            PipelineProgress(
                frames_done[0],
                lay.frames,
                fps,
                eta,
                len(manifest.done),
                len(lay.segments),
                tuple(sorted(running)),
                executor.capacity,
            )
        )

    def on_state(keys: list[Hashable]) -> None:
        running[:] = [k for k in keys if isinstance(k, int)]
        report()

    def done(index: Hashable, value: Any) -> None:
        assert isinstance(index, int)
        seg = by_index[index]
        if ray_address is not None:
            data, frames = value
            path = manifest.segment_file(seg)
            _write_atomic(path, data)
        else:
            path, frames = Path(value[0]), value[1]
        manifest.record(seg, path, frames)
        frames_done[0] += frames
        frames_done[1] += frames
        stats.frames += frames
        stats.segments_run += 1
        if on_segment is not None:
            on_segment(seg)

    if ray_address is not None:
        executor = _ray_executor(job, ray_address, workers)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        counter = multiprocessing_value()
        executor = cluster.ProcessExecutor(
            _local_segment, workers, _local_init, (job, str(manifest.folder), threads, counter)
        )

    def interrupted() -> str:
        return (
            f"interrupted; {len(manifest.done)} of {len(lay.segments)} segments are kept in "
            f"{manifest.folder}: run the same command again to resume"
        )

    report()
    cluster.drive(
        executor,
        [s.index for s in todo],
        done,
        on_state=on_state,
        cancel=cancel,
        interrupted=interrupted,
    )
    stats.elapsed = time.monotonic() - started
    return stats


def multiprocessing_value() -> Any:
    import multiprocessing

    return multiprocessing.get_context("spawn").Value("i", 0)


def _ray_executor(job: SegmentJob, address: str, workers: int) -> cluster.RayExecutor:
    ray = cluster.connect(address)
    data = cluster.ship(ray, Path(job.info.path))
    gpus = cluster.cluster_gpus(ray)
    ai = job.backend in ("realesrgan", "ncnn") and job.opts.device != "cpu"
    if ai and gpus:
        # two segments per GPU: one's frames are encoded while the other's are in the model
        options: dict[str, Any] = {"num_cpus": 1, "num_gpus": 0.5}
        capacity = workers or gpus * 2
    else:
        options = {"num_cpus": 1}
        capacity = workers or cluster.cluster_cpus(ray)
    remote = ray.remote(_ray_segment).options(max_retries=cluster.RETRIES, **options)

    def submit(index: Hashable) -> Any:
        return remote.remote(job, index, data)

    where = f"Ray ({capacity} task(s) at once)"
    return cluster.RayExecutor(ray, submit, capacity, where)
