"""Pika through fal.ai's queue API, over httpx (Pika has no first-party public API).

Contract:
* documented by fal: ``POST https://queue.fal.run/{model_id}`` with the JSON input ->
  ``{"request_id", "response_url", "status_url", "cancel_url"}``;
  ``GET .../requests/{id}/status`` -> ``{"status": IN_QUEUE|IN_PROGRESS|COMPLETED,
  "queue_position"?}``; ``GET .../requests/{id}`` -> the result; ``PUT
  .../requests/{id}/cancel`` cancels a request that has not started; auth
  ``Authorization: Key $FAL_KEY`` (``Key``, not ``Bearer``); status and result URLs use
  the app id (``fal-ai/pika``) without the sub-path. Pika v2.5 text-to-video input:
  prompt, resolution 480p/720p/1080p, duration 5/10, negative_prompt, seed.
* inferred (integrator code, not fal's page): the v2.2 image-to-video input
  (``image_url``; resolution 720p/1080p) and the v2.2 aspect ratios; the result shape
  ``{"video": {"url", "content_type", "file_name", "file_size"}}``; that a failed request
  shows as COMPLETED whose result GET answers an error with ``{"detail"}``; that fal takes
  a data URI as ``image_url``; the price (0.20 USD per 5 s at 720p, a third-party quote).

The ledger's task id is ``{model_id}|{request_id}``, enough to rebuild the status/result
URLs after a restart. Returned URLs are used only when they point at the queue host, so
the key never goes anywhere else.
"""

from __future__ import annotations

import base64
from typing import Any

from shotline.core.errors import ProviderError, UsageError
from shotline.core.generate.providers.base import (
    Capabilities,
    GenerationRequest,
    ShotKind,
    TaskState,
    TaskStatus,
)
from shotline.core.generate.providers.http import HttpProvider, RemoteError, env_key, image_data, match_aspect

ENV_KEY = "FAL_KEY"
APP_ID = "fal-ai/pika"
ENDPOINTS = {
    ("v2.2", ShotKind.TEXT_TO_VIDEO): "fal-ai/pika/v2.2/text-to-video",
    ("v2.2", ShotKind.IMAGE_TO_VIDEO): "fal-ai/pika/v2.2/image-to-video",
    ("v2.5", ShotKind.TEXT_TO_VIDEO): "fal-ai/pika/v2.5/text-to-video",
}
RESOLUTIONS = {"v2.2": ("720p", "1080p"), "v2.5": ("480p", "720p", "1080p")}
ASPECTS_V22 = ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3")
USD_PER_SECOND = 0.04  # [3P] 0.20 USD per 5 s at 720p
_STATES = {"IN_QUEUE": TaskState.QUEUED, "IN_PROGRESS": TaskState.RUNNING}


def _version(model: str) -> str:
    """Accept "v2.2", "pika-2.2", "2.2" or a full fal model id."""
    for v in ("v2.2", "v2.5"):
        if model in (v, v[1:], f"pika-{v[1:]}", f"pika-{v}") or model.startswith(f"{APP_ID}/{v}/"):
            return v
    return ""


class PikaProvider(HttpProvider):
    name = "pika"
    cost_unit = "USD"
    env_base_url = None
    default_base_url = "https://queue.fal.run"
    default_poll_interval = 3.0

    def check_key(self) -> None:
        if not env_key(ENV_KEY):
            raise ProviderError(f"pika: set {ENV_KEY} to your fal.ai key (Pika is served through fal)")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {env_key(ENV_KEY) or ''}"}

    def capabilities(self) -> Capabilities:
        models: dict[str, dict[str, Any]] = {}
        for (version, kind), model_id in ENDPOINTS.items():
            entry = models.setdefault(
                version, {"kinds": [], "durations": [5, 10], "resolutions": list(RESOLUTIONS[version])}
            )
            entry["kinds"].append(kind.value)
            entry[kind.value] = model_id
        return self.capabilities_for(models, ENV_KEY)

    def route(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        where = f"shot {request.shot_id} (pika {request.model})"
        version = _version(request.model)
        model_id = ENDPOINTS.get((version, request.kind))
        if model_id is None:
            offered = ", ".join(f"{v} {k.value}" for v, k in ENDPOINTS)
            raise UsageError(f"{where}: not offered; Pika on fal offers: {offered}")
        if request.duration not in (5, 10):
            raise UsageError(f"{where}: duration {request.duration:g} s is not offered; choose 5 or 10")
        body: dict[str, Any] = {"prompt": request.prompt, "duration": int(request.duration)}
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if request.seed is not None:
            body["seed"] = request.seed
        opts = dict(request.options)
        resolution = opts.pop("resolution", "720p")
        if resolution not in RESOLUTIONS[version]:
            raise UsageError(f"{where}: resolution must be one of: {', '.join(RESOLUTIONS[version])}")
        body["resolution"] = resolution
        if version == "v2.2" and request.kind is ShotKind.TEXT_TO_VIDEO:
            aspect = match_aspect(request.ratio, ASPECTS_V22)
            if aspect is None:
                raise UsageError(
                    f"{where}: ratio {request.ratio} is not offered; choose one of: {', '.join(ASPECTS_V22)}"
                )
            body["aspect_ratio"] = aspect
        if request.kind is ShotKind.IMAGE_TO_VIDEO:
            if request.source_image is None:
                raise UsageError(f"{where}: image-to-video needs a source image")
            body["image_url"] = request.source_image  # replaced by a data URI in submit
        if opts:
            raise UsageError(f"{where}: unknown option(s) {', '.join(sorted(opts))}")
        return model_id, body

    def validate(self, request: GenerationRequest) -> None:
        self.route(request)
        if request.source_image is not None:
            image_data(
                request.source_image,
                where=f"shot {request.shot_id}",
                max_bytes=10 * 1024**2,
                formats=("jpg", "jpeg", "png", "webp"),
            )

    def estimate_cost(self, request: GenerationRequest) -> float:
        self.route(request)
        return round(USD_PER_SECOND * request.duration, 4)

    def submit(self, request: GenerationRequest) -> str:
        model_id, body = self.route(request)
        if request.source_image is not None:
            data, mime = image_data(
                request.source_image,
                where=f"shot {request.shot_id}",
                max_bytes=10 * 1024**2,
                formats=("jpg", "jpeg", "png", "webp"),
            )
            body["image_url"] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        answer = self.api.json(self.api.request("POST", f"/{model_id}", create=True, json=body))
        rid = answer.get("request_id")
        if not isinstance(rid, str) or not rid:
            raise RemoteError("pika: fal answered without a request_id", maybe_created=True)
        return f"{model_id}|{rid}"

    def _urls(self, task_id: str) -> tuple[str, str]:
        model_id, _, rid = task_id.partition("|")
        if not rid or not model_id.startswith(APP_ID):
            raise UsageError(f"pika: malformed task id {task_id!r}")
        base = f"/{APP_ID}/requests/{rid}"
        return base, f"{base}/status"

    def poll(self, task_id: str) -> TaskStatus:
        result_path, status_path = self._urls(task_id)
        status = self.api.json(self.api.request("GET", status_path))
        raw = str(status.get("status") or "")
        if raw in _STATES:
            return TaskStatus(task_id=task_id, state=_STATES[raw], raw_state=raw)
        if raw != "COMPLETED":
            raise RemoteError(f"pika: request {task_id} has unknown status {raw!r}", retryable=True)
        try:
            result = self.api.json(self.api.request("GET", result_path))
        except RemoteError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return TaskStatus(task_id=task_id, state=TaskState.FAILED, failure=str(exc), raw_state=raw)
            raise
        video = result.get("video") or {}
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str):
            return TaskStatus(
                task_id=task_id, state=TaskState.FAILED, failure="result has no video", raw_state=raw
            )
        return TaskStatus(
            task_id=task_id, state=TaskState.SUCCEEDED, progress=1.0, output_urls=(url,), raw_state=raw
        )

    def cancel(self, task_id: str) -> None:
        """fal cancels only requests still in the queue; a running one finishes (and is billed)."""
        result_path, _ = self._urls(task_id)
        try:
            self.api.request("PUT", f"{result_path}/cancel")
        except RemoteError as exc:
            if exc.status not in (400, 404):
                raise
