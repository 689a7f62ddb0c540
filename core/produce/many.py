"""Several storyboards at once: ``shotline produce A.yaml B.yaml ... [--ray auto]``.

Each project runs in its own process, into its own output folder, with its own state
file, so each resumes on its own and one failing does not stop the others. With Ray,
the address is settled here once ("auto" may start a local instance) and every project
sends its render pieces and upscale segments to that one cluster.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import sys
from dataclasses import dataclass
from pathlib import Path

from shotline.core.errors import Interrupted, ShotlineError
from shotline.core.produce.producer import ProduceOptions, ProduceResult, produce


@dataclass(frozen=True)
class ProjectOutcome:
    storyboard: Path
    outdir: Path
    result: ProduceResult | None = None
    error: str = ""
    exit_code: int = 0


def _say(name: str) -> object:
    def say(text: str) -> None:
        print(f"[{name}] {text}", file=sys.stderr, flush=True)

    return say


def _one(storyboard: Path, outdir: Path, opts: ProduceOptions, dry_run: bool) -> ProjectOutcome:
    try:
        result = produce(storyboard, outdir, opts, dry_run=dry_run, say=_say(storyboard.stem))  # type: ignore[arg-type]
    except ShotlineError as exc:  # sent back as text: not every error class survives pickling
        return ProjectOutcome(storyboard, outdir, None, str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return ProjectOutcome(storyboard, outdir, None, "interrupted", Interrupted.exit_code)
    return ProjectOutcome(storyboard, outdir, result)


def ray_address(address: str) -> str:
    """The cluster's concrete address ("auto" joins this machine's cluster or starts a local one)."""
    from shotline.core.media import cluster

    ray = cluster.connect(address)
    return str(ray.get_runtime_context().gcs_address)


def produce_many(
    projects: list[tuple[Path, Path]],
    opts: ProduceOptions,
    *,
    dry_run: bool = False,
    jobs: int | None = None,
) -> list[ProjectOutcome]:
    """Produce every (storyboard, outdir) at once (``jobs`` at a time, default all)."""
    if opts.ray is not None and not dry_run:
        opts = dataclasses.replace(opts, ray=ray_address(opts.ray))
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs or len(projects), mp_context=ctx) as pool:
        futures = [pool.submit(_one, sb, out, opts, dry_run) for sb, out in projects]
        outcomes = []
        for (sb, out), fut in zip(projects, futures):
            try:
                outcomes.append(fut.result())
            except cf.process.BrokenProcessPool as exc:
                outcomes.append(ProjectOutcome(sb, out, None, f"its process died ({exc})", 1))
    return outcomes
