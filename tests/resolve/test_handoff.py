"""A hand-off a user can trust: what a real user would get wrong, reported as success, is now caught.

Each test runs the real script against the strict stand-in with the awkward state a user
brings: a shot file that is gone, a Deliver page left on other settings, the free edition
with its pop-up, an XML import that names dissolves oddly, an item with no node graph.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.media.probe import probe
from tests.mediakit import ClipFactory
from tests.resolve.conftest import Edit, RunResolve, make_edit, user_world


def _edit_with_own_media(clips: ClipFactory, tmp_path: Path) -> Edit:
    """The usual two-shot edit, on copies of the media that a test may delete."""
    folder = tmp_path / "own"
    folder.mkdir()
    a = shutil.copy(clips(duration=2.0, width=160, height=90, rate="24", audio="stereo"), folder / "a.mp4")
    b = shutil.copy(
        clips(duration=2.0, width=160, height=90, rate="24", audio=None, source="smptebars"), folder / "b.mp4"
    )
    return make_edit(folder, [Path(a), Path(b)], [(0, 36), (12, 30)], [12])


# -- 1. offline media ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "otio_import"),
    [("18.6", "offline"), ("21.1", "offline"), ("20.3", "none")],
)
def test_a_missing_shot_file_fails_the_run_and_is_not_rendered(
    version, otio_import, clips, tmp_path, write_job, run_resolve: RunResolve
):
    """Offline clips from the OTIO import, or (where the OTIO import refuses) from the XML fallback."""
    e = _edit_with_own_media(clips, tmp_path)
    job = write_job(e, presets=["x"], start_render=True)
    e.media[1].unlink()  # the second shot's file is gone
    run = run_resolve(user_world(version, faults={"missing_media": otio_import}), job)
    assert run.result["timeline"]["format"] == ("otio" if otio_import == "offline" else "fcp7xml")

    assert run.result["ok"] is False
    step = run.step("media")
    assert step["status"] == "failed" and "1 of 2 clips are offline" in step["detail"]
    [off] = run.result["offline_media"]
    assert off["track"] == "V1" and off["path"] == str(e.media[1]) and off["frame"] == 36
    # never rendered: no job queued, nothing started, no file written
    assert run.step("render jobs")["status"] == "skipped" and "offline" in run.step("render jobs")["detail"]
    assert run.project["render_jobs"] == [] and not run.called("Project", "StartRendering")
    assert not (tmp_path / "renders").exists()
    assert run.step("save")["status"] == "skipped"


def test_offline_media_can_be_accepted_and_rendered_when_asked(clips, tmp_path, write_job, run_resolve):
    e = _edit_with_own_media(clips, tmp_path)
    accepted = write_job(e, name="accept.json", presets=["x"], allow_offline=True)
    rendered = write_job(
        e, name="render.json", presets=["x"], allow_offline=True, render_offline=True, start_render=True
    )
    e.media[0].unlink()

    run = run_resolve({"version": "20.3"}, accepted)
    assert run.result["ok"], run.result["steps"]
    assert run.step("media")["status"] == "warning" and len(run.result["offline_media"]) == 1
    assert run.project["render_jobs"] == []  # accepted is not "render it"

    run = run_resolve({"version": "20.3"}, rendered)
    assert run.result["ok"], run.result["steps"]
    assert [j["JobStatus"] for j in run.project["render_jobs"]] == ["Complete"]


def test_media_check_reads_the_pool_clip_not_the_timeline_file(clips, tmp_path, write_job, run_resolve):
    """21.1 with importSourceClips False and the media in no searched bin: offline clips, caught."""
    e = _edit_with_own_media(clips, tmp_path)
    job = write_job(e, project=None)
    world = {
        "version": "21.1",
        "faults": {"import_none": ["fcp7xml"]},
        "projects": [{"name": "P", "pool": [str(p) for p in e.media]}],
    }
    # the media is pooled (so 21.1 cancels the first import) and then moved away
    moved = tmp_path / "moved"
    moved.mkdir()
    for p in e.media:
        p.rename(moved / p.name)
    run = run_resolve(world, job)
    assert run.result["ok"] is False
    assert run.step("media")["status"] == "failed"
    assert {o["why"] for o in run.result["offline_media"]} == {"Resolve reports it offline"}


# -- 2. the Deliver page ------------------------------------------------------------------------

LEFTOVERS = {
    "settings": {
        "ExportVideo": False,
        "ExportAudio": True,
        "FormatWidth": 640,
        "FormatHeight": 360,
        "FrameRate": 30.0,
        "SelectAllFrames": False,
        "MarkIn": 0,
        "MarkOut": 10,
        "AudioSampleRate": 44100,
        "VideoQuality": "Least",
        "CustomName": "user file",
    },
    "format": ["mov", "ProRes422HQ"],
    "mode": 0,
}


@pytest.mark.parametrize("version", ["18.6", "21.1"])
def test_renders_ignore_what_the_user_left_on_the_deliver_page(
    version, edit, write_job, run_resolve, tmp_path
):
    job = write_job(edit, project=None, presets=["x"], start_render=True)
    run = run_resolve(user_world(version, deliver=LEFTOVERS), job)

    assert run.result["ok"], run.result["steps"]
    [mine] = [j for j in run.project["render_jobs"] if j["TimelineName"] == "Promo Edit"]
    assert mine["IsExportVideo"] is True and mine["RenderMode"] == "Single clip"
    assert (mine["FormatWidth"], mine["FormatHeight"], mine["FrameRate"]) == (1280, 720, "24")
    assert (mine["MarkIn"], mine["MarkOut"]) == (0, 65)  # the whole 66-frame timeline
    assert mine["AudioSampleRate"] == 48000 and mine["OutputFilename"] == "Promo Edit - x.mp4"

    # and the file itself, probed by `shotline resolve verify`
    r = CliRunner().invoke(cli, ["resolve", "verify", str(job), "--json"])
    assert r.exit_code == 0, r.output
    [check] = json.loads(r.output)["renders"]
    assert check["ok"] and (check["width"], check["height"], check["frame_rate"]) == (1280, 720, 24.0)
    info = probe(check["path"])
    assert info.audio is not None and info.audio.sample_rate == 48000


def test_verify_catches_an_audio_only_file_that_resolve_calls_complete(edit, write_job, run_resolve):
    job = write_job(edit, presets=["x"], start_render=True)
    run = run_resolve({"version": "20.3", "faults": {"render_audio_only": True}}, job)
    assert run.result["render_jobs"][0]["status"] == "Complete"  # Resolve's word

    r = CliRunner().invoke(cli, ["resolve", "verify", str(job)])
    assert r.exit_code == 1
    assert "no video stream (an audio-only render)" in r.output


def test_verify_catches_a_file_of_the_wrong_length(edit, write_job, run_resolve):
    job = write_job(edit, presets=["x"], start_render=True)
    run_resolve({"version": "20.3"}, job)
    result_file = Path(str(job)[:-5] + ".result.json")
    data = json.loads(result_file.read_text())
    data["render_jobs"][0]["expected"]["frames"] = 66 + 2  # the timeline is two frames longer
    result_file.write_text(json.dumps(data))
    r = CliRunner().invoke(cli, ["resolve", "verify", str(job)])
    assert r.exit_code == 1 and "the timeline runs 2.833 s (68 frames)" in r.output


def test_verify_without_a_result_says_to_run_the_job(edit, write_job):
    job = write_job(edit, presets=["x"])
    r = CliRunner().invoke(cli, ["resolve", "verify", str(job)])
    assert r.exit_code == 3 and "run the job in Resolve first" in r.output
    assert "Traceback" not in r.output


def test_a_setting_resolve_keeps_is_caught_before_rendering(edit, write_job, run_resolve):
    """Resolve answers True but keeps the preset's rate: the read-back sees it, the job goes."""
    job = write_job(edit, project=None, presets=["x"], start_render=True)
    world = user_world("19.1", deliver=LEFTOVERS, faults={"ignore_render_keys": ["FrameRate"]})
    run = run_resolve(world, job)
    step = run.step("render job x")
    assert step["status"] == "failed" and "FrameRate '30', wanted 24.0" in step["detail"]
    assert [j["RenderJobName"] for j in run.project["render_jobs"]] == ["user job 1"]  # ours taken out
    assert not run.called("Project", "StartRendering")


def test_reruns_never_write_over_earlier_renders(edit, write_job, run_resolve, tmp_path):
    job = write_job(edit, presets=["x"], start_render=True)
    first = run_resolve({"version": "20.3"}, job)
    second = run_resolve({"version": "20.3"}, job)  # a fresh project: the timeline name is free again
    third = run_resolve(
        {"version": "20.3", "projects": [{"name": "shotline test", "timelines": ["Promo Edit"]}]}, job
    )
    outs = [r.result["render_jobs"][0]["output"] for r in (first, second, third)]
    assert [Path(o).name for o in outs] == [
        "Promo Edit - x.mp4",
        "Promo Edit - x 2.mp4",
        "Promo Edit 2 - x.mp4",  # named after the timeline as it was imported
    ]
    assert all(Path(o).is_file() for o in outs)

    again = write_job(edit, name="again.json", presets=["x"], start_render=True, overwrite_renders=True)
    run = run_resolve({"version": "20.3"}, again)
    assert Path(run.result["render_jobs"][0]["output"]).name == "Promo Edit - x.mp4"


# -- 3. editions --------------------------------------------------------------------------------


def test_free_19_1_never_opens_the_window_that_would_block_the_api(edit, write_job, run_resolve):
    from shotline.resolve_plugin.job import remember_job

    remember_job(write_job(edit))
    run = run_resolve({"version": "20.3", "studio": False, "ui": "accept"}, None)
    assert run.state["modal"] is False
    assert not [c for c in run.state["calls"] if c["method"] == "AddWindow"]
    assert "free Resolve opens no script window" in run.stdout
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]

    # free before 19.1 still gets the dialog (scripts could open windows there)
    job = write_job(edit, name="other.json")
    run = run_resolve({"version": "18.6", "studio": False, "ui": "answer", "ui_answer": str(job)}, None)
    assert [c for c in run.state["calls"] if c["method"] == "AddWindow"]
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]


def test_free_21_1_lists_no_python_script_and_external_runs_say_why(edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve({"version": "21.1", "studio": False}, job)
    assert run.state["listed"] is False  # Resolve does not even offer the script
    run = run_resolve({"version": "21.1", "studio": False}, job, mode="external")
    detail = run.step("connect")["detail"]
    assert "external scripting (from a terminal) needs DaVinci Resolve Studio in every version" in detail
    assert "free 21.1 has no Python scripting at all" in detail
    assert "free 19.1 to 21.0 run them but open no script window" in detail


# -- 5. transitions and grades ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["18.6", "20.3"])  # 21.1 has TimelineItem.GetType()
def test_xml_transitions_with_other_names_are_not_taken_for_clips(
    version, edit, drx, tmp_path, write_job, run_resolve
):
    lut_dir = tmp_path / "luts"
    lut_dir.mkdir()
    lut = lut_dir / "look.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8)
    job = write_job(edit, import_as="fcp7xml", drx=drx, lut=lut)
    world = {"version": version, "transition_names": {"fcp7xml": "fade cut"}, "lut_dir": str(lut_dir)}
    run = run_resolve(world, job)

    assert run.result["ok"], run.result["steps"]
    assert run.step("verify")["detail"] == "2 clips, 1 of 1 transitions"
    items = run.timeline("Promo Edit")["video"][0]
    assert [i["name"] for i in items if i["kind"] == "transition"] == ["fade cut"]
    assert all(
        i["grades"] == ["look.drx"] and i["luts"] == {"1": str(lut)} for i in items if i["kind"] == "clip"
    )
    assert all(not i["grades"] and not i["luts"] for i in items if i["kind"] == "transition")


@pytest.mark.parametrize("version", ["19.1", "21.1"])
def test_an_item_without_a_node_graph_does_not_stop_the_others(version, edit, drx, write_job, run_resolve):
    job = write_job(edit, drx=drx)
    run = run_resolve({"version": version, "faults": {"no_graph": ["shot1"]}}, job)
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert [c["grades"] for c in clips] == [[], ["look.drx"]]
    step = run.step("grades")
    assert step["status"] == "failed" and "V1 'shot1' has no node graph" in step["detail"]
    assert "applied 1" in step["detail"]


# -- 7. OTIO import by version ------------------------------------------------------------------


def test_before_18_6_5_the_xml_is_imported_without_trying_otio(edit, write_job, run_resolve):
    run = run_resolve({"version": "18.5"}, write_job(edit))
    assert run.result["ok"], run.result["steps"]
    assert [c["args"][0][-4:] for c in run.called("MediaPool", "ImportTimelineFromFile")] == [".xml"]
    assert run.result["timeline"]["format"] == "fcp7xml"


def test_21_1_retry_names_the_bins_that_hold_the_media(edit, write_job, run_resolve):
    job = write_job(edit)
    pool = [{"path": str(p), "bin": "Footage"} for p in edit.media]
    run = run_resolve({"version": "21.1", "projects": [{"name": "shotline test", "pool": pool}]}, job)

    assert run.result["ok"], run.result["steps"]
    second = run.called("MediaPool", "ImportTimelineFromFile")[1]["args"][1]
    assert second["importSourceClips"] is False and second["sourceClipsFolders"] == ["<Folder>"]
    clips = [i for i in run.timeline("Promo Edit")["video"][0] if i["kind"] == "clip"]
    assert all(c["online"] for c in clips) and run.result["offline_media"] == []


# -- 8. smaller things --------------------------------------------------------------------------


def test_rate_locked_by_media_in_the_pool_says_so(edit, write_job, run_resolve):
    job = write_job(edit, project=None)
    world = {
        "version": "20.3",
        "projects": [{"name": "P", "settings": {"timelineFrameRate": "25"}, "pool": [str(edit.media[0])]}],
    }
    run = run_resolve(world, job)
    step = run.step("project settings")
    assert step["status"] == "failed" and "once media is in its media pool" in step["detail"]


def test_a_rerun_lists_the_media_it_duplicated_in_the_pool(edit, write_job, run_resolve):
    job = write_job(edit)
    world = {"version": "19.1", "projects": [{"name": "shotline test", "pool": [str(p) for p in edit.media]}]}
    run = run_resolve(world, job)
    assert run.result["pool_duplicates"] == sorted(str(p) for p in edit.media)
    assert "2 more clips of files it already had" in run.step("media")["detail"]
    assert "added 2 duplicate clips to the media pool" in run.result["changes"]


def test_the_project_is_saved_after_a_good_run(edit, write_job, run_resolve):
    run = run_resolve({"version": "21.1"}, write_job(edit))
    assert run.state["saved"] == ["shotline test"] and run.step("save")["status"] == "ok"

    run = run_resolve({"version": "21.1"}, write_job(edit, name="j2.json", project=None))
    assert run.state["saved"] == [] and run.step("save")["status"] == "warning"  # Untitled Project


def test_an_interpreter_without_sys_argv(edit, write_job, run_resolve):
    import os

    job = write_job(edit)
    env = dict(os.environ, SHOTLINE_RESOLVE_JOB=str(job))
    run = run_resolve({"version": "20.3", "no_argv": True}, None, env=env)
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit"]


def test_no_job_message_says_the_env_var_is_not_seen_from_the_dock(run_resolve):
    run = run_resolve({"version": "20.3", "ui": "answer", "ui_answer": ""}, None)
    assert "does not see it" in run.stdout and "Dock" in run.stdout
