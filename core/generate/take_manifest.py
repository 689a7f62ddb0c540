"""The take manifest: OUTDIR/manifest.json, every take of a generate run in plain JSON.

The ledger (SQLite) is the record shotline resumes from; this file is the same facts for
people and for other tools: each take's file (relative to OUTDIR), checksum, provider, model,
prompt, seed, camera, duration and task id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from shotline.core.generate.orchestrator import BatchResult, TakePlan
from shotline.core.media.runner import atomic_output

TAKE_MANIFEST = "manifest.json"


def write_take_manifest(
    outdir: Path, storyboard: Path, plans: Sequence[TakePlan], result: BatchResult
) -> Path:
    """OUTDIR/manifest.json: every take with its file, checksum and request, for timelines and people."""
    by_key = {p.key: p for p in plans}
    takes = []
    for o in result.outcomes:
        p = by_key[(o.shot_id, o.take, o.kind)]
        takes.append(
            {
                "shot": o.shot_id,
                "take": o.take,
                "kind": o.kind,
                "status": o.status,
                "output": _relative(o.output, outdir) if o.output else None,
                "checksum": o.checksum,
                "provider": o.provider,
                "model": p.request.model,
                "prompt": p.request.prompt,
                "seed": p.request.seed,
                "camera": p.request.camera,
                "duration": p.request.duration,
                "task_id": o.task_id,
            }
        )
    doc = {
        "storyboard": str(storyboard.resolve()),
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "takes": takes,
    }
    path = outdir / TAKE_MANIFEST
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


__all__ = ["TAKE_MANIFEST", "write_take_manifest"]
