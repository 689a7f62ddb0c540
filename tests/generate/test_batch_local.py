"""The orchestrator with the real local provider, and with service faults scripted on top of it."""

from __future__ import annotations

import collections
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shotline.core.errors import UsageError
from shotline.core.generate.ledger import Ledger
from shotline.core.generate.orchestrator import BatchConfig, Orchestrator, TakeView
from shotline.core.generate.providers.base import GenerationRequest, TaskState, TaskStatus
from shotline.core.generate.providers.http import ExpiredOutputError, RemoteError
from shotline.core.generate.providers.local import LocalProvider
from shotline.core.generate.storyboard import from_dict
from shotline.core.media.probe import probe
from shotline.core.vocab import file_checksum as file_sha256

FAST = BatchConfig(poll_interval=0.01, backoff_base=0.01, backoff_max=0.05)


def storyboard(tmp: Path, **extra: Any) -> Any:
    img = tmp / "still.png"
    if not img.exists():
        Image.fromarray((np.random.default_rng(0).random((90, 160, 3)) * 255).astype(np.uint8)).save(img)
    data = {
        "output": {"width": 96, "height": 54, "fps": 24},
        "style": "pencil sketch",
        "characters": {"ana": {"description": "a girl with a red scarf", "image": "still.png"}},
        "shots": [
            {"id": "one", "subject": "a kite", "camera": "pan right", "duration": 0.5, "takes": 2},
            {
                "id": "two",
                "kind": "i2v",
                "prompt": "ana waves",
                "characters": ["ana"],
                "camera": "dolly in",
                "duration": 0.5,
                "audio": {"sfx": "whoosh of wind"},
            },
        ],
        "music": {"prompt": "soft pad"},
        **extra,
    }
    return from_dict(data, base_dir=tmp)


def created_per_take(ledger_path: Path) -> collections.Counter[int]:
    """Remote tasks created (or found after a crash) per ledger row."""
    with Ledger(ledger_path) as led:
        return collections.Counter(e.take_id for e in led.events() if e.event in ("created", "found"))


def test_ledger_rows_are_what_the_timeline_reads(tmp_path: Path) -> None:
    out = tmp_path / "run"
    orch = Orchestrator(out, config=FAST)
    result = orch.run(orch.plan(storyboard(tmp_path)))
    orch.close()
    with Ledger(out / "ledger.sqlite") as led:
        two = led.latest_done("two")
    assert sorted(r.kind for r in two) == ["image-to-video", "sound-effect"]
    for r in two:  # absolute paths, usable from any working directory
        assert (
            Path(r.output_path or "").is_absolute() and file_sha256(Path(r.output_path or "")) == r.checksum
        )
    # the project folder moved: takes are found in their new place and reused
    moved = tmp_path / "moved"
    out.rename(moved)
    orch = Orchestrator(moved, config=FAST)
    again = orch.run(orch.plan(storyboard(tmp_path)))
    orch.close()
    assert all(o.reused and moved in o.output.parents for o in again.outcomes if o.output)
    assert len(again.outcomes) == len(result.outcomes)


def test_generates_every_take_then_reuses_and_repairs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sb = storyboard(tmp_path)
    views: list[TakeView] = []
    orch = Orchestrator(out, config=FAST, on_update=views.append)
    plans = orch.plan(sb)
    assert [p.key for p in plans] == [
        ("one", 1, "text-to-video"),
        ("one", 2, "text-to-video"),
        ("two", 1, "image-to-video"),
        ("two", 1, "sound-effect"),
        ("_music", 1, "sound-effect"),
    ]
    assert plans[0].request.seed != plans[1].request.seed  # takes differ
    assert plans[0].request.options == {"card": "a kite."}  # the title card shows the shot's own words
    assert plans[-1].request.options == {"role": "music"}
    remote = Orchestrator(tmp_path / "r", providers={"svc": Scripted(tmp_path / "w", {})}, config=FAST)
    assert remote.plan(one_shot(tmp_path))[0].request.options == {}  # local hints never reach a service
    remote.close()
    assert plans[2].request.source_image == tmp_path / "still.png"
    result = orch.run(plans)
    orch.close()
    assert result.ok, result.outcomes
    for o in result.outcomes:
        assert o.output is not None and o.output.is_file() and out in o.output.parents
        info = probe(o.output)
        if o.kind != "sound-effect":
            assert (
                info.video is not None
                and info.video.frame_count == 12
                and (info.video.width, info.video.height) == (96, 54)
            )
            assert info.audio is not None
        else:
            assert info.video is None and info.audio is not None
        assert file_sha256(o.output) == o.checksum
    music = next(o for o in result.outcomes if o.shot_id == "_music")
    assert abs(probe(music.output).duration - sb.duration) < 0.01  # type: ignore[arg-type]
    states = {v.state for v in views}
    assert {"queued", "submitting", "done"} <= states

    # second run: nothing generated again
    orch = Orchestrator(out, config=FAST)
    again = orch.run(orch.plan(sb))
    orch.close()
    assert all(o.reused for o in again.outcomes)
    assert set(created_per_take(out / "ledger.sqlite").values()) == {1}

    # a damaged output is fetched again from its task, not re-created
    victim = result.outcomes[0].output
    assert victim is not None
    victim.write_bytes(b"broken")
    orch = Orchestrator(out, config=FAST)
    third = orch.run(orch.plan(sb))
    orch.close()
    assert not third.outcomes[0].reused and third.outcomes[0].checksum == result.outcomes[0].checksum
    assert file_sha256(victim) == result.outcomes[0].checksum
    assert set(created_per_take(out / "ledger.sqlite").values()) == {1}

    # an edited shot is a new request: a new take row and file, the old file kept
    sb2 = storyboard(tmp_path, style="watercolour")
    orch = Orchestrator(out, config=FAST)
    fourth = orch.run(orch.plan(sb2))
    orch.close()
    assert fourth.outcomes[0].output != victim and victim.is_file()


class Scripted(LocalProvider):
    """The local renderer behind a scripted service: throttling, transient errors, failures, expiry."""

    def __init__(self, workdir: Path, script: dict[str, list[Any]], cost: float = 0.0) -> None:
        super().__init__(workdir)
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: collections.Counter[str] = collections.Counter()
        self.cancelled: list[str] = []
        self.cost = cost
        self.lock = threading.Lock()

    idempotent_submit = False

    def _next(self, what: str) -> Any:
        with self.lock:
            self.calls[what] += 1
            queue = self.script.get(what)
            return queue.pop(0) if queue else None

    def estimate_cost(self, request: GenerationRequest) -> float:
        return self.cost

    def find_task(self, request: GenerationRequest) -> str | None:
        return None  # like a service without a way to look tasks up

    def submit(self, request: GenerationRequest) -> str:
        step = self._next("submit")
        if isinstance(step, Exception):
            raise step
        return super().submit(request) + f"#{self.calls['submit']}"

    def poll(self, task_id: str) -> TaskStatus:
        step = self._next("poll")
        if isinstance(step, Exception):
            raise step
        if isinstance(step, TaskStatus):
            return TaskStatus(
                task_id,
                step.state,
                step.progress,
                (),
                step.cost,
                step.failure,
                step.failure_code,
                step.retryable,
                step.retry_after,
                step.raw_state,
            )
        base = super().poll(task_id.split("#")[0])
        return TaskStatus(task_id, base.state, 1.0, base.output_urls, 3.0, raw_state="SUCCEEDED")

    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        step = self._next("fetch")
        if isinstance(step, Exception):
            raise step
        return super().fetch(TaskStatus(status.task_id.split("#")[0], status.state), dest)

    def cancel(self, task_id: str) -> None:
        self.cancelled.append(task_id)


def one_shot(tmp: Path) -> Any:
    return from_dict(
        {
            "output": {"width": 64, "height": 36, "fps": 12},
            "shots": [{"id": "x", "prompt": "a boat", "duration": 0.5, "provider": "svc"}],
        },
        base_dir=tmp,
    )


def run_with(tmp: Path, prov: Scripted, **cfg: Any) -> Any:
    orch = Orchestrator(
        tmp / "out",
        providers={"svc": prov},
        config=BatchConfig(poll_interval=0.01, backoff_base=0.01, backoff_max=0.05, **cfg),
    )
    try:
        return orch.run(orch.plan(one_shot(tmp)))
    finally:
        orch.close()


def events(tmp: Path) -> list[str]:
    with Ledger(tmp / "out" / "ledger.sqlite") as led:
        return [e.event for e in led.events()]


def test_throttled_429_and_transient_poll_errors_are_waited_out(tmp_path: Path) -> None:
    prov = Scripted(
        tmp_path / "w",
        {
            "submit": [
                RemoteError("HTTP 429", status=429, retryable=True, retry_after=0.01),
                RemoteError("HTTP 503", status=503, retryable=True),
            ],
            "poll": [
                TaskStatus("", TaskState.QUEUED, raw_state="THROTTLED", retry_after=0.02),
                RemoteError("reset", retryable=True),
                TaskStatus("", TaskState.RUNNING, 0.5, raw_state="RUNNING"),
            ],
            "fetch": [ExpiredOutputError("403", status=403, retryable=True)],
        },
    )
    result = run_with(tmp_path, prov)
    o = result.outcomes[0]
    assert o.status == "done" and o.attempts == 3 and o.checksum == file_sha256(o.output)
    assert prov.calls["submit"] == 3 and prov.calls["fetch"] == 2
    ev = events(tmp_path)
    assert ev.count("created") == 1 and ev.count("retry") == 2
    assert "state" in ev and ev[-1] == "done"
    with Ledger(tmp_path / "out" / "ledger.sqlite") as led:
        row = led.takes()[0]
    assert row.cost_actual == 3.0 and row.started_at is not None and row.status == "done"


def test_retryable_task_failure_gets_one_new_task_and_bad_requests_none(tmp_path: Path) -> None:
    prov = Scripted(
        tmp_path / "a",
        {
            "poll": [
                TaskStatus(
                    "",
                    TaskState.FAILED,
                    failure="busy",
                    failure_code="INTERNAL.BAD_OUTPUT.CODE01",
                    retryable=True,
                )
            ]
        },
    )
    o = run_with(tmp_path / "a", prov).outcomes[0]
    assert o.status == "done" and prov.calls["submit"] == 2
    assert events(tmp_path / "a").count("created") == 2

    prov = Scripted(
        tmp_path / "b",
        {
            "poll": [
                TaskStatus("", TaskState.FAILED, failure="input refused", failure_code="SAFETY.INPUT.TEXT")
            ]
        },
    )
    o = run_with(tmp_path / "b", prov).outcomes[0]
    assert o.status == "failed" and "input refused" in (o.error or "") and prov.calls["submit"] == 1
    with Ledger(tmp_path / "b" / "out" / "ledger.sqlite") as led:
        assert led.takes()[0].failure_code == "SAFETY.INPUT.TEXT"


def test_a_create_that_may_have_landed_is_never_resent_blindly(tmp_path: Path) -> None:
    maybe = RemoteError("timed out after sending", retryable=True, maybe_created=True)
    prov = Scripted(tmp_path / "w", {"submit": [maybe]})
    o = run_with(tmp_path, prov).outcomes[0]
    assert o.status == "uncertain" and "--retry-uncertain" in (o.error or "")
    # a plain re-run does not send it again
    prov2 = Scripted(tmp_path / "w", {})
    assert run_with(tmp_path, prov2).outcomes[0].status == "uncertain" and prov2.calls["submit"] == 0
    # the user checked the dashboard and asks for it
    prov3 = Scripted(tmp_path / "w", {})
    assert run_with(tmp_path, prov3, retry_uncertain=True).outcomes[0].status == "done"
    assert prov3.calls["submit"] == 1


def test_budget_refuses_before_anything_is_sent(tmp_path: Path) -> None:
    prov = Scripted(tmp_path / "w", {}, cost=25.0)
    with pytest.raises(UsageError, match="estimated at 25 credits, over the budget of 20"):
        run_with(tmp_path, prov, budget=20.0)
    assert prov.calls["submit"] == 0
    assert run_with(tmp_path, prov, budget=25.0).ok


def test_stop_with_cancel_cancels_the_remote_task(tmp_path: Path) -> None:
    prov = Scripted(tmp_path / "w", {"poll": [TaskStatus("", TaskState.RUNNING, raw_state="RUNNING")] * 50})
    orch = Orchestrator(
        tmp_path / "out",
        providers={"svc": prov},
        config=BatchConfig(poll_interval=0.01, cancel_on_interrupt=True),
    )

    def on_update(v: TakeView) -> None:
        if v.state == "running":
            orch.stop.set()

    orch.on_update = on_update
    result = orch.run(orch.plan(one_shot(tmp_path)))
    orch.close()
    assert result.outcomes[0].status == "cancelled" and len(prov.cancelled) == 1
    assert events(tmp_path)[-1] == "cancelled"


class Counting(Scripted):
    """Tracks how many tasks are in flight at once (created, not yet finished)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, {})
        self.active = 0
        self.peak = 0
        self.polls: collections.Counter[str] = collections.Counter()

    def submit(self, request: GenerationRequest) -> str:
        tid = super().submit(request)
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        return tid

    def poll(self, task_id: str) -> TaskStatus:
        with self.lock:
            self.polls[task_id] += 1
            n = self.polls[task_id]
        if n < 4:
            return TaskStatus(task_id, TaskState.RUNNING, n / 4, raw_state="RUNNING")
        with self.lock:
            self.active -= 1
        return super().poll(task_id)


def test_per_provider_concurrency_limit(tmp_path: Path) -> None:
    prov = Counting(tmp_path / "w")
    sb = from_dict(
        {
            "output": {"width": 64, "height": 36, "fps": 12},
            "shots": [{"id": "x", "prompt": "a boat", "duration": 0.25, "provider": "svc", "takes": 6}],
        },
        base_dir=tmp_path,
    )
    orch = Orchestrator(
        tmp_path / "out", providers={"svc": prov}, config=BatchConfig(concurrency=2, poll_interval=0.01)
    )
    result = orch.run(orch.plan(sb))
    orch.close()
    assert result.ok and len(result.outcomes) == 6
    assert prov.peak == 2  # never more than the limit, and the limit was used


def test_secrets_never_reach_the_ledger_or_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "key_" + "9f3a" * 8
    monkeypatch.setenv("RUNWAYML_API_SECRET", secret)
    prov = Scripted(tmp_path / "w", {"submit": [RemoteError(f"HTTP 401: bad token {secret}", status=401)]})
    o = run_with(tmp_path, prov).outcomes[0]
    assert o.status == "failed" and "bad token ***" in (o.error or "")
    raw = (tmp_path / "out" / "ledger.sqlite").read_bytes()
    wal = tmp_path / "out" / "ledger.sqlite-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw


def test_failures_after_the_task_exists_resume_the_task_not_a_new_one(tmp_path: Path) -> None:
    cap = RemoteError("output is over the 4096-byte cap")  # not retryable
    prov = Scripted(tmp_path / "w", {"fetch": [cap]})
    first = run_with(tmp_path, prov).outcomes[0]
    assert first.status == "failed" and "download failed" in (first.error or "")
    with Ledger(tmp_path / "out" / "ledger.sqlite") as led:
        assert led.takes()[0].failure_code == "DOWNLOAD"
    # next run: the same task is read and downloaded again; nothing new is created
    again = run_with(tmp_path, Scripted(tmp_path / "w", {}))
    assert again.outcomes[0].status == "done" and again.outcomes[0].task_id == first.task_id
    assert events(tmp_path).count("created") == 1

    # a poll the service refuses (401) keeps the task too
    other = tmp_path / "b"
    prov = Scripted(other / "w", {"poll": [RemoteError("HTTP 401: check your key", status=401)]})
    o = run_with(other, prov).outcomes[0]
    assert o.status == "failed" and "cannot read the task" in (o.error or "")
    prov2 = Scripted(other / "w", {})
    assert run_with(other, prov2).outcomes[0].status == "done" and prov2.calls["submit"] == 0


def test_a_quota_pause_longer_than_allowed_ends_the_take_for_now(tmp_path: Path) -> None:
    quota = RemoteError("HTTP 429: daily limit", status=429, retryable=True, retry_after=3600.0)
    prov = Scripted(tmp_path / "w", {"submit": [quota]})
    o = run_with(tmp_path, prov, max_retry_after=60.0).outcomes[0]
    assert o.status == "failed" and "wait 3600 s, run again later" in (o.error or "")
    assert prov.calls["submit"] == 1
    assert run_with(tmp_path, Scripted(tmp_path / "w", {})).outcomes[0].status == "done"


def test_planning_reports_every_refused_shot_before_anything_runs(tmp_path: Path, clips: Any) -> None:
    src = clips(duration=0.5)
    sb = from_dict(
        {
            "shots": [
                {"id": "talk", "kind": "lip-sync", "video": str(src)},
                {"id": "ok", "prompt": "fine"},
                {"id": "restyle", "kind": "v2v", "prompt": "as watercolour", "video": str(src)},
            ]
        },
        base_dir=tmp_path,
    )
    orch = Orchestrator(tmp_path / "out", config=FAST)
    with pytest.raises(UsageError) as err:
        orch.plan(sb)
    orch.close()
    msg = str(err.value)
    assert msg.startswith("2 shots cannot be generated as planned")
    assert "talk" in msg and "character-performance" in msg and "restyle" in msg and "video-to-video" in msg
    assert not (tmp_path / "out").exists()


def test_ctrl_c_with_cancel_on_interrupt_cancels_and_reports(tmp_path: Path) -> None:
    import os
    import signal

    from shotline.core.errors import Interrupted

    prov = Scripted(tmp_path / "w", {"poll": [TaskStatus("", TaskState.RUNNING, raw_state="RUNNING")] * 500})
    orch = Orchestrator(
        tmp_path / "out",
        providers={"svc": prov},
        config=BatchConfig(poll_interval=0.01, cancel_on_interrupt=True),
    )
    plans = orch.plan(one_shot(tmp_path))
    running = threading.Event()
    orch.on_update = lambda v: running.set() if v.state == "running" else None
    # Ctrl-C arrives in the main thread while the worker polls
    threading.Thread(
        target=lambda: running.wait(30) and os.kill(os.getpid(), signal.SIGINT), daemon=True
    ).start()
    with pytest.raises(Interrupted, match="cancelled 1 remote task"):
        orch.run(plans)
    orch.close()
    assert len(prov.cancelled) == 1
    with Ledger(tmp_path / "out" / "ledger.sqlite") as led:
        assert led.takes()[0].status == "cancelled"


def test_one_run_per_project_and_stale_temp_files_swept(tmp_path: Path) -> None:
    from shotline.core.generate.orchestrator import project_lock, sweep_partials

    out = tmp_path / "out"
    shots = out / "shots" / "x"
    shots.mkdir(parents=True)
    stale = shots / ".x_t01_abc.k3j9.part.mp4"  # an atomic-write temp file of a killed run
    stale.write_bytes(b"half")
    scratch = out / ".local-tasks" / ".local-1.zz.part.d"
    scratch.mkdir(parents=True)
    (scratch / "bed.wav").write_bytes(b"x")
    resumable = shots / "x_t01_abc.mp4.part"  # a download to continue with Range
    resumable.write_bytes(b"first half")
    with project_lock(out):
        removed = sweep_partials(out)
        orch = Orchestrator(out, config=FAST)
        sb = from_dict({"shots": [{"id": "y", "prompt": "p", "duration": 0.2}]}, base_dir=tmp_path)
        with pytest.raises(UsageError, match="another shotline generate is running"):
            orch.run(orch.plan(sb))
        orch.close()
    assert set(removed) == {stale, scratch} and not stale.exists() and not scratch.exists()
    assert resumable.read_bytes() == b"first half"


def test_the_timeline_builds_from_this_ledger(tmp_path: Path) -> None:
    """The contract with the timeline area: its ledger reader finds every shot and its sound."""
    from shotline.otio_adapters.build import build_from_storyboard
    from shotline.otio_adapters.takes import takes_from_ledger

    out = tmp_path / "run"
    sb = storyboard(tmp_path)
    orch = Orchestrator(out, config=FAST)
    assert orch.run(orch.plan(sb)).ok
    orch.close()
    takes, notes = takes_from_ledger(out / "ledger.sqlite", [s.id for s in sb.shots])
    assert set(takes) == {"one", "two"} and notes == []
    assert takes["two"].sfx is not None and takes["two"].sfx.suffix == ".wav"
    assert takes["one"].path.suffix == ".mp4" and takes["one"].provider == "local"
    result = build_from_storyboard(sb, takes)
    clips = list(result.timeline.video_tracks()[0].find_clips())
    assert [c.name for c in clips] == ["one", "two"]
