"""shotline.otio_adapters: everything that speaks OpenTimelineIO.

``timeline`` (read any timeline and its rate), ``build`` (storyboards and clips to OTIO),
``conform`` (render a timeline with ffmpeg), ``export`` (every NLE format OTIO's adapters
write, with what each loses), ``bundle`` (.otioz), ``resolve_shape`` (the OTIO Resolve
imports) and ``shotline_adapter`` (the storyboard as an OTIO adapter plugin).
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "build bundle conform export resolve_shape shotline_adapter takes timeline",
    "timeline:read_timeline timeline:timeline_rate build:build_timeline build:build_from_files build:build_from_storyboard build:parse_transition export:export_timeline conform.render:render_timeline",
)
