"""Putting user text and paths inside ffmpeg filtergraphs safely, and finding a font.

A value inside a filtergraph is unescaped twice: once when the graph is split into
filters (``[ ] , ;`` are special) and once when a filter's options are split
(``:`` and ``=`` are special). Both levels use the same rule (``av_get_token``):
inside single quotes every character is literal except the closing quote, and
outside quotes a backslash escapes the next character. So quoting a value once per
level, with each ``'`` written as ``'\\''``, makes any string (colons, quotes,
percent signs, backslashes, brackets, unicode) arrive unchanged.

drawtext adds a third level, ``%{...}`` expansion, which ``drawtext_text`` turns
off (``expansion=none``) for user text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shotline.core.errors import DependencyError, UsageError, shown


def quote_level(value: str) -> str:
    """Quote ``value`` for one level of ffmpeg's av_get_token unescaping."""
    return "'" + value.replace("'", "'\\''") + "'"


def filter_value(value: str | os.PathLike[str]) -> str:
    """A filter option value that survives both filtergraph levels unchanged."""
    return quote_level(quote_level(str(value)))


# Fonts tried when fontconfig has nothing: common locations on Debian/Ubuntu,
# Fedora, Arch, macOS and Windows. DejaVu Sans first: it covers Latin, Greek,
# Cyrillic and many symbols, so captions in those scripts render.
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Helvetica.ttc",
    "C:\\Windows\\Fonts\\arial.ttf",
)


def find_font(font: str | os.PathLike[str] | None = None) -> Path:
    """The font file drawtext will use.

    ``font`` may be a file path or a fontconfig pattern ("DejaVu Sans:bold").
    Without one: fontconfig's default sans face (``fc-match sans``), then the
    well-known files in FALLBACK_FONTS, then matplotlib's bundled DejaVu Sans
    if matplotlib happens to be installed. Passing the file (``fontfile=``)
    rather than a family name keeps the result independent of how the ffmpeg
    binary was built.
    """
    if font is not None:
        p = Path(font)
        if p.is_file():
            return p
        if p.suffix.lower() in (".ttf", ".otf", ".ttc", ".pfb") or os.sep in str(font):
            raise UsageError(f"{shown(p)}: font file not found (--font)")
        found = _fc_match(str(font))
        if found is None:
            raise DependencyError(f"font {font!r}: fontconfig found no match; pass a font file with --font")
        return found
    found = _fc_match("sans")
    if found is not None:
        return found
    for name in FALLBACK_FONTS:
        if Path(name).is_file():
            return Path(name)
    try:  # pragma: no cover - depends on the machine
        import matplotlib

        bundled = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if bundled.is_file():
            return bundled
    except ImportError:  # pragma: no cover
        pass
    raise DependencyError(  # pragma: no cover
        "no font found for drawtext: install fonts-dejavu (or any TrueType font) or pass --font FILE"
    )


def font_available() -> bool:
    """Whether find_font() finds a font here (tests that draw text skip without one)."""
    try:
        find_font()
    except DependencyError:
        return False
    return True


def _fc_match(pattern: str) -> Path | None:
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        r = subprocess.run(
            [exe, "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(r.stdout.strip())
    return path if r.returncode == 0 and r.stdout.strip() and path.is_file() else None
