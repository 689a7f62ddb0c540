"""pytest fixtures for the stand-in servers; import them into a test module by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .base import LocalServer
from .runway import RunwayApp

# Distinctive fake secrets: test_secrets.py greps every output for them.
RUNWAY_KEY = "key_" + "5ec7e7" * 21 + "ab"  # ^key_[0-9a-f]{128}$
OPENAI_KEY = "sk-test-5ECRET-openai-0123456789"
LUMA_KEY = "luma-test-5ECRET-0123456789"
KLING_AK = "kling-access-5ECRET-ak"
KLING_SK = "kling-secret-5ECRET-sk-0123456789"
FAL_KEY = "fal-id-5ECRET:fal-secret-0123456789"
ALL_SECRETS = (RUNWAY_KEY, OPENAI_KEY, LUMA_KEY, KLING_AK, KLING_SK, FAL_KEY)


@pytest.fixture
def runway_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("RUNWAYML_API_SECRET", RUNWAY_KEY)
    monkeypatch.delenv("RUNWAYML_BASE_URL", raising=False)
    with LocalServer(RunwayApp(RUNWAY_KEY)) as server:
        yield server
