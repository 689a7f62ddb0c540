"""The real Resolve script against the strict stand-in: grades, LUTs, renders, bad input, menu and terminal runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.resolve.conftest import VERSIONS, user_world


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_drx_is_reported_and_nothing_else_breaks(version, edit, drx, write_job, run_resolve):
    job = write_job(edit, drx=drx)
    drx.unlink()
    run = run_resolve(user_world(version), job)

    # the job refers to a file that is gone: stop before touching Resolve
    assert run.result["ok"] is False
    step = run.step("job")
    assert step["status"] == "failed" and str(drx) in step["detail"] and "grades.all" in step["detail"]
    assert [t["name"] for t in run.project["timelines"]] == ["Assembly"]
    assert not run.called("MediaPool", "ImportTimelineFromFile")


def test_drx_refused_by_resolve_is_reported_per_item(edit, tmp_path, write_job, run_resolve):
    bad = tmp_path / "broken.drx"
    bad.write_text("this is not a DRX still")
    job = write_job(edit, drx=bad)
    run = run_resolve(user_world("20.3"), job)

    step = run.step("grades")
    assert step["status"] == "failed" and "broken.drx on V1 'shot1'" in step["detail"]
    assert run.result["ok"] is False
    assert run.step("import")["status"] == "ok"  # the timeline is there and reported


@pytest.mark.parametrize("version", VERSIONS)
def test_render_failure_is_reported_with_resolves_error(version, edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube", "tiktok"], start_render=True)
    world = user_world(version, faults={"render_fail": {"Job 2": "Disk full"}})
    run = run_resolve(world, job)

    assert run.result["ok"] is False
    entries = {e["preset"]: e for e in run.result["render_jobs"]}
    assert entries["youtube-1080p"]["status"] == "Complete" and entries["youtube-1080p"]["error"] is None
    assert entries["tiktok"]["status"] == "Failed" and entries["tiktok"]["error"] == "Disk full"
    assert not Path(entries["tiktok"]["output"]).exists()
    assert "tiktok: Disk full" in run.step("render")["detail"]
    # status dicts carried only the documented keys for their state
    assert run.called("Project", "GetRenderJobStatus")


def test_render_that_never_finishes_is_stopped_at_the_timeout(edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube"], start_render=True)
    data = json.loads(job.read_text())
    data["render"]["timeout_s"] = 0.05
    job.write_text(json.dumps(data))
    run = run_resolve(user_world("20.3", faults={"render_hang": ["Job 1"]}), job)

    step = run.step("render")
    assert step["status"] == "failed" and "timed out" in step["detail"]
    assert run.called("Project", "StopRendering")
    mine = [j for j in run.project["render_jobs"] if j["TimelineName"] == "Promo Edit"]
    assert [j["JobStatus"] for j in mine] == ["Cancelled"]
    assert run.result["render_jobs"][0]["error"].startswith("stopped after")


def test_render_started_without_waiting(edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube"], start_render=True, wait=False)
    run = run_resolve(user_world("21.1"), job)
    assert run.result["ok"] and "not waiting" in run.step("render")["detail"]
    assert not run.called("Project", "GetRenderJobStatus")
    starts = run.called("Project", "StartRendering")
    assert starts[0]["args"] == [[run.result["render_jobs"][0]["job_id"]]]  # the list form, our job only


def test_unknown_render_codec_names_what_resolve_offers(edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube"])
    data = json.loads(job.read_text())
    data["render"]["jobs"][0]["codec"] = "H.264"  # the description, which Resolve refuses
    job.write_text(json.dumps(data))
    run = run_resolve(user_world("19.1"), job)

    step = run.step("render job youtube-1080p")
    assert step["status"] == "failed"
    assert "codec 'H.264' is not offered for mp4" in step["detail"] and "H264" in step["detail"]
    assert run.project["render_jobs"] == []
    assert len(run.state["projects"]["Client Job"]["render_jobs"]) == 1  # the user's, untouched


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda j: j.update(colour="red"), "colour: unknown field"),
        (lambda j: j["project"].update(frame_rate=24), "project.frame_rate: must be str, got int"),
        (lambda j: j["project"].update(frame_rate="23.98"), "project.frame_rate: '23.98' is not a Resolve"),
        (lambda j: j["timeline"].pop("path"), "timeline.path: required field is missing"),
        (lambda j: j["render"]["jobs"][0].update(quality=90), "render.jobs[0].quality: must be str, got int"),
        (lambda j: j["render"]["jobs"][0].update(file_name="a/b"), "file_name: must be a plain file name"),
        (lambda j: j["markers"][0].update(color="Orange"), "markers[0].color: must be one of"),
        (lambda j: j["grades"].update(mode=3), "grades.mode: must be 0, 1 or 2"),
        (lambda j: j.update(version=2), "version: this script reads version 1"),
    ],
)
def test_bad_job_fields_are_refused_before_resolve_is_touched(mutate, expected, edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube"])
    data = json.loads(job.read_text())
    mutate(data)
    job.write_text(json.dumps(data))
    run = run_resolve(user_world("19.1"), job)

    step = run.step("job")
    assert step["status"] == "failed" and expected in step["detail"] and str(job) in step["detail"]
    assert run.result["ok"] is False
    touched = [c for c in run.state["calls"] if c["class"] in ("MediaPool", "Project", "ProjectManager")]
    assert touched == []


def test_job_that_is_not_json(tmp_path, run_resolve):
    job = tmp_path / "job.json"
    job.write_text("{ not json")
    run = run_resolve(user_world("20.3"), job)
    assert run.result["ok"] is False and "not valid JSON" in run.step("job")["detail"]


def test_missing_timeline_file(edit, write_job, run_resolve):
    job = write_job(edit, xml=False)
    edit.path.unlink()
    run = run_resolve(user_world("21.1"), job)
    detail = run.step("job")["detail"]
    assert "file not found" in detail and "timeline.path" in detail and str(edit.path) in detail


@pytest.mark.parametrize(
    ("world", "why"),
    [
        ({"version": "21.1", "studio": False}, "free edition"),
        ({"version": "19.1", "running": False}, "not running"),
    ],
)
def test_external_run_without_studio_or_resolve(world, why, edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve(world, job, mode="external")

    assert run.returncode == 1
    step = run.step("connect")
    assert (
        step["status"] == "failed" and "Studio" in step["detail"] and "Workspace > Scripts" in step["detail"]
    )
    assert run.state["calls"] == []  # nothing was done to any project


def test_no_resolve_module_and_a_bad_job_are_both_reported(tmp_path, run_resolve):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"schema": "shotline.resolve-job", "version": 1}))
    run = run_resolve({"version": "19.1"}, job, mode="bare")
    assert run.returncode == 1
    assert "timeline: required field is missing" in run.step("job")["detail"]
    assert "DaVinciResolveScript module is not installed" in run.step("connect")["detail"]


def test_external_run_on_studio(edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve({"version": "20.3"}, job, mode="external")
    assert run.returncode == 0 and run.result["ok"], run.result["steps"]
    assert run.missing_calls() == []


@pytest.mark.parametrize("version", ["18.6", "20.3"])
def test_luts_only_from_resolves_lut_folder(version, edit, tmp_path, write_job, run_resolve):
    lut_dir = tmp_path / "LUT"
    lut_dir.mkdir()
    good = lut_dir / "film.cube"
    good.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8)
    outside = tmp_path / "mine.cube"
    outside.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8)

    run = run_resolve(user_world(version, lut_dir=str(lut_dir)), write_job(edit, lut=good))
    assert run.step("luts")["status"] == "ok"
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert all(c["luts"] == {"1": str(good)} for c in clips)

    run = run_resolve(user_world(version, lut_dir=str(lut_dir)), write_job(edit, name="j2.json", lut=outside))
    step = run.step("luts")
    assert step["status"] == "failed" and "LUT folder" in step["detail"]

    # a LUT for one shot only
    job = write_job(edit, name="j3.json", lut_shots={"shot2": good})
    run = run_resolve(user_world(version, lut_dir=str(lut_dir)), job)
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert [c["luts"] for c in clips] == [{}, {"1": str(good)}]


def test_per_shot_and_per_track_grades(edit, tmp_path, drx, write_job, run_resolve):
    hero = tmp_path / "hero.drx"
    hero.write_text(drx.read_text())
    track = tmp_path / "track.drx"
    track.write_text(drx.read_text())
    job = write_job(edit, drx=drx, drx_shots={"shot2": hero})
    run = run_resolve(user_world("21.1"), job)
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert [c["grades"] for c in clips] == [["look.drx"], ["hero.drx"]]
    # shot beats track beats all; on 18.6 one Timeline call per DRX file, with its items
    job = write_job(edit, name="j2.json", drx=drx, drx_shots={"shot1": hero}, drx_tracks={1: track})
    run = run_resolve(user_world("18.6"), job)
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert [c["grades"] for c in clips] == [["hero.drx"], ["track.drx"]]
    assert len(run.called("Timeline", "ApplyGradeFromDRX")) == 2


def test_menu_dialog_picks_the_job(edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve({"version": "19.1", "ui": "answer", "ui_answer": str(job)}, None)
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]
    assert json.loads(Path(str(job)[:-5] + ".result.json").read_text())["ok"]


@pytest.mark.parametrize("ui", ["refused", "answer"])
def test_menu_without_a_job_degrades_to_a_message(ui, run_resolve):
    """Free 19.1+ refuses script windows; a cancelled dialog is the same: a message, no work."""
    run = run_resolve({"version": "19.1", "studio": False, "ui": ui, "ui_answer": ""}, None)
    assert "no job file" in run.stdout and "shotline resolve job" in run.stdout
    # it asked which edition this is, and nothing else; free 19.1 gets no window, so no pop-up
    assert {c["method"] for c in run.state["calls"]} <= {"GetProductName", "GetVersion"}
    assert run.state["modal"] is False


def test_free_19_1_menu_uses_the_last_job_shotline_wrote(edit, write_job, run_resolve, config_home):
    from shotline.resolve_plugin.job import remember_job

    job = write_job(edit)
    pointer = remember_job(job)
    assert pointer.is_relative_to(config_home)
    run = run_resolve({"version": "19.1", "studio": False, "ui": "refused"}, None)
    assert "using the last job shotline wrote" in run.stdout
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]

    # where the dialog opens, it offers that job: pressing Import runs it
    run = run_resolve({"version": "21.1", "ui": "accept"}, None)
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]

    # a dialog the user cancels is a "no", not a reason to pick a job for them
    run = run_resolve({"version": "19.1", "ui": "answer", "ui_answer": ""}, None)
    assert "no job file" in run.stdout and run.project["timelines"] == []


def test_env_var_names_the_job(edit, write_job, run_resolve):
    job = write_job(edit)
    env = dict(os.environ, SHOTLINE_RESOLVE_JOB=str(job))
    run = run_resolve({"version": "21.1"}, None, env=env)
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]


def test_script_runs_without_site_packages(edit, write_job, run_resolve):
    run = run_resolve({"version": "19.1"}, write_job(edit))
    loaded = set(run.state["imported_modules"])
    assert not {"opentimelineio", "shotline", "click", "numpy"} & loaded


def test_instagram_render_of_a_60_fps_edit_renders_at_30(clips, tmp_path, write_job, run_resolve):
    from tests.resolve.conftest import make_edit

    a = clips(duration=1.0, width=160, height=90, rate="60", audio=None)
    b = clips(duration=1.0, width=160, height=90, rate="60", audio=None, source="smptebars")
    folder = tmp_path / "sixty"
    folder.mkdir()
    e = make_edit(folder, [a, b], [(0, 40), (10, 40)], [12])
    run = run_resolve({"version": "20.3"}, write_job(e, presets=["instagram", "youtube"]))
    assert run.result["ok"], run.result["steps"]
    assert run.project["settings"]["timelineFrameRate"] == "60"
    rates = [c["args"][0] for c in run.called("Project", "SetRenderSettings") if "FrameRate" in c["args"][0]]
    # instagram at 30; youtube is set to the timeline's 60 too (never left to the Deliver page)
    assert rates == [{"FrameRate": 30.0}, {"FrameRate": 60.0}]


@pytest.mark.parametrize("version", ["18.6", "21.1"])
def test_two_video_tracks_with_a_grade_per_track(version, edit, drx, tmp_path, write_job, run_resolve):
    """A title/overlay clip on V2: both tracks verified, V2 gets its own grade."""
    import opentimelineio as otio

    tl = otio.adapters.read_from_file(str(edit.path))
    overlay = tl.video_tracks()[0][0].deepcopy()
    overlay.name = "title"
    v2 = otio.schema.Track(name="Video 2", kind=otio.schema.TrackKind.Video)
    v2.append(
        otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(10, 24)))
    )
    v2.append(overlay)
    tl.tracks.append(v2)
    otio.adapters.write_to_file(tl, str(edit.path))
    v2_look = tmp_path / "v2.drx"
    v2_look.write_text(drx.read_text())

    run = run_resolve({"version": version}, write_job(edit, drx=drx, drx_tracks={2: v2_look}))
    assert run.result["ok"], run.result["steps"]
    assert run.step("verify")["detail"].startswith("3 clips")
    video = run.timeline("Promo Edit")["video"]
    start = run.timeline("Promo Edit")["start"]
    assert [(c["name"], c["start"] - start, c["grades"]) for c in video[1]] == [("title", 10, ["v2.drx"])]
    assert [c["grades"] for c in video[0] if c["kind"] == "clip"] == [["look.drx"], ["look.drx"]]


def test_relative_paths_are_read_against_the_job_folder(edit, drx, write_job, run_resolve, tmp_path):
    """A job folder moved with its media: paths relative to the job still resolve."""
    job = write_job(edit, drx=drx)
    data = json.loads(job.read_text())
    folder = job.parent
    data["timeline"]["path"] = edit.path.name
    data["timeline"]["fallback_xml"] = job.with_suffix(".xml").name
    data["grades"]["all"] = os.path.relpath(drx, folder)
    job.write_text(json.dumps(data))
    run = run_resolve({"version": "19.1"}, job)  # the script runs from another folder
    assert run.result["ok"], run.result["steps"]
    assert run.called("MediaPool", "ImportTimelineFromFile")[0]["args"][0] == str(edit.path)
    assert all(
        c["grades"] == ["look.drx"] for c in run.timeline("Promo Edit")["video"][0] if c["kind"] == "clip"
    )
