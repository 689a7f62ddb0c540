"""pytest fixtures for the stand-in servers; import them into a test module by name."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from shotline.core.generate.providers.base import GenerationRequest, Provider, ShotKind, TaskStatus

from .base import LocalServer
from .others import FalApp, KlingApp, LumaApp, SoraApp
from .runway import RunwayApp

# Distinctive fake secrets: test_secrets.py greps every output for them.
RUNWAY_KEY = "key_" + "5ec7e7" * 21 + "ab"  # ^key_[0-9a-f]{128}$
OPENAI_KEY = "sk-test-5ECRET-openai-0123456789"
LUMA_KEY = "luma-test-5ECRET-0123456789"
KLING_AK = "kling-access-5ECRET-ak"
KLING_SK = "kling-secret-5ECRET-sk-0123456789"
FAL_KEY = "fal-id-5ECRET:fal-secret-0123456789"
ALL_SECRETS = (RUNWAY_KEY, OPENAI_KEY, LUMA_KEY, KLING_AK, KLING_SK, FAL_KEY)


def _serve(
    monkeypatch: pytest.MonkeyPatch, app: Any, env: dict[str, str], unset: tuple[str, ...] = ()
) -> Iterator[LocalServer]:
    """Run ``app`` on a local server with the service's key variables set (and its base-URL
    variable cleared, so the client's own default is what the test points elsewhere)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    with LocalServer(app) as server:
        yield server


@pytest.fixture
def runway_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from _serve(
        monkeypatch, RunwayApp(RUNWAY_KEY), {"RUNWAYML_API_SECRET": RUNWAY_KEY}, ("RUNWAYML_BASE_URL",)
    )


@pytest.fixture
def sora_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from _serve(monkeypatch, SoraApp(OPENAI_KEY), {"OPENAI_API_KEY": OPENAI_KEY}, ("OPENAI_BASE_URL",))


@pytest.fixture
def luma_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from _serve(monkeypatch, LumaApp(LUMA_KEY), {"LUMAAI_API_KEY": LUMA_KEY}, ("LUMAAI_BASE_URL",))


@pytest.fixture
def kling_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    keys = {"KLINGAI_ACCESS_KEY": KLING_AK, "KLINGAI_SECRET_KEY": KLING_SK}
    yield from _serve(monkeypatch, KlingApp(KLING_AK, KLING_SK), keys)


@pytest.fixture
def fal_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from _serve(monkeypatch, FalApp(FAL_KEY), {"FAL_KEY": FAL_KEY})


def make_req(kind: ShotKind, model: str, **kw: Any) -> GenerationRequest:
    base: dict[str, Any] = dict(
        shot_id="s1", take=1, kind=kind, prompt="a lighthouse at dusk", model=model, duration=5, ratio="16:9"
    )
    base.update(kw)
    return GenerationRequest(**base)


def wait_done(p: Provider, task_id: str, limit: int = 500) -> tuple[TaskStatus, list[str]]:
    """Poll until terminal (bounded); return the final status and the distinct raw states seen."""
    seen: list[str] = []
    for _ in range(limit):
        st = p.poll(task_id)
        if not seen or seen[-1] != st.raw_state:
            seen.append(st.raw_state)
        if st.state.terminal:
            return st, seen
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} never finished: {seen}")
