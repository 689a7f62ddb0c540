"""Kling's official REST API over httpx, with the HS256 JWT minted by the standard library.

Contract:
* documented (Kling's API reference, cross-checked with the Vercel AI SDK's provider):
  host ``https://api-singapore.klingai.com`` (the old ``api.klingai.com`` moved);
  ``Authorization: Bearer <JWT>`` with header {"alg":"HS256","typ":"JWT"} and payload
  {"iss": access key, "exp": now+1800, "nbf": now-5}, signed with the secret key;
  ``POST /v1/videos/{text2video,image2video}`` and ``GET .../{task_id}`` (the id may
  also be our ``external_task_id``); the ``{"code", "message", "request_id", "data"}``
  envelope; task_status submitted/processing/succeed/failed; ``duration`` as a string;
  image as raw base64 without a ``data:`` prefix (jpg/png, <= 10 MB); the error-code
  table (1302/1303 back off, 1100-1102 out of balance: never retry).
* inferred: the environment variable names (Kling defines none; we read
  ``KLINGAI_ACCESS_KEY``/``KLINGAI_SECRET_KEY`` as the Vercel SDK does, then
  ``KLING_ACCESS_KEY``/``KLING_SECRET_KEY``); that a second create with the same
  ``external_task_id`` is refused rather than charged; kling-v2-6's durations.
  Kling has no cancel endpoint, and no price list we could read (estimates are 0).

``external_task_id`` is derived from the request, so after a crash that left a create in
doubt, ``find_task`` asks Kling whether that task exists instead of paying again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import httpx

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
    image_data,
    match_aspect,
    redact,
)

ACCESS_ENVS = ("KLINGAI_ACCESS_KEY", "KLING_ACCESS_KEY")
SECRET_ENVS = ("KLINGAI_SECRET_KEY", "KLING_SECRET_KEY")
TOKEN_LIFETIME = 1800
T2V_MODELS = (
    "kling-v1",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
)
I2V_MODELS = (*T2V_MODELS, "kling-v1-5", "kling-v2-1")
ASPECTS = ("16:9", "9:16", "1:1")
FAMILY = {ShotKind.TEXT_TO_VIDEO: "text2video", ShotKind.IMAGE_TO_VIDEO: "image2video"}
_STATES = {
    "submitted": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "succeed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}
RETRY_CODES = {1302, 1303, 5000, 5001, 5002}
NO_RETRY_CODES = {1100, 1101, 1102}  # account problems / out of balance, also HTTP 429


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_jwt(access_key: str, secret_key: str, now: float | None = None) -> str:
    """An HS256 JWT for Kling: iss=access key, valid from now-5 s for 30 minutes."""
    now = time.time() if now is None else now
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": access_key, "exp": int(now) + TOKEN_LIFETIME, "nbf": int(now) - 5}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret_key.encode(), signing, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def durations_for(model: str) -> tuple[str, ...]:
    if model == "kling-v3":
        return tuple(str(n) for n in range(3, 16))
    return ("5", "10")  # kling-v1 through v2.5 documented; v2-6 inferred


def external_task_id(request: GenerationRequest) -> str:
    """A stable per-take id (Kling wants it unique per account): shot, take and a request hash."""
    material = json.dumps(
        [
            request.shot_id,
            request.take,
            request.kind.value,
            request.model,
            request.prompt,
            request.duration,
            request.ratio,
            request.seed,
            request.negative_prompt,
            str(request.source_image or ""),
        ],
        sort_keys=True,
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_-]", "-", request.shot_id)[:40]
    return f"shotline-{slug}-t{request.take}-{digest}"


class KlingProvider(HttpProvider):
    name = "kling"
    cost_unit = "units"
    env_base_url = "KLINGAI_BASE_URL"
    default_base_url = "https://api-singapore.klingai.com"
    default_poll_interval = 5.0  # the Vercel SDK polls every 5 s

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._token: tuple[str, float] | None = None

    def check_key(self) -> None:
        if not (env_key(*ACCESS_ENVS) and env_key(*SECRET_ENVS)):
            raise ProviderError(
                f"kling: set {ACCESS_ENVS[0]} and {SECRET_ENVS[0]} to your Kling access/secret keys"
            )

    def auth_headers(self) -> dict[str, str]:
        now = time.time()
        if self._token is None or self._token[1] - now < 300:  # re-mint 5 min before expiry
            self._token = (
                mint_jwt(env_key(*ACCESS_ENVS) or "", env_key(*SECRET_ENVS) or "", now),
                now + TOKEN_LIFETIME,
            )
        return {"Authorization": f"Bearer {self._token[0]}", "Content-Type": "application/json"}

    def capabilities(self) -> Capabilities:
        models: dict[str, dict[str, Any]] = {}
        for m in I2V_MODELS:
            kinds = [ShotKind.IMAGE_TO_VIDEO.value] + (
                [ShotKind.TEXT_TO_VIDEO.value] if m in T2V_MODELS else []
            )
            models[m] = {
                "kinds": kinds,
                "durations": [int(d) for d in durations_for(m)],
                "aspects": list(ASPECTS),
            }
        return self.capabilities_for(models, f"{ACCESS_ENVS[0]} + {SECRET_ENVS[0]}")

    def body(self, request: GenerationRequest, *, read_image: bool) -> dict[str, Any]:
        where = f"shot {request.shot_id} (kling {request.model})"
        family = FAMILY.get(request.kind)
        if family is None:
            raise UsageError(f"{where}: kling cannot do {request.kind.value}")
        models = T2V_MODELS if family == "text2video" else I2V_MODELS
        if request.model not in models:
            raise UsageError(
                f"{where}: unknown model for {request.kind.value}; choose one of: {', '.join(models)}"
            )
        duration = f"{request.duration:g}"
        if duration not in durations_for(request.model):
            raise UsageError(
                f"{where}: duration {duration} s is not offered; choose {', '.join(durations_for(request.model))}"
            )
        if len(request.prompt) > 2500 or len(request.negative_prompt or "") > 2500:
            raise UsageError(f"{where}: prompts are limited to 2500 characters")
        body: dict[str, Any] = {
            "model_name": request.model,
            "prompt": request.prompt,
            "duration": duration,
            "external_task_id": external_task_id(request),
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if family == "text2video":
            aspect = match_aspect(request.ratio, ASPECTS)
            if aspect is None:
                raise UsageError(
                    f"{where}: ratio {request.ratio} is not offered; choose one of: {', '.join(ASPECTS)}"
                )
            body["aspect_ratio"] = aspect
        else:
            if request.source_image is None:
                raise UsageError(f"{where}: image-to-video needs a source image")
            data, _ = image_data(
                request.source_image, where=where, max_bytes=10 * 1024**2, formats=("jpg", "jpeg", "png")
            )
            body["image"] = base64.b64encode(data).decode("ascii") if read_image else "<image>"
        for key in ("mode", "cfg_scale", "sound", "camera_control"):
            if key in request.options:
                body[key] = request.options[key]
        unknown = set(request.options) - {"mode", "cfg_scale", "sound", "camera_control"}
        if unknown:
            raise UsageError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
        if body.get("mode", "std") not in ("std", "pro"):
            raise UsageError(f"{where}: mode must be std or pro")
        return body

    def validate(self, request: GenerationRequest) -> None:
        self.body(request, read_image=False)

    def estimate_cost(self, request: GenerationRequest) -> float:
        self.body(request, read_image=False)
        return 0.0  # no readable price list; Kling reports final_unit_deduction afterwards

    def submit(self, request: GenerationRequest) -> str:
        body = self.body(request, read_image=True)
        family = FAMILY[request.kind]
        resp = self._call("POST", f"/v1/videos/{family}", create=True, json=body)
        task_id = (resp.get("data") or {}).get("task_id")
        if not isinstance(task_id, str):
            raise RemoteError("kling: create answered without a task_id", maybe_created=True)
        return f"{family}:{task_id}"

    def find_task(self, request: GenerationRequest) -> str | None:
        """Look the take up by its external_task_id: a create in doubt is found, not repeated."""
        family = FAMILY.get(request.kind)
        if family is None:
            return None
        try:
            resp = self._call("GET", f"/v1/videos/{family}/{external_task_id(request)}")
        except RemoteError as exc:
            if exc.status == 404 or exc.code in ("1202", "1203"):
                return None
            raise
        task_id = (resp.get("data") or {}).get("task_id")
        return f"{family}:{task_id}" if isinstance(task_id, str) else None

    def poll(self, task_id: str) -> TaskStatus:
        family, _, tid = task_id.partition(":")
        if family not in FAMILY.values() or not tid:
            raise UsageError(f"kling: malformed task id {task_id!r}")
        data = self._call("GET", f"/v1/videos/{family}/{tid}").get("data") or {}
        raw = str(data.get("task_status") or "")
        state = _STATES.get(raw)
        if state is None:
            raise RemoteError(f"kling: task {tid} has unknown status {raw!r}", retryable=True)
        videos = ((data.get("task_result") or {}).get("videos")) or []
        urls = tuple(v["url"] for v in videos if isinstance(v, dict) and isinstance(v.get("url"), str))
        units = data.get("final_unit_deduction")
        try:
            cost = float(units) if units not in (None, "") else None
        except (TypeError, ValueError):
            cost = None
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=1.0 if state is TaskState.SUCCEEDED else None,
            output_urls=urls if state is TaskState.SUCCEEDED else (),
            cost=cost,
            failure=redact(str(data.get("task_status_msg") or "")) or None,
            raw_state=raw,
        )

    def _call(self, method: str, path: str, *, create: bool = False, json: Any = None) -> dict[str, Any]:
        """A Kling call; a non-zero envelope ``code`` on a 200 is an error too."""
        body = self.api.json(self.api.request(method, path, create=create, json=json))
        if body.get("code") not in (0, None):
            message = redact(f"kling: code {body.get('code')}: {body.get('message', '')}")
            raise RemoteError(message, code=str(body.get("code")))
        return body

    def classify_error(self, response: httpx.Response, err: RemoteError) -> RemoteError:
        """Kling answers HTTP 429 both for 'slow down' (1302/1303) and 'out of money' (1100-1102)."""
        try:
            code = int(response.json().get("code"))
        except (ValueError, TypeError, AttributeError):
            return err
        err.code = str(code)
        if code in NO_RETRY_CODES:
            err.retryable = False
        elif code in RETRY_CODES:
            err.retryable = True
        return err
