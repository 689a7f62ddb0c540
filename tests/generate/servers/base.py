"""A tiny threaded HTTP server on 127.0.0.1 with fault injection, shared by every stand-in.

Each service stand-in (runway.py, sora.py, ...) is an ``App`` with a ``handle(req)`` that
speaks that service's documented wire contract. ``LocalServer`` runs it on a real socket
in a daemon thread and applies queued ``Fault``s first, so tests can script 429s with and
without Retry-After, 5xx, connection resets (before or after the app acted), slow answers,
malformed JSON, expired storage URLs and truncated downloads.

Storage: apps put output bytes in ``server.files`` and hand out signed URLs
``/files/<name>?sig=<n>``; ``expire_urls()`` makes every URL issued so far answer 403,
like a signed URL past its lifetime. Range requests are honoured (206).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, **headers: str) -> Response:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **headers})


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path`` (regex) with a fault.

    action: "status" (send ``status`` with ``body``/``headers``), "reset" (RST, no answer),
    "reset_after" (let the app act, then RST: the client cannot know it succeeded), "slow"
    (wait ``delay`` s, then answer normally), "malformed" (200 with broken JSON),
    "truncate" (send the headers and half of the app's body, then close).
    """

    method: str
    path: str
    action: str = "status"
    status: int = 500
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": "injected fault"}'
    delay: float = 0.0
    hits: int = 0

    def matches(self, req: Request) -> bool:
        return self.times > 0 and req.method == self.method and re.search(self.path, req.path) is not None


class App:
    """Base for a service stand-in."""

    server: LocalServer

    def handle(self, req: Request) -> Response:  # pragma: no cover - overridden
        return Response(404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        owner = self.server.owner
        fault = owner.take_fault(req)
        owner.record(req)
        if fault is not None and fault.action == "reset":
            self._reset()
            return
        if fault is not None and fault.action == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.action == "status":
            self._send(
                Response(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})
            )
            return
        resp = owner.dispatch(req)
        if fault is not None and fault.action == "reset_after":
            self._reset()
            return
        if fault is not None and fault.action == "malformed":
            resp = Response(200, b'{"id": "broken', {"Content-Type": "application/json"})
        if fault is not None and fault.action == "truncate":
            self._send(resp, truncate=True)
            return
        self._send(resp)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def _send(self, resp: Response, truncate: bool = False) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(resp.body[: len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True  # a clean FIN after half the promised bytes
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        self.wfile.write(resp.body)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (timeouts, kills) are part of the tests


class LocalServer:
    """Runs ``app`` on 127.0.0.1:<free port> in a thread. Use as a context manager."""

    def __init__(self, app: App) -> None:
        self.app = app
        app.server = self
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self._sig = 0
        self._expired_below = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- faults and records ---------------------------------------------------------
    def fault(self, method: str, path: str, action: str = "status", **kw: Any) -> Fault:
        f = Fault(method, path, action, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def take_fault(self, req: Request) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.matches(req):
                    f.times -= 1
                    f.hits += 1
                    return f
        return None

    def record(self, req: Request) -> None:
        with self.lock:
            self.requests.append(req)

    def seen(self, method: str, pattern: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    # -- storage --------------------------------------------------------------------
    def put_file(self, name: str, data: bytes) -> None:
        with self.lock:
            self.files[name] = data

    def signed_url(self, name: str) -> str:
        with self.lock:
            self._sig += 1
            return f"{self.url}/files/{name}?sig={self._sig}"

    def expire_urls(self) -> None:
        """Every URL handed out so far now answers 403, like a signed URL past its expiry."""
        with self.lock:
            self._expired_below = self._sig + 1

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith("/files/"):
            return self._file(req)
        return self.app.handle(req)

    def _file(self, req: Request) -> Response:
        if "authorization" in req.headers:  # storage must never see an API key
            return Response.json(400, {"error": "unexpected Authorization header on storage"})
        name = req.path[len("/files/") :]
        try:
            sig = int(req.query.get("sig", ["0"])[0])
        except ValueError:
            sig = 0
        with self.lock:
            data = self.files.get(name)
            expired = sig < self._expired_below
        if expired or sig == 0:
            return Response(
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        if data is None:
            return Response(404, b"not found")
        headers = {"Content-Type": "video/mp4", "Accept-Ranges": "bytes"}
        rng = req.headers.get("range")
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m:
            start = int(m.group(1))
            if start >= len(data):
                return Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return Response(206, data[start:], headers)
        return Response(200, data, headers)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Clock = Callable[[], float]
