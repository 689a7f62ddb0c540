"""shotline: storyboard to editor-ready video.

The command line is ``shotline`` (or ``python -m shotline``); the Python API is this
package's top level (see docs/api.md). Names are imported on first use, so
``import shotline`` stays cheap.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__: str = _metadata.version("shotline")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
