"""Check the files Resolve rendered for a job: streams, frame size, frame rate and length.

Resolve's render queue says "Complete" for a file that is audio-only, another size or
another rate when the Deliver page kept a user's settings (measured), so the script's
word is not enough. This reads the result file the script wrote beside the job and
probes every rendered file against what the job asked for and the timeline's length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.resolve_plugin import shotline_resolve as script


@dataclass(frozen=True)
class RenderCheck:
    """One rendered file and what is wrong with it (nothing when ``ok``)."""

    preset: str
    path: str | None
    problems: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    job: str
    result: str
    checks: tuple[RenderCheck, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def _read_result(job_path: Path) -> tuple[Path, dict[str, Any]]:
    result_path = Path(script.Report(str(job_path)).path())
    if not result_path.is_file():
        raise MediaError(result_path, "no result file: run the job in Resolve first (the script writes it)")
    try:
        data = json.loads(result_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise MediaError(result_path, f"not a valid result file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != script.RESULT_SCHEMA:
        raise MediaError(result_path, f"not a {script.RESULT_SCHEMA} file")
    return result_path, data


def check_render(entry: dict[str, Any]) -> RenderCheck:
    """Probe one render entry of a result file against its ``expected`` facts."""
    preset = str(entry.get("preset") or "?")
    path = entry.get("output")
    expected = entry.get("expected") or {}
    if entry.get("status") != "Complete":
        why = entry.get("error") or f"Resolve did not finish it (status {entry.get('status')!r})"
        return RenderCheck(preset, path, (f"not rendered: {why}",))
    if not path or not Path(path).is_file():
        return RenderCheck(preset, path, (f"the file {path} does not exist",))
    try:
        info = probe(path)
    except MediaError as exc:
        return RenderCheck(preset, path, (f"not readable media: {exc.problem}",))
    problems: list[str] = []
    facts: dict[str, Any] = {"bytes": info.size_bytes, "duration": round(info.duration, 4)}
    if info.video is None:
        problems.append("no video stream (an audio-only render)")
    else:
        v = info.video
        facts.update(width=v.width, height=v.height, frame_rate=float(v.rate))
        if (v.width, v.height) != (expected.get("width"), expected.get("height")):
            problems.append(
                f"{v.width}x{v.height}, the job asked for {expected.get('width')}x{expected.get('height')}"
            )
        want_rate = expected.get("frame_rate")
        if want_rate and abs(float(v.rate) - float(want_rate)) > 0.01:
            problems.append(f"{float(v.rate):.3f} fps, the job asked for {float(want_rate):.3f}")
    if expected.get("audio") and info.audio is None:
        problems.append("no audio stream, the job asked for sound")
    if expected.get("audio") is False and info.audio is not None:
        problems.append("an audio stream, the job asked for none")
    frames, tl_rate = expected.get("frames"), expected.get("timeline_rate")
    if frames and tl_rate:
        want = float(frames / script.parse_rate(tl_rate))
        frame = float(1 / Fraction(script.parse_rate(tl_rate)))
        facts["timeline_seconds"] = round(want, 4)
        length = _video_length(info) if info.video is not None else info.duration
        if abs(length - want) > frame + 1e-6:
            problems.append(f"{length:.3f} s long, the timeline runs {want:.3f} s ({frames} frames)")
    return RenderCheck(preset, path, tuple(problems), facts)


def _video_length(info: Any) -> float:
    """The picture's length: frame count over rate where the container says it, else the duration."""
    v = info.video
    if v.frame_count and v.rate:
        return float(v.frame_count / v.rate)
    return float(info.duration)


def verify_job(job_path: Path) -> VerifyReport:
    """Check every render the job's result lists; UsageError if the run queued none."""
    job_path = Path(job_path)
    result_path, data = _read_result(job_path)
    entries = [e for e in data.get("render_jobs") or [] if isinstance(e, dict)]
    if not entries:
        raise UsageError(f"{result_path}: the run queued no render jobs, so there is nothing to check")
    return VerifyReport(str(job_path), str(result_path), tuple(check_render(e) for e in entries))
