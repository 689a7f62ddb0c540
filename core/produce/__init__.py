"""shotline.core.produce: the top of the flow, storyboard to every deliverable.

The producer (the stage table, retakes, resume), the resumable stage runner and the static report.
It is the only part of core that may import otio_adapters, upscale and resolve_plugin.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "many producer progress report selection stages",
    "producer:produce producer:ProduceOptions producer:ProduceResult producer:Producer",
)
