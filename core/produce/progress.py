"""Stage progress for ``produce``: what a terminal bar and ``--progress json`` show.

Each stage reports a fraction from 0 to 1 with an ETA, built from what its parts report:
the orchestrator's take updates (generate), takes measured (review), the runner's
``-progress`` fractions of each ffmpeg job weighted by media length (render), the upscale
pipeline's frames (upscale), formats written (export). Updates are throttled (one an interval, or a
step of a tenth) and never go backwards; the start and end of every stage are always sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageProgress:
    stage: str
    state: str  # running, done, skipped
    fraction: float  # 0..1 of this stage
    eta: float | None  # seconds left in this stage, when it can be told
    elapsed: float  # seconds in this stage so far
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "state": self.state,
            "fraction": round(self.fraction, 4),
            "eta_s": None if self.eta is None else round(self.eta, 1),
            "elapsed_s": round(self.elapsed, 2),
            "detail": self.detail,
        }


ProgressSink = Callable[[StageProgress], None]


class StageTracker:
    """Progress of one stage made of weighted parts; thread-safe (generate reports from workers)."""

    def __init__(self, stage: str, sink: ProgressSink | None, interval: float = 0.25) -> None:
        self.stage = stage
        self.sink = sink
        self.interval = interval
        self.started = time.monotonic()
        self.fraction = 0.0
        self.detail = ""
        self._last = 0.0
        self._sent = 0.0  # the fraction last sent
        self._lock = threading.Lock()

    def _send(self, state: str, force: bool) -> None:
        if self.sink is None:
            return
        now = time.monotonic()
        # at most one update an interval, unless the stage moved on a tenth since the last one
        if not force and now - self._last < self.interval and self.fraction - self._sent < 0.1:
            return
        self._last, self._sent = now, self.fraction
        elapsed = now - self.started
        f = self.fraction
        eta = 0.0 if state != "running" else (elapsed * (1 - f) / f if f >= 0.02 else None)
        self.sink(StageProgress(self.stage, state, f, eta, elapsed, self.detail))

    def start(self, detail: str = "") -> None:
        with self._lock:
            self.detail = detail
            self._send("running", True)

    def update(self, fraction: float, detail: str | None = None) -> None:
        """Set the stage's fraction (kept monotonic, clamped to [0, 1))."""
        with self._lock:
            if detail is not None:
                self.detail = detail
            self.fraction = max(self.fraction, min(max(fraction, 0.0), 0.999))
            self._send("running", False)

    def part(self, start: float, weight: float, detail: str) -> Callable[[Any], None]:
        """A callback for one part of the stage (anything with a ``fraction``), mapped into
        [start, start + weight] of the stage."""

        def on_progress(p: Any) -> None:
            self.update(start + weight * float(getattr(p, "fraction", 0.0) or 0.0), detail)

        self.update(start, detail)
        return on_progress

    def finish(self, state: str = "done", detail: str | None = None) -> None:
        """The stage ended (``detail`` None keeps the last one, e.g. "12/12 takes")."""
        with self._lock:
            self.fraction = 1.0
            if detail is not None:
                self.detail = detail
            self._send(state, True)
