"""shotline.core.ops: every post-processing operation, each a plan builder over core.media.

Cutting-room basics (trim, concat, fade/loop/speed, transitions), sound, previews (gif, frames,
thumbs), platform presets and reframing, resize, LUTs and review burn-ins.

Each operation is a module with a ``plan_*`` builder and a function that runs it
(``from shotline.core.ops.trim import trim``); the functions share their module's name, so
this package lists the modules.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "audio burnin concat detect effects frames gif lut presets reframe resize thumbs track transitions trim",
)
