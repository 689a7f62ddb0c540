"""shotline's storyboard adapter, used through OTIO's public API and the otioconvert script only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from tests.timeline import video_track

STORYBOARD = """
title: Plugin film
output: {width: 320, height: 180, fps: 24}
shots:
  - id: one
    prompt: a lighthouse
    duration: 1.5
    transition: {type: dissolve, duration: 0.5}
  - id: two
    prompt: waves on rocks
    duration: 1.5
"""


@pytest.fixture
def project(tmp_path, clips):
    sb = tmp_path / "film.shotline.yaml"
    sb.write_text(STORYBOARD, encoding="utf-8")
    (tmp_path / "shots").mkdir()
    shutil.copy(clips(duration=2, rate="24", tone=300), tmp_path / "shots" / "one.mp4")
    shutil.copy(clips(duration=2, rate="24", tone=600), tmp_path / "shots" / "two.mp4")
    return sb


def _console_script(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else (shutil.which(name) or pytest.fail(f"{name} not installed"))


def test_plugin_is_registered_through_the_entry_point():
    names = otio.adapters.available_adapter_names()
    assert "shotline_storyboard" in names
    adapter = otio.adapters.from_name("shotline_storyboard")
    assert "yaml" in adapter.suffixes


def test_read_from_file_gives_the_edit(project):
    tl = otio.adapters.read_from_file(str(project))
    assert isinstance(tl, otio.schema.Timeline) and tl.name == "Plugin film"
    track = video_track(tl)
    assert [c.name for c in track.find_clips()] == ["one", "two"]
    assert tl.duration() == otio.opentime.RationalTime(60, 24)  # 36 + 36 - 12
    assert "a lighthouse" in track.find_clips()[0].metadata["shotline"]["prompt"]


def test_media_dir_argument_and_offline_shots(project, tmp_path):
    moved = tmp_path / "renders"
    (project.parent / "shots").rename(moved)
    offline = otio.adapters.read_from_file(str(project))
    assert all(isinstance(c.media_reference, otio.schema.MissingReference) for c in offline.find_clips())
    tl = otio.adapters.read_from_file(str(project), media_dir=str(moved))
    assert all(isinstance(c.media_reference, otio.schema.ExternalReference) for c in tl.find_clips())


def test_otioconvert_turns_a_storyboard_into_an_edl(project, out):
    edl = out / "film.edl"
    proc = subprocess.run(
        [_console_script("otioconvert"), "-i", str(project), "-o", str(edl)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    text = edl.read_text()
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    assert len(events) == 3 and any(e[3] == "D" for e in events)
    back = otio.adapters.read_from_file(str(edl))
    assert back.duration() == otio.opentime.RationalTime(60, 24)


def test_otioconvert_passes_adapter_arguments(project, tmp_path, out):
    moved = tmp_path / "elsewhere"
    (project.parent / "shots").rename(moved)
    target = out / "film.otio"
    proc = subprocess.run(
        [_console_script("otioconvert"), "-i", str(project), "-o", str(target), "-a", f"media_dir={moved}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    tl = otio.adapters.read_from_file(str(target))
    names = [Path(c.media_reference.target_url).name for c in video_track(tl).find_clips()]
    assert names == ["one.mp4", "two.mp4"]


def test_a_bad_storyboard_fails_through_otio(tmp_path):
    bad = tmp_path / "bad.shotline.yaml"
    bad.write_text("title: x\nshots:\n  - id: a\n    duration: -3\n", encoding="utf-8")
    with pytest.raises(Exception, match="duration"):
        otio.adapters.read_from_file(str(bad))


def test_read_from_string_resolves_against_the_current_folder(project, monkeypatch):
    monkeypatch.chdir(project.parent)
    tl = otio.adapters.read_from_string(
        project.read_text(encoding="utf-8"), adapter_name="shotline_storyboard"
    )
    refs = [c.media_reference for c in video_track(tl).find_clips()]
    assert [Path(r.target_url).name for r in refs] == ["one.mp4", "two.mp4"]
