from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.mediakit import ClipFactory

# The Runway provider's SDK is the 'runway' extra (make test installs it). Without it, the modules
# that drive the Runway provider are left out, and the run's header says so.
RUNWAY_MODULES = ["generate/test_runway.py", "generate/test_faults.py", "generate/test_secrets.py"]
HAS_RUNWAY = importlib.util.find_spec("runwayml") is not None
collect_ignore = [] if HAS_RUNWAY else RUNWAY_MODULES


def pytest_report_header(config: pytest.Config) -> str | None:
    if HAS_RUNWAY:
        return None
    return "the runway extra is not installed (pip install 'shotline[runway]'): skipping " + ", ".join(
        RUNWAY_MODULES
    )


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipFactory:
    """``clips(**ClipSpec fields)`` -> path of a synthesized clip, built once per session."""
    return ClipFactory(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A fresh output folder per test."""
    d = tmp_path / "out"
    d.mkdir()
    return d
