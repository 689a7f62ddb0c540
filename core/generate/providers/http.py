"""Shared HTTP plumbing for the remote providers: retries, Retry-After, safe downloads.

Every remote client in this package goes through these helpers so that the rules
that protect a user's money and keys live in one place:

* a *create* is retried only when the service cannot have acted on it (the
  connection was refused, or the service answered 429/503 before doing anything);
  anything else that may have reached the server is raised as
  ``RemoteError(maybe_created=True)`` so the caller checks its ledger first;
* polls and other reads are retried with capped exponential backoff and jitter,
  honouring ``Retry-After`` / ``retry-after-ms``;
* outputs are downloaded only over https from the URL the service returned (plain
  http is allowed only for loopback hosts, and only when a caller asks for it, which
  the tests do), never with the API key attached, under a size cap, resumed with
  ``Range`` after a truncated transfer, checksummed, and renamed into place.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import random
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from shotline.core.errors import ProviderError, UsageError
from shotline.core.generate.providers.base import (
    Capabilities,
    GenerationRequest,
    Provider,
    ShotKind,
    TaskStatus,
)
from shotline.core.vocab import SECRET_ENV_NAMES, sha256_file

log = logging.getLogger("shotline.providers")

DEFAULT_MAX_DOWNLOAD = 4 * 1024**3  # 4 GiB: far above any generated clip, far below a full disk
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
# Statuses that prove the service did not act on a create: it refused at the door.
CREATE_SAFE_STATUS = frozenset({429, 503})


class RemoteError(ProviderError):
    """A service call failed.

    ``retryable``: trying again later may succeed (429, 5xx, network).
    ``maybe_created``: a create may have reached the service and started a paid task;
    never resubmit blindly, look the task up (ledger, idempotency key) first.
    ``retry_after``: seconds the service asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        maybe_created: bool = False,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.maybe_created = maybe_created
        self.retry_after = retry_after
        self.code = code


def tls_failure(service: str, exc: BaseException) -> RemoteError | None:
    """The permanent error for a connection refused by TLS (an untrusted certificate, as behind
    a company proxy that re-signs HTTPS, or a failed handshake), naming it and saying how to
    trust a CA; None when ``exc`` is some other network failure. No retry can fix it."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
            kind = "certificate not trusted" if isinstance(e, ssl.SSLCertVerificationError) else "TLS failed"
            return RemoteError(
                f"{service}: {kind} ({reason}); if a proxy re-signs HTTPS, set SSL_CERT_FILE to a "
                "CA bundle (PEM) that holds its certificate",
                retryable=False,
            )
        e = e.__cause__ or e.__context__
    return None


class ExpiredOutputError(RemoteError):
    """The output URL no longer works (403/404/410 from storage): re-read the task for a fresh one."""


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter: base * 2**n, at most ``cap``, minus up to ``jitter``."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.5  # fraction of the delay removed at random (the services advise <= 50 %)
    max_retry_after: float = 120.0  # a longer wait than this is handed back to the caller instead

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        d = min(self.base * (2**attempt), self.cap)
        return d * (1.0 - self.jitter * random.random())


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_loopback: bool = False, what: str = "URL") -> str:
    """Accept https URLs; plain http only for a loopback host when explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and allow_http_loopback and is_loopback(parts.hostname):
        return url
    raise RemoteError(f"refusing {what} {redact_url(url)}: only https URLs are accepted")


def redact_url(url: str) -> str:
    """A URL without its query string (signed URLs carry credentials there)."""
    parts = urlsplit(url)
    tail = "?…" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{tail}"


def api_base(url: str, *, allow_http_loopback: bool) -> str:
    """Validate a provider API base URL: https, or http on loopback for tests that ask for it."""
    try:
        return check_url(url.rstrip("/"), allow_http_loopback=allow_http_loopback, what="API base URL")
    except RemoteError as exc:
        raise UsageError(str(exc)) from None


_TOKEN_LIKE = re.compile(r"(Bearer|Key)\s+\S+|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """``text`` with every configured API key, bearer token and JWT replaced by ***.

    Applied to anything a service sends back before it can reach an error, a log or the
    ledger: a misbehaving proxy may echo our headers into its error page.
    """
    for name in SECRET_ENV_NAMES:
        value = os.environ.get(name, "").strip()
        if len(value) >= 6:
            text = text.replace(value, "***")
    return _TOKEN_LIKE.sub("***", text)


def error_message(response: httpx.Response) -> str:
    """The service's own explanation from an error body, redacted (see ``redact``)."""
    return redact(_error_message(response))


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return text or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "detail", "message", "failure"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("code")
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, list) and value:
                return str(value[0])[:300]
    return str(body)[:200]


class ApiClient:
    """A thin httpx wrapper for one service: base URL, auth headers, retry rules.

    ``auth`` returns the auth headers for each request, so short-lived tokens (Kling's JWT)
    are minted fresh; the headers are never logged or put into errors.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        auth: Callable[[], dict[str, str]],
        *,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        allow_http_loopback: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        classify: Callable[[httpx.Response, RemoteError], RemoteError] | None = None,
    ) -> None:
        self.service = service
        self._classify = classify
        self.base_url = api_base(base_url, allow_http_loopback=allow_http_loopback)
        self.allow_http_loopback = allow_http_loopback
        self._auth = auth
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if not self.same_origin(path):  # never send our key to a host we were not configured for
                raise RemoteError(f"{self.service}: refusing to call {redact_url(path)} (not the API host)")
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        create: bool = False,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """One logical call with the retry rules above. Returns the response; raises RemoteError."""
        url = self.url(path)
        attempt = 0
        while True:
            merged = {"Accept": "application/json", **(headers or {}), **self._auth()}
            try:
                response = self.http.request(
                    method, url, json=json, data=data, files=files, params=params, headers=merged
                )
            except httpx.ConnectError as exc:
                # The request never left: safe to retry, creates included (a TLS refusal: never).
                err = tls_failure(self.service, exc) or RemoteError(
                    f"{self.service}: cannot connect ({type(exc).__name__})", retryable=True
                )
            except httpx.HTTPError as exc:
                # Sent, but the answer was lost (timeout, reset): a create may have been accepted.
                err = RemoteError(
                    f"{self.service}: {method} {redact_url(url)} failed mid-request ({type(exc).__name__})",
                    retryable=True,
                    maybe_created=create,
                )
            else:
                if response.status_code in ok:
                    return response
                err = self.status_error(response, create=create)
            if err.maybe_created or not err.retryable or attempt + 1 >= self.policy.attempts:
                raise err
            wait = self.policy.delay(attempt, err.retry_after)
            if err.retry_after is not None and err.retry_after > self.policy.max_retry_after:
                raise err  # the service asked for a long pause: let the orchestrator schedule it
            log.debug("%s: %s, retrying in %.2fs", self.service, err, wait)
            self._sleep(wait)
            attempt += 1

    def status_error(self, response: httpx.Response, *, create: bool) -> RemoteError:
        status = response.status_code
        retryable = status in RETRYABLE_STATUS
        should = response.headers.get("x-should-retry")
        if should in ("true", "false"):
            retryable = should == "true"
        maybe_created = create and status >= 500 and status not in CREATE_SAFE_STATUS
        err = RemoteError(
            f"{self.service}: HTTP {status}: {error_message(response)}",
            status=status,
            retryable=retryable,
            maybe_created=maybe_created,
            retry_after=parse_retry_after(response.headers),
        )
        return self._classify(response, err) if self._classify else err

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """Parse a JSON object body or raise a retryable RemoteError (proxies sometimes garble them)."""
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(f"{self.service}: the service sent malformed JSON", retryable=True) from None
        if not isinstance(body, dict):
            raise RemoteError(
                f"{self.service}: expected a JSON object, got {type(body).__name__}", retryable=True
            )
        return body


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str


def download(
    url: str,
    dest: Path,
    *,
    client: httpx.Client | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_DOWNLOAD,
    allow_http_loopback: bool = False,
    same_host_only: str | None = None,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Stream ``url`` to ``dest`` via ``dest.part``; resume with Range; rename into place.

    Storage URLs are fetched with a bare client (no API key). ``headers`` is for services
    whose download endpoint is the API itself (Sora), and then ``same_host_only`` pins the
    host. A 403/404/410 means the signed URL expired: ExpiredOutputError, so the caller can
    re-read the task. A transfer cut short is resumed where it stopped; a server that
    ignores Range starts over. More than ``max_bytes`` aborts and removes the partial file.
    """
    check_url(url, allow_http_loopback=allow_http_loopback, what="download URL")
    if same_host_only is not None and urlsplit(url).netloc != urlsplit(same_host_only).netloc:
        raise RemoteError(f"refusing to download {redact_url(url)}: not the service's host")
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    own = client is None
    http = client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
    try:
        for attempt in range(attempts):
            have = part.stat().st_size if part.exists() else 0
            req_headers = {
                "Accept-Encoding": "identity",
                **(headers or {}),
            }  # byte offsets must be the file's
            if have:
                req_headers["Range"] = f"bytes={have}-"
            try:
                done = _transfer(http, url, part, have, req_headers, max_bytes)
            except httpx.HTTPError as exc:
                tls = tls_failure(f"download of {redact_url(url)}", exc)
                if tls is not None:
                    raise tls from None
                log.debug("download of %s interrupted: %s", redact_url(url), type(exc).__name__)
                done = False
            if done:
                digest = sha256_file(part)
                size = part.stat().st_size
                os.replace(part, dest)
                return DownloadResult(dest, size, digest)
            sleep(min(0.2 * 2**attempt, 5.0))
        raise RemoteError(
            f"download of {redact_url(url)} kept failing after {attempts} attempts", retryable=True
        )
    except RemoteError as exc:
        if not exc.retryable:
            part.unlink(missing_ok=True)
        raise
    finally:
        if own:
            http.close()


def _transfer(
    http: httpx.Client, url: str, part: Path, have: int, headers: dict[str, str], max_bytes: int
) -> bool:
    """One GET. True when the whole body is in ``part``; False when cut short (resume)."""
    with http.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status in (401, 403, 404, 410):
            raise ExpiredOutputError(
                f"output URL {redact_url(url)} answered {status} (expired?)", status=status, retryable=True
            )
        if status == 416 and have:  # our partial file is already complete, or garbage: start over
            part.unlink(missing_ok=True)
            return False
        if status >= 400:
            raise RemoteError(
                f"download of {redact_url(url)} answered HTTP {status}",
                status=status,
                retryable=status in RETRYABLE_STATUS,
                retry_after=parse_retry_after(response.headers),
            )
        if status == 206:
            start = _content_range_start(response.headers.get("content-range", ""))
            if start != have:
                part.unlink(missing_ok=True)
                return False
            mode = "ab"
        else:
            have, mode = 0, "wb"  # the server ignored Range: take the whole body again
        length = response.headers.get("content-length")
        expected = have + int(length) if length and length.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise RemoteError(f"output {redact_url(url)} is {expected} bytes, over the {max_bytes}-byte cap")
        written = have
        with open(part, mode) as fh:
            for chunk in response.iter_raw():  # as received: a cut-off transfer keeps every byte it got
                written += len(chunk)
                if written > max_bytes:
                    raise RemoteError(f"output {redact_url(url)} is over the {max_bytes}-byte cap")
                fh.write(chunk)
        return expected is None or written == expected


def _content_range_start(value: str) -> int | None:
    # "bytes 100-999/1000"
    try:
        unit, rest = value.split(" ", 1)
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def env_key(*names: str) -> str | None:
    """The first non-empty environment variable of ``names`` (the value is never logged)."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def fetch_with_refresh(
    status: Any,
    dest: Path,
    *,
    repoll: Callable[[str], Any],
    max_bytes: int,
    allow_http_loopback: bool,
    headers: Mapping[str, str] | None = None,
    same_host_only: str | None = None,
) -> DownloadResult:
    """Download the first output URL of a finished task; if it expired, re-read the task once.

    ``status`` is a TaskStatus; ``repoll(task_id)`` returns a fresh one (signed URLs are
    re-issued on every read of a finished task).
    """
    for refreshed in (False, True):
        if not status.output_urls:
            raise RemoteError(f"task {status.task_id} has no output to download", retryable=not refreshed)
        try:
            return download(
                status.output_urls[0],
                dest,
                headers=headers,
                max_bytes=max_bytes,
                allow_http_loopback=allow_http_loopback,
                same_host_only=same_host_only,
            )
        except ExpiredOutputError:
            if refreshed:
                raise
            log.info("output URL of task %s expired; re-reading the task", status.task_id)
            status = repoll(status.task_id)
    raise AssertionError("unreachable")  # pragma: no cover


def match_aspect(ratio: str, choices: tuple[str, ...]) -> str | None:
    """``ratio`` ("1280:720", "1280x720" or "16:9") as one of the service's "W:H" ``choices``."""
    if ratio in choices:
        return ratio
    try:
        w, h = (float(v) for v in ratio.replace("x", ":").split(":"))
    except ValueError:
        return None
    if not w or not h:
        return None
    for choice in choices:
        cw, ch = (float(v) for v in choice.split(":"))
        if abs(cw / ch - w / h) / (w / h) < 0.01:
            return choice
    return None


def ratio_to_size(ratio: str, sizes: tuple[str, ...], sep: str = "x") -> str | None:
    """Map "1280:720", "1280x720" or an aspect like "16:9" onto one of ``sizes`` ("WxH")."""
    norm = ratio.replace(":", sep).replace("x", sep)
    if norm in sizes:
        return norm
    try:
        w, h = (float(v) for v in norm.split(sep))
    except ValueError:
        return None
    for size in sizes:
        sw, sh = (float(v) for v in size.split(sep))
        if h and sh and abs((sw / sh) - (w / h)) / (w / h) < 0.01:
            return size
    return None


class HttpProvider(Provider):
    """Common frame of the httpx-based providers: one ApiClient, safe downloads, close()."""

    env_base_url: str | None = None
    default_base_url = ""
    default_poll_interval = 5.0

    def __init__(
        self,
        *,
        base_url: str | None = None,
        poll_interval: float | None = None,
        max_concurrency: int = 2,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
        allow_http_loopback: bool = False,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        url = base_url or (env_key(self.env_base_url) if self.env_base_url else None) or self.default_base_url
        self.base_url = api_base(url, allow_http_loopback=allow_http_loopback)
        self.poll_interval = self.default_poll_interval if poll_interval is None else poll_interval
        self.max_concurrency = max_concurrency
        self.max_download_bytes = max_download_bytes
        self.allow_http_loopback = allow_http_loopback
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._api: ApiClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def auth_headers(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def check_key(self) -> None:
        """Raise ProviderError naming the environment variable when the key is missing."""

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            self.check_key()
            self._api = ApiClient(
                self.name,
                self.base_url,
                self.auth_headers,
                policy=self.policy,
                timeout=httpx.Timeout(self.timeout, connect=5.0),
                allow_http_loopback=self.allow_http_loopback,
                classify=self.classify_error,
            )
        return self._api

    def classify_error(self, response: httpx.Response, err: RemoteError) -> RemoteError:
        """Refine a status error from the service's own error body (Kling's ``code``)."""
        return err

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def prepare(self, request: GenerationRequest) -> None:
        """Check the key and open the HTTP client before the take is marked submitting."""
        _ = self.api

    def fetch(self, status: TaskStatus, dest: Path) -> Path:
        return fetch_with_refresh(
            status,
            dest,
            repoll=self.poll,
            max_bytes=self.max_download_bytes,
            allow_http_loopback=self.allow_http_loopback,
        ).path

    def capabilities_for(self, models: dict[str, dict[str, Any]], key_env: str) -> Capabilities:
        kinds = frozenset(ShotKind(k) for m in models.values() for k in m.get("kinds", ()))
        return Capabilities(
            kinds=kinds,
            models=models,
            needs_key=key_env,
            poll_interval=self.poll_interval,
            max_concurrency=self.max_concurrency,
        )


def image_data(path: Path, *, where: str, max_bytes: int, formats: tuple[str, ...]) -> tuple[bytes, str]:
    """Read a local source image for upload: (bytes, mime). UsageError when missing, too big or wrong type."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{where}: {path}: no such file")
    ext = path.suffix.lower().lstrip(".")
    if ext not in formats:
        raise UsageError(f"{where}: {path.name}: use one of {', '.join(formats)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise UsageError(f"{where}: {path.name} is {size} bytes; the service accepts at most {max_bytes}")
    mime = "image/jpeg" if ext in ("jpg", "jpeg") else f"image/{ext}"
    return path.read_bytes(), mime
