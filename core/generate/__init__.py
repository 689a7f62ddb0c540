"""shotline.core.generate: storyboard to takes.

The storyboard (validated data), the camera and style vocabulary, the prompt builder, the
providers (one module per AI service, plus the offline local animatic), the SQLite ledger and
the resumable orchestrator that asks providers for every take exactly once.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "ledger orchestrator prompt providers storyboard take_manifest vlm",
    "storyboard:Storyboard storyboard:load_storyboard ledger:Ledger orchestrator:Orchestrator orchestrator:BatchConfig orchestrator:plan_storyboard",
)
