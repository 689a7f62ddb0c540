"""The vocabulary every stage shares: one home for each fact that two stages need.

Transition names, the ledger kinds that carry sound, the environment variables that hold
secrets, frame-rate and size parsing, content hashes and the SIGTERM guard. Each of these was
once written in several places and the copies drifted apart; a new stage imports them from here.

This module imports nothing from shotline but the errors, so any layer may use it.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import MediaError, UsageError

# ----------------------------------------------------------------------------- transitions

# ffmpeg's xfade transitions (ffmpeg 6-9; "custom" needs expressions and is left out). Note
# that ffmpeg's own "dissolve" is a noise dissolve; a cross dissolve is xfade "fade".
XFADE_TRANSITIONS: tuple[str, ...] = (
    "fade", "fadeblack", "fadewhite", "fadegrays", "fadefast", "fadeslow", "dissolve", "distance",
    "wipeleft", "wiperight", "wipeup", "wipedown", "wipetl", "wipetr", "wipebl", "wipebr",
    "slideleft", "slideright", "slideup", "slidedown",
    "smoothleft", "smoothright", "smoothup", "smoothdown",
    "circlecrop", "rectcrop", "circleopen", "circleclose", "vertopen", "vertclose", "horzopen", "horzclose",
    "radial", "pixelize", "diagtl", "diagtr", "diagbl", "diagbr",
    "hlslice", "hrslice", "vuslice", "vdslice", "hblur", "squeezeh", "squeezev", "zoomin",
    "hlwind", "hrwind", "vuwind", "vdwind",
    "coverleft", "coverright", "coverup", "coverdown", "revealleft", "revealright", "revealup", "revealdown",
)  # fmt: skip
XFADE_NAMES = frozenset(XFADE_TRANSITIONS)

# What editors call a transition in storyboards and timelines -> the xfade that draws it.
# "dissolve" is the editor's cross dissolve; ffmpeg's noise dissolve is "noise-dissolve" there.
TRANSITION_ALIASES = {
    "dissolve": "fade",
    "crossfade": "fade",
    "cross-dissolve": "fade",
    "noise-dissolve": "dissolve",
}
CUT_NAMES = ("cut", "none")


def timeline_transition(name: str) -> str | None:
    """An editor's transition name as the xfade that draws it; None for a cut.

    Raises ``UsageError`` for a name no renderer knows.
    """
    key = name.strip().lower()
    if key in CUT_NAMES or key == "":
        return None
    xfade = TRANSITION_ALIASES.get(key, key)
    if xfade not in XFADE_NAMES:
        raise UsageError(
            f"transition {name!r}: unknown; use dissolve or an ffmpeg xfade name such as wipeleft, slideup"
        )
    return xfade


def timeline_transition_names() -> tuple[str, ...]:
    """Every name a storyboard or timeline transition may carry (cut, aliases, xfade names)."""
    return ("cut", *sorted(TRANSITION_ALIASES), *sorted(XFADE_NAMES - set(TRANSITION_ALIASES)))


# ffmpeg paletteuse's dithers, offered by `shotline gif --dither` and checked by core.ops.gif
GIF_DITHERS = (
    "none",
    "sierra2_4a",
    "floyd_steinberg",
    "bayer",
    "sierra2",
    "sierra3",
    "burkes",
    "atkinson",
    "heckbert",
)

# ----------------------------------------------------------------------------- ledger kinds

SOUND_KINDS = ("sound-effect",)  # ledger (and ShotKind) values whose takes are sound, not pictures

# ----------------------------------------------------------------------------- secrets

# Every environment variable any provider reads a secret from. The error scrubber, `shotline
# doctor` and the logs use this one list; a provider module names its own from here.
SECRET_ENV_NAMES: tuple[str, ...] = (
    "RUNWAYML_API_SECRET",
    "OPENAI_API_KEY",
    "LUMAAI_API_KEY",
    "KLINGAI_ACCESS_KEY",
    "KLINGAI_SECRET_KEY",
    "KLING_ACCESS_KEY",
    "KLING_SECRET_KEY",
    "FAL_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
)

# ----------------------------------------------------------------------------- rates and sizes

# Well-known NTSC-style rates that files and people write as decimals (23.976, 29.97...).
NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001), Fraction(48000, 1001))


def exact_rate(rate: float | Fraction | int) -> Fraction:
    """A rate as the exact fraction it stands for: 29.97 -> 30000/1001, 25.0 -> 25."""
    if isinstance(rate, Fraction):
        return rate
    if isinstance(rate, int):
        return Fraction(rate)
    for ntsc in NTSC_RATES:
        if abs(float(ntsc) - rate) < 2e-3:
            return ntsc
    return Fraction(rate).limit_denominator(1001)


def parse_rate(value: str | float | int | Fraction, what: str = "frame rate") -> Fraction:
    """``"29.97"``, ``"30000/1001"``, ``24`` or a Fraction -> an exact positive Fraction.

    A decimal is read as the rate it stands for (29.97 and 23.976 are NTSC rates); a fraction
    is taken as written. Raises ``UsageError`` with an example of what is accepted.
    """
    if isinstance(value, bool):
        raise UsageError(f"{what} {value!r}: not a rate such as 24, 25, 29.97 or 30000/1001")
    try:
        if isinstance(value, Fraction):
            rate = value
        elif isinstance(value, int):
            rate = Fraction(value)
        elif isinstance(value, float):
            rate = exact_rate(value)
        else:
            text = str(value).strip()
            rate = exact_rate(float(text)) if "." in text and "/" not in text else Fraction(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise UsageError(f"{what} {value!r}: not a rate such as 24, 25, 29.97 or 30000/1001") from None
    if not rate > 0:
        raise UsageError(f"{what} {value!r}: must be positive")
    return rate


_SIZE = re.compile(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*")
MAX_SIDE = 16384  # the largest side any encoder shotline drives accepts


def parse_size(text: str, what: str = "size") -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080). Each side from 2 to 16384; ``UsageError`` otherwise."""
    m = _SIZE.fullmatch(str(text))
    if not m:
        raise UsageError(f"{what} {text!r}: not WIDTHxHEIGHT (e.g. 1920x1080)")
    w, h = int(m[1]), int(m[2])
    if w < 2 or h < 2:
        raise UsageError(f"{what} {text!r}: too small (each side must be at least 2 pixels)")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise UsageError(f"{what} {text!r}: too large (each side must be at most {MAX_SIDE} pixels)")
    return w, h


# ----------------------------------------------------------------------------- hashing


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks. ``OSError`` passes through."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def file_checksum(path: str | Path) -> str:
    """``sha256_file`` for a file the user gave: a MediaError naming it when it cannot be read."""
    try:
        return sha256_file(path)
    except OSError as exc:
        raise MediaError(path, f"cannot read ({exc.strerror or exc})") from None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_hash(*parts: Any) -> str:
    """SHA-256 of a JSON rendering of ``parts`` (paths and other objects as strings)."""
    return sha256_text(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False))


# ----------------------------------------------------------------------------- signals


def _sigterm_to_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def install_sigterm() -> Any:
    """Make SIGTERM raise KeyboardInterrupt, so one cleanup path serves Ctrl-C and a kill.

    Returns the previous handler for :func:`restore_sigterm`; None off the main thread (only it
    may set signal handlers), where nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    except ValueError:  # pragma: no cover - not the main interpreter
        return None


def restore_sigterm(old: Any) -> None:
    if old is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, old)


__all__ = [
    "GIF_DITHERS",
    "MAX_SIDE",
    "NTSC_RATES",
    "SECRET_ENV_NAMES",
    "SOUND_KINDS",
    "TRANSITION_ALIASES",
    "XFADE_NAMES",
    "XFADE_TRANSITIONS",
    "exact_rate",
    "file_checksum",
    "parse_rate",
    "parse_size",
    "sha256_file",
    "sha256_text",
    "install_sigterm",
    "restore_sigterm",
    "stable_hash",
    "timeline_transition",
    "timeline_transition_names",
]
