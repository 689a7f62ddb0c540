"""Finding the media of a storyboard's shots: by name in a folder, or from the generation ledger.

The timeline builder, ``shotline timeline build``, the OTIO adapter plugin and ``produce``
all take their shots' media from here, so a storyboard finds the same takes everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotline.core.errors import TimelineError, UsageError
from shotline.core.vocab import SOUND_KINDS

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".m4v")
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg")


@dataclass(frozen=True)
class ShotTake:
    """The generated media chosen for one storyboard shot, and how it was made."""

    path: Path
    take: int = 1
    provider: str | None = None
    model: str | None = None
    seed: int | None = None
    task_id: str | None = None
    cost: float | None = None
    cost_unit: str | None = None
    sfx: Path | None = None  # a sound effect rendered for the shot
    voiceover: Path | None = None  # a voice-over line rendered for the shot
    prompt: str | None = None  # the prompt this take was made from (None: the storyboard's current one)
    negative_prompt: str | None = None


_TAKE_RE = re.compile(r"^(?P<id>.+?)(?:[._-]take[._-]?(?P<take>\d+))?$", re.IGNORECASE)


def takes_from_folder(folder: Path, shot_ids: Sequence[str]) -> dict[str, ShotTake]:
    """Media for shots found by name in ``folder``.

    ``<shot id>.mp4`` (or .mov/.mkv/.webm/.m4v) is the shot; with several takes
    (``<shot id>_take2.mp4``) the lowest take number wins unless a plain ``<shot id>.mp4``
    exists. ``<shot id>.sfx.wav`` and ``<shot id>.vo.wav`` are the shot's sound effect and
    voice-over.
    """
    found: dict[str, ShotTake] = {}
    if not Path(folder).is_dir():
        return found
    wanted = set(shot_ids)
    candidates: dict[str, list[tuple[int, Path]]] = {}
    extras: dict[tuple[str, str], Path] = {}
    for f in sorted(Path(folder).iterdir()):
        if not f.is_file():
            continue
        suffix = f.suffix.lower()
        stem = f.name[: -len(f.suffix)]
        if suffix in AUDIO_SUFFIXES and "." in stem:
            sid, _, kind = stem.rpartition(".")
            if sid in wanted and kind.lower() in ("sfx", "vo"):
                extras[(sid, kind.lower())] = f
            continue
        if suffix not in VIDEO_SUFFIXES:
            continue
        if stem in wanted:
            candidates.setdefault(stem, []).append((0, f))
            continue
        m = _TAKE_RE.match(stem)
        if m and m.group("take") and m.group("id") in wanted:
            candidates.setdefault(m.group("id"), []).append((int(m.group("take")), f))
    for sid, options in candidates.items():
        take, path = min(options)
        found[sid] = ShotTake(
            path=path, take=max(take, 1), sfx=extras.get((sid, "sfx")), voiceover=extras.get((sid, "vo"))
        )
    return found


def takes_from_ledger(ledger_path: Path, shot_ids: Sequence[str]) -> tuple[dict[str, ShotTake], list[str]]:
    """Each shot's newest finished take from the generation ledger, plus notes on what was skipped.

    A ``done`` take whose file is gone is skipped (with a note) in favour of an older one
    that is still on disk. Relative output paths are taken from the ledger's folder. The
    ledger is opened read-only: nothing in it changes, not even an old schema.
    """
    from shotline.core.generate.ledger import Ledger

    if not Path(ledger_path).is_file():
        raise TimelineError(f"{ledger_path}: no such ledger file")
    notes: list[str] = []
    found: dict[str, ShotTake] = {}
    with Ledger(ledger_path, readonly=True) as ledger:
        for sid in shot_ids:
            done = ledger.latest_done(sid)
            sfx = next(
                (f for r in done if r.kind in SOUND_KINDS and (f := ledger.output_file(r)) and f.is_file()),
                None,
            )
            for row in (r for r in done if r.kind not in SOUND_KINDS):
                path = ledger.output_file(row)
                if path is None or not path.is_file():
                    notes.append(
                        f"shot {sid}: take {row.take} is done in the ledger but its file is missing ({path})"
                    )
                    continue
                found[sid] = take_from_row(row, path, sfx)
                break
    return found, notes


def take_from_row(row: Any, path: Path, sfx: Path | None = None) -> ShotTake:
    """The ShotTake of a ledger row: the media and how it was made, as the request recorded it."""
    req = row.request
    return ShotTake(
        path=path,
        take=row.take,
        provider=row.provider,
        model=row.model,
        seed=row.seed,
        task_id=row.task_id,
        cost=row.cost,
        cost_unit=row.cost_unit,
        sfx=sfx,
        prompt=req.get("prompt") if isinstance(req.get("prompt"), str) else None,
        negative_prompt=req.get("negative_prompt") if isinstance(req.get("negative_prompt"), str) else None,
    )


def media_folder(storyboard_dir: Path, media_dir: str | Path | None = None) -> Path:
    """Where a storyboard's shot files are looked for: ``media_dir``, else ``shots/`` beside it, else its folder."""
    if media_dir:
        return Path(media_dir)
    shots = Path(storyboard_dir) / "shots"
    return shots if shots.is_dir() else Path(storyboard_dir)


PRODUCE_LEDGER = "ledger.sqlite"  # what `shotline generate`/`produce` keep in their output folder


def produce_folder_for(storyboard_path: Path) -> Path:
    """Where ``shotline produce STORYBOARD`` writes by default: ``<name>-out`` beside the storyboard."""
    p = Path(storyboard_path)
    return p.with_name(p.name.split(".")[0] + "-out")


def takes_for_storyboard(
    storyboard_path: Path,
    shot_ids: Sequence[str],
    *,
    media_dir: Path | None = None,
    ledger: Path | None = None,
    from_dir: Path | None = None,
) -> tuple[dict[str, ShotTake], list[str]]:
    """Each shot's media for a storyboard, from the first of: ``ledger``; the ledger in ``from_dir``
    (a produce or generate output folder); ``media_dir``; produce's default output folder beside the
    storyboard when it holds a ledger; ``shots/`` beside the storyboard; the storyboard's own folder."""
    if ledger is not None:
        return takes_from_ledger(Path(ledger), shot_ids)
    if from_dir is not None:
        found = Path(from_dir) / PRODUCE_LEDGER
        if not found.is_file():
            raise UsageError(
                f"{from_dir}: no {PRODUCE_LEDGER} here; give the folder shotline produce/generate wrote"
            )
        return takes_from_ledger(found, shot_ids)
    if media_dir is not None:
        return takes_from_folder(Path(media_dir), shot_ids), []
    base = Path(storyboard_path).resolve()
    default = produce_folder_for(base) / PRODUCE_LEDGER
    if default.is_file():
        takes, notes = takes_from_ledger(default, shot_ids)
        return takes, [f"media from {default.parent.name}/ (shotline produce's output)", *notes]
    return takes_from_folder(media_folder(base.parent), shot_ids), []


__all__ = [
    "AUDIO_SUFFIXES",
    "VIDEO_SUFFIXES",
    "ShotTake",
    "PRODUCE_LEDGER",
    "produce_folder_for",
    "takes_for_storyboard",
    "media_folder",
    "take_from_row",
    "takes_from_folder",
    "takes_from_ledger",
]
