"""A local Runway API (2024-11-06) stand-in, as the runwayml 5.24 SDK sees it.

Contract (see docs/providers.md, "Runway"): ``POST /v1/<endpoint>`` -> 200
``{"id", "estimatedCost": {"credits"}}``; ``GET /v1/tasks/{id}`` -> the complete task
shape for its status (PENDING/THROTTLED/RUNNING/SUCCEEDED/FAILED/CANCELLED; missing
fields would make the SDK fall back to its Pending class); ``DELETE /v1/tasks/{id}`` ->
204; ``POST /v1/uploads`` -> ``{"runwayUri", "uploadUrl", "fields"}`` then a multipart
POST to ``uploadUrl``. Every API call must carry ``Authorization: Bearer <key>`` and
``X-Runway-Version: 2024-11-06``; errors are ``{"error": "..."}``.

Timing is simulated: a task is THROTTLED for ``throttle_s``, PENDING for ``queue_s``,
RUNNING for ``render_s``, then reaches the outcome that ``outcome(body)`` chose.
``creates`` counts creates per request body, so a test can prove no take was paid twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .base import App, Request, Response, sha256

VERSION = "2024-11-06"
ENDPOINTS = {
    "image_to_video",
    "text_to_video",
    "video_to_video",
    "video_upscale",
    "character_performance",
    "text_to_image",
    "sound_effect",
}


@dataclass
class Outcome:
    status: str = "SUCCEEDED"  # or FAILED / CANCELLED
    failure: str = ""
    failure_code: str | None = None


@dataclass
class Task:
    id: str
    endpoint: str
    body: dict[str, Any]
    created: float
    outcome: Outcome
    credits: int
    cancelled: bool = False
    deleted: bool = False
    output_name: str = ""
    sha: str = ""
    polls: int = 0
    history: list[str] = field(default_factory=list)


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class RunwayApp(App):
    def __init__(
        self,
        api_key: str,
        *,
        render_s: float = 0.05,
        queue_s: float = 0.0,
        throttle_s: float = 0.0,
        credits: int = 25,
        payload: bytes | Callable[[dict[str, Any]], bytes] | None = None,
        outcome: Callable[[dict[str, Any]], Outcome] | None = None,
    ) -> None:
        self.api_key = api_key
        self.render_s = render_s
        self.queue_s = queue_s
        self.throttle_s = throttle_s
        self.credits = credits
        self.payload = payload
        self.outcome = outcome or (lambda body: Outcome())
        self.tasks: dict[str, Task] = {}
        self.creates: Counter[str] = Counter()
        self.uploads: dict[str, bytes] = {}
        self.lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------
    def _auth_error(self, req: Request) -> Response | None:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.json(401, {"error": "Invalid API key"})
        if req.headers.get("x-runway-version") != VERSION:
            return Response.json(400, {"error": "X-Runway-Version header is required"})
        return None

    def _bytes_for(self, task: Task) -> bytes:
        if callable(self.payload):
            return self.payload(task.body)
        if self.payload is not None:
            return self.payload
        seed = task.id.encode()
        return b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(2048))  # 64 KiB

    def _state(self, task: Task, now: float) -> str:
        if task.cancelled:
            return "CANCELLED"
        t = now - task.created
        if t < self.throttle_s:
            return "THROTTLED"
        t -= self.throttle_s
        if t < self.queue_s:
            return "PENDING"
        t -= self.queue_s
        if t < self.render_s:
            return "RUNNING"
        return task.outcome.status

    def task_json(self, task: Task, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        state = self._state(task, now)
        created = datetime.fromtimestamp(task.created, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        out: dict[str, Any] = {"id": task.id, "status": state, "createdAt": created}
        if state in ("PENDING", "THROTTLED", "RUNNING"):
            out["estimatedCost"] = {"credits": task.credits}
        if state == "RUNNING":
            done = now - task.created - self.throttle_s - self.queue_s
            out["progress"] = round(max(0.0, min(done / self.render_s, 0.99)) if self.render_s else 0.0, 3)
        if state == "SUCCEEDED":
            out["cost"] = {"credits": task.credits}
            if not task.output_name:
                data = self._bytes_for(task)
                task.output_name = f"{task.id}.mp4"
                task.sha = sha256(data)
                self.server.put_file(task.output_name, data)
            out["output"] = [self.server.signed_url(task.output_name)]
        if state == "FAILED":
            out["cost"] = {"credits": 0}
            out["failure"] = task.outcome.failure or "Task failed"
            if task.outcome.failure_code:
                out["failureCode"] = task.outcome.failure_code
        if state == "CANCELLED":
            out["cost"] = {"credits": 0}
        if not task.history or task.history[-1] != state:
            task.history.append(state)
        return out

    # -- routes ---------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/upload/"):
            return self._upload_bytes(req)
        err = self._auth_error(req)
        if err is not None:
            return err
        parts = req.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "v1" and req.method == "POST":
            if parts[1] == "uploads":
                return self._upload_start(req)
            if parts[1] in ENDPOINTS:
                return self._create(parts[1], req)
        if len(parts) == 3 and parts[:2] == ["v1", "tasks"]:
            with self.lock:
                task = self.tasks.get(parts[2])
                if task is None or task.deleted:
                    return Response.json(404, {"error": "Task not found"})
                if req.method == "GET":
                    task.polls += 1
                    return Response.json(200, self.task_json(task))
                if req.method == "DELETE":
                    state = self._state(task, time.time())
                    if state in ("PENDING", "THROTTLED", "RUNNING"):
                        task.cancelled = True
                    else:
                        task.deleted = True
                    return Response(204)
        return Response.json(404, {"error": "Not found"})

    def _create(self, endpoint: str, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            return Response.json(400, {"error": "Body is not valid JSON"})
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return Response.json(400, {"error": "Validation of body failed", "issues": [{"path": ["model"]}]})
        task = Task(
            id=str(uuid.uuid4()),
            endpoint=endpoint,
            body=body,
            created=time.time(),
            outcome=self.outcome(body),
            credits=self.credits,
        )
        with self.lock:
            self.tasks[task.id] = task
            self.creates[fingerprint(body)] += 1
        return Response.json(200, {"id": task.id, "estimatedCost": {"credits": task.credits}})

    def _upload_start(self, req: Request) -> Response:
        body = req.json()
        if body.get("type") != "ephemeral" or not body.get("filename"):
            return Response.json(400, {"error": "filename and type=ephemeral are required"})
        uid = uuid.uuid4().hex
        return Response.json(
            200,
            {
                "runwayUri": f"runway://uploads/{uid}/{body['filename']}",
                "uploadUrl": f"{self.server.url}/upload/{uid}",
                "fields": {"key": f"uploads/{uid}", "policy": "stand-in"},
            },
        )

    def _upload_bytes(self, req: Request) -> Response:
        if "authorization" in req.headers:
            return Response.json(400, {"error": "storage must not receive the API key"})
        if not req.headers.get("content-type", "").startswith("multipart/form-data"):
            return Response.json(400, {"error": "expected multipart/form-data"})
        self.uploads[req.path.rsplit("/", 1)[-1]] = req.body
        return Response(204)

    # -- test helpers ---------------------------------------------------------------
    def by_prompt(self) -> dict[str, list[Task]]:
        out: dict[str, list[Task]] = {}
        with self.lock:
            for t in self.tasks.values():
                out.setdefault(str(t.body.get("promptText", "")), []).append(t)
        return out
