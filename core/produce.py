"""``shotline produce``: storyboard to deliverables, resumably.

Stages, in order (each records its inputs' key and its outputs in
``OUTDIR/.shotline/produce-state.json``; a stage whose key still matches and whose
outputs are unchanged is skipped, see core/stages.py):

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
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TimelineError, UsageError
from .review import ReviewConfig, TakeReview, choose, review
from .stages import StageOutcome, StageResult, StageState, run_stage, sha256_file, stable_hash

log = logging.getLogger("shotline.produce")

STAGES = ("generate", "review", "timeline", "render", "upscale", "export", "report")
STATE_FILE = Path(".shotline") / "produce-state.json"


@dataclass(frozen=True)
class ProduceOptions:
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
    providers: Mapping[str, Any] | None = None  # provider instances/factories by name (library use, tests)


@dataclass(frozen=True)
class StageLine:
    """One line of the stage plan (for --dry-run and the summary)."""

    stage: str
    action: str  # run, skip (still valid), off (not asked for)
    detail: str = ""


@dataclass(frozen=True)
class ProduceResult:
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
    ) -> None:
        from .storyboard import load_storyboard

        self.storyboard_path = Path(storyboard_path)
        self.sb = load_storyboard(self.storyboard_path)
        self.outdir = Path(outdir)
        self.opts = options or ProduceOptions()
        self.say = say or (lambda s: log.info(s))
        self.slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.sb.title).strip("_.") or "film"
        self.notes: list[str] = []
        for name in (*self.opts.only, *((self.opts.from_stage,) if self.opts.from_stage else ())):
            if name not in STAGES:
                raise UsageError(f"unknown stage '{name}'; stages are {', '.join(STAGES)}")
        self.deliver = tuple(self.opts.deliver if self.opts.deliver is not None else self.sb.deliver)
        from .presets import get_preset

        for name in self.deliver:
            get_preset(name)  # an unknown platform fails before anything runs

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

    def _orchestrator(self) -> Any:
        from .batch import BatchConfig, Orchestrator

        cfg = BatchConfig(
            concurrency=self.opts.concurrency,
            budget=self.opts.budget,
            cancel_on_interrupt=self.opts.cancel_on_interrupt,
            poll_interval=self.opts.poll_interval,
        )
        return Orchestrator(self.outdir, config=cfg, providers=self.opts.providers)

    def _storyboard_key(self) -> str:
        return sha256_file(self.storyboard_path)

    # ------------------------------------------------------------------ the stages

    def stage_generate(self) -> StageResult:
        orch = self._orchestrator()
        try:
            plans = orch.plan(self.sb, provider_override=self.opts.provider)
            result = orch.run(plans)
        finally:
            orch.close()
        failed = [o for o in result.outcomes if o.status != "done"]
        done = [o for o in result.outcomes if o.status == "done" and o.output]
        for o in failed:
            self.notes.append(f"{o.shot_id} take {o.take}: {o.status}" + (f" ({o.error})" if o.error else ""))
        if not done:
            raise UsageError("generation produced no usable take; see the ledger and run again")
        outputs = {
            f"{o.shot_id}/{o.kind}/{o.take}": Path(self.outdir / o.output)
            if not Path(o.output).is_absolute()
            else Path(o.output)
            for o in done
            if o.output is not None
        }
        self.say(
            f"generate: {len(done)} take(s) ready, {len(failed)} not, "
            f"{sum(1 for o in done if o.reused)} reused from the ledger"
        )
        return StageResult(outputs, {"failed": len(failed), "cpu_seconds": round(result.cpu_seconds, 3)})

    def _review_all(self) -> dict[str, list[TakeReview]]:
        from .ledger import Ledger

        out: dict[str, list[TakeReview]] = {}
        with Ledger(self.outdir / "ledger.sqlite") as ledger:
            for shot in self.sb.shots:
                rows = sorted(ledger.takes(shot.id, status="done"), key=lambda r: r.take)
                paths = [self._abs(r.output_path) for r in rows if r.kind != "sound-effect" and r.output_path]
                out[shot.id] = [
                    review(
                        p,
                        duration=shot.duration,
                        aspect=self._aspect(shot),
                        expect_motion=self._expects_motion(shot),
                        config=self.opts.review,
                    )
                    for p in paths
                    if p.is_file()
                ]
        return out

    def _expects_motion(self, shot: Any) -> bool:
        """An AI service always animates; the offline animatic holds a locked-off camera still."""
        from .prompt import parse_camera

        provider = self.opts.provider or shot.provider
        if provider != "local" or not shot.parts.camera:
            return provider != "local" or shot.kind.value not in ("text-to-video", "image-to-video")
        return parse_camera(shot.parts.camera).move != "static"

    def _abs(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.outdir / p

    def _aspect(self, shot: Any) -> float:
        text = shot.aspect or self.sb.aspect
        w, _, h = str(text).partition(":")
        return float(w) / float(h) if h else self.sb.width / self.sb.height

    def stage_review(self) -> StageResult:
        from .batch import plan_take
        from .ledger import Ledger

        reviews = self._review_all()
        retakes = 0
        for _round in range(self.opts.max_retakes):
            rejected = {
                s.id for s in self.sb.shots if reviews.get(s.id) and choose(reviews[s.id]).chosen is None
            }
            if not rejected:
                break
            with Ledger(self.outdir / "ledger.sqlite") as ledger:
                last = {sid: max((r.take for r in ledger.takes(sid)), default=0) for sid in rejected}
            orch = self._orchestrator()
            try:
                new = []
                for p in orch.plan(self.sb, provider_override=self.opts.provider):
                    sid = p.request.shot_id
                    if sid not in rejected or p.request.take != 1 or p.request.kind.value == "sound-effect":
                        continue
                    take = last[sid] + 1
                    seed = ((p.request.seed or 0) + 7919 * take) % 2**31  # a new seed, reproducible
                    req = dataclasses.replace(p.request, take=take, seed=seed)
                    new.append(
                        plan_take(p.provider, orch.provider(p.provider), req, f"shot '{sid}' retake {take}")
                    )
                self.say(f"review: {len(new)} shot(s) rejected, regenerating with new seeds")
                orch.run(new)
                retakes += len(new)
            finally:
                orch.close()
            reviews = self._review_all()
        summary: dict[str, Any] = {}
        with Ledger(self.outdir / "ledger.sqlite") as ledger:
            ids = {str(self._abs(r.output_path)): r.id for r in ledger.takes(status="done") if r.output_path}
            for shot in self.sb.shots:
                choice = choose(reviews.get(shot.id, []))
                summary[shot.id] = {
                    "chosen": choice.chosen.path if choice.chosen else None,
                    "reasons": choice.reasons,
                    "takes": [r.to_dict() for r in choice.ranked],
                }
                for r in choice.ranked:  # the verdicts live in the ledger beside the takes they judge
                    if str(r.path) in ids:
                        ledger.record_review(
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
        previews = self.outdir / "previews"
        previews.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, Path] = {}
        from .gif import gif

        for entry in summary.values():
            for t in entry["takes"]:
                dest = previews / (Path(t["path"]).stem + ".webp")
                if not dest.exists():
                    gif(t["path"], dest, fps=8, width=240, format="webp", quality=60, overwrite=True)
                t["preview"] = str(dest)
                outputs[f"preview:{Path(t['path']).name}"] = dest
        path = self.outdir / "review.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        outputs["review"] = path
        passed = sum(1 for e in summary.values() if e["chosen"])
        self.say(f"review: {passed}/{len(summary)} shots have a passing take; {retakes} retake(s)")
        return StageResult(outputs, {"retakes": retakes})

    def _chosen_takes(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from shotline.otio_adapters.build import ShotTake

        from .ledger import Ledger

        summary = json.loads((self.outdir / "review.json").read_text(encoding="utf-8"))
        takes: dict[str, Any] = {}
        with Ledger(self.outdir / "ledger.sqlite") as ledger:
            rows = ledger.takes(status="done")
        by_path = {str(self._abs(r.output_path)): r for r in rows if r.output_path}
        sfx = {
            r.shot_id: self._abs(r.output_path) for r in rows if r.kind == "sound-effect" and r.output_path
        }
        for shot_id, entry in summary.items():
            path = entry["chosen"] or (entry["takes"][0]["path"] if entry["takes"] else None)
            if path is None:
                continue
            row = by_path.get(str(path))
            seed = None
            if row is not None:
                try:
                    seed = json.loads(row.request_json).get("seed")
                except ValueError:
                    seed = None
            takes[shot_id] = ShotTake(
                path=Path(path),
                take=row.take if row else 1,
                provider=row.provider if row else None,
                model=row.model if row else None,
                seed=seed,
                task_id=row.task_id if row else None,
                cost=(
                    row.cost_actual
                    if row and row.cost_actual is not None
                    else row.cost_estimate
                    if row
                    else None
                ),
                cost_unit=row.cost_unit if row else None,
                sfx=sfx.get(shot_id),
            )
        return takes, summary

    def stage_timeline(self) -> StageResult:
        import opentimelineio as otio

        from shotline.otio_adapters.build import build_from_storyboard
        from shotline.otio_adapters.bundle import write_otioz

        from .runner import atomic_output

        takes, summary = self._chosen_takes()
        sb = self.sb
        music = self._music_file()
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
                chosen = next((t for t in entry["takes"] if t["path"] == entry["chosen"]), None)
                ns["review"] = {
                    "chosen": bool(chosen),
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

    def _music_file(self) -> Path | None:
        from .ledger import Ledger

        if self.sb.music is None:
            return None
        if self.sb.music.path is not None:
            return Path(self.sb.music.path)
        with Ledger(self.outdir / "ledger.sqlite") as ledger:
            rows = ledger.takes("_music", status="done")
        for r in rows:
            if r.output_path and self._abs(r.output_path).is_file():
                return self._abs(r.output_path)
        return None

    def stage_render(self, otio_path: Path) -> StageResult:
        from shotline.otio_adapters.conform import render_timeline

        from .gif import gif
        from .reframe import reframe
        from .thumbs import contact_sheet

        master = self.outdir / "master.mp4"
        r = render_timeline(otio_path, master, overwrite=True)
        self.say(f"render: master {r.width}x{r.height} {r.frames} frames ({r.mode}) -> {master.name}")
        outputs: dict[str, Path] = {"master": master}
        cuts = self.outdir / "cuts"
        cuts.mkdir(exist_ok=True)
        for name in self.deliver:
            from .presets import get_preset

            preset = get_preset(name)
            src_aspect = r.width / r.height
            mode = "crop" if abs(preset.width / preset.height - src_aspect) / src_aspect < 0.3 else "pad"
            dest = cuts / f"{self.slug}_{preset.name}.mp4"
            res = reframe(master, dest, preset, mode=mode, overwrite=True)
            for w in getattr(res, "warnings", ()) or ():
                self.notes.append(f"{preset.name}: {w}")
            outputs[f"cut:{preset.name}"] = dest
            self.say(f"render: {preset.name} cut ({mode}) -> {dest.name}")
        fmt = self.opts.preview_format
        preview = self.outdir / f"preview.{fmt}"
        gif(master, preview, fps=10, width=480, format=fmt, overwrite=True)
        outputs["preview"] = preview
        sheet = self.outdir / "contact_sheet.png"
        contact_sheet(master, sheet, overwrite=True)
        outputs["contact_sheet"] = sheet
        return StageResult(outputs, {"mode": r.mode, "frames": r.frames, "copied_frames": r.copied_frames})

    def stage_upscale(self, master: Path) -> StageResult:
        from shotline.upscale.api import UpscaleOptions, upscale

        model = self.opts.upscale or "animevideov3"
        backend = "auto"
        if model == "lanczos":
            backend = "lanczos"
        elif model.startswith("topaz"):
            backend, _, model = "topaz", None, model.partition(":")[2] or "prob-4"
        opts = UpscaleOptions(model=model, scale=self.opts.upscale_scale, backend=backend)
        dest = self.outdir / f"master_upscaled_{re.sub(r'[^A-Za-z0-9]+', '', model)}.mp4"
        rep = upscale(master, dest, opts, overwrite=True)
        self.say(f"upscale: {master.name} -> {dest.name} ({getattr(rep, 'backend', backend)})")
        return StageResult({"upscaled": dest}, {"model": model})

    def stage_export(self, otio_path: Path) -> StageResult:
        from shotline.otio_adapters.export import export_timeline, read_timeline
        from shotline.resolve_plugin.job import build_job, write_fcp7_xml, write_job

        tl = read_timeline(otio_path)
        exports = self.outdir / "exports"
        exports.mkdir(exist_ok=True)
        outputs: dict[str, Path] = {}
        for fmt, suffix in (("edl", ".edl"), ("fcp7", ".xml"), ("fcpxml", ".fcpxml")):
            dest = exports / f"{self.slug}{suffix}"
            try:
                rep = export_timeline(tl, dest, fmt, overwrite=True)
            except TimelineError as exc:  # e.g. FCPXML refuses 23.976/29.97 fps rather than misplace cuts
                self.notes.append(f"{fmt}: not exported: {exc}")
                continue
            for d in getattr(rep, "dropped", ()) or ():
                self.notes.append(f"{fmt}: {d}")
            outputs[fmt] = dest
        resolve_otio = exports / f"{self.slug}.resolve.otio"
        export_timeline(tl, resolve_otio, "otio", for_resolve=True, overwrite=True)
        outputs["resolve_otio"] = resolve_otio
        job_path = self.outdir / "resolve_job.json"
        xml_path = job_path.with_suffix(".xml")  # the FCP7 XML the script falls back to (Resolve < 18.5)
        job = build_job(
            resolve_otio,
            name=self.sb.title,
            presets=self.deliver or ("youtube",),
            render_dir=self.outdir / "resolve_renders",
            fallback_xml=xml_path,
        )
        write_fcp7_xml(resolve_otio, xml_path, overwrite=True)
        write_job(job, job_path, overwrite=True)
        outputs["resolve_job"] = job_path
        outputs["resolve_xml"] = xml_path
        self.say(f"export: EDL, FCP7 XML, FCPXML, Resolve OTIO and job -> {exports.name}/")
        return StageResult(outputs)

    # ------------------------------------------------------------------ the run

    def run(self, *, dry_run: bool = False) -> ProduceResult:
        t0 = time.monotonic()
        state = StageState(self.state_path)
        lines: list[StageLine] = []
        if dry_run:
            return self._dry_run(state)
        self.outdir.mkdir(parents=True, exist_ok=True)
        sb_key = self._storyboard_key()
        done: dict[str, StageOutcome] = {}

        def go(name: str, key_parts: tuple[Any, ...], fn: Callable[[], StageResult]) -> StageOutcome | None:
            wanted, force = self._wanted(name)
            key = stable_hash(name, *key_parts)
            if not wanted:
                rec = state.valid(name, key)
                if rec is None:
                    lines.append(
                        StageLine(name, "missing", "not run (outside --only/--from) and not done yet")
                    )
                    return None
                lines.append(StageLine(name, "skip", "still valid"))
                return StageOutcome(name, False, rec)
            outcome = run_stage(state, name, key, fn, force=force)
            lines.append(
                StageLine(
                    name,
                    "run" if outcome.ran else "skip",
                    f"{outcome.record.seconds:.1f} s" if outcome.ran else "still valid",
                )
            )
            done[name] = outcome
            return outcome

        gen = go("generate", (sb_key, self.opts.provider), self.stage_generate)
        rev = (
            go(
                "review",
                (
                    sb_key,
                    gen and gen.record.checksums(),
                    self.opts.max_retakes,
                    dataclasses.asdict(self.opts.review),
                ),
                self.stage_review,
            )
            if gen
            else None
        )
        tl = go("timeline", (sb_key, rev and rev.record.checksums()), self.stage_timeline) if rev else None
        ren = None
        if tl:
            otio_path = tl.record.path("otio")
            ren = go(
                "render",
                (tl.record.checksums(), self.deliver, self.opts.preview_format),
                lambda: self.stage_render(otio_path),
            )
            if self.opts.upscale and ren:
                master = ren.record.path("master")
                go(
                    "upscale",
                    (ren.record.checksums()["master"], self.opts.upscale, self.opts.upscale_scale),
                    lambda: self.stage_upscale(master),
                )
            else:
                lines.append(StageLine("upscale", "off", "not asked for (--upscale MODEL)"))
            go("export", (tl.record.checksums(), self.deliver), lambda: self.stage_export(otio_path))
        elapsed = time.monotonic() - t0
        manifest, report, deliverables, cost = self._finish(state, elapsed)
        lines.append(StageLine("report", "run", str(report.name)))
        return ProduceResult(
            self.outdir, tuple(lines), tuple(deliverables), report, manifest, cost, elapsed, tuple(self.notes)
        )

    def _dry_run(self, state: StageState) -> ProduceResult:
        from .batch import estimate

        orch = self._orchestrator()
        try:
            plans = orch.plan(self.sb, provider_override=self.opts.provider)
            todo = orch.check_budget(plans)
        finally:
            orch.close()
        total = estimate(plans)
        lines = [
            StageLine(
                "generate",
                "run" if any(todo.values()) or orch.pending(plans) else "skip",
                f"{len(plans)} take(s), {len(orch.pending(plans))} to generate; estimated cost "
                + ", ".join(f"{v:g} {u}" for u, v in total.items())
                + " in all, "
                + ", ".join(f"{v:g} {u}" for u, v in todo.items())
                + " still to pay",
            )
        ]
        runtime = self.sb.duration
        for name, detail in (
            ("review", f"up to {self.opts.max_retakes} retake round(s) for rejected shots"),
            ("timeline", f"{len(self.sb.shots)} shots, {runtime:.1f} s"),
            (
                "render",
                f"master + {len(self.deliver)} platform cut(s) ({', '.join(self.deliver) or 'none'}), "
                f"{self.opts.preview_format} preview, contact sheet; about {runtime * (1 + len(self.deliver)):.0f} s "
                "of encoding at ~1x realtime on 2 cores",
            ),
            ("upscale", f"{self.opts.upscale}" if self.opts.upscale else "off"),
            ("export", "EDL, FCP7 XML, FCPXML, Resolve OTIO + job"),
            ("report", "manifest.json and report.html"),
        ):
            wanted, _ = self._wanted(name)
            action = (
                "off"
                if (name == "upscale" and not self.opts.upscale) or not wanted
                else ("skip" if name in state.records else "run")
            )
            lines.append(StageLine(name, action, detail))
        return ProduceResult(self.outdir, tuple(lines), (), None, None, total, 0.0)

    def _finish(
        self, state: StageState, elapsed: float
    ) -> tuple[Path, Path, list[dict[str, Any]], dict[str, float]]:
        from .ledger import Ledger
        from .probe import probe
        from .report import write_report

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
                    except Exception:  # a GIF/WebP PyAV cannot time: no duration, still listed
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
        cost: dict[str, float] = {}
        rows = []
        ledger_path = self.outdir / "ledger.sqlite"
        if ledger_path.exists():
            with Ledger(ledger_path) as ledger:
                rows = ledger.takes()
        for r in rows:
            c = r.cost_actual if r.cost_actual is not None else r.cost_estimate
            if c and r.status == "done":
                cost[r.cost_unit or "credits"] = cost.get(r.cost_unit or "credits", 0.0) + float(c)
        manifest = self.outdir / "manifest.json"
        tmp = manifest.with_suffix(".json.tmp")
        tmp.write_text(
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
            encoding="utf-8",
        )
        tmp.replace(manifest)
        # the time the deliverables took to make, over every run that made them
        made_in = sum(r.seconds for r in state.records.values())
        data = self._report_data(rows, deliverables, cost, made_in)
        report = write_report(data, self.outdir / "report.html")
        return manifest, report, deliverables, cost

    def _report_data(
        self, rows: list[Any], deliverables: list[dict[str, Any]], cost: dict[str, float], elapsed: float
    ) -> Any:
        from .prompt import build_prompt
        from .report import Deliverable, ReportData, ReportShot, ReportTake

        summary: dict[str, Any] = {}
        review_path = self.outdir / "review.json"
        if review_path.exists():
            summary = json.loads(review_path.read_text(encoding="utf-8"))
        by_path = {str(self._abs(r.output_path)): r for r in rows if r.output_path}
        shots = []
        for s in self.sb.shots:
            entry = summary.get(s.id, {"takes": [], "reasons": {}, "chosen": None})
            takes = []
            for t in sorted(entry["takes"], key=lambda t: t["path"]):
                row = by_path.get(t["path"])
                seed = None
                if row is not None:
                    try:
                        seed = json.loads(row.request_json).get("seed")
                    except ValueError:
                        seed = None
                metrics = {
                    k: t["metrics"][k]
                    for k in (
                        "longest_black",
                        "longest_freeze",
                        "flicker",
                        "jitter",
                        "sharpness",
                        "clipped",
                        "duration",
                    )
                }
                takes.append(
                    ReportTake(
                        take=row.take if row else 0,
                        path=t["path"],
                        preview=t.get("preview"),
                        passed=t["passed"],
                        chosen=t["path"] == entry["chosen"],
                        reason=entry["reasons"].get(t["path"], ""),
                        score=t["score"],
                        metrics=metrics,
                        seed=seed,
                        cost=(
                            row.cost_actual
                            if row and row.cost_actual is not None
                            else row.cost_estimate
                            if row
                            else None
                        ),
                    )
                )
            shot_rows = [by_path.get(t["path"]) for t in entry["takes"]]
            first = next((r for r in shot_rows if r is not None), None)
            shot_cost = sum(
                float(r.cost_actual if r.cost_actual is not None else r.cost_estimate or 0)
                for r in shot_rows
                if r is not None
            )
            p = build_prompt(self.sb, s)
            shots.append(
                ReportShot(
                    s.id,
                    p.text,
                    first.provider if first else s.provider,
                    first.model if first else (s.model or "default"),
                    s.duration,
                    tuple(takes),
                    p.negative,
                    s.parts.camera or None,
                    shot_cost,
                )
            )
        strip = self._strip()
        dels = tuple(
            Deliverable(d["kind"], d["path"], d["size"], d["duration"], d["sha256"]) for d in deliverables
        )
        unit = next(iter(cost), "credits")
        return ReportData(
            self.sb.title,
            tuple(shots),
            strip,
            dels,
            sum(cost.values()),
            unit,
            elapsed,
            time.strftime("%Y-%m-%d %H:%M"),
            tuple(self.notes),
        )

    def _strip(self) -> tuple[Any, ...]:
        from .report import StripItem

        otio_path = self.outdir / f"{self.slug}.otio"
        if not otio_path.exists():
            return ()
        import opentimelineio as otio

        tl = otio.adapters.read_from_file(str(otio_path))
        track = tl.video_tracks()[0]
        items = []
        prev_transition: tuple[str, float] | None = None
        for child in track:
            if isinstance(child, otio.schema.Transition):
                name = (child.metadata.get("shotline") or {}).get("xfade") or child.transition_type
                prev_transition = (str(name), child.duration().to_seconds())
                continue
            if isinstance(child, otio.schema.Clip):
                rng = child.trimmed_range_in_parent()
                sid = (child.metadata.get("shotline") or {}).get("shot_id") or child.name
                tr = prev_transition
                items.append(
                    StripItem(
                        str(sid),
                        rng.start_time.to_seconds() if rng else 0.0,
                        child.duration().to_seconds(),
                        tr[0] if tr else None,
                        tr[1] if tr else 0.0,
                    )
                )
                prev_transition = None
        return tuple(items)


def produce(
    storyboard: str | Path,
    outdir: str | Path,
    options: ProduceOptions | None = None,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] | None = None,
) -> ProduceResult:
    """Library entry point used by ``shotline produce`` and ``make demo``."""
    return Producer(storyboard, outdir, options, say=say).run(dry_run=dry_run)
