"""Runway through the official ``runwayml`` SDK.

The model catalog is read from the installed SDK itself: every generation endpoint's
create-params module is a union of TypedDicts, one per model, whose annotations give
the model name, the required fields, and the allowed ``ratio``/``duration`` values,
and whose field docstrings state integer ranges ("Must be an integer from 2 to 10").
So validation follows the SDK a user has installed, and a model the SDK dropped
(gen3a_turbo, gen4_aleph, upscale_v1, veo3) is refused before any request is sent;
the SDK itself does not check model names at runtime.

Contract sources (see docs/providers.md): wire shapes, statuses, failure codes,
asset limits and Retry-After handling are documented by Runway or read from the SDK;
the credits-per-second table is from Runway's skills repository and may lag the live
pricing page (marked inferred); the refusal of durations outside a documented range
for models whose SDK type is a bare ``int`` is ours.

Creates go out with ``max_retries=0``: Runway has no idempotency key, and the SDK
would otherwise retry a POST after a timeout or 5xx and could start a second paid
task. Our own rule (core/generate/providers/http.py) retries a create only when the service
cannot have acted on it.
"""

from __future__ import annotations

import ast
import base64
import functools
import importlib
import inspect
import logging
import math
import mimetypes
import re
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import httpx
import runwayml
from typing_extensions import NotRequired, Required

from shotline.core.errors import ProviderError, UsageError
from shotline.core.generate.providers.base import (
    Capabilities,
    GenerationRequest,
    Provider,
    ShotKind,
    TaskState,
    TaskStatus,
)
from shotline.core.generate.providers.http import (
    CREATE_SAFE_STATUS,
    DEFAULT_MAX_DOWNLOAD,
    RemoteError,
    api_base,
    env_key,
    fetch_with_refresh,
    parse_retry_after,
    redact,
    tls_failure,
)

log = logging.getLogger("shotline.providers.runway")

ENV_KEY = "RUNWAYML_API_SECRET"
ENV_BASE_URL = "RUNWAYML_BASE_URL"
DEFAULT_BASE_URL = "https://api.dev.runwayml.com"

# shotline kind -> (SDK resource attribute, create-params module)
ENDPOINTS: dict[ShotKind, str] = {
    ShotKind.TEXT_TO_VIDEO: "text_to_video",
    ShotKind.IMAGE_TO_VIDEO: "image_to_video",
    ShotKind.VIDEO_TO_VIDEO: "video_to_video",
    ShotKind.CHARACTER_PERFORMANCE: "character_performance",
    ShotKind.SOUND_EFFECT: "sound_effect",
    ShotKind.UPSCALE: "video_upscale",
    ShotKind.TEXT_TO_IMAGE: "text_to_image",
}

# Data-URI limits in bytes of the *encoded* URI [DOC docs.dev.runwayml.com/assets/inputs].
# Bigger files go through an ephemeral upload (200 MB cap, same page).
DATA_URI_LIMIT = {"image": 5 * 1024**2, "video": 16 * 1024**2, "audio": 16 * 1024**2}
UPLOAD_LIMIT = 200 * 1024**2
UPLOAD_REUSE_S = 23 * 3600  # runway:// URIs are valid for 24 h [DOC skills rw-integrate-uploads]

# Credits per second of output [DOC runwayml/skills rw-api-reference; may lag live pricing].
CREDITS_PER_SECOND = {
    "gen4.5": 12.0,
    "gen4_turbo": 5.0,
    "act_two": 5.0,
    "veo3.1": 20.0,
    "veo3.1_fast": 10.0,
    "seedance2": 36.0,
}
CREDITS_PER_SECOND_WITH_AUDIO = {"veo3.1": 40.0, "veo3.1_fast": 15.0}
CREDITS_PER_ITEM = {"gen4_image": 8.0, "gen4_image_turbo": 2.0, "gemini_2.5_flash": 5.0}
SOUND_EFFECT_CREDITS = 2.0  # "1-2 credits" [DOC skills]: take the upper bound
# [INFERRED] no published figure: assume the dearest known video rate so --budget errs high.
UNKNOWN_VIDEO_RATE = 40.0
UNKNOWN_ITEM_CREDITS = 10.0

SEED_MAX = 2**32 - 1  # [3P] 0..4294967295; the SDK types it only as int

# failureCode prefixes worth another take [DOC docs.dev.runwayml.com/errors/task-failures]
RETRYABLE_FAILURES = ("INTERNAL", "SAFETY.OUTPUT")

_STATES = {
    "PENDING": TaskState.QUEUED,
    "THROTTLED": TaskState.QUEUED,
    "RUNNING": TaskState.RUNNING,
    "SUCCEEDED": TaskState.SUCCEEDED,
    "FAILED": TaskState.FAILED,
    "CANCELLED": TaskState.CANCELLED,
}

# enhance_frame_rate's targetFramerate strings for common rates
_FPS_NAMES = {23.976: "23_98", 29.97: "29_97", 59.94: "59_94"}


@dataclass(frozen=True)
class FieldSpec:
    """One request field of one model, as the SDK types it."""

    name: str  # snake_case keyword the SDK takes
    wire: str  # camelCase name on the wire
    required: bool
    choices: tuple[Any, ...] = ()  # Literal values, if the type is (or contains) a Literal
    accepts_int: bool = False
    accepts_float: bool = False
    accepts_str: bool = False
    int_range: tuple[int, int] | None = None  # from the field's docstring
    max_chars: int | None = None  # "up to N characters"


@dataclass(frozen=True)
class ModelSpec:
    """A model on one endpoint: its fields and constraints."""

    model: str
    kind: ShotKind
    endpoint: str
    fields: dict[str, FieldSpec]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"endpoint": f"/v1/{self.endpoint}"}
        dur = self.fields.get("duration")
        if dur is not None:
            if dur.choices and not dur.accepts_int:
                out["durations"] = [c for c in dur.choices if c != "auto"]
            elif dur.choices and dur.int_range is None:
                out["durations"] = [c for c in dur.choices if c != "auto"]
            elif dur.int_range:
                out["duration_range"] = list(dur.int_range)
        ratio = self.fields.get("ratio")
        if ratio is not None and ratio.choices:
            out["ratios"] = list(ratio.choices)
        out["required"] = sorted(f.wire for f in self.fields.values() if f.required)
        return out


def _unwrap(tp: Any) -> tuple[Any, bool | None, str | None]:
    """Strip Required/NotRequired/Annotated; return (type, required marker, wire alias)."""
    required: bool | None = None
    alias: str | None = None
    while True:
        origin = get_origin(tp)
        if origin is Required:
            required, tp = True, get_args(tp)[0]
        elif origin is NotRequired:
            required, tp = False, get_args(tp)[0]
        elif origin is typing.Annotated:
            args = get_args(tp)
            for meta in args[1:]:
                alias = getattr(meta, "alias", None) or alias
            tp = args[0]
        else:
            return tp, required, alias


def _flatten(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin is typing.Union:
        return [x for arg in get_args(tp) for x in _flatten(arg)]
    return [tp]


def _field_docs(module: Any) -> dict[str, dict[str, str]]:
    """Attribute docstrings (the string right after an annotated field), per TypedDict class.

    The module's source is parsed once: asking ``inspect`` class by class re-reads the
    whole file each time, which made the catalog take seconds.
    """
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return {}
    out: dict[str, dict[str, str]] = {}
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        docs = out.setdefault(cls.name, {})
        for node, nxt in zip(cls.body, cls.body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return out


_RANGE = re.compile(r"(?:from|between)\s+(\d+)\s+(?:to|and)\s+(\d+)")
_CHARS = re.compile(r"up to\s+(\d+)\s+characters")


def _field_spec(name: str, tp: Any, doc: str, total: bool) -> FieldSpec:
    inner, required, alias = _unwrap(tp)
    choices: list[Any] = []
    ints = floats = strs = False
    for part in _flatten(inner):
        if get_origin(part) is Literal:
            choices.extend(get_args(part))
        elif part is int:
            ints = True
        elif part is float:
            floats = ints = True
        elif part is str:
            strs = True
    rng = _RANGE.search(doc)
    chars = _CHARS.search(doc)
    return FieldSpec(
        name=name,
        wire=alias or name,
        required=required if required is not None else total,
        choices=tuple(choices),
        accepts_int=ints,
        accepts_float=floats,
        accepts_str=strs,
        int_range=(int(rng.group(1)), int(rng.group(2))) if rng and (ints or floats) else None,
        max_chars=int(chars.group(1)) if chars else None,
    )


@functools.cache
def catalog() -> dict[ShotKind, dict[str, ModelSpec]]:
    """Every (kind, model) the installed runwayml SDK can create, with its constraints."""
    out: dict[ShotKind, dict[str, ModelSpec]] = {}
    for kind, endpoint in ENDPOINTS.items():
        module = importlib.import_module(f"runwayml.types.{endpoint}_create_params")
        union_name = next(n for n in dir(module) if n.endswith("CreateParams"))
        union = getattr(module, union_name)
        variants = [v for v in _flatten(union) if isinstance(v, type)] or [union]
        models: dict[str, ModelSpec] = {}
        module_docs = _field_docs(module)
        for cls in variants:
            hints = typing.get_type_hints(cls, include_extras=True)
            docs = module_docs.get(cls.__name__, {})
            total = bool(getattr(cls, "__total__", True))
            fields = {n: _field_spec(n, t, docs.get(n, ""), total) for n, t in hints.items()}
            model_field = fields.get("model")
            if model_field is None:
                continue
            for model in model_field.choices:
                models[str(model)] = ModelSpec(str(model), kind, endpoint, fields)
        out[kind] = models
    return out


def _aspect(ratio: str) -> float | None:
    try:
        w, h = (float(x) for x in ratio.split(":"))
        return w / h if h else None
    except ValueError:
        return None


def pick_ratio(requested: str, allowed: tuple[Any, ...]) -> str | None:
    """``requested`` itself if allowed, else the allowed "W:H" with the same aspect (16:9 -> 1280:720)."""
    if requested in allowed:
        return requested
    want = _aspect(requested)
    if want is None:
        return None
    for cand in allowed:
        have = _aspect(str(cand))
        if have is not None and abs(have - want) / want < 0.01:
            return str(cand)
    return None


def _dropped(where: str, what: str) -> None:
    log.info("%s: this model takes no %s; it is left out", where, what)


def _media_type(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or ""
    return mime.split("/", 1)[0] if mime else "application"


class RunwayProvider(Provider):
    """Runway's API through ``runwayml.RunwayML``. Key: ``RUNWAYML_API_SECRET`` only."""

    name = "runway"
    cost_unit = "credits"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        poll_interval: float = 5.0,
        max_concurrency: int = 2,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
        allow_http_loopback: bool = False,
        timeout: float = 60.0,
        create_attempts: int = 4,
    ) -> None:
        self.base_url = api_base(
            base_url or env_key(ENV_BASE_URL) or DEFAULT_BASE_URL, allow_http_loopback=allow_http_loopback
        )
        self.poll_interval = poll_interval
        self.max_concurrency = max_concurrency
        self.max_download_bytes = max_download_bytes
        self.allow_http_loopback = allow_http_loopback
        self.timeout = timeout
        self.create_attempts = create_attempts
        self._client: runwayml.RunwayML | None = None
        self._media: dict[
            tuple[str, int, int], tuple[str, float]
        ] = {}  # (path, size, mtime) -> (runway://, when)
        if env_key(ENV_KEY):
            _ = self.client  # build it now (no I/O), so a submit is only the POST itself

    def __repr__(self) -> str:
        return f"RunwayProvider(base_url={self.base_url!r})"

    # -- client ---------------------------------------------------------------------
    @property
    def client(self) -> runwayml.RunwayML:
        if self._client is None:
            if not env_key(ENV_KEY):
                raise ProviderError(f"runway: set {ENV_KEY} to your Runway API key (dev.runwayml.com)")
            # The SDK reads the key from the environment itself; we never hold it.
            self._client = runwayml.RunwayML(base_url=self.base_url, timeout=self.timeout, max_retries=2)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- interface ------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        models: dict[str, dict[str, Any]] = {}
        for kind, specs in catalog().items():
            for model, spec in specs.items():
                entry = models.setdefault(model, {"kinds": []})
                entry["kinds"].append(kind.value)
                entry[kind.value] = spec.summary()
        return Capabilities(
            kinds=frozenset(catalog()),
            models=models,
            needs_key=ENV_KEY,
            poll_interval=self.poll_interval,
            max_concurrency=self.max_concurrency,
        )

    def spec(self, request: GenerationRequest) -> ModelSpec:
        specs = catalog().get(request.kind)
        if specs is None:
            raise UsageError(f"shot {request.shot_id}: runway cannot do {request.kind.value}")
        spec = specs.get(request.model)
        if spec is None:
            known = ", ".join(sorted(specs))
            raise UsageError(
                f"shot {request.shot_id}: runway model {request.model!r} is not available for "
                f"{request.kind.value} in runwayml {runwayml.__version__}; choose one of: {known}"
            )
        return spec

    def validate(self, request: GenerationRequest) -> None:
        self._arguments(request, resolve_media=False)

    def estimate_cost(self, request: GenerationRequest) -> float:
        spec = self.spec(request)
        if request.kind in (ShotKind.TEXT_TO_IMAGE,):
            return CREDITS_PER_ITEM.get(request.model, UNKNOWN_ITEM_CREDITS)
        if request.kind is ShotKind.SOUND_EFFECT:
            return SOUND_EFFECT_CREDITS
        audio = bool(request.options.get("audio"))
        rate = (CREDITS_PER_SECOND_WITH_AUDIO if audio else CREDITS_PER_SECOND).get(request.model)
        if rate is None:
            rate = CREDITS_PER_SECOND.get(request.model, UNKNOWN_VIDEO_RATE)
        seconds = request.duration if "duration" in spec.fields else max(request.duration, 1.0)
        return float(math.ceil(seconds)) * rate

    def prepare(self, request: GenerationRequest) -> None:
        """Open the client and upload the source media now, outside the create's window of doubt."""
        self._arguments(request, resolve_media=True)

    def submit(self, request: GenerationRequest) -> str:
        spec = self.spec(request)
        kwargs = self._arguments(request, resolve_media=True)
        resource = getattr(self.client.with_options(max_retries=0), spec.endpoint)
        attempt = 0
        while True:
            try:
                created = resource.create(**kwargs)
                return str(created.id)
            except runwayml.APIError as exc:
                err = self._error(exc, create=True)
            except ValueError:  # a 200 whose body did not parse: the task probably exists
                err = RemoteError("runway: the create answer was malformed JSON", maybe_created=True)
            if err.maybe_created or not err.retryable or attempt + 1 >= self.create_attempts:
                raise err
            delay = min(0.5 * 2**attempt, 8.0) if err.retry_after is None else err.retry_after
            if delay > 60:
                raise err
            time.sleep(delay)
            attempt += 1

    def poll(self, task_id: str) -> TaskStatus:
        try:
            task = self.client.tasks.retrieve(task_id)
        except runwayml.APIError as exc:
            raise self._error(exc, create=False) from None
        except ValueError:  # malformed JSON (a proxy's garbage page): poll again later
            raise RemoteError(f"runway: task {task_id}: malformed answer", retryable=True) from None
        raw = str(getattr(task, "status", "") or "")
        state = _STATES.get(raw)
        if state is None:
            raise RemoteError(f"runway: task {task_id} has unknown status {raw!r}", retryable=True)
        cost_obj = getattr(task, "cost", None) or getattr(task, "estimated_cost", None)
        credits = getattr(cost_obj, "credits", None) if cost_obj is not None else None
        if isinstance(cost_obj, dict):
            credits = cost_obj.get("credits")
        failure_code = getattr(task, "failure_code", None)
        failure = getattr(task, "failure", None)
        return TaskStatus(
            task_id=task_id,
            state=state,
            progress=1.0 if state is TaskState.SUCCEEDED else getattr(task, "progress", None),
            output_urls=tuple(str(u) for u in (getattr(task, "output", None) or ())),
            cost=float(credits) if credits is not None and state.terminal else None,
            failure=redact(str(failure)) if failure else None,
            failure_code=failure_code,
            retryable=bool(failure_code and str(failure_code).startswith(RETRYABLE_FAILURES)),
            raw_state=raw,
        )

    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        return fetch_with_refresh(
            status,
            dest,
            repoll=self.poll,
            max_bytes=self.max_download_bytes,
            allow_http_loopback=self.allow_http_loopback,
        ).path

    def cancel(self, task_id: str) -> None:
        """DELETE the task: cancels PENDING/THROTTLED/RUNNING (refund only before RUNNING)."""
        try:
            self.client.tasks.delete(task_id)
        except runwayml.NotFoundError:
            return
        except runwayml.APIError as exc:
            raise self._error(exc, create=False) from None

    # -- request building -----------------------------------------------------------
    def _arguments(self, request: GenerationRequest, *, resolve_media: bool) -> dict[str, Any]:
        """The SDK keyword arguments for ``request``; UsageError for anything the model refuses."""
        spec = self.spec(request)
        f = spec.fields
        where = f"shot {request.shot_id} (runway {request.model})"
        args: dict[str, Any] = {"model": request.model}

        def media(path: Path, kind: str) -> str:
            return self._media_uri(path, kind, where) if resolve_media else f"file:{path.name}"

        if "prompt_text" in f and request.prompt:
            limit = f["prompt_text"].max_chars
            if limit and len(request.prompt.encode("utf-16-le")) // 2 > limit:
                raise UsageError(f"{where}: prompt is longer than {limit} characters (UTF-16 units)")
            args["prompt_text"] = request.prompt
        if request.negative_prompt:
            if "negative_prompt" in f:
                args["negative_prompt"] = request.negative_prompt
            else:  # a storyboard-wide negative prompt must not block models that lack the field
                _dropped(where, "negative prompt")
        if "ratio" in f and request.ratio:
            rf = f["ratio"]
            ratio = pick_ratio(request.ratio, rf.choices) if rf.choices else request.ratio
            if ratio is None:
                raise UsageError(
                    f"{where}: ratio {request.ratio} is not offered; choose one of: {', '.join(map(str, rf.choices))}"
                )
            args["ratio"] = ratio
        if "duration" in f:
            args["duration"] = self._duration(request, f["duration"], where)
        if request.seed is not None:
            if not 0 <= request.seed <= SEED_MAX:
                raise UsageError(f"{where}: seed must be between 0 and {SEED_MAX}")
            if "seed" in f:
                args["seed"] = request.seed
            else:
                _dropped(where, "seed")

        if request.kind is ShotKind.CHARACTER_PERFORMANCE:
            char = request.source_image or request.options.get("character_video")
            if char is None or request.source_video is None:
                raise UsageError(f"{where}: act_two needs a character (source image) and a performance video")
            char = Path(char)
            ctype = "video" if _media_type(char) == "video" else "image"
            args["character"] = {"type": ctype, "uri": media(char, ctype)}
            args["reference"] = {"type": "video", "uri": media(request.source_video, "video")}
        else:
            if request.source_image is not None:
                if "prompt_image" not in f:
                    raise UsageError(f"{where}: this model takes no source image")
                args["prompt_image"] = media(request.source_image, "image")
            if request.source_video is not None:
                if "video_uri" not in f:
                    raise UsageError(f"{where}: this model takes no source video")
                args["video_uri"] = media(request.source_video, "video")
        if request.reference_images and "reference_images" not in f:
            _dropped(where, "reference images")  # characters still reach it through the prompt
        elif request.reference_images:
            args["reference_images"] = [
                {"uri": media(p, "image"), "tag": re.sub(r"[^A-Za-z0-9_]", "_", p.stem)[:16] or "ref"}
                for p in request.reference_images
            ]
        if "target_framerate" in f and request.fps and "target_framerate" not in request.options:
            args["target_framerate"] = self._framerate(request.fps, f["target_framerate"], where)

        for key, value in request.options.items():
            if key in ("character_video",):
                continue
            fs = f.get(key) or next((x for x in f.values() if x.wire == key), None)
            if fs is None or fs.name in ("model",):
                raise UsageError(f"{where}: unknown option {key!r}; this model takes: {', '.join(sorted(f))}")
            if fs.choices and value not in fs.choices and not (fs.accepts_int or fs.accepts_str):
                raise UsageError(f"{where}: {key} must be one of {', '.join(map(str, fs.choices))}")
            args[fs.name] = value

        missing = [fs.wire for fs in f.values() if fs.required and fs.name not in args]
        if missing:
            raise UsageError(f"{where}: missing {', '.join(missing)}")
        return args

    @staticmethod
    def _duration(request: GenerationRequest, fs: FieldSpec, where: str) -> Any:
        d = request.duration
        if fs.accepts_float and not fs.choices:
            lo, hi = fs.int_range or (0, 10**6)
            if not lo <= d <= hi:
                raise UsageError(f"{where}: duration {d:g} s is outside {lo}-{hi} s")
            return float(d)
        if abs(d - round(d)) > 1e-9:
            raise UsageError(f"{where}: duration must be a whole number of seconds, got {d:g}")
        n = int(round(d))
        numeric_choices = [c for c in fs.choices if isinstance(c, int)]
        if numeric_choices and n not in numeric_choices:
            raise UsageError(f"{where}: duration {n} s is not offered; choose one of: {numeric_choices}")
        if fs.int_range and not fs.int_range[0] <= n <= fs.int_range[1]:
            lo, hi = fs.int_range
            raise UsageError(f"{where}: duration {n} s is outside {lo}-{hi} s")
        if n <= 0:
            raise UsageError(f"{where}: duration must be positive")
        return n

    @staticmethod
    def _framerate(fps: float, fs: FieldSpec, where: str) -> str:
        name = next((v for k, v in _FPS_NAMES.items() if abs(k - fps) < 0.01), None) or f"{fps:g}"
        if fs.choices and name not in fs.choices:
            raise UsageError(
                f"{where}: frame rate {fps:g} is not offered; choose one of: {', '.join(fs.choices)}"
            )
        return name

    def _media_uri(self, path: Path, kind: str, where: str) -> str:
        """A data URI when small enough, else an ephemeral upload (``runway://``)."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"{where}: {path}: no such file")
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        cached = self._media.get(key)
        if cached is not None and time.time() - cached[1] < UPLOAD_REUSE_S:
            return cached[0]
        uri = self._resolve_media(path, kind, where)
        if uri.startswith("runway://"):  # uploads are worth keeping; data URIs are cheap to rebuild
            self._media[key] = (uri, time.time())
        return uri

    def _resolve_media(self, path: Path, kind: str, where: str) -> str:
        size = path.stat().st_size
        mime = mimetypes.guess_type(path.name)[0] or f"{kind}/octet-stream"
        encoded = 4 * math.ceil(size / 3) + len(f"data:{mime};base64,")
        if encoded <= DATA_URI_LIMIT.get(kind, DATA_URI_LIMIT["image"]):
            return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        if size > UPLOAD_LIMIT:
            raise UsageError(f"{where}: {path} is {size} bytes; Runway accepts at most {UPLOAD_LIMIT}")
        try:
            upload = self.client.uploads.create_ephemeral(file=path)
        except (runwayml.APIError, httpx.HTTPError) as exc:
            if isinstance(exc, runwayml.APIError):
                raise self._error(exc, create=False) from None
            raise RemoteError(
                f"runway: upload of {path.name} failed ({type(exc).__name__})", retryable=True
            ) from None
        return str(upload.uri)

    # -- errors ---------------------------------------------------------------------
    @staticmethod
    def _error(exc: runwayml.APIError, *, create: bool) -> RemoteError:
        """Map an SDK error to RemoteError, with retry and may-have-created flags."""
        if isinstance(exc, runwayml.APIStatusError):
            status = exc.status_code
            body = exc.body
            detail = body.get("error") if isinstance(body, dict) else None
            detail = redact(detail) if isinstance(detail, str) else exc.response.reason_phrase
            retry_after = parse_retry_after(exc.response.headers)
            retryable = status in (408, 409, 429) or status >= 500
            if status in (401, 403):  # permanent: no retry brings a key back
                detail = f"{detail}; check {ENV_KEY} (a wrong, revoked or unauthorised key)"
            return RemoteError(
                f"runway: HTTP {status}: {detail}",
                status=status,
                retryable=retryable,
                maybe_created=create and status >= 500 and status not in CREATE_SAFE_STATUS,
                retry_after=retry_after,
            )
        if isinstance(exc, runwayml.APIConnectionError):
            tls = tls_failure("runway", exc)
            if tls is not None:
                return tls
            cause = exc.__cause__
            never_sent = isinstance(cause, httpx.ConnectError)
            return RemoteError(
                f"runway: {'cannot connect' if never_sent else 'connection lost mid-request'}",
                retryable=True,
                maybe_created=create and not never_sent,
            )
        return RemoteError(f"runway: {type(exc).__name__}", retryable=False)
