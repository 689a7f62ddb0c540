"""``shotline produce``: storyboard to deliverables, resumably.

Stages, in order (each records its inputs' key and its outputs in
``OUTDIR/.shotline/produce-state.json``; a stage whose key still matches and whose
outputs are unchanged is skipped, see core/produce/stages.py):

1. generate  every take, through the batch orchestrator and the SQLite ledger;
2. review    measure every take (core/review.py), pick one per shot, and regenerate
             rejected shots with new seeds within ``max_retakes`` and the budget;
3. timeline  build the OTIO timeline from the chosen takes (.otio and a self-contained .otioz),
             with every review score on the clips' ``shotline`` metadata;
4. render    the master at the storyboard's format, each platform cut, a GIF preview, a contact sheet;
5. upscale   optional AI upscale of the master;
6. export    EDL, FCP7 XML, FCPXML, a Resolve-shaped OTIO and the Resolve job file;
7. report    a manifest of every deliverable (path, size, duration, SHA-256) and the HTML report.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotline.core.errors import ShotlineError, TimelineError, UsageError
from shotline.core.media.runner import write_text_atomic
from shotline.core.produce.progress import ProgressSink, StageTracker
from shotline.core.produce.stages import (
    StageOutcome,
    StageResult,
    StageState,
    run_stage,
)
from shotline.core.review import (
    ReviewConfig,
    TakeReview,
    choose,
    explain_choice,
    failure_metric,
    metric_info,
    review,
)
from shotline.core.vocab import SOUND_KINDS, sha256_file, stable_hash

log = logging.getLogger("shotline.produce")


@dataclass(frozen=True)
class Stage:
    """One step of produce: what it starts from, what decides whether it must run again, how it
    runs, and what ``--dry-run`` says of it. The run and the dry run both read this table.

    ``key``, ``run`` and ``plan`` take the Producer and the outcomes of the stages run so far.
    ``off`` says why the stage does not run at all (None: it runs when its input is there).
    """

    name: str
    needs: str | None  # the stage whose output this one starts from
    key: Callable[[Producer, dict[str, StageOutcome]], tuple[Any, ...]]
    run: Callable[[Producer, dict[str, StageOutcome]], StageResult]
    plan: Callable[[Producer], str]
    off: Callable[[Producer], str | None] = lambda p: None


STATE_FILE = Path(".shotline") / "produce-state.json"
SETTLED = ("done", "failed", "cancelled")  # a take in any other state may still finish: re-poll, never re-pay


@dataclass(frozen=True)
class ProduceOptions:
    """How ``produce`` runs: provider override, upscale, retakes, which stages, dry run."""

    provider: str | None = None  # use this provider for every shot
    upscale: str | None = None  # an upscale model name ("animevideov3", "x4plus", "lanczos", "topaz:<model>")
    upscale_scale: int | None = None
    max_retakes: int = 1  # new seeds per rejected shot, per run
    budget: float | None = None
    concurrency: int | None = None
    review: ReviewConfig = field(default_factory=ReviewConfig)
    deliver: tuple[str, ...] | None = None  # override the storyboard's platform cuts
    preview_format: str = "gif"
    fade_in: float = 0.5  # seconds from black at the head of the edit
    fade_out: float = 1.0  # seconds to black at the tail
    only: tuple[str, ...] = ()
    from_stage: str | None = None
    cancel_on_interrupt: bool = False
    poll_interval: float | None = None
    ray: str | None = None  # run the render's pieces and the upscale's segments on Ray ("auto" or an address)
    providers: Mapping[str, Any] | None = None  # provider instances/factories by name (library use, tests)
    review_model: str | None = None  # prompt-adherence review model; overrides the storyboard's review block
    review_budget: float | None = None  # USD cap for that review; overrides the storyboard's
    review_base_url: str | None = None  # the review API's base URL (tests point it at a stand-in)


@dataclass(frozen=True)
class StageLine:
    """One line of the stage plan (for --dry-run and the summary)."""

    stage: str
    action: str  # run, skip (still valid), off (not asked for)
    detail: str = ""


@dataclass(frozen=True)
class ProduceResult:
    """What ``produce`` did: each stage's line, the deliverables with checksums, the report."""

    outdir: Path
    stages: tuple[StageLine, ...]
    deliverables: tuple[dict[str, Any], ...]
    report: Path | None
    manifest: Path | None
    total_cost: dict[str, float]
    elapsed: float
    notes: tuple[str, ...] = ()


class Producer:
    """Runs the stages for one storyboard into one output folder."""

    def __init__(
        self,
        storyboard_path: str | Path,
        outdir: str | Path,
        options: ProduceOptions | None = None,
        *,
        say: Callable[[str], None] | None = None,
        progress: ProgressSink | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from shotline.core.generate.storyboard import load_storyboard

        self.storyboard_path = Path(storyboard_path)
        self.sb = load_storyboard(self.storyboard_path)
        self.outdir = Path(outdir)
        self.opts = options or ProduceOptions()
        self.say = say or (lambda s: log.info(s))
        self.progress = progress
        self.track = StageTracker("", None)  # the running stage's progress (see run)
        self.warn = warn or say or (lambda s: log.warning(s))  # failures: shown even when progress is not
        from shotline.core.generate.orchestrator import safe_name

        self.slug = safe_name(self.sb.title)
        self.notes: list[str] = []
        for name in (*self.opts.only, *((self.opts.from_stage,) if self.opts.from_stage else ())):
            if name not in STAGES:
                raise UsageError(f"unknown stage '{name}'; stages are {', '.join(STAGES)}")
        self.deliver: tuple[str, ...] = tuple(
            self.opts.deliver if self.opts.deliver is not None else self.sb.deliver
        )
        from shotline.core.ops.presets import get_preset

        for name in self.deliver:
            get_preset(name)  # an unknown platform fails before anything runs
        from shotline.core.produce.selection import load_selection

        # the editor's takes (selection.json): a broken file fails here, before anything runs
        self.selection: dict[str, int] = load_selection(self.outdir, [s.id for s in self.sb.shots])
        if self.opts.upscale:
            self._upscale_options()  # so does an upscaler this install lacks

    # ------------------------------------------------------------------ plumbing

    @property
    def state_path(self) -> Path:
        return self.outdir / STATE_FILE

    def _wanted(self, stage: str) -> tuple[bool, bool]:
        """(run it at all, force it) under --only / --from."""
        if self.opts.only:
            return stage in self.opts.only, stage in self.opts.only
        if self.opts.from_stage:
            after = STAGES.index(stage) >= STAGES.index(self.opts.from_stage)
            return True, after
        return True, False

    def _orchestrator(
        self, budget: float | None = None, on_update: Callable[[Any], None] | None = None
    ) -> Any:
        from shotline.core.generate.orchestrator import BatchConfig, Orchestrator

        cfg = BatchConfig(
            concurrency=self.opts.concurrency,
            budget=self.opts.budget if budget is None else budget,
            cancel_on_interrupt=self.opts.cancel_on_interrupt,
            poll_interval=self.opts.poll_interval,
        )
        return Orchestrator(self.outdir, config=cfg, providers=self.opts.providers, on_update=on_update)

    @functools.cached_property
    def sb_key(self) -> str:
        """The storyboard and every file it points at: a changed still re-runs what used it."""
        files = [self.storyboard_path]
        for shot in self.sb.shots:
            files += [f for f in (shot.source_image, shot.source_video) if f is not None]
        files += [c.image for c in self.sb.characters.values() if c.image is not None]
        if self.sb.music is not None and self.sb.music.path is not None:
            files.append(Path(self.sb.music.path))
        return stable_hash([(str(f), sha256_file(f) if Path(f).is_file() else None) for f in files])

    # ------------------------------------------------------------------ the takes of this storyboard

    def _retake(self, orch: Any, plan: Any, take: int) -> Any:
        """Take ``take`` of a shot beyond its planned ones: the same request with a new, reproducible seed.

        Being deterministic, a retake interrupted mid-flight is planned again with the same
        request hash, so the orchestrator re-polls its task instead of paying for a new one.
        """
        from shotline.core.generate.orchestrator import plan_take

        seed = ((plan.request.seed or 0) + 7919 * take) % 2**31
        req = dataclasses.replace(plan.request, take=take, seed=seed)
        return plan_take(
            plan.provider, orch.provider(plan.provider), req, f"shot '{req.shot_id}' retake {take}"
        )

    def _current(self, orch: Any) -> dict[str, list[Any]]:
        """Ledger rows made from the storyboard as it is now (its plan and the plan's retakes), by shot id.

        Takes made from an earlier version of a shot (another prompt, seed or model) stay in
        the ledger but never compete with the current ones.
        """
        plans = orch.plan(self.sb, provider_override=self.opts.provider)
        hashes = {p.request_hash for p in plans}
        rows = orch.ledger.takes()
        for shot in self.sb.shots:
            first = next(
                (
                    p
                    for p in plans
                    if p.request.shot_id == shot.id
                    and p.request.take == 1
                    and p.request.kind.value not in SOUND_KINDS
                ),
                None,
            )
            highest = max((r.take for r in rows if r.shot_id == shot.id), default=0)
            if first is not None:
                hashes.update(
                    self._retake(orch, first, k).request_hash for k in range(shot.takes + 1, highest + 1)
                )
        out: dict[str, list[Any]] = {}
        for r in rows:
            if r.request_hash in hashes:
                out.setdefault(r.shot_id, []).append(r)
        return out

    @staticmethod
    def _pictures(rows: list[Any], status: str | None = "done") -> list[Any]:
        return sorted(
            (r for r in rows if r.kind not in SOUND_KINDS and (status is None or r.status == status)),
            key=lambda r: r.take,
        )

    # ------------------------------------------------------------------ the stages

    def _take_counter(self, total: int, start: float = 0.0, weight: float = 1.0) -> Callable[[Any], None]:
        """An orchestrator ``on_update`` that moves the stage on as takes settle."""
        settled: set[Any] = set()
        ends = ("done", "reused", "failed", "cancelled", "uncertain", "interrupted")

        def on_update(view: Any) -> None:
            if view.state in ends:
                settled.add(view.key)
            self.track.update(start + weight * len(settled) / max(1, total), f"{len(settled)}/{total} takes")

        return on_update

    def stage_generate(self) -> StageResult:
        orch = self._orchestrator()
        try:
            plans = orch.plan(self.sb, provider_override=self.opts.provider)
            orch.on_update = self._take_counter(len(plans))
            result = orch.run(plans)
            files = {
                (o.shot_id, o.kind, o.take): orch.ledger.output_file(r)
                for o in result.outcomes
                if o.status == "done"
                for r in orch.ledger.takes(o.shot_id, "done")
                if r.take == o.take and r.kind == o.kind
            }
        finally:
            orch.close()
        failed = [o for o in result.outcomes if o.status != "done"]
        for o in failed:
            line = f"{o.shot_id} take {o.take}: {o.status}" + (f" ({o.error})" if o.error else "")
            self.notes.append(line)
            self.warn(f"generate: {line}")
        if not files:
            raise UsageError("generation produced no usable take; see the ledger and run again")
        self.say(
            f"generate: {len(files)} take(s) ready, {len(failed)} not, "
            f"{sum(1 for o in result.outcomes if o.reused)} reused from the ledger"
        )
        outputs = {f"{sid}/{kind}/{take}": f for (sid, kind, take), f in files.items() if f is not None}
        # takes still failed, uncertain or in flight: the next run must try them again
        return StageResult(
            outputs,
            {"failed": len(failed), "incomplete": bool(failed), "cpu_seconds": round(result.cpu_seconds, 3)},
        )

    def _review_all(self, orch: Any, start: float = 0.0, weight: float = 0.0) -> dict[str, list[TakeReview]]:
        """Measure every current take; moves the stage's progress from ``start`` by ``weight``."""
        current = self._current(orch)
        todo = {
            shot.id: [
                f
                for f in (orch.ledger.output_file(r) for r in self._pictures(current.get(shot.id, [])))
                if f is not None and f.is_file()
            ]
            for shot in self.sb.shots
        }
        total = max(1, sum(len(v) for v in todo.values()))
        out: dict[str, list[TakeReview]] = {}
        done = 0
        for shot in self.sb.shots:
            out[shot.id] = []
            for f in todo[shot.id]:
                self.track.update(start + weight * done / total, f"measuring {f.name}")
                out[shot.id].append(
                    review(
                        f,
                        duration=shot.duration,
                        aspect=self._aspect(shot),
                        expect_motion=self._expects_motion(shot),
                        config=self.opts.review,
                    )
                )
                done += 1
        return out

    def _adherence(self, reviews: dict[str, list[TakeReview]]) -> dict[str, list[TakeReview]]:
        """One more, clearly labelled signal: a vision-language model's prompt-adherence verdict on
        every take (core.generate.vlm), when the storyboard's ``review`` block or --review-model asks."""
        from shotline.core.generate.vlm import VlmSpec, judge_takes

        block = self.sb.review
        model = self.opts.review_model or (block.model if block else None)
        if not model:
            return reviews
        spec = VlmSpec(
            model=model,
            frames=block.frames if block else 4,
            budget=self.opts.review_budget
            if self.opts.review_budget is not None
            else (block.budget if block else None),
            price=block.price if block else None,
            base_url=self.opts.review_base_url,
        )
        from shotline.core.generate.prompt import build_prompt

        prompts = {s.id: build_prompt(self.sb, s).text for s in self.sb.shots}
        # only takes that passed the hard checks compete, so only they are worth paying a verdict for
        takes = [(r.path, prompts[sid]) for sid, rs in reviews.items() for r in rs if r.passed]
        if not takes:
            return reviews
        from urllib.parse import urlsplit

        from shotline.core.generate.providers.http import is_loopback

        loop = bool(spec.base_url) and is_loopback(urlsplit(spec.base_url or "").hostname)
        run = judge_takes(spec, takes, allow_http_loopback=loop)
        self.notes.extend(run.notes)
        self.say(
            f"review: prompt adherence by {model} on {len(run.verdicts)}/{len(takes)} takes, {run.spent:.4f} USD"
        )
        return {
            sid: [
                dataclasses.replace(r, adherence=run.verdicts[r.path].to_dict())
                if r.path in run.verdicts
                else r
                for r in rs
            ]
            for sid, rs in reviews.items()
        }

    def _expects_motion(self, shot: Any) -> bool:
        """An AI service always animates; the offline animatic holds a locked-off camera still."""
        from shotline.core.generate.prompt import parse_camera

        provider = self.opts.provider or shot.provider
        if provider != "local":
            return True
        if not shot.parts.camera:
            return shot.kind.value not in ("text-to-video", "image-to-video")
        return parse_camera(shot.parts.camera).move != "static"

    def _aspect(self, shot: Any) -> float:
        text = shot.aspect or self.sb.aspect
        w, _, h = str(text).partition(":")
        return float(w) / float(h) if h else self.sb.width / self.sb.height

    def _retake_round(self, reviews: dict[str, list[TakeReview]]) -> int:
        """Regenerate every rejected shot once with a new seed; returns how many takes were asked for."""
        rejected = {s.id for s in self.sb.shots if reviews.get(s.id) and choose(reviews[s.id]).chosen is None}
        if not rejected:
            return 0
        orch = self._orchestrator()
        try:
            current = self._current(orch)
            plans = orch.plan(self.sb, provider_override=self.opts.provider)
            new = []
            for shot in self.sb.shots:
                if shot.id not in rejected:
                    continue
                first = next(
                    p
                    for p in plans
                    if p.request.shot_id == shot.id
                    and p.request.take == 1
                    and p.request.kind.value not in SOUND_KINDS
                )
                settled = [
                    r.take for r in self._pictures(current.get(shot.id, []), None) if r.status in SETTLED
                ]
                new.append(self._retake(orch, first, max(settled, default=shot.takes) + 1))
            spent = sum(
                r.cost or 0.0 for rows in current.values() for r in rows if r.status == "done" or r.task_id
            )
        finally:
            orch.close()
        budget = None if self.opts.budget is None else max(0.0, self.opts.budget - spent)
        orch = self._orchestrator(budget=budget)
        try:
            self.say(f"review: {len(new)} shot(s) rejected, regenerating with new seeds")
            orch.run(new)
        except UsageError as exc:  # the budget left does not cover the retakes: keep what we have
            self.notes.append(f"retakes not generated: {exc}")
            return 0
        finally:
            orch.close()
        return len(new)

    def stage_review(self) -> StageResult:
        from shotline.core.ops.gif import gif

        orch = self._orchestrator()
        try:
            reviews = self._review_all(orch, 0.0, 0.7)
        finally:
            orch.close()
        retakes = 0
        for _round in range(self.opts.max_retakes):
            self.track.update(0.7, f"retake round {_round + 1}")
            asked = self._retake_round(reviews)
            if not asked:
                break
            retakes += asked
            orch = self._orchestrator()
            try:
                reviews = self._review_all(orch)
            finally:
                orch.close()
        reviews = self._adherence(reviews)
        summary: dict[str, Any] = {}
        orch = self._orchestrator()
        try:
            ids = {str(orch.ledger.output_file(r)): r.id for r in orch.ledger.takes(status="done")}
            for shot in self.sb.shots:
                choice = choose(reviews.get(shot.id, []))
                summary[shot.id] = {
                    "chosen": choice.chosen.path if choice.chosen else None,
                    "reasons": choice.reasons,
                    "takes": [r.to_dict() for r in choice.ranked],
                }
                for r in choice.ranked:  # the verdicts live in the ledger beside the takes they judge
                    if str(r.path) in ids:
                        orch.ledger.record_review(
                            ids[str(r.path)],
                            passed=r.passed,
                            chosen=r is choice.chosen,
                            score=r.score,
                            failures=list(r.failures),
                            metrics=dataclasses.asdict(r.metrics),
                            reason=choice.reasons[r.path],
                        )
                if choice.chosen is None:
                    self.notes.append(
                        f"{shot.id}: no take passed review; the best-scoring one is used"
                        if choice.ranked
                        else f"{shot.id}: no take was generated"
                    )
        finally:
            orch.close()
        previews = self.outdir / "previews"
        previews.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, Path] = {}
        n_takes = max(1, sum(len(e["takes"]) for e in summary.values()))
        for entry in summary.values():
            for t in entry["takes"]:
                self.track.update(0.75 + 0.25 * len(outputs) / n_takes, "previews")
                dest = previews / (Path(t["path"]).stem + ".webp")
                if not dest.exists():
                    gif(t["path"], dest, fps=8, width=240, format="webp", quality=60, overwrite=True)
                t["preview"] = str(dest)
                outputs[f"preview:{Path(t['path']).name}"] = dest
        outputs["review"] = write_text_atomic(
            self.outdir / "review.json", json.dumps(summary, indent=2, ensure_ascii=False)
        )
        passed = sum(1 for e in summary.values() if e["chosen"])
        self.say(f"review: {passed}/{len(summary)} shots have a passing take; {retakes} retake(s)")
        return StageResult(outputs, {"retakes": retakes})

    def _chosen_takes(self) -> tuple[dict[str, Any], dict[str, Any], Path | None]:
        """The take chosen for each shot (with its sound effect), the review summary, and the music bed."""
        from shotline.otio_adapters.takes import take_from_row

        summary = json.loads((self.outdir / "review.json").read_text(encoding="utf-8"))
        orch = self._orchestrator()
        try:
            current = self._current(orch)
            files = {r.id: orch.ledger.output_file(r) for rows in current.values() for r in rows}
        finally:
            orch.close()
        takes: dict[str, Any] = {}
        for shot_id, entry in summary.items():
            path = entry["chosen"] or (entry["takes"][0]["path"] if entry["takes"] else None)
            rows = current.get(shot_id, [])
            if shot_id in self.selection:  # the editor's pick wins over review's
                path = self._selected_path(shot_id, rows, files)
            row = next((r for r in rows if str(files[r.id]) == str(path)), None)
            if path is None or row is None:
                continue
            sfx = next((files[r.id] for r in rows if r.kind in SOUND_KINDS and r.status == "done"), None)
            takes[shot_id] = take_from_row(row, Path(path), sfx)
        music = None
        if self.sb.music is not None and self.sb.music.path is not None:
            music = Path(self.sb.music.path)
        else:
            music = next((files[r.id] for r in current.get("_music", []) if r.status == "done"), None)
        return takes, summary, music

    def _selected_path(self, shot_id: str, rows: list[Any], files: dict[int, Path | None]) -> str:
        take = self.selection[shot_id]
        done = self._pictures(rows)
        row = next((r for r in done if r.take == take), None)
        if row is None or files.get(row.id) is None:
            have = ", ".join(str(r.take) for r in done) or "none"
            raise UsageError(
                f"{self.outdir / 'selection.json'}: shot '{shot_id}' has no finished take {take} "
                f"(its takes: {have}); pick one of those, or remove the shot to keep review's choice"
            )
        return str(files[row.id])

    def stage_timeline(self) -> StageResult:
        import opentimelineio as otio

        from shotline.core.media.runner import atomic_output
        from shotline.otio_adapters.build import build_from_storyboard
        from shotline.otio_adapters.bundle import write_otioz

        takes, summary, music = self._chosen_takes()
        sb = self.sb
        if music is not None and sb.music is not None:
            sb = dataclasses.replace(sb, music=dataclasses.replace(sb.music, path=music))
        # fades at the ends of the edit, never more than a quarter of the shot they sit on
        fade_in = min(self.opts.fade_in, sb.shots[0].duration / 4)
        fade_out = min(self.opts.fade_out, sb.shots[-1].duration / 4)
        built = build_from_storyboard(sb, takes, fade_in=fade_in, fade_out=fade_out)
        tl = built.timeline
        for clip in tl.find_clips():
            ns = clip.metadata.get("shotline")
            sid = ns.get("shot_id") if ns else None
            if sid in summary:
                entry = summary[sid]
                used = takes[sid].path if sid in takes else None
                chosen = next((t for t in entry["takes"] if Path(t["path"]) == used), None)
                ns["review"] = {
                    "chosen_by": "editor" if sid in self.selection else "review",
                    "chosen": bool(chosen and chosen["passed"]),
                    "score": chosen["score"] if chosen else None,
                    "metrics": chosen["metrics"] if chosen else None,
                    "takes": {Path(k).name: v for k, v in entry["reasons"].items()},
                }
        self.notes.extend(built.notes)
        otio_path = self.outdir / f"{self.slug}.otio"
        with atomic_output(otio_path, overwrite=True) as tmp:
            otio.adapters.write_to_file(tl, str(tmp), adapter_name="otio_json")
        otioz = self.outdir / f"{self.slug}.otioz"
        write_otioz(tl, otioz, overwrite=True)
        self.say(f"timeline: {len(list(tl.find_clips()))} clips, {built.duration:.2f} s -> {otio_path.name}")
        return StageResult({"otio": otio_path, "otioz": otioz}, {"duration": built.duration})

    def stage_render(self, otio_path: Path) -> StageResult:
        from shotline.core.generate.orchestrator import safe_name
        from shotline.core.ops.gif import gif
        from shotline.core.ops.reframe import reframe
        from shotline.core.ops.thumbs import contact_sheet
        from shotline.otio_adapters.conform.render import render_timeline

        master = self.outdir / "master.mp4"
        # weights by the media each job writes: the master and every cut the whole runtime,
        # the GIF about a third of it (fewer, smaller frames), the contact sheet a tenth
        parts = 1 + len(self.deliver) + 0.3 + 0.1
        share = 1 / parts
        master_progress = self.track.part(0, share, "master")
        if self.opts.ray is not None:
            from shotline.otio_adapters.conform.parallel import render_parallel

            r = render_parallel(
                otio_path, master, ray_address=self.opts.ray, overwrite=True, progress=master_progress
            )
        else:
            r = render_timeline(otio_path, master, overwrite=True, progress=master_progress)
        self.say(f"render: master {r.width}x{r.height} {r.frames} frames ({r.mode}) -> {master.name}")
        outputs: dict[str, Path] = {"master": master}
        cuts = self.outdir / "cuts"
        cuts.mkdir(exist_ok=True)
        for name in self.deliver:
            from shotline.core.ops.presets import get_preset

            preset = get_preset(name)
            label = safe_name(name.strip())  # the name the user wrote (youtube-shorts), not the preset's
            src_aspect = r.width / r.height
            mode = "crop" if abs(preset.width / preset.height - src_aspect) / src_aspect < 0.3 else "pad"
            dest = cuts / f"{self.slug}_{label}.mp4"
            at = share * len(outputs)  # after the master and the cuts before this one
            res = reframe(
                master,
                dest,
                preset,
                mode=mode,
                overwrite=True,
                progress=self.track.part(at, share, label),
            )
            for w in getattr(res, "warnings", ()) or ():
                self.notes.append(f"{label}: {w}")
            outputs[f"cut:{label}"] = dest
            self.say(f"render: {label} cut ({preset.name} preset, {mode}) -> {dest.name}")
        fmt = self.opts.preview_format
        preview = self.outdir / f"preview.{fmt}"
        at = share * (1 + len(self.deliver))
        gif(
            master,
            preview,
            fps=10,
            width=480,
            format=fmt,
            overwrite=True,
            progress=self.track.part(at, 0.3 * share, fmt),
        )
        outputs["preview"] = preview
        sheet = self.outdir / "contact_sheet.png"
        at = share * (1.3 + len(self.deliver))
        contact_sheet(
            master, sheet, overwrite=True, progress=self.track.part(at, 0.1 * share, "contact sheet")
        )
        outputs["contact_sheet"] = sheet
        return StageResult(outputs, {"mode": r.mode, "frames": r.frames, "copied_frames": r.copied_frames})

    def _upscale_options(self) -> Any:
        """--upscale MODEL as UpscaleOptions; a missing upscaler is reported in produce's own terms."""
        from shotline.core.errors import DependencyError
        from shotline.upscale.api import UpscaleOptions, choose_backend

        model = self.opts.upscale or "animevideov3"
        backend = "auto"
        if model == "lanczos":
            backend = "lanczos"
        elif model.startswith("topaz"):
            backend, _, model = "topaz", None, model.partition(":")[2] or "prob-4"
        ray = self.opts.ray if backend == "auto" else None  # lanczos and topaz are one ffmpeg command
        opts = UpscaleOptions(model=model, scale=self.opts.upscale_scale, backend=backend, ray=ray)
        if backend == "auto":
            try:
                choose_backend(opts)
            except DependencyError:
                raise DependencyError(
                    f"--upscale {model} needs an AI upscaler: pip install 'shotline[torch]' (PyTorch) or "
                    "'shotline[ncnn]' (ncnn, Vulkan), or use --upscale lanczos for plain ffmpeg scaling"
                ) from None
        return opts

    def stage_upscale(self, master: Path) -> StageResult:
        from shotline.upscale.api import upscale

        opts = self._upscale_options()
        model, backend = opts.model, opts.backend
        dest = self.outdir / f"master_upscaled_{re.sub(r'[^A-Za-z0-9]+', '', model)}.mp4"
        rep = upscale(master, dest, opts, overwrite=True, progress=self.track.part(0, 1, model))
        self.say(f"upscale: {master.name} -> {dest.name} ({getattr(rep, 'backend', backend)})")
        return StageResult({"upscaled": dest}, {"model": model})

    def stage_export(self, otio_path: Path) -> StageResult:
        from shotline.otio_adapters.export import export_timeline
        from shotline.otio_adapters.timeline import read_timeline
        from shotline.resolve_plugin.job import build_job, write_job_files

        tl = read_timeline(otio_path)
        exports = self.outdir / "exports"
        exports.mkdir(exist_ok=True)
        outputs: dict[str, Path] = {}
        for i, (fmt, suffix) in enumerate((("edl", ".edl"), ("fcp7", ".xml"), ("fcpxml", ".fcpxml"))):
            self.track.update(i / 5, fmt)
            dest = exports / f"{self.slug}{suffix}"
            try:
                rep = export_timeline(tl, dest, fmt, overwrite=True)
            except TimelineError as exc:  # e.g. FCPXML refuses 23.976/29.97 fps rather than misplace cuts
                self.notes.append(f"{fmt}: not exported: {exc}")
                continue
            for d in getattr(rep, "dropped", ()) or ():
                self.notes.append(f"{fmt}: {d}")
            outputs[fmt] = dest
        self.track.update(3 / 5, "resolve")
        resolve_otio = exports / f"{self.slug}.resolve.otio"
        export_timeline(tl, resolve_otio, "otio", for_resolve=True, overwrite=True)
        outputs["resolve_otio"] = resolve_otio
        job_path = self.outdir / "resolve_job.json"
        xml_path = job_path.with_suffix(
            ".xml"
        )  # the FCP7 XML the script imports below Resolve 18.6.5, or when the OTIO import fails
        job = build_job(
            resolve_otio,
            name=self.sb.title,
            presets=self.deliver or ("youtube",),
            render_dir=self.outdir / "resolve_renders",
            fallback_xml=xml_path,
        )
        write_job_files(job, job_path, xml_path, overwrite=True, remember=False)
        outputs["resolve_job"] = job_path
        outputs["resolve_xml"] = xml_path
        self.say(f"export: EDL, FCP7 XML, FCPXML, Resolve OTIO and job -> {exports.name}/")
        return StageResult(outputs)

    # ------------------------------------------------------------------ the run

    def run(self, *, dry_run: bool = False) -> ProduceResult:
        created = not self.outdir.exists()
        try:
            return self._run(dry_run=dry_run)
        except BaseException:
            if created:  # a run that failed before writing anything leaves no empty folder
                try:
                    self.outdir.rmdir()
                except OSError:
                    pass  # not empty: what it holds (ledger, takes) is the next run's to resume
            raise

    def _run(self, *, dry_run: bool) -> ProduceResult:
        t0 = time.monotonic()
        state = StageState(self.state_path)
        lines: list[StageLine] = []
        if dry_run:
            return self._dry_run(state)
        self.outdir.mkdir(parents=True, exist_ok=True)
        done: dict[str, StageOutcome] = {}

        def go(stage: Stage) -> None:
            wanted, force = self._wanted(stage.name)
            key = stable_hash(stage.name, *stage.key(self, done))
            self.track = track = StageTracker(stage.name, self.progress)
            if not wanted:
                rec = state.valid(stage.name, key)
                if rec is None:
                    lines.append(
                        StageLine(stage.name, "missing", "not run (outside --only/--from) and not done yet")
                    )
                    return
                lines.append(StageLine(stage.name, "skip", "still valid"))
                track.finish("skipped", "still valid")
                done[stage.name] = StageOutcome(stage.name, False, rec)
                return

            def started() -> StageResult:
                track.start()
                return stage.run(self, done)

            outcome = run_stage(state, stage.name, key, started, force=force)
            track.finish("done" if outcome.ran else "skipped", None if outcome.ran else "still valid")
            lines.append(
                StageLine(
                    stage.name,
                    "run" if outcome.ran else "skip",
                    f"{outcome.record.seconds:.1f} s" if outcome.ran else "still valid",
                )
            )
            done[stage.name] = outcome

        for stage in STAGE_TABLE:
            if stage.needs is not None and stage.needs not in done:
                continue  # what it starts from is missing: the line above says why
            why_off = stage.off(self)
            if why_off is not None:
                lines.append(StageLine(stage.name, "off", why_off))
                StageTracker(stage.name, self.progress).finish("skipped", why_off)
                continue
            go(stage)
        elapsed = time.monotonic() - t0
        self.track = track = StageTracker(REPORT, self.progress)
        track.start()
        manifest, report, deliverables, cost = self._finish(state, elapsed)
        track.finish()
        lines.append(StageLine(REPORT, "run", str(report.name)))
        return ProduceResult(
            self.outdir, tuple(lines), tuple(deliverables), report, manifest, cost, elapsed, tuple(self.notes)
        )

    def _dry_run(self, state: StageState) -> ProduceResult:
        from shotline.core.generate.orchestrator import estimate

        orch = self._orchestrator()
        try:
            plans = orch.plan(self.sb, provider_override=self.opts.provider)
            todo = orch.check_budget(plans)
            pending = orch.pending(plans)
        finally:
            orch.close()
        total = estimate(plans)

        def money(costs: dict[str, float]) -> str:
            return ", ".join(f"{v:g} {u}" for u, v in costs.items()) or "nothing"

        lines = [
            StageLine(
                "generate",
                "run" if pending else "skip",
                f"{len(plans)} take(s), {len(pending)} to generate; estimated cost {money(total)} in all, "
                f"{money(todo)} still to pay",
            )
        ]
        for stage in (*STAGE_TABLE[1:], None):  # generate's line is the one above
            name = stage.name if stage else REPORT
            detail = stage.plan(self) if stage else "manifest.json and report.html"
            wanted, _ = self._wanted(name)
            off = stage is not None and stage.off(self) is not None
            action = "off" if off or not wanted else ("skip" if name in state.records else "run")
            lines.append(StageLine(name, action, detail))
        return ProduceResult(self.outdir, tuple(lines), (), None, None, total, 0.0)

    def _finish(
        self, state: StageState, elapsed: float
    ) -> tuple[Path, Path, list[dict[str, Any]], dict[str, float]]:
        from shotline.core.media.probe import probe
        from shotline.core.produce.report import write_report

        deliverables: list[dict[str, Any]] = []
        for stage in ("timeline", "render", "upscale", "export"):
            rec = state.records.get(stage)
            if rec is None:
                continue
            for name, out in rec.outputs.items():
                p = Path(out["path"])
                if not p.exists():
                    continue
                duration = None
                if p.suffix.lower() in (".mp4", ".mov", ".gif", ".webm", ".mkv"):
                    try:
                        duration = probe(p).duration
                    except ShotlineError:  # a GIF/WebP PyAV cannot time: no duration, still listed
                        duration = None
                deliverables.append(
                    {
                        "kind": name,
                        "stage": stage,
                        "path": str(p),
                        "size": out["size"],
                        "duration": duration,
                        "sha256": out["sha256"],
                    }
                )
        rows: list[Any] = []
        files: dict[int, Path | None] = {}
        if (self.outdir / "ledger.sqlite").exists():
            orch = self._orchestrator()
            try:
                rows = [r for rs in self._current(orch).values() for r in rs]
                files = {r.id: orch.ledger.output_file(r) for r in rows}
            finally:
                orch.close()
        cost: dict[str, float] = {}  # per unit: credits and dollars never add up
        for r in rows:
            if r.status == "done" and r.cost is not None:
                unit = r.cost_unit or "credits"
                cost[unit] = cost.get(unit, 0.0) + float(r.cost)
        manifest = write_text_atomic(
            self.outdir / "manifest.json",
            json.dumps(
                {
                    "title": self.sb.title,
                    "storyboard": str(self.storyboard_path.resolve()),
                    "deliverables": deliverables,
                    "cost": cost,
                    "notes": self.notes,
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        # the time the deliverables took to make, over every run that made them
        made_in = sum(r.seconds for r in state.records.values())
        data = self._report_data(rows, files, deliverables, cost, made_in)
        report = write_report(data, self.outdir / "report.html")
        return manifest, report, deliverables, cost

    def _report_data(
        self,
        rows: list[Any],
        files: dict[int, Path | None],
        deliverables: list[dict[str, Any]],
        cost: dict[str, float],
        elapsed: float,
    ) -> Any:
        from shotline.core.generate.prompt import build_prompt
        from shotline.core.produce.report import Deliverable, ReportData, ReportShot, ReportTake

        summary: dict[str, Any] = {}
        review_path = self.outdir / "review.json"
        if review_path.exists():
            summary = json.loads(review_path.read_text(encoding="utf-8"))
        by_path = {str(files[r.id]): r for r in rows if files.get(r.id) is not None}
        shots = []
        for s in self.sb.shots:
            entry = summary.get(s.id, {"takes": [], "reasons": {}, "chosen": None})
            numbered = []
            for t in entry["takes"]:
                row = by_path.get(t["path"])
                numbered.append({**t, "take": row.take if row else 0})
            numbered.sort(key=lambda t: (t["take"], t["path"]))
            editor = next((t["path"] for t in numbered if t["take"] == self.selection.get(s.id)), None)
            in_edit = editor or entry["chosen"] or (entry["takes"][0]["path"] if entry["takes"] else None)
            words = explain_choice(numbered, entry["chosen"], self.opts.review, picked_by_editor=editor)
            takes = []
            for t in numbered:
                row = by_path.get(t["path"])
                why = words[t["path"]]
                takes.append(
                    ReportTake(
                        take=t["take"],
                        path=t["path"],
                        preview=t.get("preview"),
                        passed=t["passed"],
                        chosen=t["path"] == in_edit,
                        reason=why.words,
                        score=t["score"],
                        metrics=dict(t["metrics"]),
                        seed=row.seed if row else None,
                        cost=row.cost if row else None,
                        adherence=t.get("adherence"),
                        rows=self._metric_rows(t, s.duration, why.metric),
                        review_pick=t["path"] == entry["chosen"],
                        editor_pick=t["path"] == editor,
                    )
                )
            shot_rows = [r for r in (by_path.get(t["path"]) for t in entry["takes"]) if r is not None]
            first = shot_rows[0] if shot_rows else None
            p = build_prompt(self.sb, s)
            shots.append(
                ReportShot(
                    s.id,
                    (first.request.get("prompt") if first else None) or p.text,
                    first.provider if first else s.provider,
                    first.model if first else (s.model or "default"),
                    s.duration,
                    tuple(takes),
                    p.negative,
                    s.parts.camera or None,
                    sum(float(r.cost or 0.0) for r in shot_rows),
                )
            )
        dels = tuple(
            Deliverable(d["kind"], d["path"], d["size"], d["duration"], d["sha256"]) for d in deliverables
        )
        units = sorted({r.cost_unit for r in rows if r.cost_unit})
        return ReportData(
            self.sb.title,
            tuple(shots),
            self._strip(),
            dels,
            0.0,
            units[0] if len(units) == 1 else "credits",
            elapsed,
            time.strftime("%Y-%m-%d %H:%M"),
            tuple(self.notes),
            costs=dict(cost),
            budget=self.opts.budget,
            command=self.command(),
            selection=dict(self.selection),
            extra_files=tuple(
                str(self.outdir / n)
                for n in ("manifest.json", "review.json", "ledger.sqlite", "selection.json")
            ),
        )

    def command(self) -> str:
        """The command line that runs produce on this storyboard into this folder again."""
        import shlex

        return f"shotline produce {shlex.quote(str(self.storyboard_path))} -o {shlex.quote(str(self.outdir))}"

    def _metric_rows(self, take: dict[str, Any], asked: float, deciding: str | None) -> tuple[Any, ...]:
        """The metrics of one take as an editor reads them: value and unit, limit, the one that decided."""
        from shotline.core.produce.report import MetricRow

        failed = {failure_metric(f) for f in take.get("failures", ())}
        m = take["metrics"]
        out = []
        for info in metric_info(self.opts.review):
            v = m.get(info.key)
            if v is None:
                continue
            if info.key == "clipped":
                value, limit = f"{100 * v:.{info.digits}f} %", f"limit {100 * (info.limit or 0):.0f} %"
            elif info.key == "duration":
                tol = self.opts.review.duration_tolerance
                value, limit = f"{v:.2f} s", f"asked {asked:.2f} ± {tol:.2f} s"
            else:
                unit = f" {info.unit}" if info.unit else ""
                value = f"{v:.{info.digits}f}{unit}"
                if info.limit is None:
                    limit = f"{info.better} is better"
                else:
                    limit = f"{'floor' if info.better == 'higher' else 'limit'} {info.limit:g}{unit}"
            out.append(
                MetricRow(info.key, info.label, value, limit, info.key == deciding, info.key in failed)
            )
        return tuple(out)

    def _strip(self) -> tuple[Any, ...]:
        from shotline.core.produce.report import StripItem

        otio_path = self.outdir / f"{self.slug}.otio"
        if not otio_path.exists():
            return ()
        import opentimelineio as otio

        tl = otio.adapters.read_from_file(str(otio_path))
        track = tl.video_tracks()[0]

        def name(t: Any) -> str:
            """An editor's name for a transition: dissolve, fade in/out, or the wipe's own."""
            ns = t.metadata.get("shotline") or {}
            if ns.get("role") in ("fade_in", "fade_out"):
                return str(ns["role"]).replace("_", " ")
            if t.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve:
                return "dissolve"
            return str(ns.get("xfade") or t.transition_type)

        items: list[StripItem] = []
        pending: Any = None
        for child in track:
            if isinstance(child, otio.schema.Transition):
                if (
                    items
                    and pending is None
                    and (child.metadata.get("shotline") or {}).get("role") == "fade_out"
                ):
                    items[-1] = dataclasses.replace(
                        items[-1],
                        transition_out=name(child),
                        transition_out_seconds=child.duration().to_seconds(),
                    )
                else:
                    pending = child
                continue
            if isinstance(child, otio.schema.Clip):
                rng = child.trimmed_range_in_parent()
                sid = (child.metadata.get("shotline") or {}).get("shot_id") or child.name
                items.append(
                    StripItem(
                        str(sid),
                        rng.start_time.to_seconds() if rng else 0.0,
                        child.duration().to_seconds(),
                        name(pending) if pending is not None else None,
                        pending.duration().to_seconds() if pending is not None else 0.0,
                        pending.in_offset.to_seconds() if pending is not None else None,
                    )
                )
                pending = None
        return tuple(items)


STAGE_TABLE: tuple[Stage, ...] = (
    Stage(
        "generate",
        None,
        key=lambda p, d: (p.sb_key, p.opts.provider),
        run=lambda p, d: p.stage_generate(),
        plan=lambda p: "every take of every shot",  # the dry run says more: see _dry_run
    ),
    Stage(
        "review",
        "generate",
        key=lambda p, d: (
            p.sb_key,
            d["generate"].record.checksums(),
            p.opts.max_retakes,
            dataclasses.asdict(p.opts.review),
        ),
        run=lambda p, d: p.stage_review(),
        plan=lambda p: f"up to {p.opts.max_retakes} retake round(s) for rejected shots",
    ),
    Stage(
        "timeline",
        "review",
        # the editor's picks, when there are any (a folder without them keeps its key)
        key=lambda p, d: (p.sb_key, d["review"].record.checksums(), *((p.selection,) if p.selection else ())),
        run=lambda p, d: p.stage_timeline(),
        plan=lambda p: f"{len(p.sb.shots)} shots, {p.sb.duration:.1f} s",
    ),
    Stage(
        "render",
        "timeline",
        key=lambda p, d: (d["timeline"].record.checksums(), p.deliver, p.opts.preview_format),
        run=lambda p, d: p.stage_render(d["timeline"].record.path("otio")),
        plan=lambda p: (
            f"master + {len(p.deliver)} platform cut(s) ({', '.join(p.deliver) or 'none'}), "
            f"{p.opts.preview_format} preview, contact sheet; about {p.sb.duration * (1 + len(p.deliver)):.0f} s "
            "of encoding at ~1x realtime on 2 cores"
        ),
    ),
    Stage(
        "upscale",
        "render",
        key=lambda p, d: (d["render"].record.checksums()["master"], p.opts.upscale, p.opts.upscale_scale),
        run=lambda p, d: p.stage_upscale(d["render"].record.path("master")),
        plan=lambda p: f"{p.opts.upscale}" if p.opts.upscale else "off",
        off=lambda p: None if p.opts.upscale else "not asked for (--upscale MODEL)",
    ),
    Stage(
        "export",
        "timeline",
        key=lambda p, d: (d["timeline"].record.checksums(), p.deliver),
        run=lambda p, d: p.stage_export(d["timeline"].record.path("otio")),
        plan=lambda p: "EDL, FCP7 XML, FCPXML, Resolve OTIO + job",
    ),
)
REPORT = "report"  # the last step, always run: manifest.json and report.html from every stage's record
STAGES = (*(s.name for s in STAGE_TABLE), REPORT)


def produce(
    storyboard: str | Path,
    outdir: str | Path,
    options: ProduceOptions | None = None,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] | None = None,
    progress: ProgressSink | None = None,
    warn: Callable[[str], None] | None = None,
) -> ProduceResult:
    """Library entry point used by ``shotline produce`` and ``make demo``.

    ``say`` gets each stage's summary line, ``warn`` each failure (a take that failed, and
    why; it defaults to ``say``), ``progress`` a StageProgress for every stage as it starts,
    moves on and ends.
    """
    return Producer(storyboard, outdir, options, say=say, progress=progress, warn=warn).run(dry_run=dry_run)
