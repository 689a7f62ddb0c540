"""The editor's take selection: ``OUTDIR/selection.json``, read by ``produce`` on every run.

``{"version": 1, "takes": {"harbour-wide": 2}}`` puts take 2 of shot ``harbour-wide`` in
the edit, whatever review chose. The report's "use this take" buttons write this file
(download it into the folder) and ``shotline produce --use SHOT=TAKE`` updates it. A
changed selection re-runs the timeline and what follows it; generation and review stay.
A broken file stops the run before anything is written, with the reason on one line.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path

from shotline.core.errors import UsageError
from shotline.core.media.runner import write_text_atomic

SELECTION_FILE = "selection.json"
VERSION = 1
SHAPE = '{"version": 1, "takes": {"SHOT": TAKE}}'


def selection_path(outdir: str | Path) -> Path:
    return Path(outdir) / SELECTION_FILE


def _check(path: Path, raw: object, shots: Collection[str]) -> dict[str, int]:
    if not isinstance(raw, dict) or not isinstance(raw.get("takes"), dict):
        raise UsageError(f"{path}: expected {SHAPE}; fix it, or delete it to keep review's choices")
    if raw.get("version", VERSION) != VERSION:
        raise UsageError(
            f"{path}: version {raw.get('version')!r} is not known (this shotline reads {VERSION})"
        )
    takes: dict[str, int] = {}
    for shot, take in raw["takes"].items():
        if shot not in shots:
            known = ", ".join(sorted(shots))
            raise UsageError(f"{path}: no shot '{shot}' in the storyboard (its shots: {known})")
        if isinstance(take, bool) or not isinstance(take, int) or take < 1:
            raise UsageError(f"{path}: shot '{shot}': the take must be a whole number from 1, got {take!r}")
        takes[shot] = take
    return takes


def load_selection(outdir: str | Path, shots: Collection[str]) -> dict[str, int]:
    """The editor's takes by shot id ({} without a file); UsageError naming the fault otherwise."""
    path = selection_path(outdir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path}: cannot be read ({exc}); fix it, or delete it to keep review's choices"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); "
            "fix it, or delete it to keep review's choices"
        ) from None
    return _check(path, raw, shots)


def parse_uses(uses: Iterable[str], shots: Collection[str]) -> dict[str, int | None]:
    """``SHOT=TAKE`` (or ``SHOT=auto``: review decides again) into {shot: take or None}."""
    out: dict[str, int | None] = {}
    for use in uses:
        shot, eq, take = use.partition("=")
        if not eq or not shot:
            raise UsageError(f"--use {use!r}: expected SHOT=TAKE, e.g. --use harbour-wide=2 (or SHOT=auto)")
        if shot not in shots:
            raise UsageError(
                f"--use {use!r}: no shot '{shot}' in the storyboard (its shots: {', '.join(sorted(shots))})"
            )
        if take == "auto":
            out[shot] = None
        elif take.isdigit() and int(take) >= 1:
            out[shot] = int(take)
        else:
            raise UsageError(f"--use {use!r}: the take must be a whole number from 1, or auto")
    return out


def update_selection(outdir: str | Path, uses: Iterable[str], shots: Collection[str]) -> Path:
    """Apply ``--use`` arguments to the selection file (written atomically); returns its path."""
    changes = parse_uses(uses, shots)
    takes = load_selection(outdir, shots)  # a broken file stops here, untouched
    for shot, take in changes.items():
        if take is None:
            takes.pop(shot, None)
        else:
            takes[shot] = take
    path = selection_path(outdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps({"version": VERSION, "takes": takes}, indent=2) + "\n")
