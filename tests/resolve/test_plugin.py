"""The real Resolve script, run in a subprocess against the strict stand-in of each Resolve version."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from tests.resolve.conftest import VERSIONS, Edit, RunResolve, make_edit, user_world


@pytest.mark.parametrize("version", VERSIONS)
def test_clean_run_on_each_version(version, edit: Edit, drx, write_job, run_resolve: RunResolve, tmp_path):
    job = write_job(edit, drx=drx, presets=["youtube", "tiktok"], start_render=True)
    run = run_resolve(user_world(version), job)

    assert run.result is not None and run.result["ok"], json.dumps(run.result["steps"], indent=1)
    assert run.step("verify audio")["status"] == "skipped"  # this edit has no audio tracks
    assert run.missing_calls() == []  # never touched a method this version lacks
    project_calls = {c["method"] for c in run.state["calls"] if c["class"] == "Project"}
    settings_calls = project_calls & {"GetSetting", "SetSetting", "GetSettings", "SetSettings"}
    assert settings_calls == (
        {"GetSettings", "SetSettings"} if version == "21.1" else {"GetSetting", "SetSetting"}
    )

    # the timeline came in cut for cut: record positions, durations, the dissolve
    tl = run.timeline("Promo Edit")
    items = tl["video"][0]
    clips = [i for i in items if i["kind"] == "clip"]
    assert [(c["name"], c["start"] - tl["start"], c["duration"]) for c in clips] == edit.clips
    trans = [i for i in items if i["kind"] == "transition"]
    assert len(trans) == 1 and trans[0]["duration"] == 12 and trans[0]["start"] - tl["start"] == 36 - 6
    assert [c["media"] for c in clips] == [str(p) for p in edit.media]

    # project settings were set before the import, at the media's rate and the timeline's size
    assert run.project["name"] == "shotline test"
    assert run.project["settings"]["timelineFrameRate"] == "24"
    assert run.project["settings"]["timelineResolutionWidth"] == "160"

    # the DRX went on every clip, through the call this version has
    assert all(c["grades"] == ["look.drx"] for c in clips)
    if version < "19.1":
        assert run.called("Timeline", "ApplyGradeFromDRX") and not run.called("Graph", "ApplyGradeFromDRX")
    else:
        assert len(run.called("Graph", "ApplyGradeFromDRX")) == 2

    # the shots' markers came in on the clips with the OTIO import, and only there (not doubled
    # as timeline markers); the XML brings none, so the script adds them to the timeline
    assert [list(c["markers"]) for c in clips] == [["2"], ["2"]]
    assert tl["markers"] == {}
    assert run.step("markers")["detail"] == "added 0, 2 already there"

    # one render job per preset, with Resolve's ids and the preset sizes; rendered and checked
    mine = [j for j in run.project["render_jobs"] if j["TimelineName"] == "Promo Edit"]
    assert [(j["VideoCodec"], j["FormatWidth"], j["FormatHeight"]) for j in mine] == [
        ("H264", 1920, 1080),
        ("H264", 1080, 1920),
    ]
    assert all(j["JobStatus"] == "Complete" for j in mine)
    formats = run.called("Project", "SetCurrentRenderFormatAndCodec")
    assert {tuple(c["args"]) for c in formats} == {("mp4", "H264")}
    for entry in run.result["render_jobs"]:
        assert entry["status"] == "Complete" and entry["bytes"] > 0
        assert Path(entry["output"]).is_file()
        assert entry["job_id"] in {j["JobId"] for j in mine}


@pytest.mark.parametrize("version", ["18.6", "21.1"])
def test_users_project_is_left_alone(version, edit, write_job, run_resolve, tmp_path):
    """Importing into the open project: its timeline and render job survive; changes are listed."""
    job = write_job(edit, project=None, presets=["x"])
    world = user_world(version)
    world["projects"][0]["settings"] = {"timelineFrameRate": "24"}
    run = run_resolve(world, job)

    assert run.result["ok"], run.result["steps"]
    names = [t["name"] for t in run.project["timelines"]]
    assert names == ["Assembly", "Promo Edit"]
    jobs = run.project["render_jobs"]
    assert jobs[0]["RenderJobName"] == "user job 1" and jobs[0]["JobStatus"] == "Ready"
    assert len(jobs) == 2
    assert not run.called("Project", "DeleteRenderJob") and not run.called("Project", "DeleteAllRenderJobs")
    assert not run.called("ProjectManager", "DeleteProject")
    changes = run.result["changes"]
    assert any("imported timeline 'Promo Edit'" in c for c in changes)
    # the project's size serves its other timelines: kept, and said so
    assert run.project["settings"]["timelineResolutionWidth"] == "1920"
    assert not any("timelineResolution" in c for c in changes)
    step = run.step("project settings")
    assert step["status"] == "warning" and "timelineResolutionWidth 1920" in step["detail"]


@pytest.mark.parametrize("version", VERSIONS)
def test_timeline_name_clash_gets_a_unique_name(version, edit, write_job, run_resolve):
    job = write_job(edit)
    world = {
        "version": version,
        "projects": [{"name": "shotline test", "timelines": ["Promo Edit", "Promo Edit 2"]}],
    }
    run = run_resolve(world, job)

    assert run.result["ok"], run.result["steps"]
    assert [t["name"] for t in run.project["timelines"]] == ["Promo Edit", "Promo Edit 2", "Promo Edit 3"]
    assert run.project["timelines"][0]["video"] == []  # the user's timeline is untouched
    assert run.step("timeline name")["status"] == "warning"
    imports = run.called("MediaPool", "ImportTimelineFromFile")
    assert imports[0]["args"][1]["timelineName"] == "Promo Edit 3"


@pytest.mark.parametrize("version", VERSIONS)
def test_import_returning_none_falls_back_to_fcp7_xml(version, edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve(user_world(version, faults={"import_none": ["otio"]}), job)

    assert run.result["ok"], run.result["steps"]
    assert run.result["timeline"]["format"] == "fcp7xml"
    # the media is not in the pool: no retry that would bring the clips in offline
    options = [
        (c["args"][0][-4:], c["args"][1]["importSourceClips"])
        for c in run.called("MediaPool", "ImportTimelineFromFile")
    ]
    assert options == [("otio", True), (".xml", True)]
    tl = run.timeline("Promo Edit")
    clips = [i for i in tl["video"][0] if i["kind"] == "clip"]
    assert [(c["name"], c["start"] - tl["start"], c["duration"]) for c in clips] == edit.clips
    assert sum(i["kind"] == "transition" for i in tl["video"][0]) == 1


def test_import_as_fcp7_xml_on_request(edit, write_job, run_resolve):
    job = write_job(edit, import_as="fcp7xml")
    run = run_resolve(user_world("21.1"), job)
    assert run.result["ok"] and run.result["timeline"]["format"] == "fcp7xml"
    paths = [c["args"][0] for c in run.called("MediaPool", "ImportTimelineFromFile")]
    assert paths == [str(job.with_suffix(".xml"))]


@pytest.mark.parametrize("version", ["18.6", "21.1"])
def test_import_returning_none_everywhere_fails_cleanly(version, edit, write_job, run_resolve):
    job = write_job(edit, presets=["youtube"])
    run = run_resolve(user_world(version, faults={"import_none": ["otio", "fcp7xml"]}), job)

    step = run.step("import")
    assert step["status"] == "failed" and "returned None" in step["detail"]
    assert run.result["ok"] is False
    # nothing after the failed import ran: no render job queued, no timeline half-made
    assert run.project["name"] == "shotline test"
    assert run.project["render_jobs"] == [] and run.project["timelines"] == []
    user = run.state["projects"]["Client Job"]
    assert len(user["render_jobs"]) == 1 and [t["name"] for t in user["timelines"]] == ["Assembly"]
    assert run.result["render_jobs"] == []
    changes = run.result["changes"]  # every change is reported: a new project, its settings
    assert changes[:2] == [
        "created project 'shotline test'",
        "switched the open project from 'Client Job' to 'shotline test'",
    ]
    assert all(c.startswith("project setting timelineResolution") for c in changes[2:])


@pytest.mark.parametrize("version", ["19.1", "21.1"])
def test_media_already_in_the_pool(version, edit, write_job, run_resolve):
    """21.1 cancels an OTIO import whose media is pooled unless importSourceClips is False: retry so."""
    job = write_job(edit)
    world = {
        "version": version,
        "projects": [{"name": "shotline test", "pool": [str(p) for p in edit.media]}],
    }
    run = run_resolve(world, job)

    assert run.result["ok"], run.result["steps"]
    assert run.result["timeline"]["format"] == "otio"
    options = [c["args"][1]["importSourceClips"] for c in run.called("MediaPool", "ImportTimelineFromFile")]
    if version == "21.1":
        assert options == [True, False]
        assert run.project["pool"] == [
            str(p) for p in edit.media
        ]  # linked to the pooled clips, no duplicates
    else:
        assert options == [True]


@pytest.mark.parametrize("version", ["21.1"])
def test_21_1_adds_transitions_the_import_dropped(version, edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve(user_world(version, faults={"drop_transitions": True}), job)

    assert run.result["ok"], run.result["steps"]
    assert run.step("verify")["detail"].startswith("2 clips, 0 of 1 transitions")
    added = run.called("TimelineItem", "AddTransition")
    assert added[0]["args"] == [
        {
            "type": "Cross Dissolve",
            "category": "simple",
            "position": "end",
            "alignment": "center",
            "duration": 12,
        }
    ]
    tl = run.timeline("Promo Edit")
    trans = [i for i in tl["video"][0] if i["kind"] == "transition"]
    assert [(t["start"] - tl["start"], t["duration"]) for t in trans] == [(30, 12)]


@pytest.mark.parametrize("version", ["18.6", "19.1", "20.3"])
def test_dropped_transitions_before_21_1_are_reported_not_invented(version, edit, write_job, run_resolve):
    job = write_job(edit)
    run = run_resolve(user_world(version, faults={"drop_transitions": True}), job)

    step = run.step("transitions")
    assert step["status"] == "failed" and "no TimelineItem.AddTransition" in step["detail"]
    assert run.missing_calls() == []  # it checked dir(), it did not call a missing method


def test_21_1_without_handles_cannot_add_transitions(clips, tmp_path, write_job, run_resolve):
    a = clips(duration=1.0, width=160, height=90, rate="24", audio=None)
    b = clips(duration=1.0, width=160, height=90, rate="24", audio=None, source="smptebars")
    folder = tmp_path / "nohandles"
    folder.mkdir()
    # every frame of both clips is used: a dissolve has no media to eat into
    e = make_edit(folder, [a, b], [(0, 24), (0, 24)], [12])
    job = write_job(e)
    run = run_resolve(user_world("21.1", faults={"drop_transitions": True}), job)
    step = run.step("transitions")
    assert step["status"] == "failed" and "no handles" in step["detail"]


def test_21_1_fade_at_the_start_is_verified_and_flagged_when_dropped(clips, tmp_path, write_job, run_resolve):
    a = clips(duration=2.0, width=160, height=90, rate="24", audio=None)
    b = clips(duration=2.0, width=160, height=90, rate="24", audio=None, source="smptebars")
    folder = tmp_path / "fade"
    folder.mkdir()
    e = make_edit(folder, [a, b], [(6, 30), (6, 30)], [8], fade_in=6)
    run = run_resolve({"version": "21.1"}, write_job(e))
    assert run.result["ok"] and run.step("verify")["detail"] == "2 clips, 2 of 2 transitions"

    run = run_resolve({"version": "21.1", "faults": {"drop_transitions": True}}, write_job(e, name="j2.json"))
    step = run.step("transitions")
    assert step["status"] == "warning" and "added 1" in step["detail"] and "1 fades" in step["detail"]
    assert len(run.called("TimelineItem", "AddTransition")) == 1


def test_frame_rate_locked_in_a_project_with_timelines(edit, write_job, run_resolve):
    """The user's project runs at 25 with timelines in it: stop, say why, change nothing."""
    job = write_job(edit, project=None)
    world = user_world("19.1")
    world["projects"][0]["settings"] = {"timelineFrameRate": "25"}
    run = run_resolve(world, job)
    step = run.step("project settings")
    assert step["status"] == "failed" and "timelineFrameRate is '25', wanted '24'" in step["detail"]
    assert [t["name"] for t in run.project["timelines"]] == ["Assembly"]
    assert run.project["settings"]["timelineFrameRate"] == "25"


@pytest.mark.parametrize("rate", ["24000/1001", "25", "30000/1001"])
def test_other_rates_and_awkward_names(rate, clips, tmp_path, write_job, run_resolve):
    a = clips(
        duration=1.0, width=160, height=90, rate=rate, audio="mono", name="shot 'one' \u00e9t\u00e9.mp4"
    )
    b = clips(
        duration=1.0, width=160, height=90, rate=rate, audio=None, source="smptebars", name='b "two".mp4'
    )
    folder = tmp_path / "d\u00e9j\u00e0 vu 'proj'"
    folder.mkdir()
    e = make_edit(folder, [a, b], [(0, 20), (4, 16)], [8], name="Caf\u00e9 cut")
    job = write_job(e)
    run = run_resolve({"version": "20.3"}, job)
    assert run.result["ok"], run.result["steps"]
    want = {"24000/1001": "23.976", "25": "25", "30000/1001": "29.97"}[rate]
    assert run.project["settings"]["timelineFrameRate"] == want
    tl = run.timeline("Caf\u00e9 cut")
    clips_in = [i for i in tl["video"][0] if i["kind"] == "clip"]
    assert [(c["start"] - tl["start"], c["duration"]) for c in clips_in] == [(0, 20), (20, 16)]
    assert [c["media"] for c in clips_in] == [str(a), str(b)]


@pytest.fixture(scope="module")
def built_job(clips, tmp_path_factory):
    """`shotline timeline build --for resolve` then `shotline resolve job`, once for the module."""
    from click.testing import CliRunner

    from shotline.cli.main import cli

    folder = tmp_path_factory.mktemp("built")
    a = clips(duration=1.5, width=160, height=90, rate="25", audio="stereo", sample_rate=44100)
    b = clips(duration=1.5, width=160, height=90, rate="25", audio=None, source="smptebars")
    edit_path = folder / "built edit.otio"
    runner = CliRunner()
    build = ["timeline", "build", str(a), str(b), "--transition", "dissolve:0.4", "--for", "resolve"]
    r = runner.invoke(cli, [*build, "-o", str(edit_path)])
    assert r.exit_code == 0, r.output
    job = folder / "job.json"
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse config fixture is not active yet
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        r = runner.invoke(cli, ["resolve", "job", str(edit_path), "--preset", "instagram", "-o", str(job)])
    assert r.exit_code == 0, r.output
    return edit_path, job, [a, b]


@pytest.mark.parametrize("version", ["19.1", "21.1"])
def test_timeline_built_by_shotline_for_resolve(version, built_job, run_resolve):
    """End to end: `shotline timeline build --for resolve`, `shotline resolve job`, the script in Resolve."""
    edit_path, job, media = built_job
    run = run_resolve({"version": version}, job)
    assert run.result["ok"], run.result["steps"]
    assert run.missing_calls() == []
    tl = run.timeline("built edit")
    clips_in = [i for i in tl["video"][0] if i["kind"] == "clip"]
    assert [c["media"] for c in clips_in] == [str(p) for p in media]
    # cut for cut what OpenTimelineIO itself reads from the file
    built = otio.adapters.read_from_file(str(edit_path))
    track = built.video_tracks()[0]
    want = [
        (
            round(track.range_of_child(c).start_time.rescaled_to(25).value),
            round(c.duration().rescaled_to(25).value),
        )
        for c in track.find_clips()
    ]
    assert [(c["start"] - tl["start"], c["duration"]) for c in clips_in] == want
    assert sum(d for _, d in want) < 2 * 37  # the dissolve overlapped the shots
    assert run.project["settings"]["timelineFrameRate"] == "25"
    [rj] = [j for j in run.project["render_jobs"] if j["TimelineName"] == "built edit"]
    assert (rj["FormatWidth"], rj["FormatHeight"]) == (1080, 1350)
    # the first shot's sound (the second has none) came in where the file puts it
    audio = built.audio_tracks()[0]
    [sound] = list(audio.find_clips())
    assert run.step("verify audio") == {
        "step": "verify audio",
        "status": "ok",
        "detail": "audio clips 1, audio tracks 1",
    }
    [a1] = [i for i in tl["audio"][0] if i["kind"] == "clip"]
    assert a1["duration"] == round(sound.duration().rescaled_to(25).value)


def test_audio_that_did_not_come_in_is_flagged(built_job, run_resolve):
    _, job, _ = built_job
    run = run_resolve({"version": "20.3", "faults": {"drop_audio": True}}, job)
    step = run.step("verify audio")
    assert step["status"] == "warning" and "0 audio tracks came in, the file has 1" in step["detail"]
    assert run.result["ok"]  # a warning: the picture edit is there
