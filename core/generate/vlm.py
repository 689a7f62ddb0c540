"""Prompt-adherence review: ask a vision-language model whether a take shows what was asked.

Off by default. ``review: {model: gpt-4.1-mini}`` in the storyboard (or ``--review-model``)
turns it on: a few frames sampled evenly through the take (JPEG, 512 px wide) and the shot's
prompt go to the model, which answers with a structured verdict:

* ``score``: 0..1, how well the frames show the prompt;
* ``seen`` and ``missing``: the prompt's elements found and not found;
* ``reason``: one line.

Two documented APIs, both through httpx and the shared retry rules of
``providers/http.py`` (429/503 and refused connections retried, honouring Retry-After and
Gemini's RetryInfo; a call that may have reached the model is not repeated blindly, since it
may have been billed):

* OpenAI's Responses API: ``POST /v1/responses`` with ``input_text`` and ``input_image``
  (a base64 data URL, ``detail: low``) parts and a strict ``json_schema`` text format; the
  key from ``OPENAI_API_KEY`` as a Bearer token;
* Google's Gemini ``POST /v1beta/models/{model}:generateContent`` with ``text`` and
  ``inline_data`` parts and ``responseMimeType: application/json`` plus ``responseSchema``;
  the key from ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``) in the ``x-goog-api-key`` header.

Model names starting with ``gemini`` go to Gemini, the rest to OpenAI; ``openai:NAME`` and
``gemini:NAME`` say so explicitly. Cost is estimated before each call from the token counts
the services document for images (OpenAI low detail: 85 tokens an image; Gemini: 258 tokens
an image up to 768x768) and the model's price per million tokens, and the estimate for all
the takes is checked against the review budget before the first call, like generation's
budget; the cost of each call is then taken from the usage the service reports.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx

from shotline.core.errors import MediaError, ProviderError, UsageError
from shotline.core.generate.providers.http import ApiClient, RemoteError, RetryPolicy, env_key, redact

OPENAI_BASE = "https://api.openai.com/v1"
GEMINI_BASE = "https://generativelanguage.googleapis.com/v1beta"
OPENAI_KEYS = ("OPENAI_API_KEY",)
GEMINI_KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
MAX_OUTPUT_TOKENS = 400

# USD per million tokens (input, output), as published by the services; ``price`` overrides.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.0-flash": (0.10, 0.40),
}
IMAGE_TOKENS = {"openai": 85, "gemini": 258}

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "description": "0 to 1: how fully the frames show the prompt"},
        "seen": {"type": "array", "items": {"type": "string"}, "description": "prompt elements visible"},
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "prompt elements not visible",
        },
        "reason": {"type": "string", "description": "one line"},
    },
    "required": ["score", "seen", "missing", "reason"],
    "additionalProperties": False,
}

INSTRUCTIONS = (
    "You review one take of an AI-generated video shot. The images are frames sampled evenly "
    "through the take, in order. List the distinct visual elements the prompt asks for (subjects, "
    "actions, setting, camera, style), say which the frames show and which they do not, and give a "
    "score from 0 (nothing asked for is shown) to 1 (everything is). Answer only with JSON matching "
    "the schema; the reason is one short line."
)


class AdherenceError(ProviderError):
    """The review model could not give a verdict (refused, blocked, malformed, out of budget)."""


@dataclass(frozen=True)
class VlmSpec:
    """What the storyboard's ``review:`` block or ``--review-model`` asks for."""

    model: str
    frames: int = 4
    budget: float | None = None  # USD for the whole review run
    price: tuple[float, float] | None = None  # USD per million tokens, input and output
    base_url: str | None = None

    @property
    def service(self) -> str:
        return service_of(self.model)[0]

    @property
    def model_name(self) -> str:
        return service_of(self.model)[1]


def service_of(model: str) -> tuple[str, str]:
    head, sep, rest = model.partition(":")
    if sep and head in ("openai", "gemini"):
        return head, rest
    return ("gemini" if model.startswith("gemini") else "openai"), model


@dataclass(frozen=True)
class Verdict:
    score: float
    seen: tuple[str, ...]
    missing: tuple[str, ...]
    reason: str
    model: str
    service: str
    frames: int
    cost: float  # USD, from the usage the service reported
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": "prompt adherence (vision-language model)",
            "score": round(self.score, 3),
            "seen": list(self.seen),
            "missing": list(self.missing),
            "reason": self.reason,
            "model": self.model,
            "service": self.service,
            "frames": self.frames,
            "cost_usd": round(self.cost, 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


# --- frames --------------------------------------------------------------------------------------


def sample_frames(path: str | os.PathLike[str], count: int = 4, width: int = 512) -> list[bytes]:
    """``count`` JPEG frames spread evenly through the take (the middle of each equal part)."""
    import av

    from shotline.core.media.probe import probe

    if count < 1:
        raise UsageError("the review samples at least one frame")
    info = probe(path)
    if info.video is None:
        raise MediaError(path, "has no video to review")
    n = info.video.frame_count or max(1, int(info.duration * float(info.video.rate)))
    picks = sorted({min(n - 1, int((i + 0.5) * n / count)) for i in range(count)})
    out: list[bytes] = []
    last = None
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(container.streams.video[0])):
                last = frame
                if i in picks:
                    out.append(_jpeg(frame, width))
                if len(out) == len(picks):
                    break
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"cannot be read for review: {exc}") from None
    if not out and last is not None:
        out.append(_jpeg(last, width))
    if not out:
        raise MediaError(path, "has no video frame to review")
    return out


def _jpeg(frame: Any, width: int) -> bytes:
    """One frame as a JPEG (FFmpeg's mjpeg encoder through PyAV at its default quality: about
    20 kB at 512x288, plenty for a model that looks at a low-detail copy)."""
    import av

    w = min(width, frame.width) // 2 * 2
    h = max(2, round(frame.height * w / frame.width) // 2 * 2)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = w, h, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    picture = frame.reformat(width=w, height=h, format="yuvj420p")
    return b"".join(bytes(p) for p in [*codec.encode(picture), *codec.encode(None)])


# --- cost ----------------------------------------------------------------------------------------


def estimate_cost(spec: VlmSpec, prompt: str, frames: int | None = None) -> float:
    """Upper estimate (USD) of one verdict: text + images in, the output cap out."""
    n = spec.frames if frames is None else frames
    price = _price(spec)
    tokens_in = (len(INSTRUCTIONS) + len(prompt) + len(json.dumps(VERDICT_SCHEMA))) / 4 + n * IMAGE_TOKENS[
        spec.service
    ]
    return (tokens_in * price[0] + MAX_OUTPUT_TOKENS * price[1]) / 1e6


def _price(spec: VlmSpec) -> tuple[float, float]:
    if spec.price is not None:
        return spec.price
    name = spec.model_name
    for known in sorted(PRICES, key=len, reverse=True):
        if name == known or name.startswith(known + "-"):
            return PRICES[known]
    raise UsageError(
        f"no price known for review model {name!r}; give it as review: {{price: [IN, OUT]}} "
        "(USD per million tokens) so the cost can be capped"
    )


# --- the two services ----------------------------------------------------------------------------


def _key(service: str) -> str:
    names = OPENAI_KEYS if service == "openai" else GEMINI_KEYS
    key = env_key(*names)
    if key is None:
        raise UsageError(
            f"prompt-adherence review with {service} needs {' or '.join(names)} in the environment"
        )
    return key


def _gemini_retry_delay(response: httpx.Response, err: RemoteError) -> RemoteError:
    """Gemini says how long to wait in the error body (google.rpc.RetryInfo), not in a header."""
    if err.retry_after is None:
        try:
            details = response.json().get("error", {}).get("details", [])
        except (ValueError, AttributeError):
            details = []
        for d in details if isinstance(details, list) else []:
            m = (
                re.fullmatch(r"(\d+(?:\.\d+)?)s", str(d.get("retryDelay", "")))
                if isinstance(d, dict)
                else None
            )
            if m:
                err.retry_after = float(m.group(1))
    return err


class Reviewer:
    """One review model: sends frames and prompt, returns a Verdict; keeps the money spent."""

    def __init__(
        self,
        spec: VlmSpec,
        *,
        allow_http_loopback: bool = False,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if spec.frames < 1 or spec.frames > 16:
            raise UsageError("review frames: between 1 and 16")
        self.spec = spec
        self.service, self.model = spec.service, spec.model_name
        _price(spec)  # an unknown price fails here, before any call
        key = _key(self.service)
        if self.service == "openai":
            base = spec.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE

            def auth() -> dict[str, str]:
                return {"Authorization": f"Bearer {key}"}

            classify = None
        else:
            base = spec.base_url or GEMINI_BASE

            def auth() -> dict[str, str]:
                return {"x-goog-api-key": key}

            classify = _gemini_retry_delay
        kw: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.client = ApiClient(
            f"review ({self.service})",
            base,
            auth,
            policy=policy,
            timeout=httpx.Timeout(timeout, connect=5.0),
            allow_http_loopback=allow_http_loopback,
            classify=classify,
            **kw,
        )
        self.spent = 0.0
        self.calls = 0

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Reviewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def judge(self, path: str | os.PathLike[str], prompt: str) -> Verdict:
        """The verdict on one take; raises AdherenceError/RemoteError when there is none."""
        if not prompt.strip():
            raise UsageError("prompt-adherence review needs the shot's prompt")
        cost = estimate_cost(self.spec, prompt)
        if self.spec.budget is not None and self.spent + cost > self.spec.budget:
            raise AdherenceError(
                f"review budget reached: {self.spent:.4f} USD spent, the next verdict may cost {cost:.4f} "
                f"(budget {self.spec.budget:g} USD)"
            )
        frames = sample_frames(path, self.spec.frames)
        text = f"{INSTRUCTIONS}\n\nPrompt: {prompt}"
        try:
            if self.service == "openai":
                body, usage = self._openai(text, frames)
            else:
                body, usage = self._gemini(text, frames)
        except RemoteError as exc:
            if exc.maybe_created:
                self.spent += cost  # it may have been billed: count the estimate
            raise
        self.calls += 1
        price = _price(self.spec)
        spent = (usage[0] * price[0] + usage[1] * price[1]) / 1e6
        self.spent += spent
        return _verdict(body, self.spec.model, self.service, len(frames), spent, usage)

    def _openai(self, text: str, frames: Sequence[bytes]) -> tuple[str, tuple[int, int]]:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
        for jpg in frames:
            url = "data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii")
            content.append({"type": "input_image", "image_url": url, "detail": "low"})
        payload = {
            "model": self.model,
            "input": [{"role": "user", "content": content}],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "take_verdict",
                    "schema": VERDICT_SCHEMA,
                    "strict": True,
                }
            },
            "max_output_tokens": MAX_OUTPUT_TOKENS,
            "store": False,
        }
        r = self.client.request("POST", "/responses", create=True, json=payload, ok=(200,))
        data = self.client.json(r)
        if data.get("status") not in (None, "completed"):
            why = (data.get("incomplete_details") or {}).get("reason") or (data.get("error") or {}).get(
                "message"
            )
            raise AdherenceError(
                f"review (openai): the response is {data.get('status')!r} ({redact(str(why))})"
            )
        texts: list[str] = []
        for item in data.get("output") or []:
            if not isinstance(item, dict) or item.get("type") != "message":
                continue
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "refusal":
                    raise AdherenceError(
                        f"review (openai): the model refused: {redact(str(part.get('refusal')))[:200]}"
                    )
                if isinstance(part, dict) and part.get("type") == "output_text":
                    texts.append(str(part.get("text", "")))
        usage = data.get("usage") or {}
        return "".join(texts), (int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))

    def _gemini(self, text: str, frames: Sequence[bytes]) -> tuple[str, tuple[int, int]]:
        parts: list[dict[str, Any]] = [{"text": text}]
        for jpg in frames:
            parts.append(
                {"inline_data": {"mime_type": "image/jpeg", "data": base64.b64encode(jpg).decode("ascii")}}
            )
        payload = {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": _gemini_schema(VERDICT_SCHEMA),
                "maxOutputTokens": MAX_OUTPUT_TOKENS,
                "temperature": 0,
            },
        }
        r = self.client.request(
            "POST", f"/models/{self.model}:generateContent", create=True, json=payload, ok=(200,)
        )
        data = self.client.json(r)
        block = (data.get("promptFeedback") or {}).get("blockReason")
        if block:
            raise AdherenceError(f"review (gemini): the prompt was blocked ({block})")
        cands = data.get("candidates") or []
        if not cands or not isinstance(cands[0], dict):
            raise AdherenceError("review (gemini): the answer has no candidate")
        cand = cands[0]
        finish = cand.get("finishReason")
        if finish not in (None, "STOP"):
            raise AdherenceError(f"review (gemini): the answer stopped early ({finish})")
        texts = [
            str(p.get("text", ""))
            for p in (cand.get("content") or {}).get("parts") or []
            if isinstance(p, dict)
        ]
        usage = data.get("usageMetadata") or {}
        return "".join(texts), (
            int(usage.get("promptTokenCount") or 0),
            int(usage.get("candidatesTokenCount") or 0),
        )


def _gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Gemini's responseSchema is an OpenAPI subset: no additionalProperties, no descriptions needed."""
    out = {k: v for k, v in schema.items() if k not in ("additionalProperties",)}
    if "properties" in out:
        out["properties"] = {k: _gemini_schema(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = _gemini_schema(out["items"])
    return out


def _verdict(
    text: str, model: str, service: str, frames: int, cost: float, usage: tuple[int, int]
) -> Verdict:
    try:
        data = json.loads(text)
    except ValueError:
        raise AdherenceError(
            f"review ({service}): the model's answer is not JSON: {redact(text)[:120]!r}"
        ) from None
    if not isinstance(data, dict):
        raise AdherenceError(f"review ({service}): the model's answer is not a JSON object")
    score = data.get("score")
    seen, missing, reason = data.get("seen"), data.get("missing"), data.get("reason")
    ok = (
        isinstance(score, (int, float))
        and not isinstance(score, bool)
        and 0 <= float(score) <= 1
        and isinstance(seen, list)
        and isinstance(missing, list)
        and all(isinstance(s, str) for s in [*seen, *missing])
        and isinstance(reason, str)
    )
    if not ok:
        raise AdherenceError(f"review ({service}): the model's answer does not match the verdict schema")
    assert isinstance(score, (int, float)) and isinstance(seen, list) and isinstance(missing, list)
    return Verdict(
        float(score),
        tuple(s.strip() for s in seen if s.strip()),
        tuple(s.strip() for s in missing if s.strip()),
        redact(str(reason)).strip().splitlines()[0][:300] if str(reason).strip() else "",
        model,
        service,
        frames,
        cost,
        usage[0],
        usage[1],
    )


@dataclass
class AdherenceRun:
    """Verdicts for many takes under one budget; failures become notes, never stop the review."""

    spec: VlmSpec
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    spent: float = 0.0


def check_budget(spec: VlmSpec, prompts: Sequence[str]) -> float:
    """The estimate for judging every take; refuses (UsageError) when it is over the budget."""
    total = sum(estimate_cost(spec, p) for p in prompts)
    if spec.budget is not None and total > spec.budget:
        raise UsageError(
            f"prompt-adherence review of {len(prompts)} take(s) is estimated at {total:.4f} USD, over the review "
            f"budget of {spec.budget:g} USD; raise it or review fewer frames"
        )
    return total


def judge_takes(
    spec: VlmSpec, takes: Sequence[tuple[str | Path, str]], **reviewer_options: Any
) -> AdherenceRun:
    """Judge each (take path, prompt); a failed verdict is a note and the take keeps its metrics."""
    run = AdherenceRun(spec)
    check_budget(spec, [p for _, p in takes])
    with Reviewer(spec, **reviewer_options) as reviewer:
        for path, prompt in takes:
            try:
                run.verdicts[str(path)] = reviewer.judge(path, prompt)
            except (AdherenceError, RemoteError) as exc:
                run.notes.append(f"{Path(path).name}: no prompt-adherence verdict: {exc}")
        run.spent = reviewer.spent
    return run
