"""Local stand-ins for OpenAI Sora (videos), Luma Dream Machine, Kling and fal's queue (Pika).

Each follows the documented wire contract in docs/providers.md: paths, auth header
shape, status words, body envelopes, status codes on create. Jobs move through their
states on a simulated clock (``queue_s`` then ``render_s``) and end in ``fail`` (a
message) or success with bytes stored in the shared ``/files`` storage (except Sora,
whose content endpoint is the API itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .base import App, Request, Response, sha256


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    created: float
    fail: str | None = None
    deleted: bool = False
    cancelled: bool = False
    sha: str = ""
    name: str = ""


class TimedApp(App):
    """Shared job bookkeeping: states by elapsed time, outputs into storage, create counting."""

    def __init__(self, *, queue_s: float = 0.0, render_s: float = 0.05, fail: str | None = None) -> None:
        self.queue_s = queue_s
        self.render_s = render_s
        self.fail = fail
        self.jobs: dict[str, Job] = {}
        self.creates: Counter[str] = Counter()
        self.lock = threading.Lock()

    def new_job(self, body: dict[str, Any], job_id: str | None = None) -> Job:
        job = Job(job_id or str(uuid.uuid4()), body, time.time(), fail=self.fail)
        with self.lock:
            self.jobs[job.id] = job
            self.creates[json.dumps(body, sort_keys=True, default=str)] += 1
        return job

    def phase(self, job: Job) -> str:
        """queued / running / done / failed / cancelled."""
        if job.cancelled:
            return "cancelled"
        t = time.time() - job.created
        if t < self.queue_s:
            return "queued"
        if t < self.queue_s + self.render_s:
            return "running"
        return "failed" if job.fail else "done"

    def output(self, job: Job) -> bytes:
        data = b"".join(hashlib.sha256(job.id.encode() + bytes([i])).digest() for i in range(200))
        job.sha = sha256(data)
        return data

    def stored_url(self, job: Job) -> str:
        if not job.name:
            job.name = f"{job.id}.mp4"
            self.server.put_file(job.name, self.output(job))
        return self.server.signed_url(job.name)


# -- OpenAI videos ---------------------------------------------------------------------
SORA_STATUS = {"queued": "queued", "running": "in_progress", "done": "completed", "failed": "failed"}


class SoraApp(TimedApp):
    def __init__(self, api_key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key = api_key
        self.contents: dict[str, bytes] = {}

    def video(self, job: Job) -> dict[str, Any]:
        phase = self.phase(job)
        status = SORA_STATUS.get(phase, "failed")
        return {
            "id": job.id,
            "object": "video",
            "model": job.body.get("model", "sora-2"),
            "status": status,
            "progress": {"queued": 0, "in_progress": 50, "completed": 100}.get(status, 0),
            "created_at": int(job.created),
            "completed_at": int(time.time()) if status == "completed" else None,
            "expires_at": int(time.time()) + 3600 if status == "completed" else None,
            "prompt": job.body.get("prompt"),
            "size": job.body.get("size"),
            "seconds": job.body.get("seconds"),
            "remixed_from_video_id": None,
            "error": {"code": "video_generation_failed", "message": job.fail} if status == "failed" else None,
        }

    def handle(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        if req.method == "POST" and req.path == "/v1/videos":
            ctype = req.headers.get("content-type", "")
            if not ctype.startswith("multipart/form-data"):
                return Response.json(
                    400,
                    {"error": {"message": "multipart/form-data required", "type": "invalid_request_error"}},
                )
            msg = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body
            )
            fields: dict[str, Any] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    fields[str(name)] = {"filename": part.get_filename(), "bytes": len(payload)}
                else:
                    fields[str(name)] = payload.decode()
            if not fields.get("prompt"):
                return Response.json(
                    400, {"error": {"message": "prompt is required", "type": "invalid_request_error"}}
                )
            job = self.new_job(fields, "video_" + uuid.uuid4().hex[:24])
            return Response.json(200, self.video(job))
        m = re.fullmatch(r"/v1/videos/([^/]+)(/content)?", req.path)
        if m:
            job = self.jobs.get(m.group(1))
            if job is None or job.deleted:
                return Response.json(
                    404, {"error": {"message": "Video not found", "type": "invalid_request_error"}}
                )
            if req.method == "DELETE":
                job.deleted = True
                return Response.json(200, {"id": job.id, "object": "video.deleted", "deleted": True})
            if m.group(2):
                if self.phase(job) != "done":
                    return Response.json(
                        400, {"error": {"message": "Video is not ready", "type": "invalid_request_error"}}
                    )
                data = self.contents.setdefault(job.id, self.output(job))
                rng = re.fullmatch(r"bytes=(\d+)-", req.headers.get("range", ""))
                if rng and int(rng.group(1)) < len(data):
                    start = int(rng.group(1))
                    return Response(
                        206,
                        data[start:],
                        {
                            "Content-Type": "video/mp4",
                            "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}",
                        },
                    )
                return Response(200, data, {"Content-Type": "video/mp4"})
            return Response.json(200, self.video(job), **{"openai-poll-after-ms": "2000"})
        return Response.json(404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}})


# -- Luma ------------------------------------------------------------------------------
LUMA_STATE = {"queued": "queued", "running": "dreaming", "done": "completed", "failed": "failed"}


class LumaApp(TimedApp):
    PREFIX = "/dream-machine/v1"

    def __init__(self, api_key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key = api_key

    def generation(self, job: Job) -> dict[str, Any]:
        state = LUMA_STATE.get(self.phase(job), "failed")
        return {
            "id": job.id,
            "generation_type": "video",
            "state": state,
            "failure_reason": job.fail if state == "failed" else None,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(job.created)),
            "model": job.body.get("model"),
            "assets": {"video": self.stored_url(job), "image": None, "progress_video": None}
            if state == "completed"
            else None,
            "request": job.body,
        }

    def handle(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.json(401, {"detail": "Invalid API key"})
        path = req.path.removeprefix(self.PREFIX)
        if req.method == "POST" and path == "/generations/video":
            body = req.json()
            if body.get("model") not in ("ray-2", "ray-flash-2"):
                return Response.json(400, {"detail": "Invalid model"})
            return Response.json(201, self.generation(self.new_job(body)))
        m = re.fullmatch(r"/generations/([^/]+)", path)
        if m:
            job = self.jobs.get(m.group(1))
            if job is None or job.deleted:
                return Response.json(404, {"detail": "Generation not found"})
            if req.method == "DELETE":
                job.deleted = True
                return Response(204)
            return Response.json(200, self.generation(job))
        return Response.json(404, {"detail": "Not found"})


# -- Kling -----------------------------------------------------------------------------
KLING_STATUS = {"queued": "submitted", "running": "processing", "done": "succeed", "failed": "failed"}


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class KlingApp(TimedApp):
    def __init__(self, access_key: str, secret_key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.access_key = access_key
        self.secret_key = secret_key
        self.by_external: dict[str, str] = {}

    def check_jwt(self, req: Request) -> Response | None:
        """Verify the HS256 JWT as Kling does: signature, iss, nbf, exp."""
        auth = req.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        try:
            h, p, s = token.split(".")
            header, claims = json.loads(_b64url_decode(h)), json.loads(_b64url_decode(p))
            good = hmac.new(self.secret_key.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
        except ValueError:
            return self.error(401, 1002, "Authorization invalid")
        now = time.time()
        if header != {"alg": "HS256", "typ": "JWT"} or not hmac.compare_digest(good, _b64url_decode(s)):
            return self.error(401, 1002, "Authorization invalid")
        if claims.get("iss") != self.access_key:
            return self.error(401, 1002, "Authorization invalid")
        if claims.get("nbf", 0) > now:
            return self.error(401, 1003, "Authorization is not yet valid")
        if claims.get("exp", 0) < now:
            return self.error(401, 1004, "Authorization has expired")
        return None

    @staticmethod
    def error(status: int, code: int, message: str) -> Response:
        return Response.json(status, {"code": code, "message": message, "request_id": uuid.uuid4().hex})

    def data(self, job: Job) -> dict[str, Any]:
        status = KLING_STATUS.get(self.phase(job), "failed")
        out: dict[str, Any] = {
            "task_id": job.id,
            "task_status": status,
            "task_status_msg": job.fail if status == "failed" else "",
            "task_info": {"external_task_id": job.body.get("external_task_id", "")},
            "created_at": int(job.created * 1000),
            "updated_at": int(time.time() * 1000),
        }
        if status == "succeed":
            out["task_result"] = {
                "videos": [
                    {"id": job.id + "-v", "url": self.stored_url(job), "duration": job.body.get("duration")}
                ]
            }
            out["final_unit_deduction"] = "1"
        return out

    def handle(self, req: Request) -> Response:
        err = self.check_jwt(req)
        if err is not None:
            return err
        m = re.fullmatch(r"/v1/videos/(text2video|image2video)(?:/([^/]+))?", req.path)
        if not m:
            return self.error(404, 1202, "Resource not found")
        family, ident = m.groups()
        if req.method == "POST" and ident is None:
            body = req.json()
            ext = body.get("external_task_id")
            if ext and ext in self.by_external:
                return self.error(400, 1201, "external_task_id already exists")
            if family == "image2video" and not (body.get("image") or body.get("image_tail")):
                return self.error(400, 1201, "image is required")
            if str(body.get("image", "")).startswith("data:"):
                return self.error(400, 1201, "image must be raw base64 without a data: prefix")
            job = self.new_job(body, uuid.uuid4().hex)
            if ext:
                self.by_external[ext] = job.id
            return Response.json(
                200,
                {
                    "code": 0,
                    "message": "SUCCEED",
                    "request_id": uuid.uuid4().hex,
                    "data": {
                        "task_id": job.id,
                        "task_info": {"external_task_id": ext or ""},
                        "task_status": "submitted",
                        "created_at": int(job.created * 1000),
                        "updated_at": int(job.created * 1000),
                    },
                },
            )
        if req.method == "GET" and ident:
            job = self.jobs.get(self.by_external.get(ident, ident))
            if job is None:
                return self.error(404, 1203, "Task not found")
            return Response.json(
                200, {"code": 0, "message": "SUCCEED", "request_id": uuid.uuid4().hex, "data": self.data(job)}
            )
        return self.error(404, 1202, "Method not allowed")


# -- fal queue (Pika) ------------------------------------------------------------------
class FalApp(TimedApp):
    def __init__(self, key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.key = key

    def handle(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Key {self.key}":
            return Response.json(401, {"detail": "Invalid key"})
        base = self.server.url
        m = re.fullmatch(r"/(fal-ai/pika)/requests/([^/]+)(/status|/cancel)?", req.path)
        if m:
            app_id, rid, tail = m.groups()
            job = self.jobs.get(rid)
            if job is None:
                return Response.json(404, {"detail": "Request not found"})
            phase = self.phase(job)
            if tail == "/cancel" and req.method == "PUT":
                if phase == "queued":
                    job.cancelled = True
                    return Response.json(202, {"status": "CANCELLATION_REQUESTED"})
                return Response.json(400, {"status": "ALREADY_COMPLETED"})
            if tail == "/status":
                word = {"queued": "IN_QUEUE", "running": "IN_PROGRESS"}.get(phase, "COMPLETED")
                out: dict[str, Any] = {
                    "status": word,
                    "request_id": rid,
                    "response_url": f"{base}/{app_id}/requests/{rid}",
                }
                if word == "IN_QUEUE":
                    out["queue_position"] = 0
                return Response.json(200, out)
            if phase in ("queued", "running"):
                return Response.json(400, {"detail": "Request is still in progress"})
            if phase == "cancelled":
                return Response.json(400, {"detail": "Request was cancelled"})
            if phase == "failed":
                return Response.json(422, {"detail": [{"msg": job.fail, "type": "value_error"}]})
            return Response.json(
                200,
                {
                    "video": {
                        "url": self.stored_url(job),
                        "content_type": "video/mp4",
                        "file_name": "output.mp4",
                        "file_size": 6400,
                    }
                },
            )
        m = re.fullmatch(r"/(fal-ai/pika/v2\.[25]/(?:text|image)-to-video)", req.path)
        if m and req.method == "POST":
            body = req.json()
            if not body.get("prompt"):
                return Response.json(422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]})
            job = self.new_job(body, str(uuid.uuid4()))
            rid = job.id
            return Response.json(
                200,
                {
                    "request_id": rid,
                    "response_url": f"{base}/fal-ai/pika/requests/{rid}",
                    "status_url": f"{base}/fal-ai/pika/requests/{rid}/status",
                    "cancel_url": f"{base}/fal-ai/pika/requests/{rid}/cancel",
                },
            )
        return Response.json(404, {"detail": "Not found"})
