"""DaVinci Resolve hand-off: the job file, the script that runs inside Resolve, the installer.

* ``shotline_resolve.py``: the one script Resolve runs (standard library only, Python 3.6+);
  it also holds the job-file validator, so the CLI and Resolve agree on what a job is.
* ``job``: builds and writes the job from a .otio timeline and platform presets.
* ``install``: copies the script into Resolve's Scripts folder and removes only what it put there.
"""

from __future__ import annotations

from shotline.core import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    "install job shotline_resolve",
    "job:build_job job:write_job",
)
