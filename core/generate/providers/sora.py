"""OpenAI Sora through the Videos API, as a plain httpx client.

**Deprecated by OpenAI: the Sora API was scheduled to shut down on 2026-09-24.** The
client is kept so a user whose account still answers can use it; after that date it
logs a warning when validating, and a 404/410 from the service says the API is gone.

Contract (openai SDK 3.54 ``resources/videos.py`` and OpenAI's OpenAPI file):
* documented: ``POST /videos`` as multipart/form-data (prompt, model, seconds, size,
  input_reference as a file part); ``GET /videos/{id}`` -> Video with status
  queued/in_progress/completed/failed, progress 0-100, error {code, message};
  ``GET /videos/{id}/content`` -> the MP4 bytes (with the API key: the download is the
  API itself, so the host is pinned); ``DELETE /videos/{id}``; auth
  ``Authorization: Bearer $OPENAI_API_KEY``; base URL ``$OPENAI_BASE_URL``;
  ``openai-poll-after-ms`` as the poll hint; seconds "4"/"8"/"12"; four sizes.
* inferred: that /content honours Range (we fall back to a full restart if not); the
  per-second prices (third-party figures, USD); that a 404 on create means the shutdown.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from shotline.core.errors import ProviderError, UsageError
from shotline.core.generate.providers.base import (
    Capabilities,
    GenerationRequest,
    ShotKind,
    TaskState,
    TaskStatus,
)
from shotline.core.generate.providers.http import (
    HttpProvider,
    RemoteError,
    env_key,
    fetch_with_refresh,
    image_data,
    ratio_to_size,
    redact,
)

log = logging.getLogger("shotline.providers.sora")

ENV_KEY = "OPENAI_API_KEY"
SHUTDOWN = dt.date(2026, 9, 24)
MODELS = ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08")
SECONDS = ("4", "8", "12")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
USD_PER_SECOND = {"sora-2": 0.10, "sora-2-pro": 0.30}  # [3P] third-party figures, not OpenAI's
_STATES = {
    "queued": TaskState.QUEUED,
    "in_progress": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}


class SoraProvider(HttpProvider):
    name = "sora"
    cost_unit = "USD"
    env_base_url = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"
    default_poll_interval = 10.0  # the SDK polls every 1 s; kinder is 5-10 s
    _warned = False  # the shutdown warning is logged once per provider

    def check_key(self) -> None:
        if not env_key(ENV_KEY):
            raise ProviderError(f"sora: set {ENV_KEY} to your OpenAI API key")

    def auth_headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {env_key(ENV_KEY) or ''}"}
        org, project = env_key("OPENAI_ORG_ID"), env_key("OPENAI_PROJECT_ID")
        if org:
            headers["OpenAI-Organization"] = org
        if project:
            headers["OpenAI-Project"] = project
        return headers

    def capabilities(self) -> Capabilities:
        kinds = [ShotKind.TEXT_TO_VIDEO.value, ShotKind.IMAGE_TO_VIDEO.value]
        models = {
            m: {
                "kinds": kinds,
                "durations": [int(s) for s in SECONDS],
                "sizes": list(SIZES),
                "deprecated": True,
            }
            for m in MODELS
        }
        return self.capabilities_for(models, ENV_KEY)

    def _fields(self, request: GenerationRequest) -> dict[str, str]:
        where = f"shot {request.shot_id} (sora {request.model})"
        if request.kind not in (ShotKind.TEXT_TO_VIDEO, ShotKind.IMAGE_TO_VIDEO):
            raise UsageError(f"{where}: sora cannot do {request.kind.value}")
        if request.model not in MODELS:
            raise UsageError(f"{where}: unknown model; choose one of: {', '.join(MODELS)}")
        if not 1 <= len(request.prompt) <= 32000:
            raise UsageError(f"{where}: the prompt must be 1-32000 characters")
        seconds = f"{request.duration:g}"
        if seconds not in SECONDS:
            raise UsageError(f"{where}: duration {request.duration:g} s is not offered; choose 4, 8 or 12")
        size = ratio_to_size(request.ratio, SIZES)
        if size is None:
            raise UsageError(
                f"{where}: ratio {request.ratio} is not offered; choose one of: {', '.join(SIZES)}"
            )
        if request.negative_prompt:
            log.info("%s: Sora takes no negative prompt; it is left out", where)
        if request.kind is ShotKind.IMAGE_TO_VIDEO and request.source_image is None:
            raise UsageError(f"{where}: image-to-video needs a source image")
        if dt.date.today() >= SHUTDOWN and not self._warned:
            self._warned = True
            log.warning("OpenAI scheduled the Sora API to shut down on %s; requests may fail", SHUTDOWN)
        return {"prompt": request.prompt, "model": request.model, "seconds": seconds, "size": size}

    def validate(self, request: GenerationRequest) -> None:
        self._fields(request)
        if request.source_image is not None:
            image_data(
                request.source_image,
                where=f"shot {request.shot_id}",
                max_bytes=50 * 1024**2,
                formats=("jpg", "jpeg", "png", "webp"),
            )

    def estimate_cost(self, request: GenerationRequest) -> float:
        rate = USD_PER_SECOND["sora-2-pro" if "pro" in request.model else "sora-2"]
        return round(rate * request.duration, 4)

    def submit(self, request: GenerationRequest) -> str:
        fields = self._fields(request)
        # Always multipart, as the SDK sends it; (None, value) parts are plain form fields.
        parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
        if request.source_image is not None:
            data, mime = image_data(
                request.source_image,
                where=f"shot {request.shot_id}",
                max_bytes=50 * 1024**2,
                formats=("jpg", "jpeg", "png", "webp"),
            )
            parts.append(("input_reference", (request.source_image.name, data, mime)))
        try:
            resp = self.api.request("POST", "/videos", create=True, files=parts)
        except RemoteError as exc:
            raise self._gone(exc) from None
        body = self.api.json(resp)
        if not isinstance(body.get("id"), str):
            raise RemoteError("sora: create answered without an id", retryable=False, maybe_created=True)
        return str(body["id"])

    def poll(self, task_id: str) -> TaskStatus:
        try:
            resp = self.api.request("GET", f"/videos/{task_id}")
        except RemoteError as exc:
            raise self._gone(exc) from None
        video = self.api.json(resp)
        raw = str(video.get("status", ""))
        state = _STATES.get(raw)
        if state is None:
            raise RemoteError(f"sora: video {task_id} has unknown status {raw!r}", retryable=True)
        error = video.get("error") or {}
        hint = resp.headers.get("openai-poll-after-ms")
        progress = video.get("progress")
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=float(progress) / 100.0 if isinstance(progress, (int, float)) else None,
            output_urls=(f"{self.base_url}/videos/{task_id}/content",)
            if state is TaskState.SUCCEEDED
            else (),
            failure=redact(str(error.get("message")))
            if isinstance(error, dict) and error.get("message")
            else None,
            failure_code=error.get("code") if isinstance(error, dict) else None,
            retryable=isinstance(error, dict)
            and str(error.get("code", "")).startswith(("internal", "server")),
            retry_after=float(hint) / 1000.0 if hint and hint.isdigit() else None,
            raw_state=raw,
        )

    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        """The bytes come from the API itself (with the key), so the host is pinned to it."""
        return fetch_with_refresh(
            status,
            dest,
            repoll=self.poll,
            max_bytes=self.max_download_bytes,
            allow_http_loopback=self.allow_http_loopback,
            headers={**self.auth_headers(), "Accept": "application/binary"},
            same_host_only=self.base_url,
        ).path

    def cancel(self, task_id: str) -> None:
        try:
            self.api.request("DELETE", f"/videos/{task_id}")
        except RemoteError as exc:
            if exc.status != 404:
                raise

    @staticmethod
    def _gone(exc: RemoteError) -> RemoteError:
        if exc.status in (404, 410) and dt.date.today() >= SHUTDOWN:
            exc.args = (f"{exc.args[0]} (OpenAI shut the Sora API down on {SHUTDOWN})",)
        return exc
