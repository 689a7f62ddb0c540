"""Resumable stages: run a named step only when its inputs changed or its outputs went missing.

Each stage records, in a JSON state file, a key (a hash of everything it read:
upstream outputs' checksums, the storyboard, the options) and the outputs it
wrote with their sizes, mtimes and SHA-256. On the next run a stage whose key
matches and whose outputs are still the same files is skipped; anything else
runs again, and so does everything downstream of it (their keys include its
outputs' checksums). The state file is replaced atomically after each stage, so
a crash loses at most the stage that was running.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotline.core.vocab import sha256_file, stable_hash

STATE_VERSION = 1


@dataclass
class StageRecord:
    key: str
    outputs: dict[str, dict[str, Any]]  # name -> {path, size, mtime_ns, sha256}
    info: dict[str, Any] = field(default_factory=dict)
    finished: float = 0.0
    seconds: float = 0.0

    def path(self, name: str) -> Path:
        return Path(self.outputs[name]["path"])

    def paths(self) -> dict[str, Path]:
        return {k: Path(v["path"]) for k, v in self.outputs.items()}

    def checksums(self) -> dict[str, str]:
        return {k: str(v["sha256"]) for k, v in self.outputs.items()}


def describe_output(path: Path, known: Mapping[str, Any] | None = None) -> dict[str, Any]:
    st = path.stat()
    if known and known.get("size") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns:
        digest = known["sha256"]  # same file as last time: skip re-hashing
    else:
        digest = sha256_file(path) if path.is_file() else stable_hash(sorted(os.listdir(path)))
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}


class StageState:
    """The JSON state file of one output folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, StageRecord] = {}
        if path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}
            if raw.get("version") == STATE_VERSION:
                for name, r in raw.get("stages", {}).items():
                    self.records[name] = StageRecord(
                        r["key"],
                        r["outputs"],
                        r.get("info", {}),
                        r.get("finished", 0.0),
                        r.get("seconds", 0.0),
                    )

    def valid(self, name: str, key: str) -> StageRecord | None:
        """The record if the stage ran with this key and its outputs are unchanged."""
        rec = self.records.get(name)
        if rec is None or rec.key != key or rec.info.get("incomplete"):
            return None  # an incomplete stage (e.g. takes still in flight) always runs again
        for out in rec.outputs.values():
            p = Path(out["path"])
            if not p.exists():
                return None
            st = p.stat()
            if st.st_size != out["size"] or st.st_mtime_ns != out["mtime_ns"]:
                if not p.is_file() or sha256_file(p) != out["sha256"]:
                    return None
        return rec

    def record(
        self, name: str, key: str, outputs: Mapping[str, Path], info: Mapping[str, Any], seconds: float
    ) -> StageRecord:
        old = self.records.get(name)
        outs = {k: describe_output(Path(p), old.outputs.get(k) if old else None) for k, p in outputs.items()}
        rec = StageRecord(key, outs, dict(info), time.time(), seconds)
        self.records[name] = rec
        self.save()
        return rec

    def forget(self, names: Iterable[str]) -> None:
        for n in names:
            self.records.pop(n, None)
        self.save()

    def save(self) -> None:
        from shotline.core.media.runner import write_text_atomic

        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": STATE_VERSION,
            "stages": {
                n: {
                    "key": r.key,
                    "outputs": r.outputs,
                    "info": r.info,
                    "finished": r.finished,
                    "seconds": r.seconds,
                }
                for n, r in self.records.items()
            },
        }
        write_text_atomic(self.path, json.dumps(payload, indent=2, ensure_ascii=False, default=str))


@dataclass(frozen=True)
class StageResult:
    outputs: dict[str, Path]
    info: dict[str, Any] = field(default_factory=dict)


StageFn = Callable[[], StageResult]


@dataclass(frozen=True)
class StageOutcome:
    name: str
    ran: bool  # False: skipped, still valid
    record: StageRecord


def run_stage(state: StageState, name: str, key: str, fn: StageFn, *, force: bool = False) -> StageOutcome:
    if not force:
        rec = state.valid(name, key)
        if rec is not None:
            return StageOutcome(name, False, rec)
    t0 = time.monotonic()
    result = fn()
    rec = state.record(name, key, result.outputs, result.info, time.monotonic() - t0)
    return StageOutcome(name, True, rec)
