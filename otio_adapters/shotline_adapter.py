"""shotline's storyboard as an OTIO adapter plugin: ``film.shotline.yaml`` reads as a timeline.

Installed through the ``opentimelineio.plugins`` entry point (see plugin_manifest.json), so
with shotline installed, and no shotline command involved::

    otio.adapters.read_from_file("film.shotline.yaml")
    otioconvert -i film.shotline.yaml -o film.edl

Each shot's media is the newest finished take in the generation ledger given as the
``ledger`` adapter argument, or in the folder ``shotline produce`` wrote (the ``from_dir``
argument; by default ``<storyboard>-out`` beside the storyboard when it holds a ledger);
without one it is found by name (``<shot id>.mp4``, ``<shot id>_take2.mp4``...) in the
``media_dir`` adapter argument, else in a ``shots/`` folder beside the storyboard, else
beside the storyboard itself. The shots' source stills need not exist: the edit is built
from their media. Shots with no media yet become offline clips of the planned
duration (``allow_missing=False`` makes that an error), so a storyboard reads as an
animatic edit before anything is generated. Adapter arguments pass through
``otioconvert -a media_dir=...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def read_from_file(
    filepath: str,
    media_dir: str | None = None,
    ledger: str | None = None,
    allow_missing: Any = True,
    from_dir: str | None = None,
    **_: Any,
) -> otio.schema.Timeline:
    """Read a storyboard file (YAML or JSON) as the OTIO timeline of its edit."""
    from shotline.core.generate.storyboard import load_storyboard
    from shotline.otio_adapters.takes import takes_for_storyboard

    sb = load_storyboard(filepath, check_files=False)
    takes, notes = takes_for_storyboard(
        Path(filepath),
        [s.id for s in sb.shots],
        media_dir=Path(media_dir) if media_dir else None,
        ledger=Path(ledger) if ledger else None,
        from_dir=Path(from_dir) if from_dir else None,
    )
    return _timeline(sb, takes, notes, _truthy(allow_missing))


def read_from_string(
    input_str: str, media_dir: str | None = None, allow_missing: Any = True, **_: Any
) -> otio.schema.Timeline:
    """Read storyboard text; relative paths resolve against the current folder."""
    from shotline.core.generate.storyboard import from_dict, parse_text
    from shotline.otio_adapters.takes import media_folder, takes_from_folder

    sb = from_dict(parse_text(input_str), base_dir=Path.cwd(), check_files=False)
    folder = media_folder(Path.cwd(), media_dir)
    return _timeline(sb, takes_from_folder(folder, [s.id for s in sb.shots]), [], _truthy(allow_missing))


def _timeline(sb: Any, takes: Any, notes: list[str], allow_missing: bool) -> otio.schema.Timeline:
    # absolute: OTIO loads this file by path, outside the shotline package
    from shotline.otio_adapters.build import build_from_storyboard

    result = build_from_storyboard(sb, takes, allow_missing=allow_missing)
    if notes:
        result.timeline.metadata["shotline"]["notes"] = notes + list(result.notes)
    return result.timeline
