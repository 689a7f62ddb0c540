"""``shotline produce`` end to end with the offline provider: deliverables, review, retakes, resume."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.generate.ledger import Ledger
from shotline.core.generate.providers.local import LocalProvider
from shotline.core.media.probe import probe
from shotline.core.produce.producer import ProduceOptions, produce
from shotline.core.vocab import sha256_file
from tests.mediakit import ffmpeg

STORYBOARD = """
title: Cliff test
output: {width: 320, height: 180, fps: 25}
style: soft evening light
characters:
  keeper: {description: an old keeper in a yellow raincoat}
deliver: [instagram-square]
shots:
  - id: s1
    subject: a lighthouse on a cliff
    camera: dolly in
    duration: 1.6
    transition: {type: dissolve, duration: 0.4}
  - id: s2
    subject: the keeper climbs the stairs
    characters: [keeper]
    camera: pan left
    duration: 1.6
  - id: s3
    prompt: "waves crash against the rocks, 'storm' coming"
    camera: tilt up
    duration: 1.2
"""


class FlakyService(LocalProvider):
    """A service whose first take of s1 comes back with a black second: the planted defect."""

    def fetch(self, status, dest):  # type: ignore[no-untyped-def]
        out = super().fetch(status, dest)
        if out.name.startswith("s1_t01"):
            bad = out.with_name("bad-" + out.name)
            ffmpeg(
                "-i",
                str(out),
                "-vf",
                "drawbox=c=black:t=fill:enable='between(t,0.2,1.2)'",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-c:a",
                "copy",
                str(bad),
            )
            bad.replace(out)
        return out


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("produce")
    sb = root / "cliff.yaml"
    sb.write_text(STORYBOARD, encoding="utf-8")
    out = root / "out"
    opts = ProduceOptions(providers={"local": FlakyService(workdir=root / "service")})
    first = produce(sb, out, opts)
    return sb, out, opts, first


def test_every_stage_ran_and_deliverables_are_right(produced):
    sb, out, _, res = produced
    assert [(s.stage, s.action) for s in res.stages] == [
        ("generate", "run"),
        ("review", "run"),
        ("timeline", "run"),
        ("render", "run"),
        ("upscale", "off"),
        ("export", "run"),
        ("report", "run"),
    ]
    tl = otio.adapters.read_from_file(str(out / "Cliff_test.otio"))
    frames = tl.duration().to_frames()
    assert frames == round((1.6 + 1.6 + 1.2 - 0.4) * 25)  # the dissolve overlaps two shots
    master = probe(out / "master.mp4")
    assert master.video is not None and (master.video.width, master.video.height) == (320, 180)
    assert master.video.frame_count == frames
    cut = probe(out / "cuts" / "Cliff_test_instagram-square.mp4")
    assert cut.video is not None and (cut.video.width, cut.video.height) == (1080, 1080)
    assert cut.duration == pytest.approx(master.duration, abs=0.05)
    assert probe(out / "preview.gif").video is not None
    sheet = probe(out / "contact_sheet.png")
    assert sheet.video is not None and sheet.video.width > 320
    # OTIO's own EDL reader refuses a dissolve from black at the head, so read the events as text
    edl = (out / "exports" / "Cliff_test.edl").read_text()
    names = [line.split()[-1] for line in edl.splitlines() if "CLIP NAME:" in line]
    assert list(dict.fromkeys(names)) == ["s1", "s2", "s3"]
    assert " D 010 " in edl  # the 0.4 s dissolve between s1 and s2
    job = json.loads((out / "resolve_job.json").read_text())
    assert (
        Path(job["timeline"]["path"] if isinstance(job.get("timeline"), dict) else job["timeline"]).exists()
        if "timeline" in job
        else True
    )
    manifest = json.loads((out / "manifest.json").read_text())
    kinds = {d["kind"] for d in manifest["deliverables"]}
    assert {
        "otio",
        "otioz",
        "master",
        "cut:instagram-square",
        "preview",
        "contact_sheet",
        "edl",
        "fcp7",
        "fcpxml",
        "resolve_job",
    } <= kinds
    for d in manifest["deliverables"]:
        assert sha256_file(d["path"]) == d["sha256"] and Path(d["path"]).stat().st_size == d["size"]


def test_defective_take_rejected_and_retaken_with_new_seed(produced):
    _, out, _, _ = produced
    review = json.loads((out / "review.json").read_text())
    s1 = review["s1"]
    assert len(s1["takes"]) == 2
    assert Path(s1["chosen"]).name.startswith("s1_t02")
    bad = next(t for t in s1["takes"] if Path(t["path"]).name.startswith("s1_t01"))
    assert not bad["passed"] and any("black" in f for f in bad["failures"])
    assert s1["reasons"][bad["path"]].startswith("rejected: black")
    with Ledger(out / "ledger.sqlite") as ledger:
        rows = [r for r in ledger.takes("s1") if r.kind != "sound-effect"]
        verdicts = {v.take: v for v in ledger.reviews("s1")}
    seeds = {json.loads(r.request_json)["seed"] for r in rows}
    assert len(rows) == 2 and len(seeds) == 2 and all(r.status == "done" for r in rows)
    assert not verdicts[1].passed and not verdicts[1].chosen and "black" in verdicts[1].failures[0]
    assert verdicts[2].passed and verdicts[2].chosen and verdicts[2].metrics["longest_black"] == 0
    # the scores travel on the OTIO clip metadata
    tl = otio.adapters.read_from_file(str(out / "Cliff_test.otio"))
    clip = next(c for c in tl.find_clips() if c.metadata["shotline"].get("shot_id") == "s1")
    rv = clip.metadata["shotline"]["review"]
    assert rv["chosen"] is True and rv["score"] is not None and rv["metrics"]["longest_black"] == 0
    assert Path(clip.media_reference.target_url.replace("file://", "")).name.startswith("s1_t02")


def test_report_shows_every_take_and_why(produced):
    _, out, _, res = produced
    html = (out / "report.html").read_text(encoding="utf-8")
    assert res.report == out / "report.html"
    assert html.count('<section class="shot"') == 3
    assert html.count('<video controls preload="metadata" src="shots/') == 4  # s1 two takes, s2, s3
    assert html.count('poster="previews/') == 4
    assert "take 1 went black for" in html and "&#x27;storm&#x27;" in html
    assert html.count('class="clip') == 3
    assert 'data-metric="longest_black"' in html and "limit 0.25 s" in html


def test_report_of_a_real_run_plays_and_links_in_chromium(produced):
    from urllib.parse import unquote

    from tests.browser import boxes_overlap, find_or_install_chromium, inspect_page

    browser, why = find_or_install_chromium()
    if browser is None:
        pytest.skip(why)
    _, out, _, _ = produced
    got = inspect_page(browser, out / "report.html")
    assert len(got["videos"]) == 4 + 1 + 1  # every take, the master, the instagram-square cut
    assert all(v["error"] is None and v["ready"] >= 1 and v["width"] > 0 for v in got["videos"]), got[
        "videos"
    ]
    srcs = {unquote(i["src"]): i["width"] for i in got["images"]}
    assert srcs["preview.gif"] > 0 and srcs["contact_sheet.png"] > 0
    root = out.resolve()
    for link in got["links"]:
        if not link["download"]:
            target = (root / unquote(link["href"].split("#")[0])).resolve()
            assert target.is_file() and target.is_relative_to(root), link
    # the strip of the real timeline: every clip named, no name under a transition or another name
    assert [x["name"] for x in got["labels"] if x["kind"] == "clip"] == ["s1", "s2", "s3"]
    assert {t["name"] for t in got["transitions"]} == {"fade in", "dissolve", "fade out"}
    for lab in got["labels"]:
        assert all(lab["hits"]) and lab["visible"][2] > lab["visible"][0], lab
        assert not any(boxes_overlap(lab["visible"], t["box"]) for t in got["transitions"]), lab


def test_second_run_skips_everything_and_changes_nothing(produced):
    sb, out, opts, _ = produced
    before = {p: p.stat().st_mtime_ns for p in (out / "master.mp4", out / "Cliff_test.otio")}
    again = produce(sb, out, opts)
    assert [s.action for s in again.stages if s.stage != "report"] == ["skip"] * 4 + ["off", "skip"]
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_only_reruns_just_that_stage(produced):
    sb, out, opts, _ = produced
    master = out / "master.mp4"
    before = master.stat().st_mtime_ns
    res = produce(sb, out, ProduceOptions(providers=opts.providers, only=("render",)))
    actions = {s.stage: s.action for s in res.stages}
    assert actions["render"] == "run" and actions["generate"] == "skip" and actions["export"] == "skip"
    assert master.stat().st_mtime_ns != before
    res = produce(sb, out, ProduceOptions(providers=opts.providers, only=("export",)))
    actions = {s.stage: s.action for s in res.stages}
    assert actions["export"] == "run" and actions["render"] == "skip"


def test_a_retake_killed_in_flight_is_polled_again_not_paid_again(produced):
    sb, out, opts, _ = produced
    with Ledger(out / "ledger.sqlite") as ledger:
        row = next(r for r in ledger.takes("s1") if r.take == 2)
        creates_before = sum(1 for e in ledger.events(row.id) if e.event == "created")
        # as if the process died after the service accepted retake 2 and before it finished
        ledger.update(row.id, status="submitted", event="test: killed in flight")
    res = produce(sb, out, ProduceOptions(providers=opts.providers, from_stage="review"))
    assert {s.stage: s.action for s in res.stages}["review"] == "run"
    with Ledger(out / "ledger.sqlite") as ledger:
        rows = [r for r in ledger.takes("s1") if r.kind != "sound-effect"]
        again = ledger.get(row.id)
        creates_after = sum(1 for e in ledger.events(row.id) if e.event == "created")
    assert [r.take for r in rows] == [1, 2]  # no take 3: retake 2 was resumed, not replaced
    assert again.status == "done" and again.task_id == row.task_id and creates_after == creates_before == 1


def test_dry_run_and_cli(produced):
    sb, out, _, _ = produced
    r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "generate  skip" in r.output and "0 to generate" in r.output
    r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--deliver", "nosuchplatform"])
    assert r.exit_code == 2 and "nosuchplatform" in r.output


def test_ntsc_project_delivers_and_says_why_fcpxml_is_missing(tmp_path: Path):
    sb = tmp_path / "ntsc.yaml"
    sb.write_text(
        "title: NTSC\noutput: {width: 160, height: 90, fps: 30000/1001}\n"
        "shots:\n  - {id: only, prompt: a test card, camera: static, duration: 1}\n",
        encoding="utf-8",
    )
    res = produce(sb, tmp_path / "out", ProduceOptions(preview_format="webp"))
    master = probe(tmp_path / "out" / "master.mp4")
    assert master.video is not None and master.video.rate == Fraction(30000, 1001)
    assert (tmp_path / "out" / "exports" / "NTSC.xml").exists()
    assert not (tmp_path / "out" / "exports" / "NTSC.fcpxml").exists()
    assert any(n.startswith("fcpxml: not exported:") for n in res.notes)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any(n.startswith("fcpxml: not exported:") for n in manifest["notes"])


TWO_SHOTS = """
title: Edit test
output: {width: 160, height: 90, fps: 25}
shots:
  - {id: a, subject: a red lighthouse, camera: pan left, duration: 1}
  - {id: b, subject: a calm sea, camera: tilt up, duration: 1}
"""


def test_a_changed_shot_is_regenerated_and_only_its_new_take_competes(tmp_path: Path):
    sb = tmp_path / "edit.yaml"
    sb.write_text(TWO_SHOTS, encoding="utf-8")
    out = tmp_path / "out"
    opts = ProduceOptions(preview_format="webp", fade_in=0, fade_out=0)
    produce(sb, out, opts)
    review_before = json.loads((out / "review.json").read_text())
    sb.write_text(TWO_SHOTS.replace("a red lighthouse", "a blue whale"), encoding="utf-8")
    res = produce(sb, out, opts)
    assert {s.stage: s.action for s in res.stages}["generate"] == "run"
    review = json.loads((out / "review.json").read_text())
    assert len(review["a"]["takes"]) == 1  # the lighthouse take stays in the ledger but does not compete
    assert review["a"]["chosen"] != review_before["a"]["chosen"]
    assert review["b"]["chosen"] == review_before["b"]["chosen"]  # reused, not regenerated
    with Ledger(out / "ledger.sqlite") as ledger:
        a_rows = [r for r in ledger.takes("a") if r.kind != "sound-effect"]
        chosen = next(r for r in a_rows if str(ledger.output_file(r)) == review["a"]["chosen"])
    assert len(a_rows) == 2 and "blue whale" in chosen.request["prompt"]
    tl = otio.adapters.read_from_file(str(out / "Edit_test.otio"))
    prompts = {c.metadata["shotline"]["shot_id"]: c.metadata["shotline"]["prompt"] for c in tl.find_clips()}
    assert "blue whale" in prompts["a"] and "lighthouse" not in prompts["a"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "blue whale" in html and "red lighthouse" not in html


def test_a_changed_still_reruns_generation(tmp_path: Path):
    still = tmp_path / "still.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:d=0.04", "-frames:v", "1", str(still))
    sb = tmp_path / "still.yaml"
    sb.write_text(
        "title: Still\noutput: {width: 160, height: 90, fps: 25}\nshots:\n"
        "  - {id: s, kind: image-to-video, image: still.png, camera: dolly in, duration: 1}\n",
        encoding="utf-8",
    )
    opts = ProduceOptions(preview_format="webp", fade_in=0, fade_out=0)
    produce(sb, tmp_path / "out", opts)
    assert {s.stage: s.action for s in produce(sb, tmp_path / "out", opts).stages}["generate"] == "skip"
    ffmpeg("-f", "lavfi", "-i", "smptebars=s=320x180:d=0.04", "-frames:v", "1", str(still))
    assert {s.stage: s.action for s in produce(sb, tmp_path / "out", opts).stages}["generate"] == "run"


PICK = """
title: Pick test
output: {width: 160, height: 90, fps: 25}
shots:
  - {id: a, subject: a red lighthouse, camera: slow pan right, duration: 1, seed: 5, takes: 2}
  - {id: b, subject: a calm sea, camera: tilt up, duration: 1}
"""


@pytest.fixture(scope="module")
def picked(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pick")
    sb = root / "pick.yaml"
    sb.write_text(PICK, encoding="utf-8")
    out = root / "out"
    opts = ProduceOptions(preview_format="webp", fade_in=0, fade_out=0)
    events: list = []
    produce(sb, out, opts, progress=events.append)
    return sb, out, opts, events


def test_a_first_run_reports_progress_inside_generate_and_review(picked):
    *_, events = picked
    for stage, detail in (("generate", "3/3 takes"), ("review", "previews")):
        evs = [e for e in events if e.stage == stage]
        assert evs[0].state == "running" and evs[0].fraction == 0 and evs[-1].state == "done"
        assert any(0 < e.fraction < 1 for e in evs) and evs[-1].detail == detail, evs


def _distance(frames: list, others: list) -> float:
    return float(np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, others)]))


def test_use_this_take_in_the_report_changes_the_master(picked):
    """The round trip: the report's button writes selection.json, the next run cuts that take in."""
    from urllib.parse import unquote

    from tests.browser import find_or_install_chromium, inspect_page
    from tests.mediakit import decode_gray

    sb, out, opts, _ = picked
    review = json.loads((out / "review.json").read_text())
    chosen = review["a"]["chosen"]
    other = next(t["path"] for t in review["a"]["takes"] if t["path"] != chosen)
    n = int(re.search(r"_t0*(\d+)_", Path(other).name).group(1))  # type: ignore[union-attr]
    browser, why = find_or_install_chromium()
    if browser is None:
        pytest.skip(why)
    got = inspect_page(
        browser,
        out / "report.html",
        clicks=(f'button.use[data-shot="a"][data-take="{n}"]',),
        texts=("#selection-download", "#selection-cmd"),
    )
    assert not got["missing"]
    payload = unquote(got["texts"]["#selection-download"].partition(",")[2])
    assert json.loads(payload) == {"version": 1, "takes": {"a": n}}
    assert got["texts"]["#selection-cmd"].endswith(f"--use a={n}")
    (out / "selection.json").write_text(payload, encoding="utf-8")  # what the editor saves

    before = decode_gray(out / "master.mp4")
    res = produce(sb, out, opts)
    actions = {s.stage: s.action for s in res.stages}
    assert (actions["generate"], actions["review"]) == ("skip", "skip")  # nothing regenerated or re-measured
    assert (actions["timeline"], actions["render"], actions["export"]) == ("run", "run", "run")
    master = decode_gray(out / "master.mp4")
    picked_frames, review_frames = decode_gray(other), decode_gray(chosen)
    assert len(master) == 50
    # shot a (the first 25 frames) is now the editor's take, not review's; shot b is as it was
    assert _distance(master[:25], picked_frames) < 0.4 * _distance(master[:25], review_frames)
    assert _distance(before[:25], review_frames) < 0.4 * _distance(before[:25], picked_frames)
    assert _distance(master[25:], before[25:]) < 1.0
    tl = otio.adapters.read_from_file(str(out / "Pick_test.otio"))
    clip = next(c for c in tl.find_clips() if c.metadata["shotline"].get("shot_id") == "a")
    assert clip.metadata["shotline"]["review"]["chosen_by"] == "editor"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"take {n} chosen by the editor (selection.json)" in html
    assert "review&#x27;s pick, overridden by the editor" in html

    # the same selection again: nothing to do
    again = produce(sb, out, opts)
    assert [s.action for s in again.stages if s.stage in ("timeline", "render")] == ["skip", "skip"]
    # --use a=auto gives the choice back to review: the master cuts review's take in again
    r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--preview", "webp", "--use", "a=auto"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "selection.json").read_text()) == {"version": 1, "takes": {}}
    restored = decode_gray(out / "master.mp4")[8:25]  # the CLI's default fade from black ends by frame 7
    assert _distance(restored, review_frames[8:]) < 0.4 * _distance(restored, picked_frames[8:])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '{"version": 1, "takes": {"a": 2,}}',
            "not valid JSON (Expecting property name enclosed in double quotes, line 1",
        ),
        ('{"version": 1, "takes": {"zz": 1}}', "no shot 'zz' in the storyboard (its shots: a, b)"),
        (
            '{"version": 1, "takes": {"a": "two"}}',
            "shot 'a': the take must be a whole number from 1, got 'two'",
        ),
        ('["a", 2]', 'expected {"version": 1, "takes": {"SHOT": TAKE}}'),
        ('{"version": 1, "takes": {"a": 9}}', "shot 'a' has no finished take 9 (its takes: 1, 2)"),
    ],
)
def test_a_broken_selection_stops_with_one_line_and_loses_nothing(picked, text: str, says: str):
    sb, out, _, _ = picked
    keep = (out / "selection.json").read_bytes() if (out / "selection.json").exists() else None
    watched = [out / "master.mp4", out / "Pick_test.otio", out / ".shotline" / "produce-state.json"]
    before = {p: (p.stat().st_mtime_ns, sha256_file(p)) for p in watched}
    (out / "selection.json").write_text(text, encoding="utf-8")
    try:
        r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--preview", "webp"])
        assert r.exit_code == 2, r.output
        lines = [x for x in r.output.splitlines() if "selection.json" in x]
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.output, r.output
        assert (out / "selection.json").read_text(encoding="utf-8") == text  # the editor's file is kept
        assert {p: (p.stat().st_mtime_ns, sha256_file(p)) for p in watched} == before
        if "has no finished take" not in says:  # --use refuses to rewrite a file it cannot read
            r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--use", "a=1"])
            assert r.exit_code == 2 and (out / "selection.json").read_text(encoding="utf-8") == text
            assert {p: (p.stat().st_mtime_ns, sha256_file(p)) for p in watched} == before
    finally:
        if keep is None:
            (out / "selection.json").unlink()
        else:
            (out / "selection.json").write_bytes(keep)


def test_progress_json_lines_for_every_stage(produced):
    sb, out, _, _ = produced
    r = CliRunner().invoke(
        cli, ["produce", str(sb), "-o", str(out), "--from", "render", "--progress", "json"]
    )
    assert r.exit_code == 0, r.output
    events = [json.loads(line) for line in r.stderr.splitlines()]  # stderr is JSON lines only
    progress = [e for e in events if "stage" in e]
    assert any("message" in e and e["message"].startswith("render: master") for e in events)
    by_stage: dict[str, list[dict]] = {}
    for e in progress:
        assert set(e) == {"stage", "state", "fraction", "eta_s", "elapsed_s", "detail"}
        by_stage.setdefault(e["stage"], []).append(e)
    assert list(by_stage) == ["generate", "review", "timeline", "render", "upscale", "export", "report"]
    for stage, evs in by_stage.items():
        fractions = [e["fraction"] for e in evs]
        assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] == 1.0, stage
        assert evs[-1]["state"] in ("done", "skipped")
    assert [by_stage[s][-1]["state"] for s in ("generate", "review", "timeline", "upscale")] == [
        "skipped"
    ] * 4
    render = by_stage["render"]
    assert render[0]["state"] == "running" and render[-1]["state"] == "done"
    moving = [e for e in render if 0 < e["fraction"] < 1]
    assert len({e["fraction"] for e in moving}) >= 3  # the render reports as it goes, not only at its ends
    assert any(e["eta_s"] is not None and e["eta_s"] > 0 for e in moving)
    assert {e["detail"] for e in moving} >= {"master", "instagram-square"}


def test_progress_bars_name_every_stage(produced):
    sb, out, _, _ = produced
    r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--only", "export", "--progress", "bar"])
    assert r.exit_code == 0, r.output
    for stage in ("export", "report"):
        assert re.search(rf"^{stage} +\S+ 100% done", r.stderr, re.M), r.stderr
    for stage in ("generate", "review", "timeline", "render"):
        assert re.search(rf"^{stage} +\S+ 100% +skipped still valid", r.stderr, re.M), r.stderr


@pytest.mark.parametrize(
    ("use", "says"),
    [
        ("a", "--use 'a': expected SHOT=TAKE"),
        ("zz=1", "no shot 'zz' in the storyboard (its shots: a, b)"),
        ("a=0", "the take must be a whole number from 1, or auto"),
        ("a=two", "the take must be a whole number from 1, or auto"),
    ],
)
def test_a_bad_use_argument_is_refused_before_anything_is_written(picked, use: str, says: str):
    sb, out, _, _ = picked
    before = (out / "selection.json").read_bytes() if (out / "selection.json").exists() else None
    state = sha256_file(out / ".shotline" / "produce-state.json")
    r = CliRunner().invoke(cli, ["produce", str(sb), "-o", str(out), "--use", use])
    assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output, r.output
    after = (out / "selection.json").read_bytes() if (out / "selection.json").exists() else None
    assert after == before and sha256_file(out / ".shotline" / "produce-state.json") == state
