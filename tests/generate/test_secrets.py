"""API keys never leave the process: not in logs, errors, the ledger, outputs or --json.

The whole ``shotline generate`` flow runs on the real Runway client against the local
stand-in, with faults that produce error messages (including a server that echoes our
Authorization header into its error body), and every byte that comes out is searched
for the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import ShotlineError
from shotline.core.generate.providers import registry
from shotline.core.generate.providers.base import ShotKind
from shotline.core.generate.providers.http import redact
from shotline.core.generate.providers.kling import KlingProvider
from shotline.core.generate.providers.luma import LumaProvider
from shotline.core.generate.providers.pika import PikaProvider
from shotline.core.generate.providers.runway import RunwayProvider
from shotline.core.generate.providers.sora import SoraProvider
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import ALL_SECRETS, RUNWAY_KEY, make_req
from tests.generate.servers.runway import Outcome, RunwayApp

runway_server = fixtures.runway_server
sora_server = fixtures.sora_server
luma_server = fixtures.luma_server
kling_server = fixtures.kling_server
fal_server = fixtures.fal_server


class LoopbackRunway(RunwayProvider):
    """The real Runway provider, allowed (test-only) to talk plain http to 127.0.0.1."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(allow_http_loopback=True, poll_interval=0.02, **kw)


STORYBOARD = """
title: Secrets
output: {width: 1280, height: 720, fps: 24, aspect: "16:9"}
style: "cinematic"
negative_prompt: "watermark"
defaults: {provider: runway, model: gen4.5, duration: 5, takes: 1}
shots:
  - {id: ok-shot, kind: text-to-video, prompt: "a harbour at dawn", takes: 2}
  - {id: echo-shot, kind: text-to-video, prompt: "ECHO a lighthouse"}
  - {id: unsafe-shot, kind: text-to-video, prompt: "UNSAFE a storm"}
"""


@pytest.fixture
def loopback_runway(runway_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("RUNWAYML_BASE_URL", runway_server.url)
    monkeypatch.setitem(registry.PROVIDERS, "runway", f"{__name__}:LoopbackRunway")
    yield runway_server


def assert_clean(blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for secret in ALL_SECRETS:
        assert secret.encode() not in data, f"a key leaked into {where}"
    assert b"Bearer key_" not in data, f"a bearer token leaked into {where}"


def test_generate_flow_keeps_the_key_out_of_everything(
    loopback_runway: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = loopback_runway
    app = server.app
    assert isinstance(app, RunwayApp)
    app.outcome = lambda body: (
        Outcome("FAILED", f"input rejected for key {RUNWAY_KEY}", "SAFETY.INPUT.TEXT")
        if "UNSAFE" in body.get("promptText", "")
        else Outcome()
    )
    # A broken proxy that echoes our Authorization header into a 400 for one shot.
    server.fault("POST", r"^/v1/text_to_video$", status=429, headers={"retry-after-ms": "5"})
    echo = json.dumps({"error": f"bad request, you sent Authorization: Bearer {RUNWAY_KEY}"}).encode()
    original = app.handle

    def handle(req: Any) -> Any:
        if req.method == "POST" and b"ECHO" in req.body:
            from tests.generate.servers.base import Response

            return Response(400, echo, {"Content-Type": "application/json"})
        return original(req)

    app.handle = handle  # type: ignore[method-assign]
    sb = tmp_path / "film.yaml"
    sb.write_text(STORYBOARD)
    outdir = tmp_path / "takes"
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(
        cli, ["-vv", "generate", str(sb), "-o", str(outdir), "--json", "--poll-interval", "0.02"]
    )
    assert result.exit_code != 0  # two shots failed on purpose
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    statuses = {(t["shot"], t["take"]): t["status"] for t in payload["takes"]}
    assert statuses[("ok-shot", 1)] == statuses[("ok-shot", 2)] == "done"
    assert statuses[("echo-shot", 1)] == statuses[("unsafe-shot", 1)] == "failed"
    errors = " ".join(t["error"] or "" for t in payload["takes"])
    assert "bad request" in errors and "input rejected" in errors  # the messages survive, redacted

    assert_clean(result.stdout, "stdout / --json")
    assert_clean(result.stderr, "stderr")
    assert_clean("\n".join(r.getMessage() for r in caplog.records), "the logs")
    for path in outdir.rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), str(path.relative_to(outdir)))  # ledger (+WAL), manifest, takes
    # and the key really was sent, to the API only
    assert server.seen("POST", r"^/v1/")[0].headers["authorization"] == f"Bearer {RUNWAY_KEY}"
    assert all("authorization" not in r.headers for r in server.seen("GET", r"^/files/"))


def _bad_key_errors(provider: Any, server: LocalServer, kind: ShotKind, model: str, **kw: Any) -> str:
    """Make the stand-in reject our key (it now expects another) and return the error text."""
    app = server.app
    for attr in ("api_key", "key", "secret_key"):
        if hasattr(app, attr):
            setattr(app, attr, "something-else")
    with pytest.raises(ShotlineError) as info:
        provider.submit(make_req(kind, model, **kw))
    return f"{info.value} {info.value!r} {provider!r} {info.value.__cause__!r}"


def test_auth_failures_do_not_echo_keys(
    runway_server: LocalServer,
    sora_server: LocalServer,
    luma_server: LocalServer,
    kling_server: LocalServer,
    fal_server: LocalServer,
) -> None:
    texts = [
        _bad_key_errors(
            RunwayProvider(base_url=runway_server.url, allow_http_loopback=True),
            runway_server,
            ShotKind.TEXT_TO_VIDEO,
            "gen4.5",
        ),
        _bad_key_errors(
            SoraProvider(base_url=sora_server.url + "/v1", allow_http_loopback=True),
            sora_server,
            ShotKind.TEXT_TO_VIDEO,
            "sora-2",
            duration=4,
        ),
        _bad_key_errors(
            LumaProvider(base_url=luma_server.url + "/dream-machine/v1", allow_http_loopback=True),
            luma_server,
            ShotKind.TEXT_TO_VIDEO,
            "ray-2",
        ),
        _bad_key_errors(
            KlingProvider(base_url=kling_server.url, allow_http_loopback=True),
            kling_server,
            ShotKind.TEXT_TO_VIDEO,
            "kling-v1",
        ),
        _bad_key_errors(
            PikaProvider(base_url=fal_server.url, allow_http_loopback=True),
            fal_server,
            ShotKind.TEXT_TO_VIDEO,
            "v2.5",
        ),
    ]
    for text in texts:
        assert "401" in text
        assert_clean(text, "an error message")


def test_redact_scrubs_configured_keys_and_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", fixtures.FAL_KEY)
    text = redact(
        f"echo {fixtures.FAL_KEY} Authorization: Key abc123 Bearer eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl"
    )
    assert fixtures.FAL_KEY not in text and "abc123" not in text and "eyJ" not in text
