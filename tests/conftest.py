from __future__ import annotations

from pathlib import Path

import pytest

from tests.mediakit import ClipFactory


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
