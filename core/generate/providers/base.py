"""The provider interface every generation service implements.

A provider turns a GenerationRequest into a remote task and the task into a local
file. The orchestrator (core/batch) drives it: submit once (recorded in the ledger
before and after, so a crash never pays twice), poll politely, fetch the output.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ShotKind(str, enum.Enum):
    """What a shot (or a provider task) makes; the values are the storyboard's and the ledger's."""

    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"
    VIDEO_TO_VIDEO = "video-to-video"
    EXTEND = "extend"
    CHARACTER_PERFORMANCE = "character-performance"  # act_two / lip sync
    SOUND_EFFECT = "sound-effect"
    TEXT_TO_IMAGE = "text-to-image"
    UPSCALE = "upscale"


class TaskState(str, enum.Enum):
    QUEUED = "queued"  # accepted, waiting (Runway PENDING/THROTTLED, fal IN_QUEUE, ...)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a provider needs for one take. Hashable into the ledger's request hash."""

    shot_id: str
    take: int
    kind: ShotKind
    prompt: str
    model: str
    duration: float
    ratio: str  # "1280:720" style, or "16:9" where a provider wants that
    seed: int | None = None
    negative_prompt: str | None = None
    source_image: Path | None = None
    source_video: Path | None = None
    reference_images: tuple[Path, ...] = ()
    camera: str | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: TaskState
    progress: float | None = None
    output_urls: tuple[str, ...] = ()
    cost: float | None = None  # in the provider's unit (credits, USD); see Provider.cost_unit
    failure: str | None = None
    failure_code: str | None = None
    retryable: bool = False  # a failure worth a new take (e.g. INTERNAL.*), not a bad request
    retry_after: float | None = None  # seconds the service asked us to wait before the next poll
    raw_state: str = ""  # the service's own word for the state


@dataclass(frozen=True)
class Capabilities:
    kinds: frozenset[ShotKind]
    models: dict[str, dict[str, Any]]  # model -> constraints: durations, ratios, kinds
    needs_key: str | None  # environment variable name, never its value
    poll_interval: float  # seconds between polls, before jitter
    max_concurrency: int


class Provider(ABC):
    """A generation service: validate a request, submit it, poll it, download its output, cancel it."""

    name: str = "provider"
    cost_unit: str = "credits"
    # True when submitting the same request twice yields the same task at no extra cost
    # (an idempotency key, or a deterministic local render): a create interrupted by a
    # crash may then simply be sent again.
    idempotent_submit: bool = False

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def validate(self, request: GenerationRequest) -> None:
        """Raise UsageError (before any request is sent) for an unknown model or invalid parameters."""

    @abstractmethod
    def estimate_cost(self, request: GenerationRequest) -> float: ...

    @abstractmethod
    def submit(self, request: GenerationRequest) -> str:
        """Create the remote task; return its id. Called at most once per ledger row."""

    @abstractmethod
    def poll(self, task_id: str) -> TaskStatus: ...

    @abstractmethod
    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        """Download the task's output to ``dest`` (atomically, checksummed by the caller)."""

    def find_task(self, request: GenerationRequest) -> str | None:
        """The id of a task this exact request already created, where the service can tell.

        The orchestrator asks this after a crash left a create in doubt (a ledger row in
        'submitting' with no task id). None means "cannot tell", and the take is then held
        as uncertain instead of paying twice.
        """
        return None

    def prepare(self, request: GenerationRequest) -> None:  # noqa: B027 - optional
        """Do the slow, unbilled work of a submit ahead of it: open clients, upload source media.

        Meant to be called before a take is marked ``submitting`` in the ledger, so that a
        crash during an upload does not leave a create in doubt. ``submit`` works without it.
        """

    def cancel(self, task_id: str) -> None:  # noqa: B027 - optional for services without cancel
        """Cancel a remote task where the service allows it."""

    def close(self) -> None:  # noqa: B027
        """Release network clients."""
