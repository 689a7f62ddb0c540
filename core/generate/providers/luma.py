"""Luma Dream Machine (legacy ``dream-machine/v1`` API, as lumaai 1.21 speaks it), over httpx.

**Deprecation:** lumaai 1.21 targets the legacy API, whose only video models are ray-2 and
ray-flash-2; Luma's current product (Ray3.2, the Agents API) is not covered. A third-party
page says the legacy endpoints go away on 2026-10-24 (not confirmed by Luma).

Contract:
* documented (lumaai SDK source, Luma's OpenAPI file): base URL
  ``https://api.lumalabs.ai/dream-machine/v1`` or ``$LUMAAI_BASE_URL`` (must include the
  ``/dream-machine/v1`` part); ``Authorization: Bearer $LUMAAI_API_KEY``;
  ``POST /generations/video`` -> 201 Generation; ``GET /generations/{id}`` with state
  queued/dreaming/completed/failed, ``failure_reason``, ``assets.video``;
  ``DELETE /generations/{id}``; models ray-2/ray-flash-2; duration "5s"/"9s"; aspect
  ratios and resolutions as listed below; keyframes frame0/frame1 of type image (URL)
  or generation (id, for extend); error body ``{"detail": ...}``.
* inferred: a poll interval of 3-10 s (no documented guidance); that keyframe images
  must be https URLs (no upload endpoint exists, so local stills are refused); prices
  (no first-party figure: estimates are 0 and --budget cannot guard Luma).
"""

from __future__ import annotations

import logging
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
    check_url,
    env_key,
    match_aspect,
    redact,
)

log = logging.getLogger("shotline.providers.luma")

ENV_KEY = "LUMAAI_API_KEY"
MODELS = ("ray-2", "ray-flash-2")
DURATIONS = ("5s", "9s")
ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = ("540p", "720p", "1080p", "4k")
KINDS = (ShotKind.TEXT_TO_VIDEO, ShotKind.IMAGE_TO_VIDEO, ShotKind.EXTEND)
_STATES = {
    "queued": TaskState.QUEUED,
    "dreaming": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}


class LumaProvider(HttpProvider):
    name = "luma"
    cost_unit = "USD"
    env_base_url = "LUMAAI_BASE_URL"
    default_base_url = "https://api.lumalabs.ai/dream-machine/v1"
    default_poll_interval = 5.0

    def check_key(self) -> None:
        if not env_key(ENV_KEY):
            raise ProviderError(f"luma: set {ENV_KEY} to your Luma API key")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {env_key(ENV_KEY) or ''}"}

    def capabilities(self) -> Capabilities:
        models = {
            m: {
                "kinds": [k.value for k in KINDS],
                "durations": [5, 9],
                "aspects": list(ASPECTS),
                "deprecated": True,
            }
            for m in MODELS
        }
        return self.capabilities_for(models, ENV_KEY)

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        where = f"shot {request.shot_id} (luma {request.model})"
        if request.kind not in KINDS:
            raise UsageError(f"{where}: luma cannot do {request.kind.value}")
        if request.model not in MODELS:
            raise UsageError(f"{where}: unknown model; choose one of: {', '.join(MODELS)}")
        duration = f"{request.duration:g}s"
        if duration not in DURATIONS:
            raise UsageError(f"{where}: duration {request.duration:g} s is not offered; choose 5 or 9")
        aspect = match_aspect(request.ratio, ASPECTS)
        if aspect is None:
            raise UsageError(
                f"{where}: ratio {request.ratio} is not offered; choose one of: {', '.join(ASPECTS)}"
            )
        if request.negative_prompt:
            log.info("%s: Luma takes no negative prompt; it is left out", where)
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "aspect_ratio": aspect,
            "duration": duration,
        }
        opts = dict(request.options)
        resolution = opts.pop("resolution", None)
        if resolution is not None:
            if resolution not in RESOLUTIONS:
                raise UsageError(f"{where}: resolution must be one of: {', '.join(RESOLUTIONS)}")
            body["resolution"] = resolution
        if "loop" in opts:
            body["loop"] = bool(opts.pop("loop"))
        keyframes: dict[str, Any] = {}
        if request.kind is ShotKind.IMAGE_TO_VIDEO:
            url = opts.pop("image_url", None)
            if not isinstance(url, str):
                raise UsageError(
                    f"{where}: Luma takes key frames only as https URLs; set options.image_url "
                    "(Luma's API has no upload endpoint for local stills)"
                )
            try:
                check_url(url, what="image_url")
            except RemoteError as exc:
                raise UsageError(f"{where}: {exc}") from None
            keyframes["frame0"] = {"type": "image", "url": url}
        if request.kind is ShotKind.EXTEND:
            gen = opts.pop("generation_id", None)
            if not isinstance(gen, str):
                raise UsageError(
                    f"{where}: extend needs options.generation_id (the Luma generation to extend)"
                )
            keyframes["frame0"] = {"type": "generation", "id": gen}
        if keyframes:
            body["keyframes"] = keyframes
        if opts:
            raise UsageError(f"{where}: unknown option(s) {', '.join(sorted(opts))}")
        return body

    def validate(self, request: GenerationRequest) -> None:
        self.body(request)

    def estimate_cost(self, request: GenerationRequest) -> float:
        self.body(request)
        return 0.0  # no first-party price list for the legacy API

    def submit(self, request: GenerationRequest) -> str:
        body = self.body(request)
        gen = self.api.json(self.api.request("POST", "/generations/video", create=True, json=body))
        if not isinstance(gen.get("id"), str):
            raise RemoteError("luma: create answered without an id", maybe_created=True)
        return str(gen["id"])

    def poll(self, task_id: str) -> TaskStatus:
        gen = self.api.json(self.api.request("GET", f"/generations/{task_id}"))
        raw = str(gen.get("state") or "")
        state = _STATES.get(raw)
        if state is None:
            raise RemoteError(f"luma: generation {task_id} has unknown state {raw!r}", retryable=True)
        assets = gen.get("assets") or {}
        video = assets.get("video") if isinstance(assets, dict) else None
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=1.0 if state is TaskState.SUCCEEDED else None,
            output_urls=(video,) if state is TaskState.SUCCEEDED and isinstance(video, str) else (),
            failure=redact(str(gen["failure_reason"])) if gen.get("failure_reason") else None,
            raw_state=raw,
        )

    def cancel(self, task_id: str) -> None:
        """Luma has no cancel; DELETE removes the generation (and stops it, we assume)."""
        try:
            self.api.request("DELETE", f"/generations/{task_id}")
        except RemoteError as exc:
            if exc.status != 404:
                raise
