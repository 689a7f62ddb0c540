"""shotline.core.media: media facts and the machinery every operation runs on.

Probe (facts as a frozen MediaInfo), ffmpeg discovery, plans (argv as data), the one runner,
encoder settings, filter-text escaping, clip normalization and the smart-render frame index.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "cluster encode ffmpeg normalize plan probe runner smart text",
    "probe:MediaInfo encode:EncodeSettings plan:Plan plan:Step runner:RunResult ffmpeg:ffmpeg_path",
)
