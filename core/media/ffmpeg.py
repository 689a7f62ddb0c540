"""Finding ffmpeg: ``SHOTLINE_FFMPEG``, then ``ffmpeg`` on PATH, then imageio-ffmpeg's bundled binary."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from shotline.core.errors import DependencyError

ENV_VAR = "SHOTLINE_FFMPEG"


@dataclass(frozen=True)
class FFmpegBinary:
    path: str
    source: str  # "env", "path" or "imageio-ffmpeg"

    @property
    def version(self) -> str:
        """Asked of the binary on first use only: every CLI process finds ffmpeg, few need its version."""
        return _version_of(self.path)


@functools.lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError as exc:
        raise DependencyError(f"cannot run ffmpeg at {path}: {exc}") from exc
    m = re.match(r"ffmpeg version (\S+)", out)
    if not m:
        raise DependencyError(f"{path} does not look like ffmpeg (no version line)")
    return m.group(1)


@functools.lru_cache(maxsize=1)
def find_ffmpeg() -> FFmpegBinary:
    """Return the ffmpeg binary shotline will use, cached for the process."""
    env = os.environ.get(ENV_VAR)
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise DependencyError(f"{ENV_VAR}={env} is not an executable file")
        return FFmpegBinary(env, "env")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return FFmpegBinary(on_path, "path")
    return FFmpegBinary(_bundled_ffmpeg(), "imageio-ffmpeg")


def _bundled_ffmpeg() -> str:
    """imageio-ffmpeg's binary. Its wheels ship exactly one, in the package's ``binaries``
    folder: take it from there directly (without even importing the package), because
    ``get_ffmpeg_exe()`` runs ``ffmpeg -version`` to validate it, which costs every CLI
    process 20-30 ms. Anything unusual (the IMAGEIO_FFMPEG_EXE override, no or several
    binaries) goes through imageio-ffmpeg's own search."""
    import importlib.util

    spec = importlib.util.find_spec("imageio_ffmpeg")
    if spec is None:  # pragma: no cover - it is a hard dependency
        raise DependencyError("no ffmpeg found: install ffmpeg or the imageio-ffmpeg package")
    if not os.environ.get("IMAGEIO_FFMPEG_EXE"):
        found = []
        for folder in spec.submodule_search_locations or ():
            bindir = os.path.join(folder, "binaries")
            try:
                names = os.listdir(bindir)
            except OSError:
                continue
            found += [os.path.join(bindir, n) for n in names if n.startswith("ffmpeg-")]
        found = [f for f in found if os.path.isfile(f) and os.access(f, os.X_OK)]
        if len(found) == 1:
            return found[0]
    import imageio_ffmpeg

    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise DependencyError(f"no ffmpeg found: {exc}") from exc


def ffmpeg_path() -> str:
    """The ffmpeg binary shotline runs (see :func:`find_ffmpeg` for the order it looks in)."""
    return find_ffmpeg().path


@functools.lru_cache(maxsize=1)
def encoders() -> frozenset[str]:
    """Names of the encoders this ffmpeg was built with."""
    out = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def filters() -> frozenset[str]:
    """Names of the filters this ffmpeg was built with."""
    out = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-filters"], capture_output=True, text=True, check=False
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)


@functools.cache
def encoder_works(name: str) -> bool:
    """Whether ``name`` can really encode here (hardware encoders are compiled in but need a device)."""
    if name not in encoders():
        return False
    kind = "a" if name in ("aac", "libmp3lame", "libopus", "flac") else "v"
    src = "anullsrc=r=48000:cl=stereo" if kind == "a" else "color=c=gray:s=256x256:r=25"
    argv = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        src,
        "-frames:" + kind,
        "3",
        f"-c:{kind}",
        name,
    ]
    if name == "gif":
        argv += ["-pix_fmt", "rgb8"]
    argv += ["-f", "null", "-"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
