"""The batch orchestrator: every take of a storyboard, generated once, resumable at any instant.

``plan_storyboard`` turns a Storyboard into TakePlans (one GenerationRequest per take,
its request hash, cost estimate and output path). ``Orchestrator.run`` executes them:

* per-provider concurrency limits (one worker pool per provider);
* polite polling: the provider's interval with jitter, ``Retry-After`` honoured,
  queued/THROTTLED treated as normal waiting;
* capped exponential backoff with jitter for transient failures (429, 5xx, resets);
* no double payment: the ledger row goes to ``submitting`` (committed) before the
  create call and records the task id right after; a create that may have reached the
  service (timeout, reset, ambiguous 5xx, or a crash in between) is never repeated
  blindly: the provider is asked ``find_task``; if it cannot tell, the take is held as
  ``uncertain`` until the user says ``retry_uncertain``;
* resume: finished takes whose file still matches its checksum are reused; takes
  with a remote task id are re-polled, not re-created;
* downloads through the provider (resumable, size-capped, https only for remote
  services), checksummed here; an expired output URL is re-fetched by re-reading the task;
* Ctrl-C / SIGTERM stops cleanly; with ``cancel_on_interrupt`` remote tasks are cancelled;
* a budget refuses to start a plan whose unfinished takes would cost more.

Tests drive it against local servers by passing provider instances or factories and
small poll/backoff knobs (``BatchConfig``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import Interrupted, ProviderError, ShotlineError, UsageError, missing_module
from shotline.core.generate.ledger import ACTIVE, Ledger, TakeRow
from shotline.core.generate.providers.base import GenerationRequest, Provider, ShotKind, TaskState, TaskStatus
from shotline.core.vocab import (
    SECRET_ENV_NAMES,
    SOUND_KINDS,
    file_checksum,
    install_sigterm,
    restore_sigterm,
    sha256_text,
)

log = logging.getLogger("shotline.batch")

LEDGER_NAME = "ledger.sqlite"
MUSIC_ID = "_music"  # ledger shot id of a music bed generated from the storyboard's music prompt

ProviderLike = Provider | Callable[[], Provider]


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class TakePlan:
    provider: str
    request: GenerationRequest
    request_hash: str
    cost_estimate: float
    cost_unit: str
    output: Path  # relative to the batch's output folder, suffix by kind

    @property
    def key(self) -> tuple[str, int, str]:
        """(shot id, take, kind): a shot's picture and its sound effect are separate takes."""
        return (self.request.shot_id, self.request.take, self.request.kind.value)

    @property
    def label(self) -> str:
        sound = " (sound)" if self.request.kind.value in SOUND_KINDS else ""
        return f"{self.request.shot_id} take {self.request.take}{sound}"


def safe_name(text: str, limit: int = 64) -> str:
    """A file-name-safe form of a shot id or remote name: no separators, no traversal, no dotfiles."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"
    return name[:limit]


def request_hash(provider: str, request: GenerationRequest) -> str:
    """SHA-256 over everything that shapes the output, source file contents included."""
    data = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    data["provider"] = provider
    data["kind"] = request.kind.value
    for key in ("source_image", "source_video"):
        if data[key] is not None:
            data[key] = file_checksum(Path(data[key]))
    data["reference_images"] = [file_checksum(Path(p)) for p in request.reference_images]
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return sha256_text(text)


def request_json(request: GenerationRequest) -> str:
    """The request as stored in the ledger (plain fields; requests never carry secrets)."""
    data = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    data["kind"] = request.kind.value
    return json.dumps(data, sort_keys=True, default=str)


def _size_for(width: int, height: int, aspect: str | None) -> tuple[int, int]:
    """The project's frame, or one of the same height with another aspect (even sizes)."""
    if not aspect:
        return width, height
    a, b = (int(x) for x in aspect.split(":"))
    if Fraction(a, b) == Fraction(width, height):
        return width, height
    w = max(16, round(height * a / b / 2) * 2)
    return w, height


def _seed(shot_seed: int | None, shot_id: str, take: int) -> int:
    if shot_seed is not None:
        return (shot_seed + take - 1) % 2**32
    digest = hashlib.sha256(f"{shot_id}:{take}".encode()).digest()
    return int.from_bytes(digest[:4], "little") % 2**31


def default_model(provider: Provider, kind: ShotKind) -> str:
    for name, constraints in provider.capabilities().models.items():
        kinds = constraints.get("kinds")
        if not kinds or kind.value in kinds or kind in kinds:
            return name
    raise UsageError(f"provider {provider.name!r} has no model for {kind.value}")


def plan_storyboard(
    storyboard: Any, get_provider: Callable[[str], Provider], *, provider_override: str | None = None
) -> list[TakePlan]:
    """One TakePlan per take of every shot, plus generated sound effects and a prompted music bed.

    Raises UsageError naming the shot when a provider refuses a request (unknown model,
    impossible duration...): all checks happen here, before anything is sent.
    """
    from shotline.core.generate.prompt import known_presets

    presets = known_presets()
    plans: list[TakePlan] = []
    problems: list[str] = []
    for shot in storyboard.shots:
        try:
            plans.extend(_shot_plans(storyboard, shot, get_provider, provider_override, presets))
        except UsageError as exc:
            text = str(exc)
            problems.append(text if shot.id in text else f"{shot.label}: {text}")
    music = storyboard.music
    if music is not None and music.path is None and music.prompt:
        duration = max(1.0, storyboard.duration)
        plans.append(_audio_plan(MUSIC_ID, music.prompt, duration, "local", get_provider, None, role="music"))
    if problems:
        head = f"{len(problems)} shot{'s' if len(problems) > 1 else ''} cannot be generated as planned"
        raise UsageError(head + "".join(f"\n  - {p}" for p in problems))
    return plans


def _shot_plans(
    storyboard: Any,
    shot: Any,
    get_provider: Callable[[str], Provider],
    provider_override: str | None,
    presets: Mapping[str, Any],
) -> list[TakePlan]:
    from shotline.core.generate.prompt import build_prompt

    plans: list[TakePlan] = []
    fps = float(storyboard.fps)
    provider_name = provider_override or shot.provider
    provider = get_provider(provider_name)
    model = shot.model or default_model(provider, shot.kind)
    max_len = provider.capabilities().models.get(model, {}).get("max_prompt")
    resolved = build_prompt(storyboard, shot, max_length=max_len)
    width, height = _size_for(storyboard.width, storyboard.height, shot.aspect)
    preset = shot.style_preset or storyboard.style_preset
    look = presets[preset].get("local") if preset else None
    refs = tuple(
        storyboard.characters[c].image for c in shot.characters if storyboard.characters[c].image is not None
    )
    for take in range(1, shot.takes + 1):
        req = GenerationRequest(
            shot_id=shot.id,
            take=take,
            kind=shot.kind,
            prompt=resolved.text,
            model=model,
            duration=shot.duration,
            ratio=f"{width}:{height}",
            seed=_seed(shot.seed, shot.id, take),
            negative_prompt=resolved.negative,
            source_image=shot.source_image,
            source_video=shot.source_video,
            reference_images=refs,
            camera=shot.parts.camera or None,
            fps=fps,
            width=width,
            height=height,
            options=_local_options(provider_name, look=look, card=resolved.body),
        )
        plans.append(plan_take(provider_name, provider, req, shot.label))
    if shot.audio.sfx and shot.kind != ShotKind.SOUND_EFFECT:
        plans.append(_audio_plan(shot.id, shot.audio.sfx, shot.duration, provider_name, get_provider, shot))
    return plans


def _audio_plan(
    item_id: str,
    prompt: str,
    duration: float,
    provider_name: str,
    get_provider: Any,
    shot: Any,
    role: str = "sfx",
) -> TakePlan:
    provider = get_provider(provider_name)
    if ShotKind.SOUND_EFFECT not in provider.capabilities().kinds:
        provider_name, provider = "local", get_provider("local")
    req = GenerationRequest(
        shot_id=item_id,
        take=1,
        kind=ShotKind.SOUND_EFFECT,
        prompt=prompt,
        model=default_model(provider, ShotKind.SOUND_EFFECT),
        duration=duration,
        ratio="",
        seed=_seed(shot.seed if shot else None, item_id, 1),
        options=_local_options(provider_name, role=role),
    )
    return plan_take(provider_name, provider, req, shot.label + " audio sfx" if shot else "music")


def _local_options(provider_name: str, **options: Any) -> dict[str, Any]:
    """Hints only the local animatic understands (look, card text, audio role); remote
    providers validate their options strictly, so they get none of these."""
    if provider_name != "local":
        return {}
    return {k: v for k, v in options.items() if v}


def plan_take(name: str, provider: Provider, req: GenerationRequest, label: str) -> TakePlan:
    """One validated TakePlan for ``req`` on provider ``name`` (retakes, extra takes); UsageError
    naming ``label`` when the provider refuses it."""
    try:
        provider.validate(req)
    except UsageError as exc:
        text = str(exc)
        raise UsageError(text if req.shot_id in text else f"{label}: {text}") from None
    suffix = (
        ".wav" if req.kind.value in SOUND_KINDS else ".png" if req.kind == ShotKind.TEXT_TO_IMAGE else ".mp4"
    )
    digest = request_hash(name, req)
    stem = safe_name(req.shot_id)
    rel = Path("shots") / stem / f"{stem}_t{req.take:02d}_{digest[:8]}{suffix}"
    return TakePlan(name, req, digest, float(provider.estimate_cost(req)), provider.cost_unit, rel)


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class BatchConfig:
    """Knobs. Defaults are polite to paid services; tests shrink the delays."""

    concurrency: int | Mapping[str, int] | None = None  # per provider; None: the provider's own limit
    poll_interval: float | None = None  # None: the provider's interval
    poll_jitter: float = 0.25  # +- this fraction of the interval, so many clients do not poll in step
    backoff_base: float = 2.0
    backoff_max: float = 120.0
    max_transient: int = 8  # transient failures in a row before a take is failed
    max_attempts: int = 2  # remote tasks per take per run (a retryable task failure gets one more)
    take_timeout: float = 3600.0
    # a service asking for a longer pause than this (a daily quota) ends the take for now
    max_retry_after: float = 900.0
    cancel_on_interrupt: bool = False
    retry_uncertain: bool = False
    budget: float | None = None


@dataclass(frozen=True)
class TakeView:
    """What the live view shows for one take."""

    key: tuple[str, int, str]  # TakePlan.key
    provider: str
    state: str  # queued, submitting, submitted, running, downloading, done, reused, failed, ...
    started: float | None
    ended: float | None
    detail: str = ""

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started


@dataclass(frozen=True)
class TakeOutcome:
    shot_id: str
    take: int
    kind: str
    provider: str
    status: str  # done, failed, cancelled, uncertain, interrupted
    reused: bool
    output: Path | None
    checksum: str | None
    task_id: str | None
    attempts: int
    cost_estimate: float
    cost_unit: str
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    outcomes: tuple[TakeOutcome, ...]
    wall_seconds: float
    cpu_seconds: float  # the orchestrator process's own CPU time (renders by the local provider included)
    ledger: Path

    @property
    def ok(self) -> bool:
        return all(o.status == "done" for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def estimate(plans: Iterable[TakePlan]) -> dict[str, float]:
    """Total estimated cost per cost unit."""
    out: dict[str, float] = {}
    for p in plans:
        out[p.cost_unit] = out.get(p.cost_unit, 0.0) + p.cost_estimate
    return out


class _Stop(Exception):
    """Raised inside a worker when the batch is stopping."""


# Failures after which the remote task still stands (and may have been paid for): the next
# run polls and downloads it again instead of creating a new one.
RESUMABLE_FAILURES = frozenset({"TIMEOUT", "POLL", "DOWNLOAD"})


class _TaskKept(Exception):
    """A take failed on our side of a task that exists remotely (see RESUMABLE_FAILURES)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Orchestrator:
    """Runs TakePlans against providers, recording everything in the ledger (see module docstring)."""

    def __init__(
        self,
        outdir: str | Path,
        *,
        providers: Mapping[str, ProviderLike] | None = None,
        provider_options: Mapping[str, Mapping[str, Any]] | None = None,
        config: BatchConfig | None = None,
        ledger: Ledger | None = None,
        on_update: Callable[[TakeView], None] | None = None,
    ) -> None:
        self.outdir = Path(outdir)
        self.config = config or BatchConfig()
        self._given = dict(providers or {})
        self._options = {k: dict(v) for k, v in (provider_options or {}).items()}
        self._providers: dict[str, Provider] = {}
        self._plock = threading.Lock()
        self._create_locks: dict[str, threading.Lock] = {}
        self._ledger = ledger
        self.on_update = on_update
        self._own_ledger = False
        self.stop = threading.Event()
        self._views: dict[tuple[str, int, str], TakeView] = {}

    # -- providers

    def provider(self, name: str) -> Provider:
        with self._plock:
            if name not in self._providers:
                given = self._given.get(name)
                if isinstance(given, Provider):
                    self._providers[name] = given
                elif given is not None:
                    self._providers[name] = given()
                else:
                    from shotline.core.generate.providers.registry import get_provider

                    options = dict(self._options.get(name, {}))
                    if name == "local":
                        options.setdefault("workdir", self.outdir / ".local-tasks")
                    self._providers[name] = get_provider(name, **options)
            return self._providers[name]

    def _create_lock(self, name: str, provider: Provider) -> AbstractContextManager[object]:
        """The window of doubt of a create (announced in the ledger, not yet answered with a task
        id) is open for one take at a time where a doubtful create can be neither repeated nor
        looked up (Runway: no idempotency key, no task search): a kill then leaves at most one
        take uncertain per provider instead of one per worker. Polls and downloads stay parallel."""
        if provider.idempotent_submit or type(provider).find_task is not Provider.find_task:
            return nullcontext()
        with self._plock:
            return self._create_locks.setdefault(name, threading.Lock())

    def close(self) -> None:
        with self._plock:
            for p in self._providers.values():
                try:
                    p.close()
                except Exception:  # pragma: no cover - closing is best effort
                    log.debug("closing provider failed", exc_info=True)
            self._providers.clear()
        if self._ledger is not None and self._own_ledger:
            self._ledger.close()
            self._ledger = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self.outdir.mkdir(parents=True, exist_ok=True)
            self._ledger = Ledger(self.outdir / LEDGER_NAME)
            self._own_ledger = True
        return self._ledger

    def plan(self, storyboard: Any, provider_override: str | None = None) -> list[TakePlan]:
        return plan_storyboard(storyboard, self.provider, provider_override=provider_override)

    # -- budget and status

    def pending(self, plans: Iterable[TakePlan]) -> list[TakePlan]:
        """Plans without a finished ledger row (what a run would still pay for)."""
        if not (self.outdir / LEDGER_NAME).exists() and self._ledger is None:
            return list(plans)
        out = []
        for p in plans:
            row = self.ledger.find(p.request.shot_id, p.request.take, p.request_hash)
            if row is None or row.status != "done":
                out.append(p)
        return out

    def check_budget(self, plans: list[TakePlan]) -> dict[str, float]:
        todo = estimate(self.pending(plans))
        budget = self.config.budget
        if budget is not None:
            paid = {u: v for u, v in todo.items() if v > 0}
            if len(paid) > 1:
                raise UsageError(
                    f"the plan mixes cost units ({', '.join(sorted(paid))}); run one provider at a time with --budget"
                )
            total = sum(paid.values())
            if total > budget:
                unit = next(iter(paid))
                raise UsageError(
                    f"the plan's unfinished takes are estimated at {total:g} {unit}, over the budget of {budget:g}; "
                    "raise --budget or generate fewer takes"
                )
        return todo

    # -- the run

    def run(self, plans: list[TakePlan]) -> BatchResult:
        """Generate every plan; returns when all are settled. Raises Interrupted on Ctrl-C/SIGTERM."""
        started, cpu0 = time.monotonic(), time.process_time()
        seen: set[tuple[str, int, str]] = set()
        for p in plans:
            key = (p.request.shot_id, p.request.take, p.request_hash)
            if key in seen:
                raise UsageError(f"{p.label} is planned twice")
            seen.add(key)
        self.check_budget(plans)
        _ = self.ledger  # opened here, before the worker threads start
        with project_lock(self.outdir):
            sweep_partials(self.outdir)
            return self._run(plans, started, cpu0)

    def _run(self, plans: list[TakePlan], started: float, cpu0: float) -> BatchResult:
        for p in plans:
            self._view(p, "queued")
        pools: dict[str, ThreadPoolExecutor] = {}
        futures: dict[Future[TakeOutcome], TakePlan] = {}
        old_term = install_sigterm()
        try:
            for p in plans:
                pool = pools.get(p.provider)
                if pool is None:
                    pool = ThreadPoolExecutor(
                        self._limit(p.provider), thread_name_prefix=f"take-{p.provider}"
                    )
                    pools[p.provider] = pool
                futures[pool.submit(self._take, p)] = p
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.2)
        except KeyboardInterrupt:
            self.stop.set()
            for pool in pools.values():
                pool.shutdown(wait=False, cancel_futures=True)
            wait({f for f in futures if not f.cancelled()})
            raise Interrupted(self._interrupt_message(futures)) from None
        finally:
            restore_sigterm(old_term)
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=True)
        outcomes = tuple(f.result() for f in futures)  # in plan order
        return BatchResult(
            outcomes, time.monotonic() - started, time.process_time() - cpu0, self.outdir / LEDGER_NAME
        )

    def _interrupt_message(self, futures: Mapping[Future[TakeOutcome], TakePlan]) -> str:
        results = [f.result() for f in futures if f.done() and not f.cancelled() and f.exception() is None]
        cancelled = sum(1 for o in results if o.status == "cancelled")
        left = sum(1 for o in results if o.status == "interrupted")
        if self.config.cancel_on_interrupt:
            return f"interrupted; cancelled {cancelled} remote task(s); run again to resume the rest"
        return f"interrupted; {left} take(s) left in flight are resumed (not re-created) by the next run"

    def _limit(self, provider: str) -> int:
        c = self.config.concurrency
        if isinstance(c, Mapping):
            c = c.get(provider)
        own = self.provider(provider).capabilities().max_concurrency
        return max(1, int(c) if c else own)

    def _view(self, plan: TakePlan, state: str, detail: str = "") -> None:
        key = plan.key
        old = self._views.get(key)
        now = time.monotonic()
        started = old.started if old and old.started else (now if state not in ("queued",) else None)
        ended = (
            now if state in ("done", "reused", "failed", "cancelled", "uncertain", "interrupted") else None
        )
        view = TakeView(key, plan.provider, state, started, ended, detail)
        self._views[key] = view
        if self.on_update is not None:
            self.on_update(view)

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(max(0.0, seconds)):
            raise _Stop

    def _backoff(self, n: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return float(retry_after)
        delay = min(self.config.backoff_max, self.config.backoff_base * 2**n)
        return delay * (0.5 + 0.5 * random.random())

    def _poll_delay(self, provider: Provider, retry_after: float | None) -> float:
        base = self.config.poll_interval
        if base is None:
            base = provider.capabilities().poll_interval
        j = self.config.poll_jitter
        delay = base * (1 + random.uniform(-j, j))
        return max(delay, min(retry_after or 0.0, self.config.max_retry_after))

    # -- one take

    def _take(self, plan: TakePlan) -> TakeOutcome:
        led = self.ledger
        req = plan.request
        row = led.ensure(
            shot_id=req.shot_id,
            take=req.take,
            provider=plan.provider,
            model=req.model,
            kind=req.kind.value,
            request_hash=plan.request_hash,
            request_json=request_json(req),
            cost_estimate=plan.cost_estimate,
            cost_unit=plan.cost_unit,
        )
        try:
            return self._drive(plan, row)
        except _Stop:
            row = led.get(row.id)
            if self.config.cancel_on_interrupt and row.task_id and row.status in ACTIVE:
                try:
                    self.provider(plan.provider).cancel(row.task_id)
                    row = led.update(row.id, status="cancelled", event="cancelled", detail="on interrupt")
                    self._view(plan, "cancelled")
                    return self._outcome(plan, row, "cancelled")
                except ShotlineError as exc:
                    led.update(row.id, error=_safe(exc), event="cancel-failed", detail=_safe(exc))
            self._view(plan, "interrupted")
            return self._outcome(plan, row, "interrupted")
        except _TaskKept as exc:  # the remote task exists (maybe finished): the next run polls it again
            row = led.update(
                row.id,
                status="failed",
                error=str(exc),
                failure_code=exc.code,
                finished_at=time.time(),
                event="failed",
                detail=exc.code,
            )
            self._view(plan, "failed", str(exc))
            return self._outcome(plan, row, "failed")
        except ModuleNotFoundError as exc:  # not this take's fault: the install lacks a package
            if (exc.name or "").split(".")[0] == "shotline":
                raise
            err = missing_module(exc)
            row = led.update(row.id, status="failed", error=str(err), finished_at=time.time(), event="failed")
            self._view(plan, "failed", str(err))
            raise err from None  # ends the run with exit 6 once the other takes settle
        except Exception as exc:  # a provider bug must not take the whole batch down
            log.debug("take %s failed", plan.label, exc_info=True)
            row = led.update(
                row.id, status="failed", error=_safe(exc), finished_at=time.time(), event="failed"
            )
            self._view(plan, "failed", _safe(exc))
            return self._outcome(plan, row, "failed")

    def _drive(self, plan: TakePlan, row: TakeRow) -> TakeOutcome:
        led = self.ledger
        provider = self.provider(plan.provider)
        intact = self._verified(plan, row) if row.status == "done" else None
        if intact is not None:
            self._view(plan, "reused")
            return self._outcome(plan, intact, "done", reused=True)
        if row.status in ("submitting", "uncertain") and not row.task_id:
            # A previous run died (or a create failed) after announcing a create: it may exist remotely.
            found = provider.find_task(plan.request)
            if found:
                row = led.update(
                    row.id, status="submitted", task_id=found, event="found", detail="after a crash"
                )
            elif not (self.config.retry_uncertain or provider.idempotent_submit):
                return self._uncertain(plan, row)
        attempts_here = 0
        while True:
            fresh = False
            resumable = row.status == "failed" and row.failure_code in RESUMABLE_FAILURES and row.task_id
            if not resumable and (
                not row.task_id or row.status in ("queued", "failed", "cancelled", "submitting", "uncertain")
            ):
                if attempts_here >= self.config.max_attempts:
                    break
                row = self._submit(plan, provider, row)
                attempts_here += 1
                fresh = True
                if row.status == "uncertain":
                    return self._uncertain(plan, row)
                if row.status == "failed":
                    break
            assert row.task_id is not None
            status = self._wait(plan, provider, row, fresh)
            row = led.get(row.id)
            if status.state is TaskState.SUCCEEDED:
                row = self._download(plan, provider, row, status)
                break
            if status.state is TaskState.CANCELLED:
                row = led.update(
                    row.id,
                    status="cancelled",
                    finished_at=time.time(),
                    error="cancelled by the service",
                    event="cancelled",
                )
                break
            error = status.failure or "the task failed"
            row = led.update(
                row.id,
                status="failed",
                error=error,
                failure_code=status.failure_code,
                finished_at=time.time(),
                event="task-failed",
                detail=status.failure_code,
            )
            if not status.retryable:
                break
            self._view(plan, "queued", f"retrying after {status.failure_code or 'failure'}")
        final = "done" if row.status == "done" else row.status
        self._view(plan, final, row.error or "")
        return self._outcome(plan, row, final)

    def _uncertain(self, plan: TakePlan, row: TakeRow) -> TakeOutcome:
        msg = (
            f"{plan.label}: a create request for {plan.provider} may have reached the service "
            "(interrupted or unanswered) and it cannot be looked up; check the provider's dashboard, "
            "then run again with --retry-uncertain to submit it anew"
        )
        row = self.ledger.update(row.id, status="uncertain", error=msg, event="uncertain")
        self._view(plan, "uncertain", msg)
        return self._outcome(plan, row, "uncertain")

    def _submit(self, plan: TakePlan, provider: Provider, row: TakeRow) -> TakeRow:
        led = self.ledger
        transient = 0
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                # Uploads and client setup are unbilled: done before the take is marked submitting,
                # so a crash during a long upload does not leave the create in doubt.
                provider.prepare(plan.request)
                with self._create_lock(plan.provider, provider):
                    if self.stop.is_set():  # stopped while waiting for the create slot
                        raise _Stop
                    row = led.begin_submit(row.id)  # committed before any byte of the create is sent
                    self._view(plan, "submitting")
                    task_id = provider.submit(plan.request)
                    row = led.task_created(row.id, task_id)
            except _Stop:
                raise
            except ModuleNotFoundError:
                raise  # this install lacks a package: no request went out, and no retry would help
            except Exception as exc:
                if getattr(exc, "maybe_created", False) and not provider.idempotent_submit:
                    found = provider.find_task(plan.request)
                    if found:
                        return led.update(row.id, status="submitted", task_id=found, event="found")
                    return led.update(row.id, status="uncertain", error=_safe(exc), event="uncertain")
                retryable = bool(getattr(exc, "retryable", False))
                wait_for = getattr(exc, "retry_after", None)
                if retryable and wait_for is not None and wait_for > self.config.max_retry_after:
                    return led.update(
                        row.id,
                        status="failed",
                        error=f"{_safe(exc)}; the service asks to wait {wait_for:.0f} s, run again later",
                        failure_code="RETRY_LATER",
                        finished_at=time.time(),
                        event="submit-failed",
                    )
                if retryable and transient < self.config.max_transient:
                    # the service refused before acting (429, 503, no connection): nothing was created
                    led.update(row.id, status="queued", error=_safe(exc), event="retry", detail=_safe(exc))
                    self._view(plan, "queued", f"retrying: {_safe(exc)}")
                    self._sleep(self._backoff(transient, getattr(exc, "retry_after", None)))
                    transient += 1
                    continue
                return led.update(
                    row.id, status="failed", error=_safe(exc), finished_at=time.time(), event="submit-failed"
                )
            self._view(plan, "submitted")
            return row

    def _wait(self, plan: TakePlan, provider: Provider, row: TakeRow, fresh: bool) -> TaskStatus:
        """Poll until the task settles. A task just created is first left alone for one interval;
        one found again after a restart is polled at once."""
        led = self.ledger
        assert row.task_id is not None
        deadline = time.monotonic() + self.config.take_timeout
        transient = 0
        last_state = row.status
        self._view(plan, "running" if row.status == "running" else "submitted")
        retry_after: float | None = None
        first = not fresh
        while True:
            if not first:
                self._sleep(self._poll_delay(provider, retry_after))
            first = False
            if time.monotonic() > deadline:
                raise _TaskKept(
                    "TIMEOUT", f"no result after {self.config.take_timeout:g} s; run again to keep polling"
                )
            try:
                status = provider.poll(row.task_id)
            except Exception as exc:
                if not getattr(exc, "retryable", False) or transient >= self.config.max_transient:
                    raise _TaskKept("POLL", f"cannot read the task: {_safe(exc)}") from exc
                self._view(plan, last_state, f"poll retry: {_safe(exc)}")
                self._sleep(self._backoff(transient, getattr(exc, "retry_after", None)))
                transient += 1
                retry_after = None
                first = True
                continue
            transient = 0
            retry_after = status.retry_after
            if status.state.terminal:
                return status
            state = "running" if status.state is TaskState.RUNNING else "submitted"
            if state != last_state:
                changes: dict[str, Any] = {"status": state}
                if state == "running":
                    changes["started_at"] = time.time()
                led.update(row.id, event="state", detail=status.raw_state or state, **changes)
                last_state = state
            pct = f"{status.progress * 100:.0f}%" if status.progress is not None else ""
            self._view(plan, state, " ".join(x for x in (status.raw_state, pct) if x))

    def _download(self, plan: TakePlan, provider: Provider, row: TakeRow, status: TaskStatus) -> TakeRow:
        led = self.ledger
        row = led.update(row.id, status="downloading", event="downloading")
        self._view(plan, "downloading")
        dest = self._dest(plan)
        dest.parent.mkdir(parents=True, exist_ok=True)
        transient = 0
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                path = Path(provider.fetch(status, dest))
                break
            except Exception as exc:
                if not getattr(exc, "retryable", False) or transient >= self.config.max_transient:
                    raise _TaskKept("DOWNLOAD", f"download failed: {_safe(exc)}") from exc
                self._view(plan, "downloading", f"retry: {_safe(exc)}")
                self._sleep(self._backoff(transient, getattr(exc, "retry_after", None)))
                transient += 1
                assert row.task_id is not None
                status = provider.poll(row.task_id)  # fresh output URLs (signed URLs expire)
        path = self._contain(path)
        digest, size = file_checksum(path), path.stat().st_size
        if size == 0:
            path.unlink(missing_ok=True)
            raise _TaskKept("DOWNLOAD", "the service returned an empty file")
        return led.update(
            row.id,
            status="done",
            output_path=str(path),
            checksum=digest,
            bytes=size,
            cost_actual=status.cost,
            finished_at=time.time(),
            error=None,
            event="done",
            detail=digest,
        )

    def _dest(self, plan: TakePlan) -> Path:
        return self._contain(self.outdir / plan.output)

    def _contain(self, path: Path) -> Path:
        root = self.outdir.resolve()
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise ProviderError(f"refusing to write outside the output folder: {path.name}")
        return resolved

    def _verified(self, plan: TakePlan, row: TakeRow) -> TakeRow | None:
        """The finished row if its file is intact: where the ledger says, or in this output
        folder's place for it (the project folder was moved or copied). None: fetch again."""
        if not row.output_path or not row.checksum:
            return None
        recorded = Path(row.output_path)
        for path in (recorded, self.outdir / plan.output.parent / recorded.name):
            try:
                ok = (
                    path.is_file()
                    and path.stat().st_size == row.bytes
                    and file_checksum(path) == row.checksum
                )
            except ShotlineError:
                ok = False
            if ok:
                if path != recorded:
                    row = self.ledger.update(row.id, output_path=str(path.resolve()), event="relocated")
                return row
        return None

    def _outcome(self, plan: TakePlan, row: TakeRow, status: str, reused: bool = False) -> TakeOutcome:
        output = Path(row.output_path) if row.output_path and status == "done" else None
        return TakeOutcome(
            shot_id=plan.request.shot_id,
            take=plan.request.take,
            kind=plan.request.kind.value,
            provider=plan.provider,
            status=status,
            reused=reused,
            output=output,
            checksum=row.checksum if status == "done" else None,
            task_id=row.task_id,
            attempts=row.attempts,
            cost_estimate=plan.cost_estimate,
            cost_unit=plan.cost_unit,
            error=row.error if status != "done" else None,
        )


_KEY_LIKE = re.compile(r"(key_[A-Za-z0-9]{8,}|sk-[A-Za-z0-9_-]{8,}|Bearer\s+\S+)")


def _safe(exc: BaseException) -> str:
    """An error's message for the ledger and the screen, with anything key-shaped blotted out."""
    text = str(exc) or type(exc).__name__
    for name in SECRET_ENV_NAMES:
        secret = os.environ.get(name)
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub("***", text)[:500]


@contextmanager
def project_lock(outdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the project folder: one generate run at a time per project.

    The lock (flock) dies with its process, SIGKILL included, so a crashed run never
    blocks the next one.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform
        yield
        return
    fh = open(outdir / ".lock", "a+")  # held for the whole block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"{outdir}: another shotline generate is running on this project; wait for it or stop it"
            ) from None
        yield
    finally:
        fh.close()


def sweep_partials(outdir: Path) -> list[Path]:
    """Remove temporary files a killed run left behind (``.name.XXXX.part.ext``).

    Resumable downloads (``name.ext.part``) are kept: the next download continues them.
    Call only under ``project_lock``.
    """
    import shutil

    removed = []
    for p in sorted(outdir.rglob(".*.part.*")):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


__all__ = [
    "BatchConfig",
    "BatchResult",
    "Orchestrator",
    "TakeOutcome",
    "TakePlan",
    "TakeView",
    "estimate",
    "plan_storyboard",
    "plan_take",
    "request_hash",
    "safe_name",
]
