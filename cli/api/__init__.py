"""shotline: storyboard to editor-ready video.

The command line is ``shotline`` (or ``python -m shotline``); the Python API is this package's
top level, documented in docs/api.md::

    import shotline

    info = shotline.probe("clip.mp4")
    shotline.xfade(["a.mp4", "b.mp4"], "ab.mp4", transition="dissolve:0.5")
    edit = shotline.timeline(["a.mp4", "b.mp4"], transition="dissolve:0.5", rate="29.97")
    shotline.render(edit, "edit.mp4")
    shotline.export(edit, "edit.edl")

Names are imported on first use, so ``import shotline`` stays cheap (no PyAV, OTIO or numpy).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)

__all__ = [
    "__version__",
    "probe",
    "concat",
    "trim",
    "fade",
    "xfade",
    "loop",
    "speed",
    "gif",
    "reframe",
    "timeline",
    "render",
    "export",
    "upscale_video",
    "produce",
    "as_rate",
    "as_transition",
    "ShotlineError",
    "UsageError",
    "MediaError",
    "FFmpegError",
    "ProviderError",
    "DependencyError",
    "TimelineError",
    "MediaInfo",
    "EncodeSettings",
]

# public name -> "module:attribute", imported on first access
_LAZY: dict[str, str] = {
    "probe": "shotline._public:probe",
    "concat": "shotline._public:concat",
    "trim": "shotline._public:trim",
    "fade": "shotline._public:fade",
    "xfade": "shotline._public:xfade",
    "loop": "shotline._public:loop",
    "speed": "shotline._public:speed",
    "gif": "shotline._public:gif",
    "reframe": "shotline._public:reframe",
    "timeline": "shotline._public:timeline",
    "render": "shotline._public:render",
    "export": "shotline._public:export",
    "upscale_video": "shotline._public:upscale_video",
    "produce": "shotline._public:produce",
    "as_rate": "shotline._public:as_rate",
    "as_transition": "shotline._public:as_transition",
    "ShotlineError": "shotline.core.errors:ShotlineError",
    "UsageError": "shotline.core.errors:UsageError",
    "MediaError": "shotline.core.errors:MediaError",
    "FFmpegError": "shotline.core.errors:FFmpegError",
    "ProviderError": "shotline.core.errors:ProviderError",
    "DependencyError": "shotline.core.errors:DependencyError",
    "TimelineError": "shotline.core.errors:TimelineError",
    "MediaInfo": "shotline.core.media.probe:MediaInfo",
    "EncodeSettings": "shotline.core.media.encode:EncodeSettings",
}

if TYPE_CHECKING:
    from typing import Any

    from shotline._public import (
        as_rate,
        as_transition,
        concat,
        export,
        fade,
        gif,
        loop,
        probe,
        produce,
        reframe,
        render,
        speed,
        timeline,
        trim,
        upscale_video,
        xfade,
    )
    from shotline.core.errors import (
        DependencyError,
        FFmpegError,
        MediaError,
        ProviderError,
        ShotlineError,
        TimelineError,
        UsageError,
    )
    from shotline.core.media.encode import EncodeSettings
    from shotline.core.media.probe import MediaInfo


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata costs more than the rest of `import shotline`
        from importlib import metadata

        try:
            version = metadata.version("shotline")
        except metadata.PackageNotFoundError:  # pragma: no cover - a tree that is not installed
            version = "0.0.0"
        globals()["__version__"] = version
        return version
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'shotline' has no attribute {name!r}")
    import importlib

    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
