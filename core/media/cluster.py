"""Running independent work items (segments, pieces) at once: local processes or threads, or Ray.

Both the upscaler's segments and the timeline render's pieces are pure functions of
(input, range, settings) -> file. This module only schedules them: at most ``capacity``
items run at once, finished items are handed to the caller (who records each exactly
once, in submission-independent order), an item whose worker died is run again, and
Ctrl-C (or ``cancel``) cancels what is still outstanding while what finished stays
recorded for the next run.

Ray is optional (``pip install 'shotline[ray]'``). ``connect("auto")`` joins the cluster
this machine belongs to (``RAY_ADDRESS`` or a head started with ``ray start``) and
starts a private one-node instance when there is none; any other value is a cluster
address. Input files travel to the nodes through Ray's object store (:func:`ship`,
:func:`node_copy`), so the nodes need not share a filesystem.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shotline.core.errors import DependencyError, FFmpegKilled, Interrupted, ShotlineError, UsageError

log = logging.getLogger("shotline.cluster")

RAY_HINT = "pip install 'shotline[ray]'"
RETRIES = 2  # a work item whose worker died is run at most this many more times


class WorkerLost(Exception):
    """The process running an item died (killed, out of memory): the item may be run again."""


def ray_module() -> Any:
    """``import ray``, or a DependencyError saying how to install it (exit 6)."""
    try:
        import ray
    except ImportError as exc:
        raise DependencyError(f"--ray needs Ray, which is not installed: {RAY_HINT} ({exc})") from exc
    return ray


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` ("auto": this machine's, else a private local one)."""
    ray = ray_module()
    if ray.is_initialized():
        return ray
    kw: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address == "auto":
        try:
            ray.init(address="auto", **kw)
        except ConnectionError:
            log.info("no Ray cluster found: starting a local one")
            ray.init(include_dashboard=False, **kw)
    else:
        try:
            ray.init(address=address, **kw)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UsageError(f"cannot join the Ray cluster at {address!r}: {exc}") from exc
    return ray


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def cluster_gpus(ray: Any) -> int:
    return int(ray.cluster_resources().get("GPU", 0))


# ------------------------------------------------------------------ moving files through Ray


def file_key(path: Path) -> str:
    """Names a file's content on the nodes: its path, size and modification time."""
    st = path.stat()
    blob = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def ship(ray: Any, path: Path) -> Any:
    """Put a file's bytes in the object store (a uint8 array: read without a copy on each node)."""
    import numpy as np

    return ray.put(np.fromfile(path, dtype=np.uint8))


def node_copy(key: str, name: str, data: Any) -> Path:
    """The shipped file as a file on this node: written once per node (atomically), then reused."""
    folder = Path(tempfile.gettempdir()) / "shotline-ray" / key
    target = folder / name
    if target.is_file() and target.stat().st_size == len(data):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    with os.fdopen(fd, "wb") as f:
        f.write(memoryview(data))
    os.replace(tmp, target)
    return target


# ------------------------------------------------------------------ executors


class Executor(Protocol):
    """Runs items; ``capacity`` of them at once."""

    capacity: int
    where: str  # for messages: "2 local workers", "Ray at ..."

    def submit(self, key: Hashable) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[Any]: ...

    def result(self, handle: Any) -> Any: ...  # raises WorkerLost when the worker died

    def cancel(self, handles: list[Any]) -> None: ...

    def close(self) -> None: ...


class ThreadExecutor:
    """Items that are external processes (ffmpeg): one thread waits on each.

    A process killed by a signal (negative exit status) is a lost worker: run again."""

    def __init__(self, fn: Callable[[Hashable, threading.Event], Any], capacity: int) -> None:
        self.fn = fn
        self.capacity = capacity
        self.where = f"{capacity} local worker(s)"
        self.stop = threading.Event()
        self.pool = cf.ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="shotline-worker")

    def submit(self, key: Hashable) -> Any:
        return self.pool.submit(self.fn, key, self.stop)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> Any:
        try:
            return handle.result()
        except FFmpegKilled as exc:
            if not self.stop.is_set():
                raise WorkerLost(str(exc)) from exc
            raise

    def cancel(self, handles: list[Any]) -> None:
        self.stop.set()  # the runner stops each ffmpeg it started
        for h in handles:
            h.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class ProcessExecutor:
    """Items run by ``fn(key)`` in ``capacity`` worker processes (spawned, so threads and
    CUDA in the driver are no concern). ``init(worker_number)`` runs once in each worker.
    A killed worker breaks the pool: it is rebuilt and the lost items run again."""

    def __init__(
        self,
        fn: Callable[[Hashable], Any],
        capacity: int,
        init: Callable[[Any], None] | None = None,
        init_arg: Any = None,
    ) -> None:
        self.fn = fn
        self.capacity = capacity
        self.where = f"{capacity} local worker process(es)"
        self.init = init
        self.init_arg = init_arg
        self.ctx = multiprocessing.get_context("spawn")
        self.pool: cf.ProcessPoolExecutor | None = None
        self.owner: dict[Any, cf.ProcessPoolExecutor] = {}  # future -> the pool that ran it

    def _pool(self) -> cf.ProcessPoolExecutor:
        if self.pool is None:
            self.pool = cf.ProcessPoolExecutor(
                max_workers=self.capacity,
                mp_context=self.ctx,
                initializer=_worker_init,
                initargs=(os.getpid(), self.init, self.init_arg),
            )
        return self.pool

    def submit(self, key: Hashable) -> Any:
        try:
            fut = self._pool().submit(self.fn, key)
        except BrokenProcessPool:
            self._discard(self.pool)
            fut = self._pool().submit(self.fn, key)
        assert self.pool is not None
        self.owner[fut] = self.pool
        return fut

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> Any:
        pool = self.owner.pop(handle, None)
        try:
            return handle.result()
        except BrokenProcessPool as exc:
            self._discard(pool)
            raise WorkerLost("a worker process died") from exc

    def pids(self) -> list[int]:
        procs = getattr(self.pool, "_processes", None) or {}
        return list(procs)

    def _discard(self, pool: cf.ProcessPoolExecutor | None) -> None:
        """Drop a broken pool (only if it is still the current one: its futures fail one by one)."""
        if pool is not None and pool is self.pool:
            self.pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def cancel(self, handles: list[Any]) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # a segment in progress is abandoned: its worker is stopped now
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(5)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def _worker_init(parent: int, init: Callable[[Any], None] | None, arg: Any) -> None:
    """In each worker process: go when the driver goes (even SIGKILLed), then the caller's init."""
    _die_with_parent(parent)
    if init is not None:
        init(arg)


def _die_with_parent(parent: int) -> None:
    try:  # Linux: the kernel sends SIGKILL to this process when its parent dies
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass

    def watch() -> None:  # pragma: no cover - elsewhere: look every second
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="shotline-parent-watch").start()


class RayExecutor:
    """Items as Ray tasks: ``submit_fn(key)`` returns an ObjectRef. Ray re-runs a task whose
    worker died (``max_retries``); what still fails is reported as the task's error."""

    def __init__(self, ray: Any, submit_fn: Callable[[Hashable], Any], capacity: int, where: str) -> None:
        self.ray = ray
        self.submit_fn = submit_fn
        self.capacity = capacity
        self.where = where

    def submit(self, key: Hashable) -> Any:
        return self.submit_fn(key)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        if ready:  # take everything that is ready now, not one per poll
            more, _ = self.ray.wait(handles, num_returns=len(handles), timeout=0)
            return list(more)
        return list(ready)

    def result(self, handle: Any) -> Any:
        exc_types = self.ray.exceptions
        try:
            return self.ray.get(handle)
        except exc_types.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else None
            if isinstance(cause, ShotlineError):
                raise cause from None
            raise
        except (exc_types.WorkerCrashedError, exc_types.NodeDiedError) as exc:
            raise WorkerLost(str(exc)) from exc

    def cancel(self, handles: list[Any]) -> None:
        for h in handles:
            try:
                self.ray.cancel(h, force=True)
            except Exception:  # pragma: no cover - already finished or gone
                pass

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ the driver loop


@dataclass
class DriveStats:
    ran: int = 0
    retried: int = 0
    elapsed: float = 0.0
    attempts: dict[Hashable, int] = field(default_factory=dict)


def drive(
    executor: Executor,
    keys: Iterable[Hashable],
    on_result: Callable[[Hashable, Any], None],
    *,
    on_state: Callable[[list[Hashable]], None] | None = None,
    cancel: threading.Event | None = None,
    retries: int = RETRIES,
    interrupted: Callable[[], str] = lambda: "interrupted",
) -> DriveStats:
    """Run every key (at most ``executor.capacity`` at once) and hand each result to
    ``on_result`` on this thread, once per key. ``on_state`` hears the keys running now
    whenever that changes. Ctrl-C or ``cancel`` cancels what is outstanding and raises
    Interrupted(``interrupted()``); an error of an item cancels the rest and is raised."""
    pending: deque[Hashable] = deque(keys)
    running: dict[Any, Hashable] = {}
    stats = DriveStats()
    started = time.monotonic()

    def state() -> None:
        if on_state is not None:
            on_state(list(running.values()))

    try:
        while pending or running:
            while pending and len(running) < executor.capacity:
                key = pending.popleft()
                running[executor.submit(key)] = key
                stats.attempts[key] = stats.attempts.get(key, 0) + 1
                state()
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            for h in executor.wait(list(running), 0.2):
                key = running.pop(h)
                try:
                    value = executor.result(h)
                except WorkerLost as exc:
                    if stats.attempts[key] > retries:
                        raise ShotlineError(
                            f"{key}: its worker died {stats.attempts[key]} times ({exc})"
                        ) from exc
                    log.warning("%s: worker lost (%s); running it again", key, exc)
                    stats.retried += 1
                    pending.appendleft(key)
                    continue
                on_result(key, value)
                stats.ran += 1
                state()
    except KeyboardInterrupt:
        executor.cancel(list(running))
        running.clear()
        raise Interrupted(interrupted()) from None
    except BaseException:
        executor.cancel(list(running))
        raise
    finally:
        executor.close()
        stats.elapsed = time.monotonic() - started
    return stats
