"""The stand-in refuses what real Resolve refuses: the guard against invented API calls."""

from __future__ import annotations

import pytest

from shotline.core.media.ffmpeg import ffmpeg_path
from tests.resolve.standin import World


def world(version: str, **extra: object) -> World:
    return World(
        {
            "version": version,
            "projects": [{"name": "P", "timelines": ["T"]}],
            "ffmpeg": ffmpeg_path(),
            **extra,
        }
    )


def objects(version: str):
    w = world(version)
    project = w.resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetTimelineByIndex(1)
    return w, project, timeline


@pytest.mark.parametrize("version", ["18.6", "19.1", "20.3", "21.1"])
def test_invented_calls_read_as_none_and_raise_type_error(version):
    w, project, timeline = objects(version)
    for obj, name in [
        (timeline, "AddTransition"),
        (project, "GetTimelineByName"),
        (project, "GetRenderSettings"),
    ]:
        assert hasattr(obj, name)  # like Resolve's proxies: hasattr says yes...
        assert name not in dir(obj)  # ...dir() tells the truth
        with pytest.raises(TypeError):
            getattr(obj, name)("anything")
    assert w.calls[-1]["missing"] is True


@pytest.mark.parametrize(("version", "present"), [("18.6", True), ("19.1", False), ("21.1", False)])
def test_timeline_apply_grade_from_drx_removed_in_19_1(version, present):
    _, _, timeline = objects(version)
    assert ("ApplyGradeFromDRX" in dir(timeline)) is present
    assert ("GetNodeGraph" in dir(timeline)) is (version >= "19")


def test_graph_grades_and_item_transitions_by_version():
    for version, graph_drx, add_transition in [
        ("19.1", True, False),
        ("20.3", True, False),
        ("21.1", True, True),
    ]:
        from tests.resolve.standin import Graph, TimelineItem

        w = world(version)
        assert Graph._has("ApplyGradeFromDRX", w.version) is graph_drx
        assert TimelineItem._has("AddTransition", w.version) is add_transition
    assert not TimelineItem._has("GetNodeGraph", world("18.6").version)


def test_render_format_and_codec_take_ids_not_descriptions():
    _, project, _ = objects("20.3")
    assert project.SetCurrentRenderFormatAndCodec("mp4", "H264") is True
    assert project.SetCurrentRenderFormatAndCodec("MP4", "H.264") is False
    assert project.SetCurrentRenderFormatAndCodec("mp4", "H.264") is False
    assert project.SetCurrentRenderFormatAndCodec("mov", "ProRes422HQ") is True


def test_render_settings_are_strict_about_keys_and_types():
    _, project, _ = objects("19.1")
    assert project.SetRenderSettings({"VideoQuality": "50000"}) is False
    assert project.SetRenderSettings({"VideoQuality": "High"}) is True
    assert project.SetRenderSettings({"FormatWidth": "1920"}) is False
    assert project.SetRenderSettings({"Bitrate": 5}) is False
    _, old, _ = objects("18.6")
    assert old.SetRenderSettings({"ReplaceExistingFilesInPlace": True}) is False  # 19.1+ key


def test_render_job_status_has_only_the_keys_of_its_state(tmp_path):
    _, project, timeline = objects("21.1")
    project.SetCurrentTimeline(timeline)
    project.SetRenderSettings({"TargetDir": str(tmp_path), "CustomName": "out"})
    job = project.AddRenderJob()
    assert set(project.GetRenderJobStatus(job)) == {"JobStatus", "CompletionPercentage"}
    assert project.StartRendering([job]) is True
    rendering = project.GetRenderJobStatus(job)
    assert rendering["JobStatus"] == "Rendering" and "EstimatedTimeRemainingInMs" in rendering
    assert "TimeTakenToRenderInMs" not in rendering
    done = project.GetRenderJobStatus(job)
    assert done["JobStatus"] == "Complete" and "TimeTakenToRenderInMs" in done
    assert "EstimatedTimeRemainingInMs" not in done
    assert project.StartRendering(0) is False  # index-based forms are gone
    assert project.GetRenderJobStatus("no such job") == {}


def test_subframe_arguments_arrive_in_19_0_2(tmp_path):
    from tests.resolve.standin import TimelineItem

    for version, ok in [("18.6", False), ("19.1", True)]:
        w, project, timeline = objects(version)
        item = TimelineItem(w, timeline, "x", 86400, 10, None, ("video", 1))
        assert item.GetStart() == 86400
        if ok:
            assert item.GetStart(True) == 86400.0
        else:
            with pytest.raises(TypeError):
                item.GetStart(True)


def test_import_refuses_a_name_that_exists_and_unknown_options(tmp_path):
    _, project, _ = objects("19.1")
    f = tmp_path / "t.otio"
    f.write_text('{"OTIO_SCHEMA": "Timeline.1", "name": "T", "tracks": {"children": []}}')
    pool = project.GetMediaPool()
    assert pool.ImportTimelineFromFile(str(f), {"timelineName": "T"}) is None
    assert pool.ImportTimelineFromFile(str(f), {"timelineName": "New", "colour": 1}) is None
    assert pool.ImportTimelineFromFile(str(f), {"timelineName": "New"}) is not None


def test_project_rate_locks_once_timelines_exist():
    _, project, _ = objects("21.1")
    assert project.SetSetting("timelineFrameRate", "25") is False
    assert project.GetSetting("timelineFrameRate") == 24.0  # a number on 21.1
    _, older, _ = objects("20.3")
    assert older.GetSetting("timelineFrameRate") == "24"  # a string before


def test_markers_take_marker_colours_once_per_frame_relative_to_the_start(tmp_path):
    from tests.resolve.standin import TimelineItem

    w, _, timeline = objects("19.1")
    timeline._video.append([TimelineItem(w, timeline, "x", 86400, 48, None, ("video", 1))])
    assert timeline.AddMarker(10, "Blue", "a", "", 1) is True
    assert timeline.AddMarker(10, "Green", "b", "", 1) is False  # a marker is already there
    assert timeline.AddMarker(11, "Orange", "c", "", 1) is False  # a clip colour, not a marker colour
    assert timeline.AddMarker(86410, "Blue", "d", "", 1) is False  # absolute frames are past the end
    assert list(timeline.GetMarkers()) == [10.0]


def test_keyword_arguments_are_refused():
    _, project, _ = objects("21.1")
    with pytest.raises(TypeError, match="keyword"):
        project.SetSetting(settingName="timelineFrameRate", settingValue="24")
    assert project.StartRendering(isInteractiveMode=False) is False  # documented keyword; empty queue


def test_free_edition_window_raises_a_pop_up_that_blocks_later_calls():
    from tests.resolve.standin import Bmd, FusionApp

    w = world("19.1", studio=False)
    fusion = FusionApp(w)
    ui = fusion.UIManager
    assert Bmd(w).UIDispatcher(ui).AddWindow({"ID": "x"}, [ui.Label({"Text": "hi"})]) is None
    assert w.modal is True
    assert w.resolve.GetProjectManager() is None  # nothing answers until someone dismisses it


def test_clips_whose_file_is_missing_are_offline(tmp_path):
    present = tmp_path / "a.mp4"
    present.write_bytes(b"x")
    w = World(
        {"version": "20.3", "projects": [{"name": "P", "pool": [str(present), str(tmp_path / "gone.mp4")]}]}
    )
    clips = w.resolve.GetProjectManager().GetCurrentProject().GetMediaPool().GetRootFolder().GetClipList()
    assert [c.GetClipProperty("Online Status") for c in clips] == ["Online", "Offline"]


def test_rate_locks_once_media_is_in_the_pool(tmp_path):
    w = World({"version": "19.1", "projects": [{"name": "P", "pool": [str(tmp_path / "a.mp4")]}]})
    project = w.resolve.GetProjectManager().GetCurrentProject()
    assert project.GetTimelineCount() == 0 and project.SetSetting("timelineFrameRate", "25") is False


def test_render_settings_layer_on_the_deliver_page_state():
    w = World(
        {
            "version": "21.1",
            "projects": [{"name": "P", "timelines": ["T"], "deliver": {"settings": {"ExportVideo": False}}}],
            "faults": {"ignore_render_keys": ["FrameRate"]},
        }
    )
    project = w.resolve.GetProjectManager().GetCurrentProject()
    project.SetCurrentTimeline(project.GetTimelineByIndex(1))
    assert project.SetRenderSettings({"FrameRate": 30.0, "FormatWidth": 640}) is True
    job = project.AddRenderJob()
    [info] = project.GetRenderJobList()
    assert info["IsExportVideo"] is False and info["FrameRate"] == "24" and info["FormatWidth"] == 640
    assert project.DeleteRenderJob(job) is True and project.GetRenderJobList() == []
