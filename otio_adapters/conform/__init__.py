"""Conform: render any OTIO timeline to video with ffmpeg.

``model`` reads a timeline into a flat, frame-exact render model; ``graph`` writes one ffmpeg
filter graph for it; ``smart`` copies untouched GOPs and encodes only around edits; ``render``
ties them together behind :func:`render_timeline`.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "edl graph model parallel render smart",
    "render:render_timeline render:plan_render render:RenderOptions render:RenderResult model:build_conform",
)
