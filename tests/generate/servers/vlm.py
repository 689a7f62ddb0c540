"""Local stand-ins for two vision-language model APIs, following their documented contracts:

* OpenAI's Responses API: ``POST /v1/responses``, ``Authorization: Bearer KEY``, ``input`` a
  list of messages whose ``content`` holds ``input_text`` and ``input_image`` parts (image_url a
  ``data:image/...;base64,`` URL), ``text.format`` a ``json_schema``; the answer is a
  ``response`` object whose ``output`` holds a ``message`` with ``output_text`` (or ``refusal``)
  parts, ``status`` and ``usage`` (input_tokens, output_tokens); errors are
  ``{"error": {"message", "type", "param", "code"}}``.
* Gemini's ``POST /v1beta/models/{model}:generateContent``, ``x-goog-api-key: KEY``,
  ``contents[].parts[]`` with ``text`` and ``inline_data`` (``mime_type``, base64 ``data``),
  ``generationConfig.responseMimeType``/``responseSchema``; the answer holds ``candidates``
  (``content.parts[].text``, ``finishReason``), ``usageMetadata`` and, when the prompt is
  blocked, ``promptFeedback.blockReason``; errors are ``{"error": {"code", "message", "status",
  "details"}}``, a 429 carrying a ``google.rpc.RetryInfo`` ``retryDelay``.

The "model" really looks at the frames: it decodes each JPEG and, for each colour word of the
prompt, says it is seen when that colour dominates at least half the frames. ``answer`` scripts
a misbehaving model: "refusal", "notjson", "badschema", "incomplete", "blocked", "safety".
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import numpy as np

from .base import App, Request, Response

COLOURS = ("red", "green", "blue", "white", "black")


def _dominant(rgb: np.ndarray) -> set[str]:
    r, g, b = (float(v) for v in rgb.reshape(-1, 3).mean(axis=0))
    out = set()
    if r > g + 40 and r > b + 40:
        out.add("red")
    if g > r + 40 and g > b + 40:
        out.add("green")
    if b > r + 40 and b > g + 40:
        out.add("blue")
    if min(r, g, b) > 200:
        out.add("white")
    if max(r, g, b) < 40:
        out.add("black")
    return out


def judge(prompt: str, jpegs: list[bytes]) -> dict[str, Any]:
    import av

    frames = []
    for data in jpegs:
        with av.open(io.BytesIO(data)) as c:
            frames.append(next(c.decode(video=0)).to_ndarray(format="rgb24"))
    asked = [c for c in COLOURS if re.search(rf"\b{c}\b", prompt.lower())]
    shown = [_dominant(f) for f in frames]
    seen = [c for c in asked if sum(c in s for s in shown) * 2 >= len(shown)]
    missing = [c for c in asked if c not in seen]
    score = len(seen) / len(asked) if asked else 0.5
    reason = f"{len(seen)} of {len(asked)} colours asked for dominate the frames"
    return {"score": score, "seen": seen, "missing": missing, "reason": reason}


class VlmApp(App):
    def __init__(self, key: str) -> None:
        self.key = key
        self.answer = "ok"
        self.verdicts: list[dict[str, Any]] = []

    def text_for(self, prompt: str, jpegs: list[bytes]) -> str:
        verdict = judge(prompt, jpegs)
        self.verdicts.append(verdict)
        if self.answer == "notjson":
            return "The frames show a red ball. Score: 0.9"
        if self.answer == "badschema":
            return json.dumps({"score": 7, "seen": "red", "reason": 3})
        return json.dumps(verdict)


def _jpeg_from_data_url(url: str) -> bytes:
    m = re.fullmatch(r"data:image/(jpeg|png|webp);base64,([A-Za-z0-9+/=]+)", url)
    assert m, "input_image image_url must be a base64 data URL"
    data = base64.b64decode(m.group(2))
    assert data[:2] == b"\xff\xd8", "the stand-in expects JPEG frames"
    return data


class OpenAIResponsesApp(VlmApp):
    def handle(self, req: Request) -> Response:
        if req.method != "POST" or req.path != "/v1/responses":
            return Response.json(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.key}":
            shown = auth.removeprefix("Bearer ")
            # OpenAI's own 401 quotes the key it was given (partly masked); ours quotes it whole,
            # so the test proves the client scrubs it
            return Response.json(
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {shown}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        body = req.json()
        msg = body["input"][0]
        assert msg["role"] == "user"
        texts = [p["text"] for p in msg["content"] if p["type"] == "input_text"]
        images = [_jpeg_from_data_url(p["image_url"]) for p in msg["content"] if p["type"] == "input_image"]
        fmt = body["text"]["format"]
        assert (
            fmt["type"] == "json_schema" and fmt["strict"] is True and "score" in fmt["schema"]["properties"]
        )
        assert texts and images and isinstance(body["model"], str)
        usage = {
            "input_tokens": 100 + 85 * len(images),
            "output_tokens": 40,
            "total_tokens": 140 + 85 * len(images),
        }
        status, incomplete = "completed", None
        if self.answer == "refusal":
            content = [{"type": "refusal", "refusal": "I can't help with that."}]
        elif self.answer == "incomplete":
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
            content = [{"type": "output_text", "text": '{"score": 0.', "annotations": []}]
        else:
            content = [{"type": "output_text", "text": self.text_for(texts[0], images), "annotations": []}]
        return Response.json(
            200,
            {
                "id": "resp_0123",
                "object": "response",
                "created_at": 1767225600,
                "status": status,
                "incomplete_details": incomplete,
                "error": None,
                "model": body["model"],
                "output": [
                    {
                        "type": "message",
                        "id": "msg_0123",
                        "status": "completed",
                        "role": "assistant",
                        "content": content,
                    }
                ],
                "usage": usage,
            },
        )


class GeminiApp(VlmApp):
    def handle(self, req: Request) -> Response:
        m = re.fullmatch(r"/v1beta/models/([\w.-]+):generateContent", req.path)
        if req.method != "POST" or not m:
            return Response.json(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
        if req.headers.get("x-goog-api-key") != self.key:
            return Response.json(
                400,
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                        "details": [
                            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
                        ],
                    }
                },
            )
        body = req.json()
        parts = body["contents"][0]["parts"]
        texts = [p["text"] for p in parts if "text" in p]
        images = []
        for p in parts:
            if "inline_data" in p:
                assert p["inline_data"]["mime_type"] == "image/jpeg"
                data = base64.b64decode(p["inline_data"]["data"])
                assert data[:2] == b"\xff\xd8"
                images.append(data)
        cfg = body["generationConfig"]
        assert (
            cfg["responseMimeType"] == "application/json" and "score" in cfg["responseSchema"]["properties"]
        )
        assert "additionalProperties" not in cfg["responseSchema"]  # not in Gemini's schema subset
        assert texts and images
        usage = {"promptTokenCount": 100 + 258 * len(images), "candidatesTokenCount": 40}
        if self.answer == "blocked":
            return Response.json(200, {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage})
        finish = "SAFETY" if self.answer == "safety" else "STOP"
        text = "" if finish == "SAFETY" else self.text_for(texts[0], images)
        return Response.json(
            200,
            {
                "candidates": [
                    {
                        "content": {"parts": [{"text": text}], "role": "model"},
                        "finishReason": finish,
                        "index": 0,
                    }
                ],
                "usageMetadata": {**usage, "totalTokenCount": usage["promptTokenCount"] + 40},
                "modelVersion": m.group(1),
            },
        )
